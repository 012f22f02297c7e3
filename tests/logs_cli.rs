//! `vg logs` as a user runs it, on files and stdin: output, filters, JSON, sanitizing, script exits and
//! bad input. (Against a live server: `logs_server.rs`.)
#![cfg(feature = "cli")]

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::prelude::*;
use predicates::prelude::*;
use support::{LIMIT, TempDir, first_line_then_close, line_reader, vg, wait_with_deadline};

const SAMPLE: &str = r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"GET /api/users 200 12ms","meta":{"method":"GET","path":"/api/users","statusCode":200,"duration":12,"userId":"user_123"},"instance":"148e","region":"ord"}
{"timestamp":"2026-02-05T18:13:39.000Z","level":"error","source":"api","message":"GET /api/orders 503 912ms","meta":{"method":"GET","path":"/api/orders","statusCode":503,"duration":912},"instance":"148e","region":"ord"}
{"timestamp":"2026-02-05T18:13:40.000Z","level":"warn","source":"db","message":"slow query: SELECT * FROM orders","meta":{"duration":812},"instance":"9a1f","region":"ams"}
{"timestamp":"2026-02-05T18:13:41.000Z","level":"debug","source":"auth-worker","message":"token refreshed","meta":{"userId":"user_9"},"instance":"9a1f","region":"ams"}
"#;

fn sample_file(dir: &TempDir) -> String {
    dir.write("app.ndjson", SAMPLE)
}

fn messages(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("NDJSON line");
            v["message"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn prints_a_file_as_aligned_lines_and_exits() {
    let dir = TempDir::new("print");
    vg().args(["logs", "--file", &sample_file(&dir)]).assert().success().stdout(
        predicate::str::starts_with(
            "2026-02-05T18:13:38.000Z info  api[148e] ord GET /api/users 200 12ms  method=GET path=/api/users statusCode=200 duration=12 userId=user_123\n",
        )
        .and(predicate::str::contains("warn  db[9a1f] ams  slow query"))
        .and(predicate::str::contains("\u{1b}").not()),
    );
}

#[test]
fn columns_line_up_and_relative_times_keep_their_width() {
    let dir = TempDir::new("aligned");
    let file = dir.write(
        "fleet.ndjson",
        concat!(
            r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"scheduler","message":"cron ok","instance":"9a21c4e5f0","region":"ams"}"#,
            "\n",
            r#"{"timestamp":"2026-02-05T18:13:39.000Z","level":"error","source":"api","message":"GET / 500","instance":"148e7d2a","region":"ord"}"#,
            "\n",
        ),
    );
    let out = vg().args(["logs", "--file", &file]).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "2026-02-05T18:13:38.000Z info  scheduler[9a21c4] ams cron ok\n\
         2026-02-05T18:13:39.000Z error api[148e7d] ord       GET / 500\n"
    );
    let out = vg()
        .args(["logs", "--time", "relative", "--file", &file])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let starts: Vec<usize> = text
        .lines()
        .map(|l| l.find(" info  ").or_else(|| l.find(" error ")).unwrap())
        .collect();
    assert_eq!(starts, [8, 8], "{text}");
}

#[test]
fn multi_line_messages_continue_on_marked_lines_or_stay_on_one() {
    let dir = TempDir::new("multiline");
    let file = dir.write(
        "trace.ndjson",
        concat!(
            r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"error","source":"api","message":"panic: boom\n\tat handler (app.js:1)\n2026-02-05T18:13:39.000Z fatal api forged","meta":{"requestId":"r1"}}"#,
            "\n",
        ),
    );
    let out = vg().args(["logs", "--file", &file]).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        // Continuation text starts under the message (column 35), after the marker.
        format!(
            "2026-02-05T18:13:38.000Z error api panic: boom  requestId=r1\n\
             {0}│ \tat handler (app.js:1)\n\
             {0}│ 2026-02-05T18:13:39.000Z fatal api forged\n",
            " ".repeat(33)
        )
    );
    let out = vg()
        .args(["logs", "--single-line", "--file", &file])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "2026-02-05T18:13:38.000Z error api panic: boom\\n\tat handler (app.js:1)\\n2026-02-05T18:13:39.000Z fatal api forged  requestId=r1\n"
    );
    let json = vg()
        .args(["logs", "--json", "--file", &file])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(json.stdout).unwrap(),
        std::fs::read_to_string(&file).unwrap()
    );
}

#[test]
fn json_output_is_the_entries_unchanged() {
    let dir = TempDir::new("json");
    let out = vg()
        .args(["logs", "--json", "--file", &sample_file(&dir)])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), SAMPLE);
}

#[test]
fn every_filter_applies_locally() {
    let dir = TempDir::new("filters");
    let file = sample_file(&dir);
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--level", "warn"],
            &[
                "GET /api/orders 503 912ms",
                "slow query: SELECT * FROM orders",
            ],
        ),
        (
            &["--source", "db,auth-*"],
            &["slow query: SELECT * FROM orders", "token refreshed"],
        ),
        (
            &["--exclude-source", "api"],
            &["slow query: SELECT * FROM orders", "token refreshed"],
        ),
        (
            &["--grep", "^GET .* 5\\d\\d"],
            &["GET /api/orders 503 912ms"],
        ),
        (
            &["--where", "statusCode>=500"],
            &["GET /api/orders 503 912ms"],
        ),
        (&["--where", "userId=user_9"], &["token refreshed"]),
        (
            &["--where", "duration>100", "--where", "path~^/api"],
            &["GET /api/orders 503 912ms"],
        ),
        (
            &["--instance", "148e"],
            &["GET /api/users 200 12ms", "GET /api/orders 503 912ms"],
        ),
        (
            &["--region", "ams", "--level", "info"],
            &["slow query: SELECT * FROM orders"],
        ),
        (
            &["--since", "2026-02-05T18:13:40Z"],
            &["slow query: SELECT * FROM orders", "token refreshed"],
        ),
        (
            &["--until", "2026-02-05T18:13:38.500Z"],
            &["GET /api/users 200 12ms"],
        ),
        (&["-n", "1"], &["token refreshed"]),
    ];
    for (flags, want) in cases {
        let out = vg()
            .args(["logs", "--json", "--file", &file])
            .args(*flags)
            .output()
            .unwrap();
        assert!(out.status.success(), "{flags:?}");
        assert_eq!(messages(&out.stdout), *want, "{flags:?}");
    }
}

#[test]
fn hostile_content_cannot_reach_stdout_raw_unless_asked() {
    let dir = TempDir::new("hostile");
    let evil = "title \u{1b}]0;pwned\u{7} clear \u{1b}[2J hide \u{1b}[8m c1 \u{9b}31m bidi \u{202e}gpj.exe\nforged";
    let line = serde_json::json!({"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"x\u{1b}[1A","message":evil});
    let file = dir.write(
        "evil.ndjson",
        &format!("{line}\nplain \u{1b}[31mred\u{7}\n"),
    );
    let out = vg()
        .args(["logs", "--color", "never", "--file", &file])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // The message's second line continues the entry, indented and marked: it cannot pass for one.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].starts_with(' ') && lines[1].trim_start() == "│ forged",
        "a newline in a message must not forge a line: {text}"
    );
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\r'] {
        assert!(!text.contains(bad), "{bad:?} reached stdout: {text:?}");
    }
    assert!(text.contains(r"title \e]0;pwned\x07 clear \e[2J"), "{text}");

    let raw = vg()
        .args(["logs", "--raw", "--file", &file])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(raw.stdout)
            .unwrap()
            .contains("\u{1b}]0;pwned\u{7}")
    );
    let json = vg()
        .args(["logs", "--json", "--file", &file])
        .output()
        .unwrap();
    let first: serde_json::Value =
        serde_json::from_slice(json.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["message"], evil, "JSON keeps the raw data");
}

#[test]
fn colour_follows_the_flag() {
    let dir = TempDir::new("colour");
    let file = sample_file(&dir);
    vg().args(["logs", "--color", "always", "--file", &file])
        .assert()
        .stdout(predicate::str::contains("\u{1b}[31merror"));
    vg().args(["logs", "--file", &file])
        .assert()
        .stdout(predicate::str::contains("\u{1b}").not());
}

#[test]
fn stdin_is_read_with_the_same_decoding() {
    let input = "{\"level\":50,\"time\":1770315218000,\"name\":\"api\",\"msg\":\"pino says\"}\nplain words\n";
    let mut cmd = vg();
    cmd.args(["logs", "--file", "-", "--level", "error"]);
    assert_cmd::Command::from_std(cmd)
        .write_stdin(input)
        .assert()
        .success()
        .stdout("2026-02-05T18:13:38.000Z error api pino says\n");
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--grep", "(unclosed"], "invalid regex '(unclosed'"),
        (&["--level", "loud"], "unknown level 'loud'"),
        (&["--since", "yesterday"], "invalid time 'yesterday'"),
        (&["--where", "status"], "invalid predicate 'status'"),
        (&["--timeout", "soon"], "invalid duration 'soon'"),
        (&["--until-match", "["], "invalid --until-match regex '['"),
        (&["--url", "ftp://host"], "invalid URL 'ftp://host'"),
        (&["--color", "sometimes"], "invalid value 'sometimes'"),
    ];
    for (flags, want) in cases {
        let out = vg().arg("logs").args(*flags).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(want), "{flags:?}: {stderr}");
        if !want.starts_with("invalid value") {
            assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        }
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_missing_file_is_one_line_and_exit_1() {
    vg().args(["logs", "--file", "/nonexistent/app.log"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "vg: cannot read /nonexistent/app.log",
        ));
}

#[test]
fn until_match_fail_on_and_timeout_exit_codes() {
    let cases: &[(&[&str], &str, i32)] = &[
        (
            &["--until-match", "listening on"],
            "booting\nlistening on :8080\n",
            0,
        ),
        (
            &["--fail-on", "panic"],
            "booting\nthread main panicked\n",
            1,
        ),
        (
            &["--until-match", "listening", "--timeout", "300ms"],
            "booting\n",
            124,
        ),
        (
            &["--fail-on", "panic", "--timeout", "300ms"],
            "all good\n",
            124,
        ),
    ];
    for (flags, input, code) in cases {
        // stdin stays open, as a live pipe would, so only the match or the timeout can end vg.
        let mut child = vg()
            .args(["logs", "--file", "-"])
            .args(*flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        let status = wait_with_deadline(&mut child, LIMIT);
        drop(stdin);
        assert_eq!(status.code(), Some(*code), "{flags:?}");
        let mut said = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
        // A run that went as asked is silent on stderr; an exit for trouble says why.
        assert_eq!(said.is_empty(), *code == 0, "{flags:?}: {said:?}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_0() {
    let mut child = vg()
        .args(["logs", "--file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    // Like `| head -1`: the pipe closes once the line is read.
    let line = first_line_then_close(child.stdout.take().unwrap());
    assert!(line.ends_with("info  stdin first\n"), "{line}");
    for _ in 0..50 {
        if stdin
            .write_all(&[b'x'; 4096])
            .and_then(|()| stdin.write_all(b"\n"))
            .is_err()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let status = wait_with_deadline(&mut child, LIMIT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "quiet: {stderr}");
}

/// Appends to a file as a logger would.
fn append(path: &str, text: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

#[test]
fn following_survives_rotation_truncation_and_half_written_lines() {
    let dir = TempDir::new("rotate");
    let path = dir.write("app.log", "old 1\n");
    let mut child = vg()
        .args(["logs", "-f", "--file", &path])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = line_reader(child.stdout.take().unwrap());
    let next = || {
        let line = lines.recv_timeout(LIMIT).expect("a line");
        support::display_message(&line)
    };
    assert_eq!(next(), "old 1");

    // A line written in two pieces is one entry.
    append(&path, "half");
    std::thread::sleep(Duration::from_millis(600));
    append(&path, " and half\n");
    assert_eq!(next(), "half and half");

    // Rotation: the old file is renamed away and a new one takes its path.
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    std::fs::write(&path, "new 1\n").unwrap();
    assert_eq!(
        next(),
        "new 1",
        "the new file is read, and the old one is not replayed"
    );

    // copytruncate: the same file emptied and written again.
    std::fs::write(&path, "").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    append(&path, "after truncate\n");
    assert_eq!(next(), "after truncate");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lines.try_iter().all(|l| !l.contains("old 1")),
        "nothing replayed"
    );
}

#[test]
fn a_directory_is_not_a_log_file() {
    let dir = TempDir::new("dir");
    vg().args(["logs", "--file", &dir.path().to_string_lossy()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("it is a directory"));
}

#[test]
fn no_server_with_no_follow_says_why_and_exits_1() {
    // Port 9 (discard) on loopback is closed on any sane test machine.
    let out = vg()
        .args(["logs", "--no-follow", "--url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach ws://127.0.0.1:9/api/logs/stream"),
        "{stderr}"
    );
}

#[test]
fn a_file_wins_over_a_server_url_from_the_environment() {
    let dir = TempDir::new("env-url");
    vg().env("VG_URL", "http://127.0.0.1:9")
        .args(["logs", "--file", &sample_file(&dir)])
        .assert()
        .success()
        .stdout(predicate::str::contains("GET /api/users 200 12ms"));
    // Typed together, the two are a mistake worth saying so.
    vg().args([
        "logs",
        "--url",
        "http://127.0.0.1:9",
        "--file",
        &sample_file(&dir),
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("cannot be used with --url"));
}
