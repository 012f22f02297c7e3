//! Alerts on the stream: `vg serve --alerts` sends each notification to its viewers as an `alert`
//! message, and `vg logs` shows it as one line on stderr, never among the entries on stdout.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use support::*;
use vg::wire::{AlertState, ServerMessage};

// A short window so that the alert also resolves within the test.
const RULES: &str = r#"
[[rule]]
name = "api errors"
level = "error"
source = ["api"]
threshold = 2
window = "2s"
"#;

#[tokio::test]
async fn a_viewer_is_sent_the_alert_when_it_fires_and_when_it_resolves() {
    let dir = TempDir::new("alerts-stream");
    let rules = dir.write("rules.toml", RULES);
    let mut server = VgServe::start("127.0.0.1:0", &["--alerts", &rules]);
    let mut ws = connect(&server.ws_url()).await;
    expect_hello(&mut ws).await;
    until_live(&mut ws).await;

    server.write_lines([
        r#"{"level":"error","source":"api","message":"refused"}"#,
        "{\"level\":\"error\",\"source\":\"api\",\"message\":\"refused \\u001b[31magain\"}",
    ]);
    let mut entries = 0;
    let mut alerts = Vec::new();
    within("the alert firing and resolving", async {
        while alerts.len() < 2 {
            match next_message(&mut ws).await {
                ServerMessage::Entries { entries: batch } => entries += batch.len(),
                ServerMessage::Alert(alert) => {
                    // Sent after the entries it is about.
                    assert_eq!(entries, 2, "{alert:?}");
                    alerts.push(alert);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    let (fired, resolved) = (&alerts[0], &alerts[1]);
    assert_eq!(fired.rule, "api errors");
    assert_eq!(fired.state, AlertState::Firing);
    assert_eq!(fired.count, 2);
    assert_eq!(fired.group, None);
    assert!(
        fired
            .summary
            .starts_with("[firing] api errors: 2 in 2s (threshold 2); last: error api: refused"),
        "{}",
        fired.summary
    );
    assert_eq!(resolved.state, AlertState::Resolved);
    assert!(resolved.at > fired.at);
}

#[test]
fn vg_logs_prints_an_alert_as_one_sanitized_line_on_stderr_only() {
    let dir = TempDir::new("alerts-logs");
    let rules = dir.write("rules.toml", RULES);
    let mut server = VgServe::start("127.0.0.1:0", &["--alerts", &rules]);
    let viewer = VgProcess::spawn(&["logs", "-v", "--url", &server.url()]);
    viewer.wait_stderr("history loaded");

    server.write_lines([
        r#"{"level":"error","source":"api","message":"refused"}"#,
        "{\"level\":\"error\",\"source\":\"api\",\"message\":\"refused \\u001b[31magain\"}",
    ]);
    let line = viewer.wait_stderr("vg: alert [firing] api errors");
    // The log message's escape sequence is shown, not obeyed.
    assert!(
        line.ends_with(r"last: error api: refused \e[31magain"),
        "{line}"
    );
    let resolved = viewer.wait_stderr("vg: alert [resolved] api errors");
    assert!(!resolved.contains('\u{1b}'), "{resolved}");

    // stdout holds the two entries and nothing about the alert.
    let again = wait_line(&viewer.stdout, "again");
    assert!(!again.contains("[firing]"), "{again}");
    let stdout: Vec<String> = viewer.stdout.try_iter().collect();
    assert!(
        stdout.iter().all(|l| !l.contains("api errors")),
        "{stdout:?}"
    );
}
