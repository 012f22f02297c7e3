//! `GET /metrics` as Prometheus scrapes it: behind the token, in the text exposition format (read
//! by a parser of that format), with figures that follow what happened on the server.

#![cfg(feature = "server")]

mod support;

use std::collections::HashMap;

use prometheus_parse::{Scrape, Value};
use support::*;
use vg::server::{GatewayConfig, Sink};
use vg::{Level, LogEntry};

const TOKEN: &str = "s3cret";
const AUTH: (&str, &str) = ("Authorization", "Bearer s3cret");

/// A sink that keeps nothing, so the scrape has one to report.
struct Discard;

impl Sink for Discard {
    fn write(&mut self, _entries: &[std::sync::Arc<LogEntry>]) {}
}

/// Every sample of a scrape as `name{k=v,...}` -> value, checking each is typed as its name says.
async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let reply = app.request("GET", "/metrics", &[AUTH], b"").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        reply.headers
    );
    let lines = reply.body.lines().map(|l| Ok(l.to_owned()));
    let parsed = Scrape::parse(lines).expect("valid exposition format");
    let mut samples = HashMap::new();
    for sample in parsed.samples {
        assert!(sample.metric.starts_with("vg_"), "{}", sample.metric);
        assert!(
            parsed.docs.contains_key(&sample.metric),
            "{} has no HELP",
            sample.metric
        );
        let value = match sample.value {
            Value::Counter(v) => {
                assert!(sample.metric.ends_with("_total"), "{}", sample.metric);
                v
            }
            Value::Gauge(v) => {
                assert!(!sample.metric.ends_with("_total"), "{}", sample.metric);
                v
            }
            other => panic!("{}: untyped or unexpected {other:?}", sample.metric),
        };
        let mut labels: Vec<String> = sample
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.sort();
        samples.insert(format!("{}{{{}}}", sample.metric, labels.join(",")), value);
    }
    samples
}

fn get(samples: &HashMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {samples:#?}"))
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let app = TestApp::new(emitter_config(), GatewayConfig::default().token(TOKEN));
    let reply = app.request("GET", "/metrics", &[], b"").await;
    assert_eq!(reply.status, 401);
    let reply = app
        .request("GET", "/metrics", &[("Authorization", "Bearer wrong")], b"")
        .await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn metrics_count_entries_by_path_viewers_and_sinks() {
    // No token, so the test's WebSocket client connects as it is; the token test is above.
    let server = TestServer::start(emitter_config(), GatewayConfig::default()).await;
    server.emitter.add_sink("discard", Discard).unwrap();
    for i in 0..3 {
        server
            .emitter
            .log(Level::Info, "app", format!("emitted {i}"));
    }
    let ndjson = b"{\"msg\":\"one\"}\n{\"msg\":\"two\"}\nnot json\n";
    let reply = server.request("POST", "/api/logs", &[AUTH], ndjson).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json = [AUTH, ("Content-Type", "application/json")];
    let loki =
        br#"{"streams":[{"stream":{"app":"a"},"values":[["1770315218000000000","from loki"]]}]}"#;
    let reply = server
        .request("POST", "/loki/api/v1/push", &json, loki)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let otlp = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"from otlp"}}]}]}]}"#;
    let reply = server.request("POST", "/v1/logs", &json, otlp).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = server
        .request("POST", "/v1/logs", &json, b"{\"resourceLogs\": 5}")
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);

    // A viewer reads everything: the frames it is sent are counted.
    let (mut ws, _) = server.connect("tail=100").await;
    let (seen, _) = until_live(&mut ws).await;
    assert_eq!(seen.len(), 7);

    let samples = scrape(&server).await;
    let path = |p: &str| get(&samples, &format!("vg_entries_ingested_total{{path={p}}}"));
    assert_eq!(
        [
            path("emit"),
            path("http"),
            path("loki"),
            path("otlp"),
            path("stdin")
        ],
        [3.0, 2.0, 1.0, 1.0, 0.0]
    );
    assert_eq!(get(&samples, "vg_entries_rejected_total{path=http}"), 1.0);
    assert_eq!(
        get(&samples, "vg_ingest_requests_refused_total{path=otlp}"),
        1.0
    );
    assert_eq!(get(&samples, "vg_history_entries{}"), 7.0);
    assert_eq!(get(&samples, "vg_history_newest_seq{}"), 7.0);
    assert_eq!(get(&samples, "vg_viewers{}"), 1.0);
    // hello, the entries and live: at least the entries' text went out.
    assert!(get(&samples, "vg_viewer_sent_frames_total{}") >= 3.0);
    assert!(get(&samples, "vg_viewer_sent_bytes_total{}") > 7.0 * 40.0);
    assert_eq!(
        get(&samples, "vg_sink_missed_entries_total{sink=discard}"),
        0.0
    );
    let written = get(&samples, "vg_sink_written_entries_total{sink=discard}");
    let lag = get(&samples, "vg_sink_lag_entries{sink=discard}");
    assert_eq!(written + lag, 7.0, "written {written}, lag {lag}");

    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_the_gaps_viewers_were_sent() {
    // History of 5: a viewer resuming after seq 2 of 20 has missed 3..15.
    let server = TestServer::start(
        emitter_config().history(5, 1 << 20),
        GatewayConfig::default(),
    )
    .await;
    for i in 0..20 {
        server.emitter.log(Level::Info, "app", format!("e{i}"));
    }
    let (mut ws, _) = server.connect("after=2").await;
    let (_, gaps) = until_live(&mut ws).await;
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let samples = scrape(&server).await;
    assert_eq!(get(&samples, "vg_viewer_gaps_total{reason=evicted}"), 1.0);
    assert_eq!(get(&samples, "vg_viewer_gaps_total{reason=lagged}"), 0.0);
    assert_eq!(
        get(&samples, "vg_viewer_missed_entries_total{}"),
        gaps[0].missed as f64
    );
    assert_eq!(gaps[0].missed, 13);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_refused_by_the_rate_limits() {
    use std::num::NonZeroU32;
    use std::time::Duration;
    use vg::server::{Rate, RateLimits};
    // Bursts of 2 and 1, refilled once a minute: nothing is earned back during the test.
    let rate = |burst| {
        Some(Rate::new(
            NonZeroU32::MIN,
            Duration::from_secs(60),
            NonZeroU32::new(burst).unwrap(),
        ))
    };
    let limits = RateLimits {
        ingest: rate(2),
        connect: rate(1),
    };
    let server = TestServer::start(
        emitter_config(),
        GatewayConfig::default().rate_limits(limits),
    )
    .await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let line = format!("{{\"msg\":\"m{i}\"}}");
        let reply = http(server.addr, "POST", "/api/logs", &[], line.as_bytes()).await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429]);
    let (ws, _) = server.connect("").await;
    let mut refused = 0;
    for _ in 0..2 {
        let request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                server.ws_url("").as_str(),
            )
            .unwrap();
        match within("connect", tokio_tungstenite::connect_async(request)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(reply)) => {
                assert_eq!(reply.status(), 429);
                refused += 1;
            }
            other => panic!("expected 429, got {other:?}"),
        }
    }
    assert_eq!(refused, 2);

    // Scraped in-process (no client address, so no limit applies to the scrape itself).
    let samples = scrape(&server).await;
    assert_eq!(
        get(&samples, "vg_requests_rate_limited_total{what=ingest}"),
        3.0
    );
    assert_eq!(
        get(&samples, "vg_requests_rate_limited_total{what=connect}"),
        2.0
    );
    assert_eq!(get(&samples, "vg_entries_ingested_total{path=http}"), 2.0);
    drop(ws);
    server.stop().await;
}
