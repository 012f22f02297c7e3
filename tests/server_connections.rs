//! The bounds on HTTP connections under `serve`, from outside, on real loopback sockets: the caps on
//! open connections (in total and per client address, before a byte is read), and the header, body
//! and write timeouts that close connections a client holds without finishing (slowloris).
//!
//! Attackers connect from other loopback addresses (127.0.0.2, ...) so that the per-client cap on
//! them leaves 127.0.0.1 free for the `/healthz` a load balancer would send.

#![cfg(feature = "server")]

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use vg::model::Level;
use vg::server::GatewayConfig;

use support::*;

async fn connect_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    within("connect", socket.connect(server)).await.unwrap()
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn until_closed(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    within("the server closing the connection", async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&got).into_owned()
}

/// `/healthz` as the server's operator sees it (no token is set, so the detailed answer).
async fn health(addr: SocketAddr) -> serde_json::Value {
    let response = http(addr, "GET", "/healthz", &[], b"").await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

/// Waits until the server reports this many open connections (the `/healthz` request included).
async fn open_connections_reach(addr: SocketAddr, want: u64) {
    within("open connections to drop", async {
        loop {
            if health(addr).await["connections"]["open"] == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn connections_over_the_caps_are_refused_before_their_request_and_healthz_still_answers() {
    // Timeouts far beyond the test, so nothing here closes except by a cap.
    let long = Duration::from_secs(600);
    let config = GatewayConfig::default()
        .max_http_connections(130, 100)
        .timeouts(long, long, long);
    let server = TestServer::start(emitter_config(), config).await;
    let mut held = Vec::new();
    for _ in 0..150 {
        held.push(connect_from("127.0.0.2", server.addr).await);
    }
    // Accepted after all 150, so they have all been counted by the time it answers.
    let health = health(server.addr).await;
    assert_eq!(health["connections"]["open"], 101, "{health}");
    let (kept, refused) = held.split_at_mut(100);
    for tcp in refused.iter_mut() {
        let said = until_closed(tcp).await;
        assert!(
            said.starts_with("HTTP/1.1 503")
                && said.contains("too many connections from your address"),
            "{said}"
        );
    }
    for tcp in kept.iter() {
        let mut buf = [0u8; 64];
        let unread = tcp.try_read(&mut buf);
        assert!(
            matches!(&unread, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a connection under the cap was answered or closed: {unread:?}"
        );
    }
    // Another client fills the total, then is refused by it.
    let mut others = Vec::new();
    for _ in 0..40 {
        others.push(connect_from("127.0.0.3", server.addr).await);
    }
    let mut refused_by_total = 0;
    for tcp in &mut others[30..] {
        let said = until_closed(tcp).await;
        assert!(said.contains("HTTP connection limit"), "{said}");
        refused_by_total += 1;
    }
    assert_eq!(refused_by_total, 10);
    assert_eq!(server.gateway.viewers(), 0);
    drop(held);
    drop(others);
    server.stop().await;
}

#[tokio::test]
async fn idle_and_half_sent_connections_are_closed_after_the_timeouts() {
    let short = Duration::from_secs(1);
    let config = GatewayConfig::default()
        .max_http_connections(1000, 1000)
        .timeouts(short, short, short);
    let server = TestServer::start(emitter_config(), config).await;
    let host = format!("Host: {}\r\n", server.addr);
    let mut held = Vec::new();
    for i in 0..300 {
        let mut tcp = connect_from("127.0.0.2", server.addr).await;
        match i % 3 {
            // Connects and says nothing.
            0 => {}
            // Half a request head.
            1 => {
                let head = format!("GET /healthz HTTP/1.1\r\n{host}X-Slow: 1\r\n");
                tcp.write_all(head.as_bytes()).await.unwrap();
            }
            // A whole head, then a few bytes of a body it says is 100 kB.
            _ => {
                let head = format!(
                    "POST /api/logs HTTP/1.1\r\n{host}Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n{{\"msg\":"
                );
                tcp.write_all(head.as_bytes()).await.unwrap();
            }
        }
        held.push(tcp);
    }
    // The server answers others meanwhile.
    health(server.addr).await;
    for (i, tcp) in held.iter_mut().enumerate() {
        let said = until_closed(tcp).await;
        if i % 3 == 2 {
            assert!(said.starts_with("HTTP/1.1 408"), "{said}");
        }
    }
    open_connections_reach(server.addr, 1).await;
    assert!(server.emitter.history().bounds().newest.is_none());
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_does_not_read_its_response_is_cut_off_by_the_write_timeout() {
    let short = Duration::from_secs(1);
    let config = GatewayConfig::default().timeouts(short, short, short);
    let server = TestServer::start(emitter_config(), config).await;
    // 16 MB of history: far more than the socket buffers of both ends hold.
    let message = "x".repeat(8 * 1024);
    for _ in 0..2000 {
        server.emitter.log(Level::Info, "load", message.clone());
    }
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = within("connect", socket.connect(server.addr))
        .await
        .unwrap();
    let request = format!(
        "GET /api/logs?limit=2000 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    // The server gives up on it without the client doing anything.
    open_connections_reach(server.addr, 1).await;
    let got = until_closed(&mut tcp).await;
    assert!(
        got.starts_with("HTTP/1.1 200"),
        "{}",
        &got[..got.len().min(200)]
    );
    assert!(
        got.len() < 2000 * message.len(),
        "the whole response arrived ({} bytes): the write was not cut off",
        got.len()
    );
    server.stop().await;
}
