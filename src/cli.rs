//! The `vg` command line: the argument types every command shares, and the commands that are not the
//! full-screen viewer (`vg logs`; with the `server` feature, `vg serve` and `vg demo`).
//!
//! The core modules (model, filter, format, wire) know nothing of clap: the argument types here turn
//! into their types (a [`FilterSpec`](crate::filter::FilterSpec), a source configuration).

#[cfg(feature = "server")]
pub mod alerts;
mod args;
#[cfg(feature = "server")]
pub mod demo;
pub mod logs;
#[cfg(feature = "server")]
pub mod serve;

pub use args::*;
