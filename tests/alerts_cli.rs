//! `vg alerts check`, `vg alerts test` and `vg serve --alerts` as a user runs them: the real binary,
//! a real webhook receiver on 127.0.0.1.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::post;
use support::*;
use tokio::sync::mpsc;

const GOOD: &str = r#"
[[rule]]
name = "api errors"
level = "error"
source = ["api*"]
threshold = 2
window = "1m"
cooldown = "10m"
notify = ["ops"]

[[rule]]
name = "worker silent"
source = ["worker"]
absent_for = "2m"

[[notifier]]
name = "ops"
webhook = "WEBHOOK"
"#;

fn good(webhook: &str) -> String {
    GOOD.replace("WEBHOOK", webhook)
}

#[test]
fn check_accepts_a_good_file_and_names_each_problem_of_a_bad_one() {
    let dir = TempDir::new("alerts-check");
    let path = dir.write("rules.toml", &good("https://hooks.example.com/x"));
    let out = vg().args(["alerts", "check", &path]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.ends_with("2 rules and 1 notifier, all valid\n"),
        "{stdout}"
    );

    let bad = dir.write(
        "bad.toml",
        "[[rule]]\nname = \"x\"\nwindow = \"soon\"\ngrep = \"[\"\nnotify = [\"pager\"]\ncolour = 1\n",
    );
    let out = vg().args(["alerts", "check", &bad]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    for (line, want) in lines.iter().zip([
        "line 3: rule \"x\", key 'window': invalid duration 'soon'",
        "line 4: rule \"x\", key 'grep': invalid regex '['",
        "line 5: rule \"x\", key 'notify': no notifier is named \"pager\"",
        "line 6: rule \"x\", key 'colour': unknown key",
    ]) {
        assert!(
            line.starts_with(&format!("vg alerts check: {bad}: {want}")),
            "{line}"
        );
    }
    assert!(lines[4].starts_with("vg: 4 problems in"), "{}", lines[4]);
}

#[test]
fn test_replays_a_file_at_its_own_timestamps_and_sends_nothing() {
    let dir = TempDir::new("alerts-test");
    // The webhook points at a port nothing listens on: a replay must not try it.
    let rules = dir.write("rules.toml", &good("http://127.0.0.1:9/never"));
    let line = |t: &str, level: &str, source: &str, msg: &str| {
        format!(
            r#"{{"timestamp":"2026-05-01T10:{t}Z","level":"{level}","source":"{source}","message":"{msg}"}}"#
        )
    };
    let log = [
        line("00:00.000", "info", "worker", "job"),
        line("00:10.000", "error", "api", "refused"),
        line("00:50.000", "error", "api", "refused again"),
        line("01:00.000", "error", "api-eu", "timeout"),
        line("05:00.000", "info", "worker", "job"),
    ]
    .join("\n");
    let app_log = dir.write("app.log", &log);
    let out = vg()
        .args(["alerts", "test", &rules, "--file", &app_log])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    // Time passes between entries: the window empties and the silence begins when they did, not
    // at the next entry.
    assert_eq!(
        lines[..4],
        [
            "2026-05-01T10:00:50.000Z  [firing] api errors: 2 in 1m (threshold 2); last: error api: refused again  -> ops",
            "2026-05-01T10:01:51.000Z  [resolved] api errors: 1 in 1m (threshold 2); and 1 more like it in 1m1s; last: error api-eu: timeout  -> ops",
            "2026-05-01T10:02:00.000Z  [firing] worker silent: no matching entry for 2m; last: info worker: job  -> no notifier",
            "2026-05-01T10:05:00.000Z  [resolved] worker silent: matching entries arrive again; last: info worker: job  -> no notifier",
        ]
    );
    assert!(
        lines[4].starts_with("4 notifications from 5 entries of "),
        "{}",
        lines[4]
    );
    assert!(lines[4].ends_with("(nothing was sent)"));
}

#[test]
fn serve_refuses_a_bad_rules_file_at_start_with_one_line_per_problem() {
    let dir = TempDir::new("alerts-serve-bad");
    let bad = dir.write(
        "bad.toml",
        "[[rule]]\nname = \"x\"\ncooldown = \"forever\"\n",
    );
    let out = vg()
        .args(["serve", "--bind", "127.0.0.1:0", "--alerts", &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "vg serve: {bad}: line 3: rule \"x\", key 'cooldown': invalid duration 'forever'"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("listening"), "{stderr}");

    // The same from VG_ALERTS.
    let out = vg()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("VG_ALERTS", &bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("key 'cooldown': invalid duration 'forever'"),
        "{stderr}"
    );
}

#[tokio::test]
async fn serve_notifies_shows_state_and_reloads_keeping_the_old_rules_when_the_new_are_bad() {
    // A webhook receiver in this process.
    let (tx, mut got) = mpsc::unbounded_channel::<serde_json::Value>();
    let app = Router::new().route(
        "/hook",
        post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(serde_json::from_str(&body).unwrap());
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = TempDir::new("alerts-serve");
    let rules = dir.write("rules.toml", &good(&hook));
    let mut server = VgServe::start("127.0.0.1:0", &["--alerts", &rules, "--token", "s3cret"]);
    let auth = [("Authorization", "Bearer s3cret")];

    assert_eq!(
        http(server.addr, "GET", "/api/alerts", &[], b"")
            .await
            .status,
        401
    );
    let status = http(server.addr, "GET", "/api/alerts", &auth, b"")
        .await
        .json();
    assert_eq!(status["rules"][0]["name"], "api errors");
    assert_eq!(status["rules"][0]["state"], "ok");
    assert_eq!(status["notifiers"][0]["name"], "ops");

    server.write_lines([
        r#"{"level":"error","source":"api","message":"refused"}"#,
        r#"{"level":"error","source":"api","message":"refused again"}"#,
    ]);
    let n = within("the webhook", got.recv()).await.unwrap();
    assert_eq!(n["rule"], "api errors");
    assert_eq!(n["state"], "firing");
    assert_eq!(n["count"], 2);
    let status = http(server.addr, "GET", "/api/alerts", &auth, b"")
        .await
        .json();
    assert_eq!(status["rules"][0]["state"], "firing");
    assert_eq!(status["rules"][0]["matched"], 2);
    let health = http(server.addr, "GET", "/healthz", &auth, b"")
        .await
        .json();
    assert_eq!(health["alert_notifiers"][0]["name"], "ops");
    assert_eq!(health["alert_notifiers"][0]["state"], "ok");

    // A bad file: refused with its problems, the old rules keep running.
    std::fs::write(&rules, "[[rule]]\nname = \"x\"\nlevel = \"loud\"\n").unwrap();
    let reply = http(server.addr, "POST", "/api/alerts/reload", &auth, b"").await;
    assert_eq!(reply.status, 422);
    let body = reply.json();
    assert!(
        body["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("line 3: rule \"x\", key 'level': unknown level 'loud'"),
        "{body}"
    );
    let status = http(server.addr, "GET", "/api/alerts", &auth, b"")
        .await
        .json();
    assert_eq!(status["rules"].as_array().unwrap().len(), 2);
    assert_eq!(
        http(server.addr, "POST", "/api/alerts/reload", &[], b"")
            .await
            .status,
        401
    );

    // SIGHUP with a good file: one rule now.
    std::fs::write(
        &rules,
        good(&hook)
            .split("[[rule]]\nname = \"worker silent\"")
            .next()
            .unwrap()
            .to_owned()
            + &format!("[[notifier]]\nname = \"ops\"\nwebhook = \"{hook}\"\n"),
    )
    .unwrap();
    let kill = std::process::Command::new("kill")
        .args(["-HUP", &server.process.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    server.process.wait_stderr("reloaded");
    let status = http(server.addr, "GET", "/api/alerts", &auth, b"")
        .await
        .json();
    assert_eq!(status["rules"].as_array().unwrap().len(), 1);
    // The unchanged rule kept its state: still firing, no second notification.
    assert_eq!(status["rules"][0]["state"], "firing");
    let more = tokio::time::timeout(Duration::from_millis(300), got.recv()).await;
    assert!(more.is_err(), "{more:?}");
}
