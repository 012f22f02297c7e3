//! vg: real-time log streaming, in the spirit of `fly logs`.
//!
//! - [`model`]: the log schema ([`LogEntry`], [`Level`]) and lenient decoding of other tools' JSON logs.
//! - [`filter`]: one [`Filter`] used by the server, `vg logs` and the TUI.
//! - [`wire`]: the WebSocket protocol (`docs/protocol.md`).
//! - [`format`](mod@format): one display line per entry, and the sanitizer that keeps log content from controlling
//!   the terminal.
//! - [`tui`]: the full-screen viewer behind `vg tui`.
//!
//! With the `server` feature, `vg::server` is what an app embeds: a never-blocking emitter, an axum
//! WebSocket gateway, a request-logging tower layer and a `tracing` bridge.

pub mod cli;
pub mod filter;
pub mod format;
pub mod logs;
pub mod model;
#[cfg(feature = "server")]
pub mod server;
pub mod source;
pub mod timespec;
pub mod tui;
pub mod wire;

pub use filter::{Filter, FilterError, FilterSpec};
pub use model::{Level, LogEntry, Meta};
