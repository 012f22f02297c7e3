//! Shared helpers for the integration tests: the built binary in a clean environment, temp dirs,
//! and bounded waits so no test can hang.
#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The `vg` binary with no VG_* or colour settings inherited from the developer's shell.
pub fn vg() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vg"));
    for var in [
        "VG_URL",
        "VG_TOKEN",
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

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "vg-test-{name}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Writes a file and returns its path as a string.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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
