//! `vg serve --stdin` and `vg demo --no-tui` as a user runs them: the real binary, a real client.

#![cfg(all(feature = "server", feature = "cli"))]

mod common;
mod support;

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;

use common::{line_reader, vg};
use support::*;
use vg::Level;

/// A `vg` child process, killed when dropped, whose output lines arrive on channels.
struct Vg {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: mpsc::Receiver<String>,
    stdout: mpsc::Receiver<String>,
}

impl Vg {
    fn spawn(args: &[&str]) -> Vg {
        let mut child = vg()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = line_reader(child.stderr.take().unwrap());
        let stdout = line_reader(child.stdout.take().unwrap());
        Vg {
            stdin: child.stdin.take(),
            child,
            stderr,
            stdout,
        }
    }

    /// Waits for a line of `stream` containing `needle`.
    fn wait_line(stream: &mpsc::Receiver<String>, needle: &str) -> String {
        loop {
            match stream.recv_timeout(LIMIT) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line containing {needle:?}: {e}"),
            }
        }
    }

    /// The `http://127.0.0.1:PORT` the server printed.
    fn url(line: &str) -> String {
        let start = line.find("http://").expect("a URL");
        line[start..].split_whitespace().next().unwrap().to_owned()
    }
}

impl Drop for Vg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn serve_stdin_streams_what_it_reads() {
    let mut vg = Vg::spawn(&["serve", "--stdin", "--bind", "127.0.0.1:0"]);
    let url = Vg::url(&Vg::wait_line(&vg.stderr, "listening on"));
    let ws_url = format!("{}/api/logs/stream", url.replacen("http", "ws", 1));
    let mut ws = connect(&ws_url).await;
    expect_hello(&mut ws).await;
    until_live(&mut ws).await;

    let stdin = vg.stdin.as_mut().unwrap();
    writeln!(
        stdin,
        r#"{{"timestamp":"2026-02-05T18:13:38.000Z","level":"warn","source":"api","message":"native json"}}"#
    )
    .unwrap();
    writeln!(
        stdin,
        r#"{{"level":"error","msg":"zap style","logger":"db","ts":1770315218.5}}"#
    )
    .unwrap();
    writeln!(stdin, "a plain line").unwrap();
    stdin.flush().unwrap();
    let (got, _) = until_entry(&mut ws, |e| e.message == "a plain line").await;
    assert_eq!(messages(&got), ["native json", "zap style", "a plain line"]);
    assert_eq!((got[0].level, got[0].source.as_str()), (Level::Warn, "api"));
    assert_eq!((got[1].level, got[1].source.as_str()), (Level::Error, "db"));
    assert_eq!(
        (got[2].level, got[2].source.as_str()),
        (Level::Info, "stdin")
    );

    // End of input: the server says so and keeps serving its history.
    drop(vg.stdin.take());
    Vg::wait_line(&vg.stderr, "stdin ended after 3 lines");
    let addr = url.trim_start_matches("http://").parse().unwrap();
    let history = http(addr, "GET", "/api/logs", &[], b"").await;
    assert_eq!(history.json().as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn serve_stdin_reports_damage_while_reading_and_marks_cut_lines() {
    let mut vg = Vg::spawn(&["serve", "--stdin", "--bind", "127.0.0.1:0"]);
    let url = Vg::url(&Vg::wait_line(&vg.stderr, "listening on"));
    let stdin = vg.stdin.as_mut().unwrap();
    // Two MiB without a newline, then a normal line; stdin stays open, as a piped app's does.
    stdin.write_all(&vec![b'x'; 2 * 1024 * 1024]).unwrap();
    stdin.write_all(b"\nafter the long one\n").unwrap();
    stdin.flush().unwrap();
    let said = Vg::wait_line(&vg.stderr, "damaged");
    assert!(said.contains("1 damaged stdin line"), "{said}");

    let addr = url.trim_start_matches("http://").parse().unwrap();
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
    let vg = Vg::spawn(&["demo", "--no-tui", "--bind", "127.0.0.1:0", "--rate", "200"]);
    let url = Vg::url(&Vg::wait_line(&vg.stdout, "http://"));
    Vg::wait_line(&vg.stderr, "vg tui --url");
    let addr = url.trim_start_matches("http://").parse().unwrap();
    let seeded = http(addr, "GET", "/api/logs?limit=50", &[], b"")
        .await
        .json();
    assert_eq!(seeded.as_array().unwrap().len(), 50);
    let ws_url = format!("{}/api/logs/stream", url.replacen("http", "ws", 1));
    let mut ws = connect(&ws_url).await;
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
    let output = Command::new(env!("CARGO_BIN_EXE_vg"))
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
    let output = Command::new(env!("CARGO_BIN_EXE_vg"))
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
    let output = Command::new(env!("CARGO_BIN_EXE_vg"))
        .args(["serve", "--bind", &addr])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "not a usage mistake");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains("--bind 127.0.0.1:0"), "{stderr}");
}
