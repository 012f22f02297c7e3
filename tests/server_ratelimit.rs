//! Per-client rate limits, from separate client addresses on the loopback network (127.0.0.2,
//! 127.0.0.3: Linux routes all of 127/8 to the loopback interface): a client over its limit gets
//! 429 with `Retry-After`, while another client's requests go through.

#![cfg(all(feature = "server", target_os = "linux"))]

mod support;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use vg::server::{GatewayConfig, Rate, RateLimits};

/// A request sent from `from` (the source address), read to the end: (status, Retry-After, body).
async fn request_from(
    from: &str,
    server: SocketAddr,
    head: &str,
    body: &[u8],
) -> (u16, Option<String>, String) {
    within("request", async {
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))
            .unwrap();
        let mut stream = socket.connect(server).await.unwrap();
        let request = format!(
            "{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut reply = Vec::new();
        // An upgraded connection stays open: the head is all that is needed.
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut reply)).await;
        let reply = String::from_utf8_lossy(&reply).into_owned();
        let status = reply[9..12].parse().unwrap();
        let retry_after = reply
            .lines()
            .find_map(|l| l.strip_prefix("retry-after: "))
            .map(str::to_owned);
        let body = reply
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_owned());
        (status, retry_after, body)
    })
    .await
}

fn rate(count: u32, per: Duration, burst: u32) -> Option<Rate> {
    Some(Rate::new(
        NonZeroU32::new(count).unwrap(),
        per,
        NonZeroU32::new(burst).unwrap(),
    ))
}

const POST: &str = "POST /api/logs HTTP/1.1\r\nContent-Type: application/x-ndjson";

#[tokio::test]
async fn an_ingest_flood_from_one_client_does_not_starve_another() {
    // One request a minute after a burst of 5: the flood cannot earn a new one during the test.
    let limits = RateLimits {
        ingest: rate(1, Duration::from_secs(60), 5),
        connect: None,
    };
    let server = TestServer::start(
        emitter_config(),
        GatewayConfig::default().rate_limits(limits),
    )
    .await;
    let line = br#"{"msg":"flood"}"#;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(request_from("127.0.0.2", server.addr, POST, line).await);
    }
    let codes: Vec<u16> = statuses.iter().map(|s| s.0).collect();
    assert_eq!(codes, [200, 200, 200, 200, 200, 429, 429, 429]);
    let (_, retry_after, body) = &statuses[5];
    let seconds: u64 = retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");
    assert!(
        body.starts_with("too many ingest requests from 127.0.0.2"),
        "{body}"
    );
    // Only what was let in was taken.
    assert_eq!(server.emitter.recent(100).len(), 5);

    // Another client is served as if nothing happened, and reading is not an ingest request.
    let (status, _, body) =
        request_from("127.0.0.3", server.addr, POST, br#"{"msg":"other"}"#).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) =
        request_from("127.0.0.2", server.addr, "GET /api/logs HTTP/1.1", b"").await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn connection_attempts_are_limited_per_client() {
    let limits = RateLimits {
        ingest: None,
        connect: rate(1, Duration::from_secs(60), 2),
    };
    let server = TestServer::start(
        emitter_config(),
        GatewayConfig::default().rate_limits(limits),
    )
    .await;
    let upgrade = "GET /api/logs/stream HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
    // `Connection: close` follows in the helper; hyper reads the first Connection header.
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(request_from("127.0.0.2", server.addr, upgrade, b"").await.0);
    }
    assert_eq!(codes, [101, 101, 429]);
    assert_eq!(
        request_from("127.0.0.3", server.addr, upgrade, b"").await.0,
        101
    );
    server.stop().await;
}
