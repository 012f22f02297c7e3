//! Plain-text logs through `vg logs`, as `kubectl logs -f pod | vg logs --file - --level warn` runs:
//! levels named in the text and leading timestamps are the entries' own, logfmt lines are fields,
//! and a stack trace is one entry.
#![cfg(feature = "cli")]

mod support;

use std::io::Write;
use std::process::Command;

use support::{TempDir, VgProcess};

/// `vg` with none of the user's settings.
fn vg() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vg"));
    for var in ["VG_URL", "VG_TOKEN", "NO_COLOR", "VG_INSTANCE", "VG_REGION"] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn plain_text_errors_survive_a_level_filter_with_their_own_times() {
    let input = "\
2026-02-05T18:13:38.000Z INFO  server started
2026-02-05T18:13:39.250Z WARN  cache hit ratio low
E0205 18:13:40.000000       1 controller.go:114] sync failed
time=2026-02-05T18:13:41Z level=error msg=\"db down\"
<3>kernel: oops
2026-02-05 18:13:42,500 [main] DEBUG c.e.App - tick
a line that names no level
";
    let out = assert_cmd::Command::from_std({
        let mut cmd = vg();
        cmd.args(["logs", "--file", "-", "--level", "warn", "--json"]);
        cmd
    })
    .write_stdin(input)
    .assert()
    .success()
    .get_output()
    .stdout
    .clone();
    let entries: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["level"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("warn", "2026-02-05T18:13:39.250Z WARN  cache hit ratio low"),
            (
                "error",
                "E0205 18:13:40.000000       1 controller.go:114] sync failed"
            ),
            ("error", "db down"),
            ("error", "<3>kernel: oops"),
        ]
    );
    assert_eq!(entries[0]["timestamp"], "2026-02-05T18:13:39.250Z");
    // glog writes no year: the latest February 5th not in the future.
    let glog = entries[1]["timestamp"].as_str().unwrap();
    assert!(glog.ends_with("-02-05T18:13:40.000Z"), "{glog}");
}

/// What `vg logs --file - --json` prints for `input`, one JSON value per entry.
fn json_entries(input: &str) -> Vec<serde_json::Value> {
    let out = assert_cmd::Command::from_std({
        let mut cmd = vg();
        cmd.args(["logs", "--file", "-", "--json"]);
        cmd
    })
    .write_stdin(input)
    .assert()
    .success()
    .get_output()
    .stdout
    .clone();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn logfmt_lines_become_fields_a_filter_can_use() {
    let input = r#"time=2026-02-05T18:13:41.250Z level=warn msg="pool \"main\" exhausted" logger=db size=20
time=2026-02-05T18:13:42Z level=info msg=ok logger=db size=3
"#;
    let entries = json_entries(input);
    assert_eq!(entries.len(), 2);
    let e = &entries[0];
    assert_eq!(e["message"], "pool \"main\" exhausted");
    assert_eq!(
        (&e["level"], &e["source"], &e["timestamp"]),
        (
            &"warn".into(),
            &"db".into(),
            &"2026-02-05T18:13:41.250Z".into()
        )
    );
    assert_eq!(e["meta"]["size"], "20");

    // The pairs are fields: a filter on one keeps only the matching entry.
    let out = assert_cmd::Command::from_std({
        let mut cmd = vg();
        cmd.args(["logs", "--file", "-", "--json", "--where", "size<10"]);
        cmd
    })
    .write_stdin(input)
    .assert()
    .success()
    .get_output()
    .stdout
    .clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(r#""message":"ok""#), "{out}");
}

#[test]
fn a_stack_trace_is_one_entry_at_the_level_of_the_line_that_logged_it() {
    let input = "\
2026-02-05 18:13:38,123 ERROR [main] c.e.App - request failed
java.lang.IllegalStateException: boom
\tat com.example.App.handle(App.java:42)
Caused by: java.io.IOException: broken pipe
\t... 2 more
ERROR:root:payment failed
Traceback (most recent call last):
  File \"app.py\", line 3, in <module>
KeyError: 'card'
2026-02-05 18:13:39,000 INFO  [main] c.e.App - recovered
";
    let entries = json_entries(input);
    let got: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["level"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "error",
                "2026-02-05 18:13:38,123 ERROR [main] c.e.App - request failed"
            ),
            (
                "info",
                "java.lang.IllegalStateException: boom\n\tat com.example.App.handle(App.java:42)\nCaused by: java.io.IOException: broken pipe\n\t... 2 more"
            ),
            (
                "error",
                "ERROR:root:payment failed\nTraceback (most recent call last):\n  File \"app.py\", line 3, in <module>\nKeyError: 'card'"
            ),
            (
                "info",
                "2026-02-05 18:13:39,000 INFO  [main] c.e.App - recovered"
            ),
        ]
    );
}

/// The held last entry of a pipe that stays open (`kubectl logs -f`) is shown once the pipe is
/// quiet, not when the next line comes.
#[test]
fn the_last_entry_of_a_quiet_pipe_is_not_held_back() {
    let mut vg = VgProcess::spawn(&["logs", "--file", "-", "--json"]);
    vg.write_lines(["first", "ValueError: boom", "\tat frame"]);
    // stdin stays open: both entries must still arrive, the second with its frame.
    vg.wait_stdout(r#""message":"first""#);
    let trace = vg.wait_stdout("ValueError");
    assert!(
        trace.contains(r#""message":"ValueError: boom\n\tat frame""#),
        "{trace}"
    );
    vg.stdin().write_all(b"after\n").unwrap();
    vg.stdin().flush().unwrap();
    vg.wait_stdout(r#""message":"after""#);
}

/// The same for a followed file: its last entry is shown while the file stays as it is.
#[test]
fn the_last_entry_of_a_followed_file_is_not_held_back() {
    let dir = TempDir::new("follow-join");
    let path = dir.write("app.log", "boom\n\tat frame\n");
    let mut vg = VgProcess::spawn(&["logs", "--file", &path, "-f", "--json"]);
    let got = vg.wait_stdout("boom");
    assert!(got.contains(r#""message":"boom\n\tat frame""#), "{got}");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"second\n\tat other\n").unwrap();
    let got = vg.wait_stdout("second");
    assert!(got.contains(r#""message":"second\n\tat other""#), "{got}");
    vg.close_stdin();
}

/// The same without `--json`, where the display lines are formatted on every core: a trickle
/// still shows at once and the held entry goes once the pipe is quiet, with its frame joined.
#[test]
fn display_lines_of_a_quiet_pipe_are_not_held_back() {
    let mut vg = VgProcess::spawn(&["logs", "--file", "-", "--color", "never"]);
    vg.write_lines(["first", "ValueError: boom", "\tat frame"]);
    vg.wait_stdout("first");
    vg.wait_stdout("ValueError: boom");
    // The frame is a continuation of the entry above, shown under it, not an entry of its own.
    let frame = vg.wait_stdout("at frame");
    assert!(!frame.contains("info"), "{frame:?}");
    vg.stdin().write_all(b"after\n").unwrap();
    vg.stdin().flush().unwrap();
    vg.wait_stdout("after");
}

/// A file of many thousand lines, stack traces among them, read on every core gives exactly the
/// lines the viewer gives one entry at a time (`--fail-on` with a pattern that never matches keeps
/// `vg logs` on that path).
#[test]
fn a_large_file_formatted_on_every_core_matches_the_viewer_line_for_line() {
    let mut input = String::new();
    for i in 0..40_000 {
        match i % 500 {
            7 => input.push_str(&format!(
                "2026-02-05 18:13:38,123 ERROR [main] c.e.App - failed {i}\n\
                 \tjava.lang.IllegalStateException: boom\n\tat com.example.App.handle(App.java:42)\n\
                 Traceback (most recent call last):\n  File \"app.py\", line 3\nKeyError: 'card'\n"
            )),
            _ => input.push_str(&format!(
                "{{\"timestamp\":\"2026-02-05T18:13:38.123Z\",\"level\":\"{}\",\"source\":\"src{}\",\"message\":\"request {i}\",\"meta\":{{\"n\":{i}}}}}\n",
                ["info", "warn", "error"][i % 3],
                i % 7
            )),
        }
    }
    let dir = TempDir::new("whole-file");
    let path = dir.write("big.log", &input);
    let run = |extra: &[&str]| {
        let mut cmd = vg();
        cmd.args(["logs", "--file", &path, "--color", "always"]);
        cmd.args(extra);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for filter in [
        &[][..],
        &["--level", "warn"][..],
        &["--grep", "request 1"][..],
    ] {
        let viewer = run(&[filter, &["--fail-on", "^never matches$"][..]].concat());
        let parallel = run(filter);
        assert!(viewer.lines().count() > 1_000, "{filter:?}");
        assert!(parallel == viewer, "{filter:?}: the outputs differ");
    }
}
