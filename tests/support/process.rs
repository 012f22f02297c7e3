//! The built `vg` binary: a clean environment, output lines a test can wait for, and `vg serve
//! --stdin` on a loopback port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::LIMIT;

/// The `vg` binary with no VG_* or colour settings inherited from the developer's shell.
pub fn vg() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vg"));
    for var in [
        "VG_URL",
        "VG_TOKEN",
        "VG_REDIS_URL",
        "VG_CA_CERT",
        "VG_TLS_CERT",
        "VG_TLS_KEY",
        "NO_COLOR",
        "VG_INSTANCE",
        "VG_REGION",
        "FLY_REGION",
        "FLY_MACHINE_ID",
        "FLY_ALLOC_ID",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Reads lines on a thread, so a test can wait for each with a timeout.
pub fn line_reader(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line of `stream` (newline included), waited for at most [`LIMIT`]. The stream is
/// closed as soon as the line is read, as `| head -1` closes its end of a pipe.
pub fn first_line_then_close(stream: impl Read + Send + 'static) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stream).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(LIMIT)
        .unwrap_or_else(|e| panic!("no first line within {LIMIT:?}: {e}"))
}

/// Waits (at most [`LIMIT`] in all) for a line containing `needle`, skipping the others; fails the
/// test with what it skipped if none comes.
pub fn wait_line(lines: &Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + LIMIT;
    let mut skipped = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => skipped.push(line),
            Err(RecvTimeoutError::Timeout) => {
                panic!("no line containing {needle:?} within {LIMIT:?}; before: {skipped:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!(
                    "the stream ended without a line containing {needle:?}; it said: {skipped:?}"
                )
            }
        }
    }
}

/// Waits for the child to exit; kills it and fails the test if it takes longer than `limit`.
pub fn wait_with_deadline(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` (stdin and stdout to nothing) for a process that should exit on its own, such as
/// a server that must refuse to start: its status and stderr. One that runs on instead is killed
/// at [`LIMIT`], failing the test rather than hanging it.
pub fn exit_within_limit(command: &mut Command) -> (ExitStatus, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_deadline(&mut child, LIMIT);
    let mut said = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    (status, said)
}

/// The address in the first `http://HOST:PORT` of a line, as `vg serve` and `vg demo` announce it.
pub fn announced_addr(line: &str) -> SocketAddr {
    let start = line
        .find("http://")
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let url = line[start..].split_whitespace().next().unwrap();
    url.trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// A running `vg` with its stdin piped and its stdout and stderr lines arriving on channels;
/// killed when dropped.
pub struct VgProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub stdout: Receiver<String>,
    pub stderr: Receiver<String>,
}

impl VgProcess {
    pub fn spawn(args: &[&str]) -> VgProcess {
        VgProcess::spawn_with(args, &[])
    }

    /// As [`VgProcess::spawn`], with these environment variables set.
    pub fn spawn_with(args: &[&str], env: &[(&str, &str)]) -> VgProcess {
        let mut child = vg()
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        VgProcess {
            stdin: child.stdin.take(),
            stdout: line_reader(child.stdout.take().unwrap()),
            stderr: line_reader(child.stderr.take().unwrap()),
            child,
        }
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its resident memory now, in bytes (Linux: `VmRSS` in `/proc/PID/status`).
    pub fn rss(&self) -> u64 {
        let rss = rss_of(self.child.id());
        assert!(rss > 0, "no VmRSS for vg (pid {})", self.child.id());
        rss
    }

    /// The highest resident set over the next `samples` x `every`, from a task of its own: a
    /// peak that lasts only while the test awaits something else is still seen.
    pub fn sample_peak_rss(&self, samples: u32, every: Duration) -> tokio::task::JoinHandle<u64> {
        let pid = self.child.id();
        tokio::spawn(async move {
            let mut peak = 0;
            for _ in 0..samples {
                peak = peak.max(rss_of(pid));
                tokio::time::sleep(every).await;
            }
            peak
        })
    }

    /// Its stdin, open until [`VgProcess::close_stdin`].
    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.stdin.as_mut().expect("stdin is still open")
    }

    /// Ends its input, as a piped app that exits does.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Writes each item as one line of input and flushes.
    pub fn write_lines<I>(&mut self, lines: I)
    where
        I: IntoIterator,
        I::Item: std::fmt::Display,
    {
        let stdin = self.stdin();
        for line in lines {
            writeln!(stdin, "{line}").unwrap();
        }
        stdin.flush().unwrap();
    }

    /// SIGTERM, as a platform stops a server; waits (bounded) for it to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        wait_with_deadline(&mut self.child, LIMIT)
    }

    /// Waits for a stdout line containing `needle`.
    pub fn wait_stdout(&self, needle: &str) -> String {
        wait_line(&self.stdout, needle)
    }

    /// Waits for a stderr line containing `needle`.
    pub fn wait_stderr(&self, needle: &str) -> String {
        wait_line(&self.stderr, needle)
    }
}

impl Drop for VgProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `vg serve --stdin`, started once it has said where it listens: lines written to its stdin are
/// emitted. Killed when dropped.
pub struct VgServe {
    pub process: VgProcess,
    pub addr: SocketAddr,
}

impl VgServe {
    /// `vg serve --stdin --bind BIND EXTRA...`. Bind `127.0.0.1:0` for a free port: the server
    /// announces the port it got, so no other program can take it between choosing and binding.
    pub fn start(bind: &str, extra: &[&str]) -> VgServe {
        VgServe::start_with(bind, extra, &[])
    }

    /// As [`VgServe::start`], with these environment variables set (`VG_INSTANCE`, say).
    pub fn start_with(bind: &str, extra: &[&str], env: &[(&str, &str)]) -> VgServe {
        let process = VgProcess::spawn_with(
            &[&["serve", "--stdin", "--bind", bind], extra].concat(),
            env,
        );
        let addr = announced_addr(&process.wait_stderr("listening on"));
        VgServe { process, addr }
    }

    /// `http://ADDR`, as `vg logs --url` and `vg tui --url` take it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WebSocket stream's URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/logs/stream", self.addr)
    }

    /// Writes each item as one line of the server's stdin and flushes.
    pub fn write_lines<I>(&mut self, lines: I)
    where
        I: IntoIterator,
        I::Item: std::fmt::Display,
    {
        self.process.write_lines(lines);
    }

    /// Waits (bounded) until the server's newest entry has this message, so what was written to its
    /// stdin is known to be emitted.
    pub fn wait_emitted(&self, message: &str) {
        let url = self.url();
        let want = format!("\"message\":\"{message}\"");
        let deadline = Instant::now() + LIMIT;
        for _ in 0..200 {
            let out = vg()
                // The server's own newest entry, also when it publishes to Redis.
                .args([
                    "logs",
                    "--json",
                    "--no-follow",
                    "--no-merge",
                    "-n",
                    "1",
                    "--url",
                    &url,
                ])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).contains(&want) {
                return;
            }
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the server never emitted {message:?}");
    }
}

/// The resident memory of process `pid` in bytes (`VmRSS` in `/proc/PID/status`); 0 once it is gone.
pub fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}
