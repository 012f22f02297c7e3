//! vg: real-time log streaming, in the spirit of `fly logs`.
//!
//! - [`model`]: the log schema ([`LogEntry`], [`Level`]) and lenient decoding of other tools' JSON logs.
//! - [`filter`]: one [`Filter`] used by the server, `vg logs` and the TUI.
//! - [`wire`]: the WebSocket protocol (`docs/protocol.md`).
//! - [`format`](mod@format): one display line per entry, and the sanitizer that keeps log content from controlling
//!   the terminal.
//! - `tui`: the full-screen viewer behind `vg tui` (feature `cli`).
//!
//! With the `server` feature, `vg::server` is what an app embeds: a never-blocking emitter, an axum
//! WebSocket gateway, a request-logging tower layer and a `tracing` bridge.
//!
//! The `cli` feature (on by default) is the `vg` binary's client side: `cli` (arguments and the
//! `logs`, `serve` and `demo` commands), `client` (where entries come from: a server, a file, stdin) and
//! `tui`, with clap, crossterm, ratatui and the TLS WebSocket client. An app embedding the server turns
//! the default features off (`default-features = false, features = ["server"]`) and builds only the
//! core modules above and the server.

/// `eprintln!` that never panics: a closed stderr (`vg serve 2>&1 | head -1`, a supervisor that
/// went away) must not kill the process, or a sink's thread, over a message nobody can read.
#[cfg(any(feature = "cli", feature = "server"))]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
#[allow(
    unused_imports,
    reason = "used by the cli and server features, either of which may be off"
)]
#[cfg(any(feature = "cli", feature = "server"))]
pub(crate) use say;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod client;
pub mod filter;
pub mod format;
pub mod model;
#[cfg(feature = "server")]
pub mod server;
pub mod timespec;
#[cfg(feature = "cli")]
pub mod tui;
pub mod wire;

pub use filter::{Filter, FilterError, FilterSpec};
pub use model::{Level, LogEntry, Meta};
