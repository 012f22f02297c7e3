//! The viewers as a user runs them, on what they say rather than what they print: a quiet stderr when
//! all goes well, blank `VG_*` variables, a file that does not exist yet, a server that restarts
//! gracefully, and `vg serve` listening beyond loopback. Servers are real (in-process gateways or
//! `vg serve`) on 127.0.0.1, and every wait is bounded.

#![cfg(all(feature = "server", feature = "cli"))]

use std::net::SocketAddr;

use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;

use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vg::server::{Emitter, EmitterConfig, Gateway, GatewayConfig};
use vg::{Level, LogEntry};

mod support;
use support::{LIMIT, TempDir, line_reader};

/// `vg` to run to its end, in an empty environment (nothing of the developer's shell, no `VG_*`),
/// killed if it runs longer than [`LIMIT`].
fn vg() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_vg"));
    cmd.env_clear().timeout(LIMIT);
    cmd
}

/// `vg` to keep running while the test talks to it, in the same empty environment.
fn vg_spawn() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vg"));
    cmd.env_clear().stdin(Stdio::null());
    cmd
}

/// Runs `vg` to its end (bounded by [`LIMIT`]).
fn run(cmd: &mut assert_cmd::Command) -> Output {
    cmd.output().unwrap()
}

/// A running `vg` whose output lines arrive on channels. Killed on drop.
struct Running {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Running {
    fn start(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running {
            stdout: line_reader(child.stdout.take().unwrap()),
            stderr: line_reader(child.stderr.take().unwrap()),
            child,
        }
    }

    /// Lines from `stream` up to and including the first that contains `needle`.
    fn until(stream: &Receiver<String>, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match stream.recv_timeout(LIMIT) {
                Ok(line) => {
                    let done = line.contains(needle);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("never said {needle:?}; said {seen:?}"),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real gateway served on loopback by an in-process runtime, stopped gracefully on request.
struct Server {
    addr: SocketAddr,
    runtime: tokio::runtime::Handle,
    emitter: Emitter,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    fn start(runtime: &Runtime, bind: &str, config: GatewayConfig) -> Server {
        runtime.block_on(async {
            let emitter = Emitter::new(EmitterConfig::default().read_env(false));
            let gateway = Gateway::new(emitter.clone(), config);
            let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(vg::server::serve(
                listener,
                gateway.router(),
                gateway,
                async {
                    let _ = stopped.await;
                },
            ));
            Server {
                addr,
                runtime: tokio::runtime::Handle::current(),
                emitter,
                stop: Some(stop),
                task,
            }
        })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn emit(&self, messages: impl IntoIterator<Item = String>) {
        // The emitter hands entries to viewers on the server's runtime.
        let _on_the_runtime = self.runtime.enter();
        for message in messages {
            self.emitter
                .emit(LogEntry::new(Level::Info, "api", message));
        }
    }

    /// Shuts down as a server does on SIGTERM: viewers get what they are owed, then a 1000 close.
    fn stop(mut self, runtime: &Runtime) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        runtime
            .block_on(async { tokio::time::timeout(LIMIT, &mut self.task).await })
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

fn numbered(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("entry {i}")).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_run_that_goes_well_says_nothing_on_stderr_and_verbose_shows_the_steps() {
    let runtime = Runtime::new().unwrap();
    let server = Server::start(&runtime, "127.0.0.1:0", GatewayConfig::default());
    server.emit(numbered(1..=3));
    let url = server.url();

    let quiet = run(vg().args(["logs", "--no-follow", "--url", &url]));
    assert!(quiet.status.success(), "{}", text(&quiet.stderr));
    assert_eq!(text(&quiet.stdout).lines().count(), 3);
    assert_eq!(text(&quiet.stderr), "", "nothing to say");

    let verbose = run(vg().args(["logs", "-v", "--no-follow", "--url", &url]));
    assert!(verbose.status.success());
    assert_eq!(text(&verbose.stdout), text(&quiet.stdout));
    let said = text(&verbose.stderr);
    for step in [
        "vg: connecting to ws://127.0.0.1:",
        "vg: connected to ws://127.0.0.1:",
        "vg: history loaded",
    ] {
        assert!(said.contains(step), "{step:?} in {said}");
    }
    server.stop(&runtime);
}

#[test]
fn trouble_is_said_without_verbose() {
    let runtime = Runtime::new().unwrap();
    let server = Server::start(
        &runtime,
        "127.0.0.1:0",
        GatewayConfig::default().token("secret"),
    );
    let out = run(vg().args(["logs", "--no-follow", "--url", &server.url()]));
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("needs a token (401 unauthorized)"), "{said}");
    server.stop(&runtime);
}

#[test]
fn blank_vg_variables_are_refused_with_one_line_in_every_command() {
    // An env file with an unfilled secret leaves VG_TOKEN blank: no command may guess what it meant
    // (an empty token, or a server without the token its operator meant to set).
    let cases: [(&str, &[&str]); 7] = [
        ("VG_TOKEN", &["logs", "--no-follow"]),
        ("VG_URL", &["logs", "--no-follow"]),
        ("VG_TOKEN", &["tui"]),
        ("VG_URL", &["tui"]),
        ("VG_TOKEN", &["serve", "--bind", "127.0.0.1:0"]),
        ("VG_READ_TOKEN", &["serve", "--bind", "127.0.0.1:0"]),
        ("VG_INGEST_TOKEN", &["serve", "--bind", "127.0.0.1:0"]),
    ];
    for (var, args) in cases {
        let out = run(vg().env(var, "").args(args));
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var} {args:?}: {said}");
        assert!(
            said.contains(&format!("{var} is set but empty")) && said.contains("unset"),
            "{var} {args:?}: {said}"
        );
    }
    // A variable the command does not read is none of its business.
    let other = run(vg()
        .env("VG_TOKEN", "")
        .args(["logs", "--file", "/dev/null"]));
    assert_eq!(other.status.code(), Some(2), "vg logs reads VG_TOKEN");
    let unrelated = run(vg()
        .env("VG_NOT_READ", "")
        .args(["logs", "--file", "/dev/null"]));
    assert!(unrelated.status.success(), "{}", text(&unrelated.stderr));
}

#[test]
fn following_a_file_that_does_not_exist_yet_waits_for_it() {
    let dir = TempDir::new("later");
    let path = dir.path().join("later.log");
    let path_text = path.to_string_lossy().into_owned();
    let logs = Running::start(vg_spawn().args(["logs", "-f", "--file", &path_text]));
    let said = Running::until(&logs.stderr, "waiting");
    assert_eq!(
        said,
        [format!(
            "vg: {path_text} does not exist yet; waiting for it to appear"
        )]
    );
    std::fs::write(&path, "{\"level\":\"warn\",\"msg\":\"it is here\"}\n").unwrap();
    let line = logs.stdout.recv_timeout(LIMIT).expect("the entry arrives");
    assert!(
        line.contains("warn  ") && line.ends_with(" it is here"),
        "{line}"
    );
    assert_eq!(
        logs.stderr.try_iter().count(),
        0,
        "the wait was said once, and nothing more"
    );
}

#[test]
fn a_missing_file_without_follow_is_one_line_and_exit_1() {
    let dir = TempDir::new("missing");
    let path = dir.path().join("later.log").to_string_lossy().into_owned();
    let out = run(vg().args(["logs", "--file", &path]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "vg: cannot read {path}: no such file (to wait for it to appear, follow it with -f)\n"
        )
    );
}

#[test]
fn a_graceful_restart_is_a_new_stream_not_missed_entries() {
    let runtime = Runtime::new().unwrap();
    let first = Server::start(&runtime, "127.0.0.1:0", GatewayConfig::default());
    let addr = first.addr.to_string();
    first.emit(numbered(1..=3));
    let logs = Running::start(vg_spawn().args(["logs", "--url", &first.url()]));
    for want in numbered(1..=3) {
        let line = logs.stdout.recv_timeout(LIMIT).expect("a line");
        assert!(line.ends_with(&want), "{line}");
    }

    // Sends everything it holds for the viewer, closes with 1000; the next start has a new boot.
    first.stop(&runtime);
    let second = Server::start(&runtime, &addr, GatewayConfig::default());
    let said = Running::until(&logs.stderr, "server restarted");
    second.emit(numbered(4..=5));
    for want in numbered(4..=5) {
        let line = logs.stdout.recv_timeout(LIMIT).expect("a line");
        assert!(line.ends_with(&want), "{line}");
    }
    assert_eq!(
        said.last().map(String::as_str),
        Some("vg: server restarted; a new stream began")
    );
    assert!(
        said[0].starts_with("vg: server shutting down; retrying until it is back"),
        "the stop is said as the server put it: {said:?}"
    );
    let all: Vec<String> = said.into_iter().chain(logs.stderr.try_iter()).collect();
    assert!(
        all.iter().all(|line| !line.contains("missed")),
        "nothing was missed: {all:?}"
    );
    second.stop(&runtime);
}

#[test]
fn serve_on_every_interface_without_a_token_warns_and_prints_a_usable_url() {
    let serve = Running::start(vg_spawn().args(["serve", "--bind", "0.0.0.0:0"]));
    let said = Running::until(&serve.stderr, "send with");
    let all = said.join("\n");
    assert!(!all.contains("http://0.0.0.0"), "{all}");
    let warning = said
        .iter()
        .find(|line| line.contains("warning"))
        .unwrap_or_else(|| panic!("no warning: {all}"));
    assert!(
        warning.contains("anyone who can reach this port can read the logs")
            && warning.contains("VG_TOKEN"),
        "{warning}"
    );
    let listening = said
        .iter()
        .find(|line| line.contains("listening on"))
        .unwrap();
    let url = listening
        .rsplit("on this machine: ")
        .next()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{listening}");
    let viewer = run(vg().args(["logs", "--no-follow", "--url", &url]));
    assert!(viewer.status.success(), "{}", text(&viewer.stderr));
    assert!(all.contains(&format!("vg logs --url {url}")), "{all}");

    // With a token, or on loopback, there is nothing to warn about.
    for args in [
        &["--bind", "0.0.0.0:0", "--token", "secret"][..],
        &["--bind", "127.0.0.1:0"][..],
    ] {
        let serve = Running::start(vg_spawn().arg("serve").args(args));
        let said = Running::until(&serve.stderr, "send with");
        assert!(said.iter().all(|l| !l.contains("warning")), "{said:?}");
    }
}

#[test]
fn since_before_the_history_starts_says_where_it_starts_once() {
    let runtime = Runtime::new().unwrap();
    let server = Server::start(&runtime, "127.0.0.1:0", GatewayConfig::default());
    // History starts now; the user asks for the last two hours.
    server.emit(numbered(1..=3));
    let out = run(vg().args([
        "logs",
        "--no-follow",
        "--since",
        "2h",
        "--url",
        &server.url(),
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().count(),
        3,
        "all it holds is shown"
    );
    let said = text(&out.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("history starts at") && said.contains("later than --since 2h"),
        "{said}"
    );
    // Without --since there is nothing to say.
    let inside = run(vg().args(["logs", "--no-follow", "--tail", "1", "--url", &server.url()]));
    assert_eq!(text(&inside.stderr), "");
    server.stop(&runtime);
}

#[test]
fn a_closed_stderr_does_not_crash_the_server_or_its_disk_writer() {
    // As `vg demo --no-tui 2>&1 | head -1` leaves it: whoever read stderr has gone before the first
    // message. Every message (the data dir's, the URLs, the shutdown's) must fail quietly.
    let dir = TempDir::new("closed-stderr");
    let mut child = vg_spawn()
        .args(["demo", "--no-tui", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let stdout = line_reader(child.stdout.take().unwrap());
    let url = stdout
        .recv_timeout(LIMIT)
        .expect("vg demo prints its URL on stdout");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let ended = support::wait_with_deadline(&mut child, LIMIT);
    assert!(ended.success(), "vg demo ended with {ended:?}");
}

/// A plain HTTP server on 127.0.0.1 that answers every request with `answer` and closes, as a
/// static file server or some other web app would; it serves `connections` requests, then stops.
fn not_vg(answer: &'static str, connections: usize) -> SocketAddr {
    use std::io::{BufRead as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            stream.set_read_timeout(Some(LIMIT)).unwrap();
            let mut reader = std::io::BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = (&stream).write_all(answer.as_bytes());
        }
    });
    addr
}

#[test]
fn something_that_is_not_a_vg_server_is_named_in_a_plain_sentence() {
    let cases = [
        // Python's http.server: HTTP/1.0, which the WebSocket handshake refuses before the status.
        (
            "HTTP/1.0 404 File not found\r\nContent-Type: text/html\r\n\r\n<html>nope</html>",
            2,
            "it answered HTTP/1.0 404 File not found",
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            1,
            "it answered HTTP/1.1 200 OK",
        ),
    ];
    for (answer, connections, said) in cases {
        let addr = not_vg(answer, connections);
        let out = run(vg().args(["logs", "--url", &format!("http://{addr}")]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.lines().collect::<Vec<_>>(),
            [format!(
                "vg: no vg server at ws://{addr}/api/logs/stream: {said}"
            )],
        );
    }
}
