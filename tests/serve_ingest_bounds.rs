//! `vg serve` under ingest bodies built to cost far more parsed than sent: entries refused before
//! they are parsed, a bound on how many bodies are parsed at once, and the server's resident set
//! (`VmRSS` from `/proc`) while eight such bodies arrive together. Linux only, where `/proc` is.

#![cfg(all(feature = "cli", feature = "server", target_os = "linux"))]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use support::*;

/// `vg serve` on a free loopback port with these extra flags, and where it listens.
fn serve(extra: &[&str]) -> (VgProcess, SocketAddr) {
    let mut args = vec!["serve", "--bind", "127.0.0.1:0", "--ingest-rate", "0"];
    args.extend_from_slice(extra);
    let serve = VgProcess::spawn(&args);
    let line = serve.wait_stderr("listening on");
    (serve, announced_addr(&line))
}

async fn post(addr: SocketAddr, body: &[u8]) -> HttpResponse {
    http(
        addr,
        "POST",
        "/api/logs",
        &[("Content-Type", "application/x-ndjson")],
        body,
    )
    .await
}

async fn newest_seq(addr: SocketAddr) -> u64 {
    let health = http(addr, "GET", "/healthz", &[], b"").await.json();
    health["history"]["newest_seq"].as_u64().unwrap_or(0)
}

/// One entry whose `meta` has `keys` fields: about 11 bytes of JSON each.
fn many_keys(keys: usize) -> String {
    let fields: Vec<String> = (0..keys).map(|i| format!("\"k{i}\":0")).collect();
    format!("{{\"msg\":\"keys\",\"meta\":{{{}}}}}\n", fields.join(","))
}

#[tokio::test]
async fn an_entry_with_300k_keys_is_refused_unparsed_naming_the_limit() {
    let (server, addr) = serve(&[]);
    let body = many_keys(300_000);
    assert!(
        body.len() < 4 << 20,
        "within the body limit: {}",
        body.len()
    );
    let response = post(addr, body.as_bytes()).await;
    assert_eq!(response.status, 400, "{}", response.body);
    let error = response.json()["errors"][0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("more than 10000 JSON values"),
        "the reply names the limit: {error}"
    );
    // A good entry beside it in the same body is kept; nothing of the refused one is.
    let mixed = format!("{{\"msg\":\"fine\"}}\n{body}");
    let response = post(addr, mixed.as_bytes()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let report = response.json();
    assert_eq!(
        (report["accepted"].as_u64(), report["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["errors"][0]["line"], 2, "{report}");
    assert_eq!(newest_seq(addr).await, 1);
    drop(server);
}

#[tokio::test]
async fn nesting_deeper_than_the_limit_is_refused_and_the_limits_are_configurable() {
    let (server, addr) = serve(&["--max-entry-depth", "4", "--max-entry-values", "50"]);
    let deep = "{\"msg\":\"deep\",\"a\":[[[[1]]]]}\n";
    let response = post(addr, deep.as_bytes()).await;
    assert_eq!(response.status, 400, "{}", response.body);
    let error = response.json()["errors"][0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.contains("deeper than 4 levels"), "{error}");
    // The same limits hold inside a JSON array body, item by item.
    let array = format!("[{{\"msg\":\"ok\"}},{}]", many_keys(60).trim());
    let response = post(addr, array.as_bytes()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let report = response.json();
    assert_eq!(report["rejected"], 1, "{report}");
    assert_eq!(report["errors"][0]["line"], 2, "{report}");
    assert!(
        report["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("more than 50 JSON values"),
        "{report}"
    );
    drop(server);
}

/// Opens a POST that declares a body and sends only part of it: it holds an ingest turn.
async fn half_sent_post(addr: SocketAddr) -> TcpStream {
    let mut tcp = within("connect", TcpStream::connect(addr)).await.unwrap();
    let head = format!(
        "POST /api/logs HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n{{\"msg\":"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp
}

#[tokio::test]
async fn ingest_beyond_the_concurrent_limit_waits_then_gets_503_with_retry_after() {
    let (server, addr) = serve(&["--max-ingest-requests", "2", "--ingest-wait", "1s"]);
    let held = vec![half_sent_post(addr).await, half_sent_post(addr).await];
    // Both have their turn once the server has read their heads.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = post(addr, b"{\"msg\":\"third\"}\n").await;
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(
        response
            .body
            .contains("2 ingest requests are being read already"),
        "{}",
        response.body
    );
    drop(held);
    // Their turns come back when they go.
    let response = within("a turn after the held requests closed", async {
        loop {
            let response = post(addr, b"{\"msg\":\"later\"}\n").await;
            if response.status != 503 {
                return response;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    drop(server);
}

#[tokio::test]
async fn eight_concurrent_array_heavy_bodies_keep_the_server_small() {
    let (server, addr) = serve(&[]);
    // Wait for the server to settle before the baseline.
    post(addr, b"{\"msg\":\"warm\"}\n").await;
    // 4 MB of JSON that would parse into 1.4 million values, over 110 MB each.
    let body = format!(
        "[{{\"msg\":\"arrays\",\"a\":[{}[]]}}]",
        "[],".repeat(1_390_000)
    );
    assert!(body.len() < 4 << 20);
    let grown = eight_refused_at_once(
        &server,
        addr,
        "/api/logs",
        "application/x-ndjson",
        body.into_bytes(),
        "more than 10000 JSON values",
    )
    .await;
    // Eight bodies of 4 MiB in memory at once, each collected into one buffer (up to twice its size
    // while it grows): docs/server.md's figure for the ingest term, 8 x 4 MiB x 2 = 64 MiB. Parsed,
    // they were 900 MB.
    assert!(
        grown < 64 << 20,
        "eight 4 MB array-heavy bodies grew the server by {} MB",
        grown >> 20
    );
    drop(server);
}

/// Posts `body` eight times at once, expects each refused with 400 naming `why`, and returns how
/// much the server's resident set grew at its peak meanwhile.
async fn eight_refused_at_once(
    server: &VgProcess,
    addr: SocketAddr,
    path: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    why: &str,
) -> u64 {
    let before = server.rss();
    let sampler = server.sample_peak_rss(400, Duration::from_millis(25));
    let body = std::sync::Arc::new(body);
    let posts: Vec<_> = (0..8)
        .map(|_| {
            let body = std::sync::Arc::clone(&body);
            tokio::spawn(async move {
                http(addr, "POST", path, &[("Content-Type", content_type)], &body).await
            })
        })
        .collect();
    for post in posts {
        let response = post.await.unwrap();
        assert_eq!(response.status, 400, "{}", response.body);
        assert!(response.body.contains(why), "{}", response.body);
    }
    let peak = sampler.await.unwrap().max(server.rss());
    eprintln!("rss before {} MB, peak {} MB", before >> 20, peak >> 20);
    peak.saturating_sub(before)
}

/// A protobuf OTLP body of one record whose attribute is a list of `count` empty values: two bytes
/// each on the wire.
fn otlp_empty_values(count: usize) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use prost::Message;
    let list = AnyValue {
        value: Some(Any::ArrayValue(ArrayValue {
            values: vec![AnyValue { value: None }; count],
        })),
    };
    let record = LogRecord {
        attributes: vec![KeyValue {
            key: "a".to_owned(),
            value: Some(list),
            ..KeyValue::default()
        }],
        ..LogRecord::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![record],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
    .encode_to_vec()
}

#[tokio::test]
async fn eight_concurrent_otlp_bodies_of_empty_values_are_refused_undecoded() {
    let (server, addr) = serve(&[]);
    post(addr, b"{\"msg\":\"warm\"}\n").await;
    let body = otlp_empty_values(2_000_000);
    assert!(body.len() < 4 << 20, "{}", body.len());
    // Counted on the wire and refused before any of it is decoded.
    let grown = eight_refused_at_once(
        &server,
        addr,
        "/v1/logs",
        "application/x-protobuf",
        body,
        "more than 250000 attribute and body values",
    )
    .await;
    // The same ingest term as JSON bodies: 8 x 4 MiB x 2 = 64 MiB. Decoded, they were 400 MB.
    assert!(
        grown < 64 << 20,
        "eight 4 MB OTLP bodies grew the server by {} MB",
        grown >> 20
    );
    drop(server);
}
