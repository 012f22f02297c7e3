//! `vg logs` against a real `vg serve` on loopback: filters through the server, JSON, and never losing
//! its place across a server restart, a cut connection and evicted history.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{
    LIMIT, VgProcess, VgServe, first_line_then_close, line_reader, vg, wait_with_deadline,
};

/// Writes one entry per message to the server's stdin.
fn emit(server: &mut VgServe, messages: impl IntoIterator<Item = String>) {
    server.write_lines(messages.into_iter().map(|m| {
        serde_json::json!({"level": "info", "source": "api", "msg": m, "time": "2026-02-05T18:13:38Z"})
    }));
}

/// A `vg logs` process. Killed on drop.
struct Logs(VgProcess);

impl Logs {
    fn start(args: &[&str]) -> Logs {
        Logs(VgProcess::spawn(&[&["logs"], args].concat()))
    }

    /// The next `n` stdout lines' messages (display format, message after the level column).
    fn messages(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let line = self.0.stdout.recv_timeout(LIMIT).expect("a line on stdout");
                support::display_message(&line)
            })
            .collect()
    }

    fn wait_stderr(&self, needle: &str) -> String {
        self.0.wait_stderr(needle)
    }

    fn assert_no_more_stdout(&self) {
        if let Ok(line) = self.0.stdout.recv_timeout(Duration::from_millis(500)) {
            panic!("unexpected extra line: {line}");
        }
    }
}

/// What `vg logs --json --no-follow` with `flags` prints from the server at `url`; it must succeed.
fn logs_json(url: &str, flags: &[&str]) -> String {
    let out = vg()
        .args(["logs", "--json", "--no-follow", "--url", url])
        .args(flags)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{flags:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn numbered(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("entry {i}")).collect()
}

#[test]
fn json_output_matches_what_the_server_holds_and_filters_push_down() {
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    let lines = [
        r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"GET /a 200","meta":{"statusCode":200}}"#,
        r#"{"timestamp":"2026-02-05T18:13:39.000Z","level":"error","source":"api","message":"GET /b 503","meta":{"statusCode":503}}"#,
        r#"{"timestamp":"2026-02-05T18:13:40.000Z","level":"warn","source":"db","message":"slow query","meta":{"duration":900}}"#,
    ];
    server.write_lines(lines);
    let url = server.url();
    let run = |flags: &[&str]| -> Vec<serde_json::Value> {
        logs_json(&url, flags)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // The history may still be filling from stdin: wait (bounded) until all three are there.
    let mut all = Vec::new();
    for _ in 0..100 {
        all = run(&[]);
        if all.len() == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(all.len(), 3);
    for (got, sent) in all.iter().zip(lines) {
        let mut want: serde_json::Value = serde_json::from_str(sent).unwrap();
        want["seq"] = got["seq"].clone();
        assert_eq!(got, &want, "entries come through unchanged, plus their seq");
    }
    let messages = |flags: &[&str]| -> Vec<String> {
        run(flags)
            .iter()
            .map(|v| v["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(messages(&["--level", "warn"]), ["GET /b 503", "slow query"]);
    assert_eq!(messages(&["--source", "db"]), ["slow query"]);
    assert_eq!(
        messages(&["--exclude-source", "db"]),
        ["GET /a 200", "GET /b 503"]
    );
    assert_eq!(messages(&["--grep", "^GET"]), ["GET /a 200", "GET /b 503"]);
    assert_eq!(messages(&["--where", "statusCode>=500"]), ["GET /b 503"]);
    assert_eq!(
        messages(&["--since", "2026-02-05T18:13:39Z"]),
        ["GET /b 503", "slow query"]
    );
    assert_eq!(messages(&["-n", "1"]), ["slow query"]);

    // A window that ends in the past needs no --no-follow: once history is printed, vg is done.
    let mut window = vg()
        .args(["logs", "--url", &url, "--until", "2026-02-05T18:13:39Z"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = line_reader(window.stdout.take().unwrap());
    assert!(wait_with_deadline(&mut window, LIMIT).success());
    assert_eq!(printed.iter().count(), 2);
}

#[test]
fn a_time_window_is_not_cut_to_the_default_tail() {
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    emit(&mut server, numbered(1..=150));
    server.wait_emitted("entry 150");
    let url = server.url();
    let count = |flags: &[&str]| {
        let out = vg()
            .args(["logs", "--no-follow", "--url", &url])
            .args(flags)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().lines().count()
    };
    assert_eq!(count(&[]), 100, "recent history by default");
    assert_eq!(count(&["--since", "2026-02-05"]), 150, "the whole window");
    assert_eq!(count(&["--since", "2026-02-05", "-n", "7"]), 7);
}

#[test]
fn a_server_that_is_not_there_yet_is_waited_for() {
    // A free port: bound and released, so nothing listens there when vg logs starts.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let logs = Logs::start(&["--url", &format!("http://{addr}")]);
    let first = logs.wait_stderr("retrying until it is back");
    assert!(first.contains("cannot reach"), "{first}");
    // Several more attempts fail the same way meanwhile (backoff 0.25 s, 0.5 s, 1 s): said once.
    std::thread::sleep(Duration::from_millis(1800));
    let repeated: Vec<String> = logs.0.stderr.try_iter().collect();
    assert!(
        repeated.is_empty(),
        "an outage repeats itself: {repeated:?}"
    );
    let mut server = VgServe::start(&addr, &[]);
    emit(&mut server, numbered(1..=2));
    assert_eq!(logs.messages(2), numbered(1..=2));
}

#[test]
fn a_server_restart_is_reported_and_streaming_continues() {
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    let addr = server.addr.to_string();
    emit(&mut server, numbered(1..=3));
    let logs = Logs::start(&["--url", &server.url()]);
    assert_eq!(logs.messages(3), numbered(1..=3));

    drop(server);
    logs.wait_stderr("retrying until it is back");
    let mut server = VgServe::start(&addr, &[]);
    logs.wait_stderr("reconnected");
    logs.wait_stderr("server restarted");
    emit(&mut server, numbered(4..=5));
    assert_eq!(logs.messages(2), numbered(4..=5));
    logs.assert_no_more_stdout();
}

/// A TCP relay between `vg logs` and the server that the test can cut, to drop connections without
/// stopping the server.
struct Relay {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (accept_open, accept_streams) = (open.clone(), streams.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                if !accept_open.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close at once
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let mut held = accept_streams.lock().unwrap();
                held.push(client.try_clone().unwrap());
                held.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay {
            addr,
            open,
            streams,
        }
    }

    /// Cuts every open connection and refuses new ones until `reopen`.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    fn reopen(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_cut_connection_resumes_exactly_where_it_stopped() {
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    let relay = Relay::start(server.addr);
    emit(&mut server, numbered(1..=5));
    let logs = Logs::start(&["--url", &format!("http://{}", relay.addr)]);
    assert_eq!(logs.messages(5), numbered(1..=5));

    relay.cut();
    logs.wait_stderr("retrying until it is back");
    emit(&mut server, numbered(6..=9)); // logged while the viewer is away
    server.wait_emitted("entry 9");
    relay.reopen();
    logs.wait_stderr("reconnected");
    emit(&mut server, numbered(10..=10));
    assert_eq!(
        logs.messages(5),
        numbered(6..=10),
        "no line lost, none twice"
    );
    logs.assert_no_more_stdout();
}

#[test]
fn entries_evicted_while_away_are_counted_exactly() {
    let gap = gap_after_eviction(&[]);
    assert!(
        gap.contains("vg: 7 entries missed (no longer in server history)"),
        "{gap}"
    );
}

#[test]
fn with_a_filter_the_evicted_count_is_an_upper_bound() {
    // The server counts seqs it no longer holds; it cannot know which the filter would have shown.
    let gap = gap_after_eviction(&["--grep", "entry"]);
    assert!(
        gap.contains("vg: up to 7 entries missed (no longer in server history)"),
        "{gap}"
    );
}

#[test]
fn json_output_is_the_servers_own_json_byte_for_byte_whatever_the_entry_holds() {
    // `vg logs --json` passes entries in vg's compact form on as the server wrote them and decodes
    // the rest; either way each line must be exactly what the server's own query answers.
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    let many_keys: serde_json::Map<String, serde_json::Value> = (0..40)
        .map(|i| (format!("k{i}"), serde_json::json!(i)))
        .collect();
    let entries = [
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.000Z", "level": "info", "source": "api", "message": "GET /a 200", "meta": {"statusCode": 200, "ok": true, "gone": null}}),
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.001Z", "level": "warn", "source": "api", "message": "said \"hi\"\nthen left\ttab"}),
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.002Z", "level": "error", "source": "défaut", "message": "héllo ✓ 日本"}),
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.003Z", "level": "error", "source": "api", "message": "\u{1b}[2J\u{1b}]0;pwned\u{7} \u{9b}31m \u{202e}gnp.exe"}),
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.004Z", "level": "warn", "source": "db", "message": "numbers", "meta": {"duration": 2.5, "big": 18446744073709551615u64, "neg": -7, "tiny": 1e-7, "huge": 1e21, "nested": {"a": [1, "two", {"b": null}]}}}),
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.005Z", "level": "info", "source": "api", "message": "many keys", "meta": many_keys}),
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.006123Z", "level": "debug", "source": "api", "message": "micros", "instance": "web-1", "region": "ord"}),
        // Compact ones that the filters below keep, so that their in-place test runs too.
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.007Z", "level": "warn", "source": "cache", "message": "hit ratio low", "meta": {"ratio": 0.5, "duration": 3}}),
        serde_json::json!({"timestamp": "2026-02-05T18:13:38.008Z", "level": "fatal", "source": "api", "message": "shutting down", "region": "ams"}),
    ];
    server.write_lines(entries.iter().map(|e| e.to_string()));
    let url = server.url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let query = |params: &str| {
        let target = format!("/api/logs?limit=100&{params}");
        let accept = [("Accept", "application/x-ndjson")];
        rt.block_on(support::http(server.addr, "GET", &target, &accept, b""))
            .body
    };
    // The history may still be filling from stdin: wait (bounded) until all are there.
    for _ in 0..100 {
        if query("").lines().count() == entries.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for (flags, params) in [
        (&[][..], ""),
        (&["--level", "warn"][..], "level=warn"),
        (&["--where", "duration>1"][..], "where=duration%3E1"),
        (&["--grep", "h"][..], "q=h"),
    ] {
        let got = logs_json(&url, flags);
        let expected = query(params);
        assert!(
            !expected.is_empty(),
            "{params}: the server answers something"
        );
        assert_eq!(got, expected, "{flags:?}");
    }
}

#[test]
fn a_window_ending_ahead_is_followed_until_then_and_then_vg_is_done() {
    let server = VgServe::start("127.0.0.1:0", &[]);
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let out = vg()
        .args([
            "logs",
            "--until",
            &until,
            "--timeout",
            "1s",
            "--url",
            &server.url(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("is ahead: following until then"), "{said}");

    // One that ends in a moment: vg is done once it has passed, and says nothing more.
    let until = (chrono::Utc::now() + chrono::Duration::milliseconds(500)).to_rfc3339();
    let mut child = vg()
        .args(["logs", "--until", &until, "--url", &server.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_with_deadline(&mut child, LIMIT).success());
}

/// Cuts a `vg logs` (run with `args`) off while the server evicts seqs 3..=9, and returns the gap
/// line it printed on reconnecting; no entry it could still get is lost.
fn gap_after_eviction(args: &[&str]) -> String {
    let mut server = VgServe::start("127.0.0.1:0", &["--history", "3"]);
    let relay = Relay::start(server.addr);
    emit(&mut server, numbered(1..=2));
    let url = format!("http://{}", relay.addr);
    let logs = Logs::start(&[&["--url", url.as_str()], args].concat());
    assert_eq!(logs.messages(2), numbered(1..=2));

    relay.cut();
    logs.wait_stderr("retrying until it is back");
    emit(&mut server, numbered(3..=12)); // history keeps only 10..=12
    server.wait_emitted("entry 12");
    relay.reopen();
    let gap = logs.wait_stderr("entries missed");
    assert_eq!(logs.messages(3), numbered(10..=12));
    logs.assert_no_more_stdout();
    gap
}

#[test]
fn a_json_follower_cut_off_resumes_with_each_entry_once_and_the_loss_counted() {
    // `--json` on one server takes entries as the server wrote them: its resume must still go by
    // their seqs exactly.
    let mut server = VgServe::start("127.0.0.1:0", &["--history", "3"]);
    let relay = Relay::start(server.addr);
    emit(&mut server, numbered(1..=2));
    let url = format!("http://{}", relay.addr);
    let logs = Logs::start(&["--json", "--url", url.as_str()]);
    let messages = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| {
                let line = logs.0.stdout.recv_timeout(LIMIT).expect("a line on stdout");
                let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
                entry["message"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(messages(2), numbered(1..=2));
    relay.cut();
    logs.wait_stderr("retrying until it is back");
    emit(&mut server, numbered(3..=12)); // history keeps only 10..=12
    server.wait_emitted("entry 12");
    relay.reopen();
    assert!(
        logs.wait_stderr("entries missed")
            .contains("7 entries missed")
    );
    assert_eq!(messages(3), numbered(10..=12));
    logs.assert_no_more_stdout();
}

#[test]
fn a_reader_that_falls_behind_catches_up_from_history_instead_of_losing_entries() {
    const N: u32 = 60_000;
    let mut server = VgServe::start("127.0.0.1:0", &["--history", "100000"]);
    // Nobody reads its stdout at first: the pipe and the socket fill, and the server's live ring
    // (4,096 entries) moves on without this viewer.
    let mut child = vg()
        .args(["logs", "-v", "--json", "-n", "0", "--url", &server.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = line_reader(child.stderr.take().unwrap());
    let connected = stderr
        .recv_timeout(LIMIT)
        .expect("vg logs -v says it connects");
    assert!(connected.contains("connect"), "{connected}");
    std::thread::sleep(Duration::from_millis(300));
    emit(&mut server, numbered(1..=N));
    server.wait_emitted(&format!("entry {N}"));
    let stdout = line_reader(child.stdout.take().unwrap());
    let mut expected = 1;
    while expected <= N {
        let line = stdout.recv_timeout(LIMIT).expect("every entry arrives");
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            entry["message"],
            format!("entry {expected}"),
            "in order, none lost"
        );
        expected += 1;
    }
    let _ = child.kill();
    let _ = child.wait();
    let said: Vec<String> = stderr.try_iter().collect();
    assert!(
        said.iter().all(|l| !l.contains("missed")),
        "reported a loss: {said:?}"
    );
}

#[test]
fn closing_the_pipe_ends_vg_logs_even_when_no_entry_arrives() {
    let mut server = VgServe::start("127.0.0.1:0", &[]);
    emit(&mut server, numbered(1..=2));
    server.wait_emitted("entry 2");
    let mut child = vg()
        .args(["logs", "--url", &server.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // `vg logs | head -1`: one line read, then the reader goes, and the server stays quiet.
    let first = first_line_then_close(child.stdout.take().unwrap());
    assert!(first.contains("entry 1"), "{first}");
    let status = wait_with_deadline(&mut child, LIMIT);
    assert!(status.success(), "{status:?}");
}
