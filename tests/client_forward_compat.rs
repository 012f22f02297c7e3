//! A newer server may send message types this build does not know: `vg logs` skips them quietly and
//! goes on with the stream, against a real WebSocket server on 127.0.0.1.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::routing::get;
use support::*;

/// A WebSocket server on 127.0.0.1 that sends `frames` to each viewer, then closes normally; its
/// URL.
async fn scripted_server(frames: &'static [&'static str]) -> String {
    let app = Router::new().route(
        "/api/logs/stream",
        get(move |ws: WebSocketUpgrade| async move {
            ws.on_upgrade(move |mut socket| async move {
                for frame in frames {
                    if socket.send(Message::Text((*frame).into())).await.is_err() {
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
    url
}

async fn vg_logs(args: &[&str]) -> (String, String, std::process::ExitStatus) {
    let out = within(
        "vg logs",
        tokio::process::Command::from(vg()).args(args).output(),
    )
    .await
    .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status,
    )
}

#[tokio::test]
async fn vg_logs_skips_a_message_type_it_does_not_know() {
    let url = scripted_server(&[
        r#"{"type":"hello","protocol":1,"server":"vg-next","version":"9.0.0","boot":"b1"}"#,
        r#"{"type":"live"}"#,
        r#"{"type":"pause","until":"2026-05-01T10:00:00Z","reason":"maintenance"}"#,
        r#"{"type":"entries","entries":[{"timestamp":"2026-05-01T10:00:00Z","level":"info","source":"api","message":"after the unknown one","seq":1}]}"#,
    ])
    .await;
    let (stdout, stderr, status) = vg_logs(&["logs", "--no-follow", "--url", &url]).await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("after the unknown one"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}

const WARN_SLOW: &str = r#"{"timestamp":"2026-05-01T10:00:01.000Z","level":"warn","source":"api","message":"slow query","meta":{"ms":900},"seq":2}"#;
const WARN_SLOW_ESCAPED: &str = r#"{"timestamp":"2026-05-01T10:00:03.000Z","level":"warn","source":"api","message":"slow \"query\"","seq":4}"#;

#[tokio::test]
async fn json_output_is_filtered_locally_too_when_a_server_ignores_the_filter() {
    // A server that sends everything whatever the viewer asked: `vg logs --json` still prints only
    // what its filter keeps, compact entries as they were sent, the others as decoded.
    const FRAMES: &[&str] = &[
        r#"{"type":"hello","protocol":1,"server":"old","version":"0.1.0","boot":"b1"}"#,
        concat!(
            r#"{"type":"entries","entries":["#,
            r#"{"timestamp":"2026-05-01T10:00:00.000Z","level":"info","source":"api","message":"slow query","seq":1},"#,
            r#"{"timestamp":"2026-05-01T10:00:01.000Z","level":"warn","source":"api","message":"slow query","meta":{"ms":900},"seq":2},"#,
            r#"{"timestamp":"2026-05-01T10:00:02.000Z","level":"warn","source":"api","message":"fast query","seq":3},"#,
            r#"{"timestamp":"2026-05-01T10:00:03.000Z","level":"warn","source":"api","message":"slow \"query\"","seq":4}"#,
            "]}"
        ),
        r#"{"type":"live"}"#,
    ];
    let url = scripted_server(FRAMES).await;
    let args = [
        "logs",
        "--json",
        "--no-follow",
        "--level",
        "warn",
        "--grep",
        "slow",
    ];
    let (stdout, stderr, status) = vg_logs(&[&args[..], &["--url", &url]].concat()).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stdout,
        format!("{WARN_SLOW}\n{WARN_SLOW_ESCAPED}\n"),
        "{stderr}"
    );
    // And a `where` filter, which reads `meta`.
    let (stdout, _, _) = vg_logs(&[
        "logs",
        "--json",
        "--no-follow",
        "--where",
        "ms>500",
        "--url",
        &url,
    ])
    .await;
    assert_eq!(stdout, format!("{WARN_SLOW}\n"));
}
