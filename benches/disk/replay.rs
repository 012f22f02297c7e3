//! Replay as a user runs it: a real `vg serve --data-dir` started over stored data (so its memory
//! ring is empty and every entry comes from disk), and `vg logs --json --no-follow --since ...`
//! reading the whole window through the WebSocket; its stdout lines are counted.
//!
//! `VG_BIN` names the binary (default: the release build in the target dir); build it with
//! `cargo build --release --features server`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn vg_bin() -> String {
    std::env::var("VG_BIN").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").to_owned());
        format!("{target}/release/vg")
    })
}

/// A `vg serve` on 127.0.0.1:0 over `dir`; killed when dropped.
pub struct Serve {
    child: Child,
    pub url: String,
}

impl Serve {
    pub fn start(dir: &Path) -> Option<Serve> {
        let mut child = Command::new(vg_bin())
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(["--retention-bytes", "1TiB"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        // Every line is read (so the server never blocks on a full pipe); the first naming its
        // address is passed on.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).ok()?;
        let start = line.find("http://")?;
        let url = line[start..].split_whitespace().next()?.to_owned();
        Some(Serve { child, url })
    }

    /// The server's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        super::vm_rss(&status)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `vg logs --json --no-follow --since SINCE` against `url`; returns the lines it printed
/// and the seconds it took, start to exit.
pub fn logs_json(url: &str, since: &str) -> (u64, f64) {
    let start = Instant::now();
    let mut child = Command::new(vg_bin())
        .args([
            "logs",
            "--json",
            "--no-follow",
            "--since",
            since,
            "--url",
            url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run vg logs");
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let _ = child.wait();
    (lines, start.elapsed().as_secs_f64())
}
