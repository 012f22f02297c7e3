//! The memory history: the bounded ring the emitter stamps into, and the [`History`] it answers.
//!
//! Stamping and keeping happen under one short lock (see the emitter), so the ring holds seqs
//! without holes and the newest seq in it is always the newest stamped. Readers take the same lock
//! for one chunk at a time.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::history::{Bounds, History};
use super::ring::Ring;
use crate::model::LogEntry;

/// The stamping state and the ring, behind the emitter's lock.
#[derive(Debug)]
pub(crate) struct MemoryHistory {
    state: Mutex<Stamping>,
    /// The stream's identity: new at every start unless a data dir keeps it.
    identity: String,
}

/// What the emitter's lock guards.
#[derive(Debug)]
pub(crate) struct Stamping {
    pub(crate) ring: Ring,
    pub(crate) next_seq: u64,
}

impl Stamping {
    /// Stamps the next seq on `entry` (which must not be shared yet) and keeps it. Returns the seq
    /// and the entry the ring evicted, if any, for the caller to drop after releasing the lock.
    pub(crate) fn stamp(
        &mut self,
        entry: &mut Arc<LogEntry>,
        size: usize,
    ) -> (u64, Option<Arc<LogEntry>>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(unique) = Arc::get_mut(entry) {
            unique.seq = Some(seq);
        }
        let evicted = self.ring.push(Arc::clone(entry), size).map(|(e, _)| e);
        (seq, evicted)
    }

    /// The bounds now: the newest stamped, the oldest kept.
    pub(crate) fn bounds(&self) -> Bounds {
        Bounds {
            oldest: self.ring.oldest_seq(),
            newest: self.next_seq.checked_sub(1).filter(|&s| s > 0),
            oldest_time: self.ring.oldest_time(),
        }
    }
}

impl MemoryHistory {
    /// An empty history keeping at most `entries` entries and `bytes` bytes, whose first stamp is
    /// `first_seq` (above 1 when a durable history continues an earlier start).
    pub(crate) fn new(
        entries: usize,
        bytes: usize,
        identity: String,
        first_seq: u64,
    ) -> MemoryHistory {
        MemoryHistory {
            state: Mutex::new(Stamping {
                ring: Ring::new(entries, bytes),
                next_seq: first_seq.max(1),
            }),
            identity,
        }
    }

    /// The stamping lock. A poisoned lock only means another thread panicked mid-push; the ring is
    /// still consistent enough to log into, and `emit` must never panic in the app.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Stamping> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl History for MemoryHistory {
    fn identity(&self) -> &str {
        &self.identity
    }

    fn bounds(&self) -> Bounds {
        self.lock().bounds()
    }

    fn forward(&self, from: u64, to: u64, max: usize) -> Vec<Arc<LogEntry>> {
        self.lock().ring.forward(from, to, max)
    }

    fn backward(&self, before: u64, max: usize) -> Vec<Arc<LogEntry>> {
        self.lock().ring.backward(before, max)
    }
}
