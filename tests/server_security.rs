//! Who may connect, and the limits a peer cannot push past.

#![cfg(feature = "server")]

mod support;

use std::time::Duration;

use futures_util::SinkExt;
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};
use vg::Level;
use vg::server::GatewayConfig;

const TOKEN: &str = "s3cret-0123456789";

/// Tries a handshake with extra headers: the socket, or the HTTP status it was refused with.
async fn handshake(
    server: &TestServer,
    query: &str,
    headers: &[(&'static str, &str)],
) -> Result<(Ws, tungstenite::handshake::client::Response), u16> {
    let mut request = server.ws_url(query).into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    match within("handshake", tokio_tungstenite::connect_async(request)).await {
        Ok(ok) => Ok(ok),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("handshake failed without a status: {e}"),
    }
}

async fn with_token() -> TestServer {
    TestServer::start(emitter_config(), GatewayConfig::default().token(TOKEN)).await
}

#[tokio::test]
async fn a_token_is_required_when_set() {
    let server = with_token().await;
    assert_eq!(handshake(&server, "", &[]).await.err(), Some(401));
    let wrong = format!("Bearer {TOKEN}x");
    assert_eq!(
        handshake(&server, "", &[("authorization", &wrong)])
            .await
            .err(),
        Some(401)
    );
    // Never taken from the URL, where it would end up in access logs.
    let in_url = format!("token={TOKEN}&access_token={TOKEN}");
    assert_eq!(handshake(&server, &in_url, &[]).await.err(), Some(401));
    let almost = format!("vg.v1, vg.token.{}", &TOKEN[1..]);
    assert_eq!(
        handshake(&server, "", &[("sec-websocket-protocol", &almost)])
            .await
            .err(),
        Some(401)
    );
    server.stop().await;
}

#[tokio::test]
async fn the_token_in_a_header_or_a_subprotocol_is_accepted() {
    let server = with_token().await;
    let bearer = format!("Bearer {TOKEN}");
    let (mut ws, _) = handshake(&server, "", &[("authorization", &bearer)])
        .await
        .unwrap();
    expect_hello(&mut ws).await;
    drop(ws);

    // The browser form: the server must pick a protocol the client offered, and not the token one.
    let offered = format!("vg.v1, vg.token.{TOKEN}");
    let (mut ws, response) = handshake(&server, "", &[("sec-websocket-protocol", &offered)])
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("sec-websocket-protocol").unwrap(),
        "vg.v1"
    );
    expect_hello(&mut ws).await;
    server.emitter.log(Level::Info, "api", "authorized");
    until_live(&mut ws).await;
    let (got, _) = until_entry(&mut ws, |_| true).await;
    assert_eq!(messages(&got), ["authorized"]);
    drop(ws);

    // The HTTP endpoints take the same header.
    let refused = server.request("GET", "/api/logs", &[], b"").await;
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let ok = server
        .request("GET", "/api/logs", &[("Authorization", &bearer)], b"")
        .await;
    assert_eq!(ok.status, 200);
    let post = server
        .request("POST", "/api/logs", &[], b"{\"msg\":\"x\"}")
        .await;
    assert_eq!(post.status, 401);
    // Health checks need no token.
    assert_eq!(
        server.request("GET", "/healthz", &[], b"").await.status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn an_empty_token_refuses_everyone_instead_of_nobody() {
    // As from `token(std::env::var("VG_TOKEN").unwrap_or_default())` with the variable set empty.
    let server = TestServer::start(emitter_config(), GatewayConfig::default().token("")).await;
    server.emitter.log(Level::Info, "api", "private");
    let open = server.request("GET", "/api/logs", &[], b"").await;
    assert_eq!(open.status, 401, "{}", open.body);
    let empty = server
        .request("GET", "/api/logs", &[("Authorization", "Bearer ")], b"")
        .await;
    assert_eq!(empty.status, 401);
    assert_eq!(handshake(&server, "", &[]).await.err(), Some(401));
    server.stop().await;
}

#[tokio::test]
async fn a_foreign_browser_origin_is_refused() {
    let config = GatewayConfig::default().allow_origin("https://dash.example.com");
    let server = TestServer::start(emitter_config(), config).await;
    let foreign = [("origin", "http://evil.example")];
    assert_eq!(handshake(&server, "", &foreign).await.err(), Some(403));
    let post = server
        .request(
            "POST",
            "/api/logs",
            &[("Origin", "http://evil.example")],
            b"{\"msg\":\"x\"}",
        )
        .await;
    assert_eq!(post.status, 403);
    assert!(post.body.contains("--allow-origin"), "{}", post.body);
    assert_eq!(server.emitter.stats().entries, 0);

    let same = format!("http://{}", server.addr);
    let (mut ws, _) = handshake(&server, "", &[("origin", &same)]).await.unwrap();
    expect_hello(&mut ws).await;
    drop(ws);
    let (mut ws, _) = handshake(&server, "", &[("origin", "https://dash.example.com")])
        .await
        .unwrap();
    expect_hello(&mut ws).await;
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn a_dns_rebound_page_cannot_read_history_from_a_tokenless_server() {
    // In-process: only the `Host` header matters here, so any port stands for the server's.
    let server = TestApp::default();
    server.emitter.log(Level::Info, "api", "private");
    // A hostile name pointed at 127.0.0.1: the page's own GET is same-origin, so it sends no Origin,
    // and over plain http no Fetch Metadata either. Only the Host shows what happened.
    let rebound = "rebind.evil.example:8080";
    let response = server
        .request("GET", "/api/logs", &[("Host", rebound)], b"")
        .await;
    assert_eq!(response.status, 403, "{}", response.body);
    assert!(!response.body.contains("private"));
    assert!(
        response.body.contains("--allow-origin"),
        "{}",
        response.body
    );
    // Addressed by IP or localhost, as programs on this machine do, it answers.
    let local = "localhost:8080";
    let program = server
        .request("GET", "/api/logs", &[("Host", local)], b"")
        .await;
    assert_eq!(program.status, 200);
    assert!(program.body.contains("private"));
}

#[tokio::test]
async fn over_the_connection_limit_is_closed_with_1013() {
    let server = TestServer::start(
        emitter_config(),
        GatewayConfig::default().max_connections(2),
    )
    .await;
    let (one, _) = server.connect("").await;
    let (_two, _) = server.connect("").await;
    let mut three = connect(&server.ws_url("")).await;
    assert_eq!(close_code(&mut three).await, Some(1013));
    drop(one);
    // The slot frees once the server notices the first viewer left.
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts < 100, "the slot never came back");
        let mut ws = connect(&server.ws_url("")).await;
        match next_event(&mut ws).await {
            Event::Message(vg::wire::ServerMessage::Hello(_)) => break,
            Event::Closed(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Event::Message(other) => panic!("{other:?}"),
        }
    }
    server.stop().await;
}

/// Broken frames get the close code that says what was wrong, not a socket that just goes away.
#[tokio::test]
async fn protocol_errors_close_with_1002_and_invalid_utf8_with_1007() {
    let server = TestServer::default().await;
    let cases: [(&str, Frame, u16); 3] = [
        (
            "a text message that is not UTF-8",
            Frame::message(
                &b"{\"type\":\"filter\",\"q\":\"\xff\xfe\"}"[..],
                OpCode::Data(Data::Text),
                true,
            ),
            1007,
        ),
        (
            "a text message cut inside a UTF-8 sequence",
            Frame::message(&b"caf\xc3"[..], OpCode::Data(Data::Text), true),
            1007,
        ),
        (
            "a continuation with nothing to continue",
            Frame::message(&b"x"[..], OpCode::Data(Data::Continue), true),
            1002,
        ),
    ];
    for (what, frame, code) in cases {
        let (mut ws, _) = server.connect("").await;
        until_live(&mut ws).await;
        within("send", ws.send(Message::Frame(frame)))
            .await
            .unwrap();
        assert_eq!(close_code(&mut ws).await, Some(code), "{what}");
    }
    // Reserved bits set without an extension that defines them.
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    let mut frame = Frame::message(&b"{}"[..], OpCode::Data(Data::Text), true);
    frame.header_mut().rsv2 = true;
    within("send", ws.send(Message::Frame(frame)))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1002), "reserved bits");
    // The server keeps serving others.
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_message_is_refused_with_1009() {
    let server = TestServer::default().await;
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    let huge = format!(r#"{{"type":"filter","q":"{}"}}"#, "a".repeat(100 * 1024));
    within("send", ws.send(Message::text(huge))).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1009));
    server.stop().await;
}

const READ: &str = "read-0123456789abcdef";
const INGEST: &str = "ingest-0123456789abcdef";

/// A read token and an ingest token: each opens its own endpoints and not the other's.
#[tokio::test]
async fn read_and_ingest_tokens_have_separate_scopes() {
    let config = GatewayConfig::default()
        .token("shared-0123456789")
        .read_token(READ)
        .ingest_token(INGEST);
    let server = TestServer::start(emitter_config(), config).await;
    let app = &server;
    let bearer = |t: &str| format!("Bearer {t}");
    let entry = br#"{"level":"info","source":"app","message":"scoped"}"#;
    let post = |token: String| async move {
        app.request("POST", "/api/logs", &[("authorization", &token)], entry)
            .await
            .status
    };
    assert_eq!(post(bearer(READ)).await, 401, "a read token cannot send");
    assert!(post(bearer(INGEST)).await < 300, "the ingest token sends");
    let get = |token: String| async move {
        app.request("GET", "/api/logs", &[("authorization", &token)], b"")
            .await
    };
    assert_eq!(
        get(bearer(INGEST)).await.status,
        401,
        "an ingest token cannot read"
    );
    let read = get(bearer(READ)).await;
    assert_eq!(read.status, 200);
    assert!(read.body.contains("scoped"), "{}", read.body);
    // The shared token is replaced for both scopes, not added to them.
    assert_eq!(get(bearer("shared-0123456789")).await.status, 401);
    // Viewers need the read token.
    let header = bearer(INGEST);
    assert_eq!(
        handshake(&server, "", &[("authorization", &header)])
            .await
            .err(),
        Some(401)
    );
    let header = bearer(READ);
    assert!(
        handshake(&server, "", &[("authorization", &header)])
            .await
            .is_ok()
    );
    server.stop().await;
}

/// Token guessing from one address is cut off with 429, even for the right token, and `/healthz`
/// counts it; a request without any token is not held against the address.
#[tokio::test]
async fn wrong_tokens_are_rate_limited_per_address() {
    let server = with_token().await;
    let right = format!("Bearer {TOKEN}");
    for _ in 0..20 {
        let none = http(server.addr, "GET", "/api/logs", &[], b"").await;
        assert_eq!(none.status, 401);
    }
    let mut statuses = Vec::new();
    for n in 0..12 {
        let guess = format!("Bearer guess-{n}");
        statuses.push(
            http(
                server.addr,
                "GET",
                "/api/logs",
                &[("authorization", &guess)],
                b"",
            )
            .await
            .status,
        );
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429, 429], "{statuses:?}");
    let refused = http(
        server.addr,
        "GET",
        "/api/logs",
        &[("authorization", &right)],
        b"",
    )
    .await;
    assert_eq!(
        refused.status, 429,
        "the right token waits out the window too"
    );
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // In-process requests carry no peer address: counted, never limited.
    let health = server
        .request("GET", "/healthz", &[("authorization", &right)], b"")
        .await
        .json();
    assert_eq!(
        health["auth"]["failed"], 10,
        "refused ones are not checked, so not counted"
    );
    assert_eq!(health["auth"]["limited"], 3);
    server.stop().await;
}
