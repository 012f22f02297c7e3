//! `POST /v1/logs`: OpenTelemetry's OTLP/HTTP logs, from a real OpenTelemetry SDK (Python's, when it
//! is installed) and from hand-made protobuf and JSON bodies.

#![cfg(feature = "server")]

mod support;

use std::process::Command;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use support::ingest::*;
use support::within;
use vg::Level;
use vg::model::format_timestamp;
use vg::server::GatewayConfig;

const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");
const JSON: (&str, &str) = ("Content-Type", "application/json");

/// Ships logs through the SDK's `LoggingHandler` and batch processor to its OTLP/HTTP exporter
/// (protobuf), and prints what each export returned.
const PYTHON_APP: &str = r#"
import logging, sys
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

endpoint, token, compression = sys.argv[1:4]

class Recording(OTLPLogExporter):
    def export(self, batch):
        result = super().export(batch)
        print("export", result.name, flush=True)
        return result

exporter = Recording(
    endpoint=endpoint,
    headers={"Authorization": "Bearer " + token},
    compression=Compression(compression),
    timeout=10,
)
provider = LoggerProvider(resource=Resource.create({
    "service.name": "checkout",
    "service.instance.id": "i-7",
    "cloud.region": "ord",
    "deployment.environment": "prod",
}))
provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
log = logging.getLogger("shop.payments")
log.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
log.setLevel(logging.DEBUG)
log.propagate = False

log.info("order placed", extra={"order_id": 42, "amount": 9.5})
context = trace.SpanContext(
    trace_id=0x4bf92f3577b34da6a3ce929d0e0e4736,
    span_id=0x00f067aa0ba902b7,
    is_remote=False,
    trace_flags=trace.TraceFlags(1),
)
with trace.use_span(trace.NonRecordingSpan(context)):
    log.error("card declined")
log.debug("retrying")
provider.shutdown()
"#;

/// Whether Python's OpenTelemetry SDK and OTLP/HTTP exporter can be imported; without them the SDK
/// test is skipped, saying so, unless `VG_REQUIRE_PYTHON_OTEL=1` (set by CI, which installs them).
fn python_otel() -> bool {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk._logs, opentelemetry.exporter.otlp.proto.http",
        ])
        .output();
    let missing = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        Err(e) => format!("python3: {e}"),
    };
    if std::env::var("VG_REQUIRE_PYTHON_OTEL").as_deref() == Ok("1") {
        panic!("VG_REQUIRE_PYTHON_OTEL=1 but the Python OpenTelemetry SDK is missing: {missing}");
    }
    eprintln!(
        "skipped: Python's OpenTelemetry SDK is missing ({missing}); \
         pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http"
    );
    false
}

/// Runs the Python app against `endpoint`; returns what it printed.
async fn run_python_app(endpoint: String, token: &str, compression: &str) -> String {
    let args = [endpoint, token.to_owned(), compression.to_owned()];
    let out = within(
        "the Python OpenTelemetry app",
        tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .arg("-c")
                .arg(PYTHON_APP)
                .args(args)
                .output()
                .unwrap()
        }),
    )
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_python_sdk_exporter_ships_logs_a_viewer_can_filter_and_pivot_on() {
    if !python_otel() {
        return;
    }
    let server = Server::start(GatewayConfig::default().token("otel-token")).await;
    let endpoint = format!("http://{}/v1/logs", server.addr);
    for compression in ["gzip", "none"] {
        let printed = run_python_app(endpoint.clone(), "otel-token", compression).await;
        assert!(printed.contains("export SUCCESS"), "{printed}");
        assert!(!printed.contains("FAILURE"), "{printed}");
    }
    let entries = server.entries();
    assert_eq!(entries.len(), 6, "three records, twice: {entries:#?}");
    let messages: Vec<&str> = entries[..3].iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["order placed", "card declined", "retrying"]);
    let levels: Vec<Level> = entries[..3].iter().map(|e| e.level).collect();
    assert_eq!(levels, [Level::Info, Level::Error, Level::Debug]);
    for e in &entries {
        assert_eq!(e.source, "checkout");
        assert_eq!(e.instance.as_deref(), Some("i-7"));
        assert_eq!(e.region.as_deref(), Some("ord"));
        assert_eq!(e.meta["deployment.environment"], "prod");
        assert_eq!(e.meta["otel.scope.name"], "shop.payments");
        assert!(
            !e.meta.keys().any(|k| k.starts_with("telemetry.sdk.")),
            "{:?}",
            e.meta
        );
    }
    let placed = &entries[0];
    assert_eq!(placed.meta["order_id"], 42);
    assert_eq!(placed.meta["amount"], 9.5);
    assert!(placed.meta.get("traceId").is_none(), "no span was active");
    let declined = &entries[1];
    assert_eq!(declined.meta["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(declined.meta["spanId"], "00f067aa0ba902b7");

    // A wrong token: the exporter is told no, and nothing is recorded.
    let printed = run_python_app(endpoint, "wrong", "gzip").await;
    assert!(printed.contains("export FAILURE"), "{printed}");
    assert_eq!(server.entries().len(), 6);
    server.stop().await;
}

fn kv(key: &str, value: Any) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(s: &str) -> Any {
    Any::StringValue(s.to_owned())
}

/// A request with one resource (`api` on `m-1` in `fra`) and these records.
fn request(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", text("api")),
                    kv("service.instance.id", text("m-1")),
                    kv("cloud.region", text("fra")),
                    kv("telemetry.sdk.language", text("rust")),
                    kv("k8s.pod.name", text("api-5d4")),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "api::http".to_owned(),
                    ..Default::default()
                }),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

const T: u64 = 1_770_315_218_123_000_000;

#[tokio::test]
async fn protobuf_bodies_map_resource_severity_body_and_ids() {
    let server = Server::start(GatewayConfig::default()).await;
    let records = vec![
        LogRecord {
            time_unix_nano: T,
            severity_number: 13,
            severity_text: "WARN".to_owned(),
            body: Some(AnyValue {
                value: Some(text("slow query")),
            }),
            attributes: vec![
                kv("db.statement", text("SELECT 1")),
                kv("duration_ms", Any::IntValue(812)),
                kv("cached", Any::BoolValue(false)),
                kv("tags", Any::ArrayValue(Default::default())),
            ],
            trace_id: vec![0xab; 16],
            span_id: vec![0xcd; 8],
            ..Default::default()
        },
        // No time (observed time instead), severity as text only, a map body.
        LogRecord {
            observed_time_unix_nano: T + 1_000_000,
            severity_text: "fatal".to_owned(),
            body: Some(AnyValue {
                value: Some(Any::KvlistValue(KeyValueList {
                    values: vec![
                        kv("msg", text("out of memory")),
                        kv("heap_mb", Any::DoubleValue(4096.5)),
                    ],
                })),
            }),
            // Invalid ids (all zero, wrong length) are absent, as the spec says.
            trace_id: vec![0; 16],
            span_id: vec![1; 3],
            ..Default::default()
        },
    ];
    let body = request(records).encode_to_vec();
    for (encoding, bytes) in [("identity", body.clone()), ("gzip", gzip(&body))] {
        let reply = post(
            server.addr,
            "/v1/logs",
            &[PROTOBUF, ("Content-Encoding", encoding)],
            &bytes,
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/x-protobuf"));
        let answer = ExportLogsServiceResponse::decode(&reply.body[..]).unwrap();
        assert_eq!(answer.partial_success, None);
    }
    let entries = server.entries();
    assert_eq!(entries.len(), 4);
    let slow = &entries[0];
    assert_eq!(
        (slow.source.as_str(), slow.level, slow.message.as_str()),
        ("api", Level::Warn, "slow query")
    );
    assert_eq!(
        (slow.instance.as_deref(), slow.region.as_deref()),
        (Some("m-1"), Some("fra"))
    );
    assert_eq!(
        format_timestamp(&slow.timestamp),
        "2026-02-05T18:13:38.123Z"
    );
    assert_eq!(slow.meta["db.statement"], "SELECT 1");
    assert_eq!(slow.meta["duration_ms"], 812);
    assert_eq!(slow.meta["cached"], false);
    assert_eq!(slow.meta["tags"], serde_json::json!([]));
    assert_eq!(slow.meta["k8s.pod.name"], "api-5d4");
    assert_eq!(slow.meta["otel.scope.name"], "api::http");
    assert_eq!(slow.meta["traceId"], "ab".repeat(16));
    assert_eq!(slow.meta["spanId"], "cd".repeat(8));
    assert!(slow.meta.get("telemetry.sdk.language").is_none());

    let oom = &entries[1];
    assert_eq!(
        (oom.level, oom.message.as_str()),
        (Level::Fatal, "out of memory")
    );
    assert_eq!(format_timestamp(&oom.timestamp), "2026-02-05T18:13:38.124Z");
    assert_eq!(oom.meta["heap_mb"], 4096.5);
    assert!(oom.meta.get("msg").is_none());
    assert!(oom.meta.get("traceId").is_none() && oom.meta.get("spanId").is_none());
    server.stop().await;
}

#[tokio::test]
async fn json_bodies_keep_good_records_and_count_the_bad_ones() {
    let server = Server::start(GatewayConfig::default()).await;
    // OTLP/JSON as the spec writes it: camelCase, hex ids, int64 as strings, enums as numbers.
    let body = serde_json::json!({
        "resourceLogs": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "worker"}}
            ]},
            "scopeLogs": [{
                "scope": {"name": "jobs"},
                "logRecords": [
                    {
                        "timeUnixNano": T.to_string(),
                        "severityNumber": 17,
                        "body": {"stringValue": "job 7 failed"},
                        "attributes": [{"key": "job", "value": {"intValue": "7"}}],
                        "traceId": "5b8efff798038103d269b633813fc60c",
                        "spanId": "eee19b7ec3c1b174"
                    },
                    {"timeUnixNano": "soon", "body": {"stringValue": "never seen"}},
                    {"severityText": "debug", "body": {"stringValue": "tick"}}
                ]
            }]
        }]
    })
    .to_string();
    let reply = post(
        server.addr,
        "/v1/logs",
        &[JSON, ("Content-Encoding", "deflate")],
        &deflate(body.as_bytes()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let answer = reply.json();
    let partial = &answer["partialSuccess"];
    assert_eq!(partial["rejectedLogRecords"], 1);
    let why = partial["errorMessage"].as_str().unwrap();
    assert!(
        why.starts_with("1 log record rejected: resourceLogs[0].scopeLogs[0].logRecords[1]:"),
        "{why}"
    );

    let entries = server.entries();
    let got: Vec<(&str, Level, &str)> = entries
        .iter()
        .map(|e| (e.source.as_str(), e.level, e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("worker", Level::Error, "job 7 failed"),
            ("worker", Level::Debug, "tick")
        ]
    );
    assert_eq!(entries[0].meta["job"], 7);
    assert_eq!(
        entries[0].meta["traceId"],
        "5b8efff798038103d269b633813fc60c"
    );
    assert_eq!(entries[0].meta["spanId"], "eee19b7ec3c1b174");

    // Fully accepted: no partial success to report.
    let ok = post(
        server.addr,
        "/v1/logs",
        &[JSON],
        br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hi"}}]}]}]}"#,
    )
    .await;
    assert_eq!(ok.status, 200);
    assert!(ok.json()["partialSuccess"].is_null(), "{}", ok.text());
    assert_eq!(server.entries().last().unwrap().source, "app");
    server.stop().await;
}

/// The messages the server has stored, oldest first.
fn stored(server: &Server) -> Vec<String> {
    server.entries().iter().map(|e| e.message.clone()).collect()
}

#[tokio::test]
async fn records_over_the_entry_limits_are_rejected_alone_in_both_formats() {
    let mut config = GatewayConfig::default();
    // A depth within what protobuf decoding itself allows (about 30 nested maps).
    config.entry_limits = vg::model::decode::ShapeLimits {
        max_depth: 8,
        max_values: 10_000,
    };
    let server = Server::start(config).await;
    let ok = || LogRecord {
        time_unix_nano: T,
        body: Some(AnyValue {
            value: Some(text("fits")),
        }),
        ..Default::default()
    };
    // 20,000 attributes: twice the default limit of 10,000 values.
    let wide = LogRecord {
        attributes: (0..20_000)
            .map(|i| kv(&format!("k{i}"), Any::IntValue(i)))
            .collect(),
        ..ok()
    };
    // A map 12 levels deep, past the depth of 8.
    let deep = (0..12).fold(text("leaf"), |inner, _| {
        Any::KvlistValue(KeyValueList {
            values: vec![kv("k", inner)],
        })
    });
    let deep = LogRecord {
        attributes: vec![kv("deep", deep)],
        ..ok()
    };
    let body = request(vec![ok(), wide, deep]).encode_to_vec();
    let reply = post(server.addr, "/v1/logs", &[PROTOBUF], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let answer = ExportLogsServiceResponse::decode(&reply.body[..]).unwrap();
    let partial = answer.partial_success.expect("a partial success");
    assert_eq!(partial.rejected_log_records, 2);
    assert!(
        partial.error_message.contains("logRecords[1]")
            && partial
                .error_message
                .contains("more than 10000 JSON values"),
        "{}",
        partial.error_message
    );
    assert_eq!(stored(&server), ["fits"]);

    // OTLP/JSON: the record's text is scanned before it is parsed.
    let attributes: Vec<_> = (0..20_000)
        .map(|i| serde_json::json!({"key": format!("k{i}"), "value": {"intValue": i}}))
        .collect();
    let json = serde_json::json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"body": {"stringValue": "fits too"}},
        {"body": {"stringValue": "too wide"}, "attributes": attributes},
    ]}]}]});
    let reply = post(
        server.addr,
        "/v1/logs",
        &[("Content-Type", "application/json")],
        json.to_string().as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["partialSuccess"]["rejectedLogRecords"], 1);
    assert_eq!(stored(&server), ["fits", "fits too"]);
}

#[tokio::test]
async fn bad_bodies_get_one_line_and_record_nothing() {
    let server = Server::start(GatewayConfig::default()).await;
    let good = request(vec![LogRecord::default()]).encode_to_vec();
    let cases: Vec<Refused> = vec![
        (
            vec![PROTOBUF],
            b"\xff\xff\xff not protobuf".to_vec(),
            400,
            "body is not an OTLP ExportLogsServiceRequest in protobuf",
        ),
        (
            vec![JSON],
            b"[1, 2]".to_vec(),
            400,
            "body is not an OTLP ExportLogsServiceRequest in JSON",
        ),
        (
            vec![JSON],
            br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}"#.to_vec(),
            400,
            "1 log record rejected: resourceLogs[0].scopeLogs[0].logRecords[0]:",
        ),
        (
            vec![PROTOBUF, ("Content-Encoding", "gzip")],
            good.clone(),
            400,
            "body is not valid gzip",
        ),
        (
            vec![PROTOBUF, ("Content-Encoding", "br")],
            good.clone(),
            415,
            "unsupported Content-Encoding 'br'",
        ),
        (
            vec![("Content-Type", "text/plain")],
            good.clone(),
            415,
            "unsupported Content-Type 'text/plain'; send application/x-protobuf or application/json",
        ),
    ];
    for (headers, body, status, start) in cases {
        let reply = post(server.addr, "/v1/logs", &headers, &body).await;
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
    let one = request(vec![LogRecord {
        body: Some(AnyValue {
            value: Some(text("hello")),
        }),
        ..Default::default()
    }])
    .encode_to_vec();

    let refused = post(server.addr, "/v1/logs", &[PROTOBUF], &one).await;
    assert_eq!(refused.status, 401);

    let big = request(vec![LogRecord {
        body: Some(AnyValue {
            value: Some(text(&"x".repeat(5000))),
        }),
        ..Default::default()
    }])
    .encode_to_vec();
    let too_large = post(server.addr, "/v1/logs", &[PROTOBUF, auth], &big).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.text(),
        "request body larger than 4096 bytes; send smaller batches\n"
    );
    // Small on the wire, past the limit once decompressed.
    let bomb = gzip(&big);
    assert!(bomb.len() < 4096);
    let too_large = post(
        server.addr,
        "/v1/logs",
        &[PROTOBUF, auth, ("Content-Encoding", "gzip")],
        &bomb,
    )
    .await;
    assert_eq!(too_large.status, 413);
    assert!(too_large.text().contains("once decompressed"));
    assert!(server.entries().is_empty());

    let ok = post(server.addr, "/v1/logs", &[PROTOBUF, auth], &one).await;
    assert_eq!(ok.status, 200);
    assert_eq!(server.entries()[0].message, "hello");
    server.stop().await;
}
