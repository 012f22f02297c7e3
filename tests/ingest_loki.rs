//! `POST /loki/api/v1/push`: Grafana Loki's push API, from a real Loki client library (`tracing-loki`,
//! which sends snappy-compressed protobuf) and from hand-made bodies: protobuf built with Loki's
//! generated messages (`loki-api`), and JSON.

#![cfg(feature = "server")]

mod support;

use loki_api::logproto::{EntryAdapter, PushRequest, StreamAdapter};
use loki_api::prost::Message;
use loki_api::prost_types::Timestamp;
use support::ingest::*;
use support::within;
use tracing_subscriber::layer::SubscriberExt;
use vg::Level;
use vg::model::format_timestamp;
use vg::server::GatewayConfig;

const PATH: &str = "/loki/api/v1/push";
const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");
const JSON: (&str, &str) = ("Content-Type", "application/json");

#[tokio::test]
async fn the_tracing_loki_client_pushes_entries_a_viewer_can_filter() {
    let server = Server::start(GatewayConfig::default().token("loki-token")).await;
    let url = tracing_loki::url::Url::parse(&format!("http://{}/", server.addr)).unwrap();
    let (layer, controller, task) = tracing_loki::builder()
        .label("app", "shop")
        .unwrap()
        .label("region", "ord")
        .unwrap()
        .label("namespace", "prod")
        .unwrap()
        .extra_field("pid", "4242")
        .unwrap()
        .http_header("Authorization", "Bearer loki-token")
        .unwrap()
        .build_controller_url(url)
        .unwrap();
    let sender = tokio::spawn(task);
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(order_id = 42, "order placed");
        tracing::error!(code = "card_declined", "payment failed");
    });
    // The client sends what it holds, then its task ends.
    controller.shutdown().await;
    within("tracing-loki's sender", sender).await.unwrap();

    let entries = server.entries();
    let mut got: Vec<(Level, &str)> = entries
        .iter()
        .map(|e| (e.level, e.message.as_str()))
        .collect();
    // The client batches a stream per level, so the two may arrive in either order.
    got.sort();
    assert_eq!(
        got,
        [
            (Level::Info, "order placed"),
            (Level::Error, "payment failed")
        ]
    );
    for e in &entries {
        assert_eq!(e.source, "shop");
        assert_eq!(e.region.as_deref(), Some("ord"));
        assert_eq!(e.meta["namespace"], "prod");
        assert_eq!(e.meta["pid"], "4242", "{:?}", e.meta);
        assert!(
            e.meta.get("level").is_none(),
            "the level label became the level"
        );
    }
    let placed = entries.iter().find(|e| e.level == Level::Info).unwrap();
    assert_eq!(placed.meta["order_id"], 42);
    server.stop().await;
}

fn entry(seconds: i64, line: &str) -> EntryAdapter {
    EntryAdapter {
        timestamp: Some(Timestamp {
            seconds,
            nanos: 5_000_000,
        }),
        line: line.to_owned(),
    }
}

fn stream(labels: &str, entries: Vec<EntryAdapter>) -> StreamAdapter {
    StreamAdapter {
        labels: labels.to_owned(),
        entries,
        hash: 0,
    }
}

fn push(streams: Vec<StreamAdapter>) -> Vec<u8> {
    snappy(&PushRequest { streams }.encode_to_vec())
}

#[tokio::test]
async fn protobuf_pushes_map_labels_and_keep_good_streams_when_one_is_bad() {
    let server = Server::start(GatewayConfig::default()).await;
    let good = push(vec![
        stream(
            r#"{service_name="api", instance="m-1", cloud_region="fra", level="warn", env="prod"}"#,
            vec![
                entry(1_770_315_218, "slow query took 812ms"),
                entry(1_770_315_219, r#"{"msg":"pool exhausted","size":20}"#),
            ],
        ),
        stream(r#"{job="cron"}"#, vec![entry(1_770_315_220, "tick")]),
    ]);
    // Without a Content-Type, as some clients send it: Loki reads protobuf, so does vg.
    for headers in [&[PROTOBUF][..], &[]] {
        let reply = post(server.addr, PATH, headers, &good).await;
        assert_eq!(reply.status, 204, "{}", reply.text());
        assert!(reply.body.is_empty());
    }
    let entries = server.entries();
    assert_eq!(entries.len(), 6);
    let slow = &entries[0];
    assert_eq!(
        (slow.source.as_str(), slow.level, slow.message.as_str()),
        ("api", Level::Warn, "slow query took 812ms")
    );
    assert_eq!(
        (slow.instance.as_deref(), slow.region.as_deref()),
        (Some("m-1"), Some("fra"))
    );
    assert_eq!(slow.meta["env"], "prod");
    assert_eq!(
        format_timestamp(&slow.timestamp),
        "2026-02-05T18:13:38.005Z"
    );
    // A JSON line is read as vg reads any JSON log line.
    assert_eq!(entries[1].message, "pool exhausted");
    assert_eq!(entries[1].meta["size"], 20);
    assert_eq!(
        (entries[2].source.as_str(), entries[2].level),
        ("cron", Level::Info)
    );

    // One stream's labels are broken: its entries are refused, the others' kept.
    let mixed = push(vec![
        stream(r#"{app="ok"}"#, vec![entry(1_770_315_221, "kept")]),
        stream(
            r#"{app="broken}"#,
            vec![entry(1, "lost"), entry(2, "lost too")],
        ),
    ]);
    let reply = post(server.addr, PATH, &[PROTOBUF], &mixed).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.text(),
        "2 entries rejected (streams[1]: labels '{app=\"broken}': unterminated label value); 1 entry accepted\n"
    );
    assert_eq!(server.entries().last().unwrap().message, "kept");
    assert_eq!(server.entries().len(), 7);
    server.stop().await;
}

#[tokio::test]
async fn json_pushes_carry_structured_metadata_and_gzip() {
    let server = Server::start(GatewayConfig::default()).await;
    let body = serde_json::json!({"streams": [{
        "stream": {"app": "checkout", "level": "error", "pod": "checkout-7f9", "namespace": "prod"},
        "values": [
            ["1770315218000000000", "card declined", {"traceId": "4bf92f35", "user": "u-1"}],
            ["1770315218500000000", "retry scheduled"]
        ]
    }]})
    .to_string();
    let reply = post(
        server.addr,
        PATH,
        &[JSON, ("Content-Encoding", "gzip")],
        &gzip(body.as_bytes()),
    )
    .await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    let entries = server.entries();
    assert_eq!(entries.len(), 2);
    let declined = &entries[0];
    assert_eq!(
        (
            declined.source.as_str(),
            declined.level,
            declined.instance.as_deref()
        ),
        ("checkout", Level::Error, Some("checkout-7f9"))
    );
    assert_eq!(declined.meta["traceId"], "4bf92f35");
    assert_eq!(declined.meta["user"], "u-1");
    assert_eq!(declined.meta["namespace"], "prod");
    assert_eq!(
        format_timestamp(&entries[1].timestamp),
        "2026-02-05T18:13:38.500Z"
    );
    assert!(entries[1].meta.get("traceId").is_none());

    // A malformed value is refused alone.
    let body = r#"{"streams":[{"stream":{"app":"a"},"values":[["1770315218000000000","good"],["yesterday","bad"]]}]}"#;
    let reply = post(server.addr, PATH, &[JSON], body.as_bytes()).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.text(),
        "1 entry rejected (streams[0].values[1]: timestamp \"yesterday\" is not nanoseconds since the epoch); 1 entry accepted\n"
    );
    assert_eq!(server.entries().last().unwrap().message, "good");
    server.stop().await;
}

#[tokio::test]
async fn bad_bodies_get_one_line_and_record_nothing() {
    let server = Server::start(GatewayConfig::default()).await;
    let cases: Vec<Refused> = vec![
        (
            vec![PROTOBUF],
            b"not snappy at all".to_vec(),
            400,
            "body is not valid snappy",
        ),
        (
            vec![PROTOBUF],
            snappy(b"\xff\xff\xff\xff"),
            400,
            "body is not a Loki PushRequest in protobuf",
        ),
        (
            vec![JSON],
            br#"{"streams": 5}"#.to_vec(),
            400,
            "body is not a Loki push in JSON",
        ),
        (
            vec![JSON, ("Content-Encoding", "gzip")],
            b"{}".to_vec(),
            400,
            "body is not valid gzip",
        ),
        (
            vec![("Content-Type", "text/plain")],
            b"hello".to_vec(),
            415,
            "unsupported Content-Type 'text/plain'",
        ),
    ];
    for (headers, body, status, start) in cases {
        let reply = post(server.addr, PATH, &headers, &body).await;
        let text = reply.text();
        assert_eq!(reply.status, status, "{headers:?}: {text}");
        assert!(text.starts_with(start), "{headers:?}: {text}");
        assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    }
    assert!(server.entries().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn the_token_and_the_body_limit_apply() {
    let mut config = GatewayConfig::default().token("s3cret");
    config.max_ingest_bytes = 4096;
    let server = Server::start(config).await;
    let auth = ("Authorization", "Bearer s3cret");
    let small = push(vec![stream(
        r#"{app="a"}"#,
        vec![entry(1_770_315_218, "hi")],
    )]);

    assert_eq!(
        post(server.addr, PATH, &[PROTOBUF], &small).await.status,
        401
    );
    let big = push(vec![stream(
        r#"{app="a"}"#,
        vec![entry(
            1_770_315_218,
            &"lorem ipsum dolor sit amet ".repeat(1000),
        )],
    )]);
    // Snappy shrinks the repetition below the wire limit; its decompressed size is over it.
    assert!(big.len() < 4096);
    let reply = post(server.addr, PATH, &[PROTOBUF, auth], &big).await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.text().contains("once decompressed"),
        "{}",
        reply.text()
    );
    let reply = post(server.addr, PATH, &[PROTOBUF, auth], &vec![0; 5000]).await;
    assert_eq!(reply.status, 413);
    assert!(server.entries().is_empty());

    assert_eq!(
        post(server.addr, PATH, &[PROTOBUF, auth], &small)
            .await
            .status,
        204
    );
    assert_eq!(server.entries()[0].message, "hi");
    server.stop().await;
}
