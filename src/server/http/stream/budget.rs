//! The bytes all viewers' sockets may hold together (`GatewayConfig::max_viewer_bytes`).
//!
//! A viewer's memory is its socket's write buffer: the WebSocket library copies each frame into one
//! and, once the frame is out, keeps the buffer at the size it grew to for the rest of the
//! connection. So a viewer that was sent one 4 MB entry holds 4 MB until it leaves, and 200 viewers
//! that stopped reading held 947 MB between them. Each viewer therefore holds, from one pool shared
//! by all viewers, what its buffer has grown to, plus the frame being sent while it is sent. A frame
//! the pool cannot cover is not sent: the viewer is closed with 1013 (try again later), as a viewer
//! over the connection limit is, and its client resumes from history after its last entry, with a
//! counted gap for whatever history no longer holds. Viewers that stopped reading give their share
//! back when the write or peer timeout drops them.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A WebSocket frame's header: at most 14 bytes.
const FRAME_HEADER: usize = 14;

/// One viewer's share of the pool.
#[derive(Debug)]
pub(super) struct Budget {
    pool: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    /// What the socket's write buffer has grown to, as the library's vector grows (doubling).
    buffer: usize,
    /// The entries the viewer is holding while it sends them (as history charges them): once
    /// history evicts them, only the viewer keeps them alive.
    entries: usize,
}

impl Budget {
    pub(super) fn new(pool: Arc<Semaphore>) -> Budget {
        Budget {
            pool,
            held: None,
            buffer: 0,
            entries: 0,
        }
    }

    /// Takes what sending a frame of `len` bytes needs: the frame, and the buffer grown to take it.
    /// `false` when the pool cannot cover it.
    pub(super) fn reserve(&mut self, len: usize) -> bool {
        self.cover(grown(self.buffer, len) + len + self.entries)
    }

    /// Takes what holding entries charged `bytes` needs, until [`Budget::release_entries`].
    pub(super) fn hold_entries(&mut self, bytes: usize) -> bool {
        self.entries = bytes;
        let covered = self.cover(self.buffer + bytes);
        if !covered {
            self.entries = 0;
        }
        covered
    }

    /// The entries are sent (or given up): returns their share.
    pub(super) fn release_entries(&mut self) {
        self.entries = 0;
        self.shrink();
    }

    /// Makes the share at least `need`; `false` when the pool cannot.
    fn cover(&mut self, need: usize) -> bool {
        let have = self
            .held
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits);
        if need <= have {
            return true;
        }
        let Ok(extra) = u32::try_from(need - have) else {
            return false;
        };
        match Arc::clone(&self.pool).try_acquire_many_owned(extra) {
            Ok(permit) => {
                match &mut self.held {
                    Some(held) => held.merge(permit),
                    None => self.held = Some(permit),
                }
                true
            }
            Err(_) => false,
        }
    }

    /// A frame of `len` bytes has gone out: keeps what the buffer now holds, returns the rest.
    pub(super) fn sent(&mut self, len: usize) {
        self.buffer = grown(self.buffer, len);
        self.shrink();
    }

    fn shrink(&mut self) {
        let keep = self.buffer + self.entries;
        if let Some(held) = &mut self.held {
            let surplus = held.num_permits().saturating_sub(keep);
            drop(held.split(surplus));
        }
    }
}

/// The capacity of a vector of capacity `capacity` after reserving room for one frame of `len`:
/// unchanged when it fits, else doubled or just large enough, whichever is larger.
fn grown(capacity: usize, len: usize) -> usize {
    let need = len + FRAME_HEADER;
    if need <= capacity {
        capacity
    } else {
        need.max(capacity.saturating_mul(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_keeps_what_its_buffer_grew_to_and_returns_the_rest() {
        let pool = Arc::new(Semaphore::new(10_000));
        let mut budget = Budget::new(Arc::clone(&pool));
        assert!(budget.reserve(1000));
        assert_eq!(pool.available_permits(), 10_000 - 2014);
        budget.sent(1000);
        assert_eq!(pool.available_permits(), 10_000 - 1014);
        // A smaller frame fits the grown buffer.
        assert!(budget.reserve(500));
        budget.sent(500);
        assert_eq!(pool.available_permits(), 10_000 - 1014);
        // A larger one doubles it.
        assert!(budget.reserve(1500));
        budget.sent(1500);
        assert_eq!(pool.available_permits(), 10_000 - 2028);
        drop(budget);
        assert_eq!(
            pool.available_permits(),
            10_000,
            "a viewer that leaves returns all"
        );
    }

    #[test]
    fn entries_held_while_sending_are_charged_until_released() {
        let pool = Arc::new(Semaphore::new(10_000));
        let mut budget = Budget::new(Arc::clone(&pool));
        assert!(budget.hold_entries(3000));
        assert!(budget.reserve(1000));
        assert_eq!(pool.available_permits(), 10_000 - 3000 - 2014);
        budget.sent(1000);
        assert_eq!(pool.available_permits(), 10_000 - 3000 - 1014);
        budget.release_entries();
        assert_eq!(pool.available_permits(), 10_000 - 1014);
        assert!(!budget.hold_entries(9000), "over the pool");
        assert_eq!(pool.available_permits(), 10_000 - 1014);
    }

    #[test]
    fn a_frame_the_pool_cannot_cover_is_refused_and_takes_nothing() {
        let pool = Arc::new(Semaphore::new(3000));
        let mut first = Budget::new(Arc::clone(&pool));
        assert!(first.reserve(1000));
        first.sent(1000);
        let mut second = Budget::new(Arc::clone(&pool));
        assert!(!second.reserve(1000), "needs 2014 of the 1986 left");
        assert_eq!(pool.available_permits(), 3000 - 1014);
        assert!(second.reserve(900));
    }
}
