//! A newer server may send message types this build does not know: `vg logs` skips them quietly and
//! goes on with the stream, against a real WebSocket server on 127.0.0.1.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::routing::get;
use support::*;

#[tokio::test]
async fn vg_logs_skips_a_message_type_it_does_not_know() {
    let app = Router::new().route(
        "/api/logs/stream",
        get(|ws: WebSocketUpgrade| async {
            ws.on_upgrade(|mut socket| async move {
                for frame in [
                    r#"{"type":"hello","protocol":1,"server":"vg-next","version":"9.0.0","boot":"b1"}"#,
                    r#"{"type":"live"}"#,
                    r#"{"type":"pause","until":"2026-05-01T10:00:00Z","reason":"maintenance"}"#,
                    r#"{"type":"entries","entries":[{"timestamp":"2026-05-01T10:00:00Z","level":"info","source":"api","message":"after the unknown one","seq":1}]}"#,
                ] {
                    if socket.send(Message::Text(frame.into())).await.is_err() {
                        return;
                    }
                }
                let close = CloseFrame {
                    code: 1000,
                    reason: "complete".into(),
                };
                let _ = socket.send(Message::Close(Some(close))).await;
            })
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let out = within(
        "vg logs",
        tokio::process::Command::from(vg())
            .args(["logs", "--no-follow", "--url", &url])
            .output(),
    )
    .await
    .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("after the unknown one"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}
