//! End to end: the real `vg tui` binary in a real terminal (tmux), driven by keys and read back from
//! the screen. Entries come from a file the test appends to, and, with the `server` feature, from a
//! real `vg serve` fed on stdin.
//!
//! Each test runs its own tmux server on a private socket and kills it when done. Every wait is
//! bounded. Without tmux installed the tests say so and pass; CI installs it.
#![cfg(feature = "cli")]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{LIMIT, TempDir, vg};

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tmux server of our own, with one session running one command; killed on drop. Its socket lives
/// in the test's scratch directory, so nothing is left behind.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(scratch: &TempDir, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: scratch.path().join("tmux.sock"),
        };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "vg",
            "-x",
            "120",
            "-y",
            "30",
            command,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "vg"]).stdout).into_owned()
    }

    /// Sends keys one tmux argument at a time (`Escape`, `Enter`, or literal text).
    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let out = self.run(&["send-keys", "-t", "vg", key]);
            assert!(out.status.success(), "send-keys {key}: {out:?}");
            // A terminal reads ESC followed at once by a letter as Alt+letter; give keys room.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn type_text(&self, text: &str) {
        let out = self.run(&["send-keys", "-t", "vg", "-l", text]);
        assert!(out.status.success(), "send-keys -l {text}: {out:?}");
    }

    /// Waits until `ready` holds for the screen; panics with the last screen if it never does.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn line(n: u32, level: &str, message: &str) -> String {
    format!(
        r#"{{"timestamp":"2026-02-05T18:13:{:02}.000Z","level":"{level}","source":"api","message":"{message}"}}"#,
        n % 60
    )
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The shell command tmux runs: the viewer, then a marker with its exit code so the test can see that
/// it quit and left a usable terminal behind.
fn shell(vg_args: &str) -> String {
    format!(
        "{} tui {vg_args}; echo \"vg exited $?\"; sleep 60",
        quoted(Path::new(env!("CARGO_BIN_EXE_vg")))
    )
}

/// The same session with any source: pause and count arrivals, toggle a level, search and filter to
/// the matches, quit. `append` delivers more entries to whatever the viewer reads.
fn pause_toggle_search(tmux: &Tmux, append: &mut dyn FnMut(&[String])) {
    tmux.wait_for("the initial entries", |s| s.contains("message 5"));

    tmux.keys(&["Space"]);
    tmux.wait_for("the paused banner", |s| s.contains("PAUSED +0 new"));
    append(&[
        line(10, "error", "late error one"),
        line(11, "info", "late info"),
        line(12, "error", "late error two"),
    ]);
    let paused = tmux.wait_for("new entries counted while paused", |s| {
        s.contains("PAUSED +3 new (2 errors)")
    });
    assert!(
        !paused.contains("late"),
        "a paused view must not move:\n{paused}"
    );
    tmux.keys(&["Space"]);
    let live = tmux.wait_for("resuming to show the new entries", |s| {
        s.contains("late error two") && !s.contains("PAUSED")
    });
    assert!(live.contains("late info"));

    tmux.keys(&["3"]);
    let hidden = tmux.wait_for("info entries hidden", |s| !s.contains("late info"));
    assert!(hidden.contains("late error two"), "{hidden}");
    assert!(hidden.contains("filters: -info"), "{hidden}");
    tmux.keys(&["3"]);
    tmux.wait_for("info entries back", |s| s.contains("late info"));

    tmux.keys(&["/"]);
    tmux.type_text("time.{0,2}out");
    tmux.wait_for("the match count", |s| s.contains("2 matches"));
    tmux.keys(&["Enter", "f"]);
    let only = tmux.wait_for("only the matches", |s| {
        s.contains("only matches") && !s.contains("message 5")
    });
    assert!(only.contains("timeout talking to payments"), "{only}");
    assert!(only.contains("payments timed out"), "{only}");

    tmux.keys(&["q"]);
    let after = tmux.wait_for("vg to quit", |s| s.contains("vg exited 0"));
    // The alternate screen is gone: none of the viewer's chrome is left on the terminal.
    assert!(
        !after.contains("? help") && !after.contains("1 trace"),
        "{after}"
    );
}

fn initial_lines() -> Vec<String> {
    let mut lines: Vec<String> = (0..6)
        .map(|n| line(n, "info", &format!("message {n}")))
        .collect();
    lines.insert(2, line(6, "warn", "timeout talking to payments"));
    lines.insert(4, line(7, "debug", "payments timed out"));
    lines
}

#[test]
fn tui_on_a_followed_file() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let scratch = TempDir::new("tui-file");
    let path = scratch.path().join("app.ndjson");
    std::fs::write(&path, initial_lines().join("\n") + "\n").unwrap();
    let tmux = Tmux::start(&scratch, &shell(&format!("--file {}", quoted(&path))));
    let mut append = |lines: &[String]| {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        for l in lines {
            writeln!(file, "{l}").unwrap();
        }
    };
    pause_toggle_search(&tmux, &mut append);
}

#[test]
fn tui_without_a_terminal_says_so_in_one_line() {
    let out = vg()
        .args(["tui", "--file", "Cargo.toml"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot start the viewer: standard output is not a terminal"),
        "{stderr}"
    );
}

#[test]
fn bad_flag_values_are_usage_errors() {
    for (args, want) in [
        (
            &["tui", "--grep", "(unclosed"][..],
            "invalid regex '(unclosed'",
        ),
        (&["tui", "--level", "loud"][..], "unknown level 'loud'"),
        (&["tui", "--url", "ftp://x"][..], "invalid URL 'ftp://x'"),
    ] {
        let out = vg().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
    }
}

#[cfg(feature = "server")]
#[test]
fn tui_against_vg_serve() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let mut server = support::VgServe::start("127.0.0.1:0", &[]);
    let url = server.url();
    let mut append = |lines: &[String]| server.write_lines(lines);
    append(&initial_lines());
    let scratch = TempDir::new("tui-serve");
    let tmux = Tmux::start(&scratch, &shell(&format!("--url {url}")));
    tmux.wait_for("the connection", |s| s.contains("● connected"));
    pause_toggle_search(&tmux, &mut append);
}

#[test]
fn tui_merges_two_servers_and_says_which_one_is_down() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let mut a = support::VgServe::start("127.0.0.1:0", &[]);
    let b = support::VgServe::start("127.0.0.1:0", &[]);
    let mut b = Some(b);
    a.write_lines([line(1, "info", "from the first server")]);
    b.as_mut()
        .unwrap()
        .write_lines([line(2, "warn", "from the second server")]);
    let (url_a, url_b) = (a.url(), b.as_ref().unwrap().url());
    let port_b = b.as_ref().unwrap().addr.port();
    let scratch = TempDir::new("tui-two");
    let tmux = Tmux::start(&scratch, &shell(&format!("--url {url_a} --url {url_b}")));
    let screen = tmux.wait_for("both servers' entries", |s| {
        s.contains("from the first server") && s.contains("from the second server")
    });
    assert!(screen.contains("2 servers connected"), "{screen}");
    // The entries are tagged with their server, one host: by port.
    assert!(screen.contains(&format!("[:{port_b}]")), "{screen}");

    // The second goes away: the first still streams, and the status bar names the one down.
    drop(b.take());
    let screen = tmux.wait_for("the server that is down", |s| {
        s.contains("1/2 servers, down")
    });
    assert!(screen.contains(&format!(":{port_b}")), "{screen}");
    a.write_lines([line(3, "info", "still coming from the first")]);
    tmux.wait_for("the first server's entry", |s| {
        s.contains("still coming from the first")
    });
    tmux.keys(&["q"]);
    tmux.wait_for("the exit", |s| s.contains("vg exited 0"));
}

/// `vg demo --instances 3 --redis URL` as a newcomer runs it: the TUI, on one instance, shows the
/// entries of all three.
#[cfg(feature = "server")]
#[test]
fn demo_with_three_instances_through_redis_shows_all_three_in_the_tui() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let Some(redis) = support::RedisServer::start() else {
        return;
    };
    let scratch = TempDir::new("tui-demo-redis");
    let command = format!(
        "{} demo --bind 127.0.0.1:0 --instances 3 --rate 60 --redis {}; echo \"vg exited $?\"; sleep 60",
        quoted(Path::new(env!("CARGO_BIN_EXE_vg"))),
        redis.url()
    );
    let tmux = Tmux::start(&scratch, &command);
    // The demo's instances are machine ids, shown by their first six characters.
    let screen = tmux.wait_for("entries from every instance", |s| {
        ["[148e7d]", "[3d8f0b]", "[9a21c4]"]
            .iter()
            .all(|id| s.contains(id))
    });
    // One connection, to one instance's merged stream: the other two arrive through Redis.
    let status = screen.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        status.contains("● connected")
            && status.contains("redis up")
            && !status.contains("servers"),
        "{status}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the exit", |s| s.contains("vg exited 0"));
}

#[test]
fn esc_after_a_request_pivot_follows_again() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let scratch = TempDir::new("tui-pivot");
    let path = scratch.path().join("app.ndjson");
    let lines: Vec<String> = (0..60)
        .map(|n| {
            line(n, "info", &format!("message {n}")).replace(
                r#""source""#,
                &format!(r#""meta":{{"requestId":"req_{}"}},"source""#, n % 3),
            )
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let tmux = Tmux::start(&scratch, &shell(&format!("--file {}", quoted(&path))));
    tmux.wait_for("the newest entry", |s| s.contains("message 59"));

    // `r` on the live view: only the newest entry's request (req_2: 2, 5, ... 59).
    tmux.keys(&["r"]);
    // Rows show their requestId too: the filter is read from the status bar, the last line.
    let status = |s: &str| s.trim_end().lines().last().unwrap_or_default().to_owned();
    let pivoted = tmux.wait_for("the request filter", |s| {
        status(s).contains("requestId=req_2") && !s.contains("message 58")
    });
    assert!(pivoted.contains("message 56"), "{pivoted}");

    // Esc: everything again, and following: a new entry shows at the bottom at once.
    tmux.keys(&["Escape"]);
    tmux.wait_for("all entries again", |s| {
        s.contains("message 58") && !status(s).contains("requestId=")
    });
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    writeln!(file, "{}", line(0, "info", "arrived after esc")).unwrap();
    let live = tmux.wait_for("the new entry, followed", |s| {
        s.contains("arrived after esc")
    });
    assert!(!live.contains("new below"), "{live}");
    tmux.keys(&["q"]);
    tmux.wait_for("vg to quit", |s| s.contains("vg exited 0"));
}

#[test]
fn paused_scrolling_goes_on_into_what_arrived() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let scratch = TempDir::new("tui-paused-scroll");
    let path = scratch.path().join("app.ndjson");
    std::fs::write(&path, initial_lines().join("\n") + "\n").unwrap();
    let tmux = Tmux::start(&scratch, &shell(&format!("--file {}", quoted(&path))));
    tmux.wait_for("the initial entries", |s| s.contains("message 5"));
    tmux.keys(&["Space"]);
    tmux.wait_for("the paused banner", |s| s.contains("PAUSED +0 new"));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    for (n, level, message) in [(10, "info", "arrival one"), (11, "error", "arrival two")] {
        writeln!(file, "{}", line(n, level, message)).unwrap();
    }
    tmux.wait_for("arrivals counted", |s| {
        s.contains("PAUSED +2 new (1 error)")
    });
    tmux.keys(&["j"]);
    let one = tmux.wait_for("the first arrival taken in", |s| {
        s.contains("arrival one") && s.contains("PAUSED +1 new (1 error)")
    });
    assert!(!one.contains("arrival two"), "{one}");
    tmux.keys(&["j"]);
    tmux.wait_for("both taken in, still paused", |s| {
        s.contains("arrival two") && s.contains("PAUSED +0 new")
    });
    tmux.keys(&["q"]);
    tmux.wait_for("vg to quit", |s| s.contains("vg exited 0"));
}

#[test]
fn the_detail_steps_to_the_next_and_previous_entry() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let scratch = TempDir::new("tui-detail");
    let path = scratch.path().join("app.ndjson");
    std::fs::write(&path, initial_lines().join("\n") + "\n").unwrap();
    let tmux = Tmux::start(&scratch, &shell(&format!("--file {}", quoted(&path))));
    tmux.wait_for("the initial entries", |s| s.contains("message 5"));
    // The newest entry is `message 5`; the one before it `message 4`.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the detail of the newest", |s| {
        s.contains("┌ Entry") && s.contains("│  message 5 ")
    });
    tmux.keys(&["Left"]);
    let previous = tmux.wait_for("the previous entry in the detail", |s| {
        s.contains("┌ Entry") && s.contains("│  message 4 ")
    });
    assert!(!previous.contains("│  message 5 "), "{previous}");
    tmux.keys(&["l"]);
    tmux.wait_for("the next entry again", |s| {
        s.contains("┌ Entry") && s.contains("│  message 5 ")
    });
    tmux.keys(&["Escape", "q"]);
    tmux.wait_for("vg to quit", |s| s.contains("vg exited 0"));
}

#[test]
fn e_exports_the_view_to_a_file_and_says_where() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let scratch = TempDir::new("tui-export");
    let path = scratch.path().join("app.ndjson");
    std::fs::write(&path, initial_lines().join("\n") + "\n").unwrap();
    // Started in the scratch dir: the export goes to the directory vg tui runs in.
    let command = format!(
        "cd {} && {}",
        quoted(scratch.path()),
        shell(&format!("--file {} --level info", quoted(&path)))
    );
    let tmux = Tmux::start(&scratch, &command);
    tmux.wait_for("the initial entries", |s| s.contains("message 5"));
    tmux.keys(&["e"]);
    // Seven of the eight entries are info or worse (one is debug).
    tmux.wait_for("where the export went", |s| {
        s.contains("exported 7 entries to") && s.contains("vg-export-")
    });
    let exported: Vec<PathBuf> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("vg-export-"))
        .collect();
    assert_eq!(exported.len(), 1, "{exported:?}");
    let text = std::fs::read_to_string(&exported[0]).unwrap();
    let messages: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["message"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(messages.len(), 7);
    assert!(
        !messages.iter().any(|m| m == "payments timed out"),
        "{messages:?}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("vg to quit", |s| s.contains("vg exited 0"));
}

/// `vg logs --json` on a terminal says once, on stderr, that it writes raw data; piped, it says nothing.
#[test]
fn logs_json_on_a_terminal_warns_once() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let scratch = TempDir::new("logs-json-tty");
    let path = scratch.path().join("app.ndjson");
    std::fs::write(&path, initial_lines().join("\n") + "\n").unwrap();
    let (on_tty, piped) = (
        scratch.path().join("tty.err"),
        scratch.path().join("pipe.err"),
    );
    let vg = quoted(Path::new(env!("CARGO_BIN_EXE_vg")));
    let logs = format!("{vg} logs --json --no-follow --file {}", quoted(&path));
    let command = format!(
        "{logs} 2>{}; {logs} 2>{} | cat; echo \"both exited\"; sleep 60",
        quoted(&on_tty),
        quoted(&piped)
    );
    let tmux = Tmux::start(&scratch, &command);
    let screen = tmux.wait_for("both runs to finish", |s| s.contains("both exited"));
    assert!(screen.contains("\"message\":\"message 5\""), "{screen}");
    let warned = std::fs::read_to_string(&on_tty).unwrap();
    assert_eq!(
        warned.matches("--json writes log content raw").count(),
        1,
        "stderr on a terminal: {warned:?}"
    );
    let quiet = std::fs::read_to_string(&piped).unwrap();
    assert!(!quiet.contains("raw"), "stderr when piped: {quiet:?}");
}

#[test]
fn search_reaches_meta_values_and_a_field_becomes_a_column() {
    if !tmux_available() {
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return;
    }
    let scratch = TempDir::new("tui-fields");
    let path = scratch.path().join("app.ndjson");
    let with_user = |n: u32, message: &str, user: &str| {
        format!(
            r#"{{"timestamp":"2026-02-05T18:13:{n:02}.000Z","level":"info","source":"api","message":"{message}","meta":{{"userId":"{user}"}}}}"#
        )
    };
    let lines = [
        with_user(1, "checkout started", "u_1001"),
        with_user(2, "checkout paid", "u_2002"),
        line(3, "info", "cache warmed"),
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let tmux = Tmux::start(&scratch, &shell(&format!("--file {}", quoted(&path))));
    tmux.wait_for("the entries", |s| s.contains("cache warmed"));
    tmux.keys(&["/"]);
    tmux.type_text("u_2002");
    tmux.keys(&["Enter", "f"]);
    tmux.wait_for("no message matching", |s| {
        s.contains("0 matches") && s.contains("search: message ") && !s.contains("checkout paid")
    });
    tmux.keys(&["m"]);
    let found = tmux.wait_for("the entry found by its userId", |s| {
        s.contains("1 match") && s.contains("search: message + fields")
    });
    assert!(
        found.contains("checkout paid") && !found.contains("checkout started"),
        "{found}"
    );
    // The search cleared, `userId` (the only key) becomes a column: its value, and no `userId=`.
    tmux.keys(&["Escape", "v"]);
    tmux.wait_for("the field list", |s| {
        s.contains("Field columns") && s.contains("userId")
    });
    tmux.keys(&["Space", "Enter"]);
    let columns = tmux.wait_for("the column", |s| {
        s.contains("u_1001") && !s.contains("Field columns")
    });
    assert!(!columns.contains("userId="), "{columns}");
    tmux.keys(&["q"]);
    tmux.wait_for("vg to quit", |s| s.contains("vg exited 0"));
}
