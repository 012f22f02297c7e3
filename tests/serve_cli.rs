//! `vg serve --stdin` and `vg demo --no-tui` as a user runs them: the real binary, a real client.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use std::io::Write;
use std::process::Stdio;

use support::*;
use vg::Level;

#[tokio::test]
async fn serve_stdin_streams_what_it_reads() {
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    let mut ws = connect(&server.ws_url()).await;
    expect_hello(&mut ws).await;
    until_live(&mut ws).await;

    server.write_lines([
        r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"warn","source":"api","message":"native json"}"#,
        r#"{"level":"error","msg":"zap style","logger":"db","ts":1770315218.5}"#,
        "a plain line",
    ]);
    let (got, _) = until_entry(&mut ws, |e| e.message == "a plain line").await;
    assert_eq!(messages(&got), ["native json", "zap style", "a plain line"]);
    assert_eq!((got[0].level, got[0].source.as_str()), (Level::Warn, "api"));
    assert_eq!((got[1].level, got[1].source.as_str()), (Level::Error, "db"));
    assert_eq!(
        (got[2].level, got[2].source.as_str()),
        (Level::Info, "stdin")
    );

    // End of input: the server says so and keeps serving its history.
    server.process.close_stdin();
    server.process.wait_stderr("stdin ended after 3 lines");
    let history = http(server.addr, "GET", "/api/logs", &[], b"").await;
    assert_eq!(history.json().as_array().unwrap().len(), 3);
    // Prometheus sees where they came from.
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await;
    let scrape =
        prometheus_parse::Scrape::parse(metrics.body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let stdin = scrape
        .samples
        .iter()
        .find(|s| s.metric == "vg_entries_ingested_total" && s.labels.get("path") == Some("stdin"))
        .expect("a stdin count");
    assert_eq!(stdin.value, prometheus_parse::Value::Counter(3.0));
}

#[tokio::test]
async fn serve_stdin_reports_damage_while_reading_and_marks_cut_lines() {
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    let stdin = server.process.stdin();
    // Two MiB without a newline, then a normal line; stdin stays open, as a piped app's does.
    stdin.write_all(&vec![b'x'; 2 * 1024 * 1024]).unwrap();
    stdin.write_all(b"\nafter the long one\n").unwrap();
    stdin.flush().unwrap();
    let said = server.process.wait_stderr("damaged");
    assert!(said.contains("1 damaged stdin line"), "{said}");

    let addr = server.addr;
    // The notice comes as the long line is read; the next line follows it into history.
    let deadline = std::time::Instant::now() + LIMIT;
    let entries = loop {
        let history = http(addr, "GET", "/api/logs", &[], b"").await.json();
        let entries = history.as_array().unwrap().clone();
        if entries.len() >= 2 || std::time::Instant::now() > deadline {
            break entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        entries.len(),
        2,
        "the cut line is kept, and the next one survives"
    );
    assert_eq!(entries[0]["message"].as_str().unwrap().len(), 1024 * 1024);
    assert_eq!(entries[0]["meta"]["vgTruncated"], true);
    assert_eq!(entries[1]["message"], "after the long one");
}

#[tokio::test]
async fn demo_serves_synthetic_logs_and_prints_its_url() {
    let demo = VgProcess::spawn(&["demo", "--no-tui", "--bind", "127.0.0.1:0", "--rate", "200"]);
    let addr = announced_addr(&demo.wait_stdout("http://"));
    demo.wait_stderr("vg tui --url");
    let seeded = http(addr, "GET", "/api/logs?limit=50", &[], b"")
        .await
        .json();
    assert_eq!(seeded.as_array().unwrap().len(), 50);
    let mut ws = connect(&format!("ws://{addr}/api/logs/stream")).await;
    let hello = expect_hello(&mut ws).await;
    let newest = hello.newest_seq.unwrap();
    until_live(&mut ws).await;
    // The workload keeps going: new entries arrive live.
    let (got, _) = until_entry(&mut ws, |e| e.seq > Some(newest)).await;
    assert!(
        got.iter()
            .all(|e| e.instance.is_some() && e.region.is_some())
    );
}

#[test]
fn serve_explains_an_address_it_cannot_use() {
    let output = vg()
        .args(["serve", "--bind", "not-an-address"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("vg: cannot listen on not-an-address"),
        "{stderr}"
    );
    assert!(stderr.contains("--bind"), "{stderr}");
}

#[test]
fn serve_refuses_an_empty_token() {
    let output = vg()
        .args(["serve", "--token", "", "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "an empty token would mean no auth"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("--token"));
}

#[test]
fn serve_explains_a_port_that_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = support::TempDir::new("port-taken");
    let data = dir.path().join("data");
    let output = vg()
        .args(["serve", "--bind", &addr, "--data-dir"])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "not a usage mistake");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains("--bind 127.0.0.1:0"), "{stderr}");
    assert!(
        !data.exists(),
        "the data dir is left alone by a server that cannot listen"
    );
}

#[tokio::test]
async fn serve_stdin_joins_a_stack_trace_and_does_not_hold_the_last_one() {
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    let mut ws = connect(&server.ws_url()).await;
    expect_hello(&mut ws).await;
    until_live(&mut ws).await;
    // stdin stays open after the trace: it must arrive whole without a line after it.
    server.write_lines([
        "2026-02-05T18:13:38Z ERROR request failed",
        "java.lang.IllegalStateException: boom",
        "\tat com.example.App.handle(App.java:42)",
        "Caused by: java.io.IOException: broken pipe",
    ]);
    let (got, _) = until_entry(&mut ws, |e| e.message.starts_with("java.lang")).await;
    assert_eq!(
        messages(&got),
        [
            "2026-02-05T18:13:38Z ERROR request failed",
            "java.lang.IllegalStateException: boom\n\tat com.example.App.handle(App.java:42)\nCaused by: java.io.IOException: broken pipe",
        ]
    );
    assert_eq!(got[0].level, Level::Error);
}

/// `vg serve --read-token/--ingest-token`: each token opens its own side only, and a wrong token is
/// reported on stderr with the peer's address, never the token.
#[tokio::test]
async fn serve_with_separate_read_and_ingest_tokens() {
    let (read, ingest) = ("read-token-0123456789", "ingest-token-0123456789");
    let server = VgServe::start(
        "127.0.0.1:0",
        &["--read-token", read, "--ingest-token", ingest],
    );
    let bearer = |t: &str| format!("Bearer {t}");
    let entry = br#"{"level":"info","source":"app","message":"scoped"}"#;
    let send = |token: String| async move {
        http(
            server.addr,
            "POST",
            "/api/logs",
            &[("authorization", &token)],
            entry,
        )
        .await
        .status
    };
    assert_eq!(send(bearer(read)).await, 401, "the read token cannot send");
    assert!(send(bearer(ingest)).await < 300);
    let get = |token: String| async move {
        http(
            server.addr,
            "GET",
            "/api/logs",
            &[("authorization", &token)],
            b"",
        )
        .await
    };
    assert_eq!(
        get(bearer(ingest)).await.status,
        401,
        "the ingest token cannot read"
    );
    let history = get(bearer(read)).await;
    assert_eq!(history.status, 200);
    assert!(history.body.contains("scoped"), "{}", history.body);
    let reported = server
        .process
        .wait_stderr("failed authentication from 127.0.0.1");
    assert!(
        !reported.contains(read) && !reported.contains(ingest),
        "{reported}"
    );
}

#[tokio::test]
async fn serve_stdin_with_a_data_dir_writes_every_line_however_fast_they_come() {
    let data = TempDir::new("stdin-disk");
    let dir = data.path().to_str().unwrap();
    // `--fsync always` makes the history writer as slow as it gets; a pipe that is read faster
    // than that used to lap it and lose entries from history.
    let mut server = VgServe::start("127.0.0.1:0", &["--data-dir", dir, "--fsync", "always"]);
    const LINES: u64 = 60_000;
    server.write_lines((1..=LINES).map(|i| format!(r#"{{"level":"info","message":"line {i}"}}"#)));
    server.process.close_stdin();
    server
        .process
        .wait_stderr(&format!("stdin ended after {LINES} lines"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let stats = loop {
        let reply = http(server.addr, "GET", "/api/logs/stats", &[], b"").await;
        let stats = reply.json();
        let done = stats["written"].as_u64().unwrap() + stats["not_written"].as_u64().unwrap();
        if done >= LINES || std::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        (stats["written"].as_u64(), stats["not_written"].as_u64()),
        (Some(LINES), Some(0)),
        "{stats}"
    );
    assert_eq!(stats["newest_seq"].as_u64(), Some(LINES), "{stats}");
}
