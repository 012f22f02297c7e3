//! Everything the integration tests share, in one place:
//!
//! - [`process`]: the built `vg` binary in a clean environment, its output lines on channels, and
//!   `vg serve --stdin` started on a loopback port (`cli` feature);
//! - [`gateway`]: an in-process gateway, called with `tower::ServiceExt::oneshot` or served on
//!   `127.0.0.1:0` (`server` feature);
//! - [`ws`]: a real WebSocket client reading the protocol's messages;
//! - [`http`]: the reply both HTTP clients return, and a minimal HTTP/1.1 client for servers in
//!   another process;
//! - [`disk`]: emitters on data dirs, and what a viewer resuming there receives;
//! - [`redis_server`]: a real `redis-server` on a free loopback port (skips without one, unless
//!   `VG_REQUIRE_REDIS=1`);
//! - [`ingest`]: for the OTLP and Loki tests, a POST whose reply body stays bytes, and compression;
//! - temp dirs, and one bound ([`LIMIT`]) on every wait, so no test can hang.
//!
//! A directory with `mod.rs`, not `support.rs`: Cargo would build a `tests/support.rs` as a test of
//! its own.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(
    unused_imports,
    reason = "a test binary that uses nothing from a submodule leaves its re-export unused"
)]

mod ca;
#[cfg(feature = "server")]
mod disk;
#[cfg(feature = "server")]
mod gateway;
mod http;
#[cfg(feature = "server")]
pub mod ingest;
#[cfg(feature = "cli")]
mod process;
#[cfg(feature = "server")]
mod redis_server;
mod ws;

pub use ca::*;
#[cfg(feature = "server")]
pub use disk::*;
#[cfg(feature = "server")]
pub use gateway::*;
pub use http::*;
#[cfg(feature = "cli")]
pub use process::*;
#[cfg(feature = "server")]
pub use redis_server::*;
pub use ws::*;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The bound on every wait in these tests: generous, because CI machines are slow and shared, and a
/// wait that succeeds returns at once.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory. The name stays short (a tmux socket inside must fit a Unix socket
    /// path) and unique across the tests of every binary running at once.
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "vg-test-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A crashed earlier run with the same process id may have left one behind.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Writes a file and returns its path as a string.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The message of a `vg logs` display line (`time level origin message`), for sources whose names
/// hold no spaces; the line unchanged when it is not one.
pub fn display_message(line: &str) -> String {
    let mut parts = line.splitn(2, ' ');
    let (Some(_time), Some(rest)) = (parts.next(), parts.next()) else {
        return line.to_owned();
    };
    // The level is padded to 5, then the origin is padded to the widest seen.
    let rest = rest.get(6..).unwrap_or_default();
    match rest.split_once(' ') {
        Some((_origin, message)) => message.trim_start().to_owned(),
        None => line.to_owned(),
    }
}
