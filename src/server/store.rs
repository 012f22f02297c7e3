//! Where entries live once emitted: the [`Emitter`] that stamps them, the history that answers
//! backfill and queries, the relay that carries them to viewers, and the sinks behind it.
//!
//! ```text
//!   app thread                     relay thread                 readers
//!   emit() ── stamp + ring ──► pending ──► live ring ──┬──► viewer connections (async)
//!                 │                                     └──► sink threads (disk, Redis, alerts...)
//!                 └──► History (backfill, after=SEQ, since/until, GET /api/logs)
//! ```

mod disk;
mod emitter;
mod history;
mod memory;
mod relay;
mod ring;
mod sink;

pub(crate) use disk::packed::Fields;
pub(crate) use disk::records::{Records, Stored};
pub use disk::{DiskConfig, DiskError, DiskStats, Fsync};
#[cfg(feature = "cli")]
pub(crate) use emitter::instance_from_env;
pub use emitter::{Emitter, EmitterConfig, HistoryStats};
pub use history::{Bounds, History};
pub(crate) use history::{Chunk, Pager, Scan, past_window, window_end, window_start};
pub(crate) use relay::Subscription;
pub use sink::{Sink, SinkStats};
