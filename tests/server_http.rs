//! The HTTP side: ingest, the history query and the request-logging layer. Requests go through the
//! router in-process; a loopback socket only where a WebSocket viewer watches the result.

#![cfg(feature = "server")]

mod support;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use support::*;
use vg::server::{Emitter, Gateway, GatewayConfig, RequestLogLayer, UserId};
use vg::{Level, LogEntry};

#[tokio::test]
async fn ingest_accepts_good_lines_and_explains_bad_ones() {
    let server = TestServer::default().await;
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    let body = concat!(
        r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"warn","source":"api","message":"native","seq":99}"#,
        "\n",
        r#"{"level":50,"time":1770315218000,"name":"billing","msg":"pino line","orderId":7}"#,
        "\n\n",
        "plain words\n",
        r#"{"msg":"last"}"#,
        "\n"
    );
    let response = server
        .request("POST", "/api/logs", &[], body.as_bytes())
        .await;
    assert_eq!(response.status, 200);
    let report = response.json();
    assert_eq!(report["accepted"], 3);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["errors"][0]["line"], 4);
    assert!(
        report["errors"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON")
    );
    let (got, _) = until_entry(&mut ws, |e| e.message == "last").await;
    assert_eq!(messages(&got), ["native", "pino line", "last"]);
    // The server stamps its own seqs.
    assert_eq!(seqs(&got), [1, 2, 3]);
    assert_eq!(
        (got[1].level, got[1].source.as_str()),
        (Level::Error, "billing")
    );
    assert_eq!(got[1].meta["orderId"], 7);

    let array = br#"[{"message":"a","level":"info","source":"x"}, 42]"#;
    let report = server.request("POST", "/api/logs", &[], array).await.json();
    assert_eq!(
        (
            report["accepted"].as_u64(),
            report["errors"][0]["line"].as_u64()
        ),
        (Some(1), Some(2))
    );

    let all_bad = server.request("POST", "/api/logs", &[], b"nope\n").await;
    assert_eq!(all_bad.status, 400);
    assert!(all_bad.json().get("hint").is_none());
    // What `curl --data-binary @app.log` sends: a form, holding plain text. The answer says how.
    let form = server
        .request(
            "POST",
            "/api/logs",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"started\n",
        )
        .await;
    assert_eq!(form.status, 400);
    assert!(
        form.json()["hint"]
            .as_str()
            .unwrap()
            .contains("Content-Type: text/plain")
    );

    let text = server
        .request(
            "POST",
            "/api/logs",
            &[("Content-Type", "text/plain")],
            b"started\nlistening\n",
        )
        .await;
    assert_eq!(text.json()["accepted"], 2);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn ingest_bodies_are_bounded() {
    let mut config = GatewayConfig::default();
    config.max_ingest_bytes = 1024;
    let server = TestApp::new(emitter_config(), config);
    let body = format!("{{\"msg\":\"{}\"}}\n", "x".repeat(2000));
    let response = server
        .request("POST", "/api/logs", &[], body.as_bytes())
        .await;
    assert_eq!(response.status, 413);
    assert!(
        response.json()["error"]
            .as_str()
            .unwrap()
            .contains("1024 bytes")
    );
    assert_eq!(server.emitter.stats().entries, 0);
}

#[tokio::test]
async fn the_history_query_filters_limits_and_pages() {
    let server = TestApp::default();
    for i in 1..=20 {
        let level = if i % 2 == 0 {
            Level::Error
        } else {
            Level::Info
        };
        server.emitter.log(level, "api", format!("m{i}"));
    }
    let newest = server
        .request("GET", "/api/logs?level=error&limit=3", &[], b"")
        .await;
    assert_eq!(newest.status, 200);
    assert_eq!(newest.header("content-type"), Some("application/json"));
    assert_eq!(newest.header("x-vg-boot"), Some(server.emitter.boot()));
    assert_eq!(newest.header("x-vg-newest-seq"), Some("20"));
    let entries: Vec<LogEntry> = serde_json::from_str(&newest.body).unwrap();
    assert_eq!(messages(&entries), ["m16", "m18", "m20"]);

    let page = server
        .request(
            "GET",
            "/api/logs?level=error&limit=2&after=5",
            &[("Accept", "application/x-ndjson")],
            b"",
        )
        .await;
    assert_eq!(page.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<LogEntry> = page
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(messages(&lines), ["m6", "m8"]);

    let bad = server
        .request("GET", "/api/logs?since=someday", &[], b"")
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid time 'someday'")
    );
}

/// An app as an embedder writes it: its routes, the request layer, the gateway merged in.
fn app(emitter: &Emitter, gateway: &Gateway) -> Router {
    Router::new()
        .route(
            "/api/users/{id}",
            get(|| async {
                tracing::info!(target: "app::users", cache = "miss", "loading user");
                let mut response = axum::response::IntoResponse::into_response("ok");
                response.extensions_mut().insert(UserId("user_123".into()));
                response
            }),
        )
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .merge(gateway.router())
        .layer(RequestLogLayer::new(emitter.clone()).source("api"))
}

/// [`app`] with its own emitter and gateway.
fn layered_app() -> TestApp {
    let emitter = Emitter::new(emitter_config());
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default());
    TestApp::with_router(emitter.clone(), gateway.clone(), app(&emitter, &gateway))
}

fn request_entries(emitter: &Emitter) -> Vec<LogEntry> {
    emitter
        .recent(100)
        .iter()
        .filter(|e| e.source == "api")
        .map(|e| (**e).clone())
        .collect()
}

#[tokio::test]
async fn what_a_handler_emits_carries_the_request_id_and_a_request_scoped_user_is_logged() {
    let emitter = Emitter::new(emitter_config());
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default());
    let in_handler = emitter.clone();
    let app = Router::new()
        .route(
            "/orders",
            get(move || async move {
                in_handler.log(Level::Info, "orders", "order placed");
                "ok"
            }),
        )
        .merge(gateway.router())
        .layer(RequestLogLayer::new(emitter.clone()).source("api"))
        // An auth middleware outside the request layer puts the user on the request.
        .layer(axum::middleware::map_request(
            |mut request: axum::extract::Request| async move {
                request.extensions_mut().insert(UserId("user_7".into()));
                request
            },
        ));
    let server = TestApp::with_router(emitter.clone(), gateway, app);
    let response = server.request("GET", "/orders", &[], b"").await;
    assert_eq!(response.status, 200);
    let id = response.header("x-request-id").unwrap().to_owned();
    let recent = emitter.recent(10);
    let by_source = |source: &str| {
        recent
            .iter()
            .find(|e| e.source == source)
            .unwrap_or_else(|| panic!("no {source} entry in {recent:?}"))
    };
    assert_eq!(by_source("orders").meta["requestId"], id.as_str());
    let request = by_source("api");
    assert_eq!(request.meta["requestId"], id.as_str());
    assert_eq!(request.meta["userId"], "user_7");
}

#[tokio::test]
async fn unmatched_paths_are_logged_and_the_gateways_own_requests_are_not() {
    // Served, because the WebSocket upgrade is one of the gateway's requests too.
    let server = layered_app().serve().await;
    let emitter = &server.emitter;
    assert_eq!(server.request("GET", "/nope", &[], b"").await.status, 404);
    assert_eq!(
        server.request("GET", "/healthz", &[], b"").await.status,
        200
    );
    assert_eq!(
        server.request("GET", "/api/logs", &[], b"").await.status,
        200
    );
    // Ingested entries are another program's: the POST's request id is not theirs.
    let line = br#"{"level":"info","source":"other","message":"ingested"}"#;
    let post = server.request("POST", "/api/logs", &[], line).await;
    assert_eq!(post.status, 200, "{}", post.body);
    let recent = emitter.recent(10);
    let ingested = recent.iter().find(|e| e.source == "other").unwrap();
    assert!(
        !ingested.meta.contains_key("requestId"),
        "{:?}",
        ingested.meta
    );
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    drop(ws);
    let messages: Vec<String> = request_entries(emitter)
        .into_iter()
        .map(|e| format!("{} {}", e.level, e.message))
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with("warn GET /nope 404 "),
        "{messages:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_request_layer_logs_one_entry_per_request_with_secrets_redacted() {
    let server = layered_app();
    let emitter = &server.emitter;
    let target = "/api/users/42?page=2&token=SECRETtok&access_token=SECRETacc&api_key=SECRETkey\
                  &password=SECRETpw&X-Amz-Signature=SECRETsig&client_secret=SECRETcs";
    let response = server
        .request(
            "GET",
            target,
            &[
                ("Authorization", "Bearer SECRETauth"),
                ("Cookie", "session=SECRETcookie"),
                ("X-Api-Key", "SECRETheaderkey"),
            ],
            b"",
        )
        .await;
    assert_eq!(response.status, 200);
    let echoed = response.header("x-request-id").unwrap().to_owned();
    let entries = request_entries(emitter);
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    // Whole milliseconds, or hundredths below one: the message says the same number as the meta.
    let duration = &entry.meta["duration"];
    assert!(
        duration.is_u64() || duration.as_f64().is_some_and(|ms| ms < 1.0),
        "{duration}"
    );
    assert_eq!(entry.message, format!("GET /api/users/42 200 {duration}ms"));
    assert_eq!(entry.level, Level::Info);
    assert_eq!(entry.meta["method"], "GET");
    assert_eq!(entry.meta["path"], "/api/users/{id}");
    assert_eq!(entry.meta["statusCode"], 200);
    assert_eq!(entry.meta["requestId"], echoed.as_str());
    assert_eq!(entry.meta["userId"], "user_123");
    let json = entry.to_json();
    assert!(!json.contains("SECRET"), "a secret survived: {json}");
    assert!(json.contains("page=2"), "{json}");
    let keys: Vec<&str> = entry.meta.keys().collect();
    assert_eq!(
        keys,
        [
            "method",
            "path",
            "statusCode",
            "duration",
            "requestId",
            "userId",
            "query"
        ]
    );

    // A caller's request id is kept; status sets the level.
    let response = server
        .request("GET", "/boom", &[("X-Request-Id", "trace-abc")], b"")
        .await;
    assert_eq!(response.header("x-request-id"), Some("trace-abc"));
    server.request("GET", "/nowhere", &[], b"").await;
    let entries = request_entries(emitter);
    let boom = &entries[1];
    assert_eq!(
        (boom.level, boom.meta["requestId"].as_str()),
        (Level::Error, Some("trace-abc"))
    );
    assert_eq!(boom.meta["statusCode"], 500);
    assert!(!boom.meta.contains_key("userId"));
}

#[tokio::test]
async fn the_request_layer_wraps_any_tower_service() {
    use tower::{Layer, ServiceExt};
    let emitter = Emitter::new(emitter_config());
    let service = tower::service_fn(|_req: http::Request<String>| async {
        Ok::<_, std::convert::Infallible>(
            http::Response::builder()
                .status(404)
                .body(String::new())
                .unwrap(),
        )
    });
    let response = RequestLogLayer::new(emitter.clone())
        .layer(service)
        .oneshot(
            http::Request::post("/upload?sig=SECRET&name=a")
                .body(String::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    let entry = emitter.recent(1)[0].clone();
    assert_eq!(entry.source, "http");
    assert_eq!(entry.level, Level::Warn);
    assert!(entry.message.starts_with("POST /upload 404 "));
    assert_eq!(entry.meta["path"], "/upload");
    assert_eq!(entry.meta["query"], "sig=[REDACTED]&name=a");
}
