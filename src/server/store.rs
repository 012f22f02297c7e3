//! Where entries live once emitted: the [`Emitter`] that stamps them, the history that answers
//! backfill and queries, the relay that carries them to viewers, and the sinks behind it.
//!
//! ```text
//!   app thread                     relay thread                 readers
//!   emit() ── stamp + ring ──► pending ──► live ring ──┬──► viewer connections (async)
//!                 │                                     └──► sink threads (disk, Redis, alerts...)
//!                 └──► History (backfill, after=SEQ, since/until, GET /api/logs)
//! ```

mod emitter;
mod relay;
mod ring;

pub use emitter::{Emitter, EmitterConfig, HistoryStats};
pub(crate) use emitter::Bounds;
pub(crate) use relay::Subscription;
