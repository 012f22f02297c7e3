//! Matches counted over a sliding window in at most about 100 slots, whatever the rate: a burst
//! of a million entries costs the same memory as ten. A slot is a hundredth of the window, so an
//! entry leaves the count up to 1% of the window late.
//!
//! Times are milliseconds since the epoch: the engine converts its `now` once per batch, and a
//! match in the slot already open (every match of a batch after the first) is one addition.

use std::collections::VecDeque;
use std::time::Duration;

const SLOTS: i64 = 100;

#[derive(Debug)]
pub(crate) struct Window {
    width_ms: i64,
    slot_ms: i64,
    /// (slot start in ms since the epoch, matches in it), oldest first.
    slots: VecDeque<(i64, u64)>,
    /// The sum of the slots' counts, kept as they come and go: a rule reads it on every match.
    total: u64,
}

impl Window {
    pub(crate) fn new(window: Duration) -> Window {
        let width_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        Window {
            width_ms,
            slot_ms: (width_ms / SLOTS).max(1),
            slots: VecDeque::new(),
            total: 0,
        }
    }

    /// Counts one match at `now_ms`.
    pub(crate) fn add(&mut self, now_ms: i64) {
        self.add_many(now_ms, 1);
    }

    /// Counts `n` matches at `now_ms`, in one step.
    pub(crate) fn add_many(&mut self, now_ms: i64, n: u64) {
        let slot = now_ms - now_ms.rem_euclid(self.slot_ms);
        match self.slots.back_mut() {
            // Out-of-order times (a replayed file) count in the newest slot rather than growing it.
            Some((last, count)) if *last >= slot => *count += n,
            _ => self.slots.push_back((slot, n)),
        }
        self.total += n;
        self.expire(now_ms);
    }

    /// Matches whose slot is still inside the window ending at `now_ms`.
    pub(crate) fn count(&mut self, now_ms: i64) -> u64 {
        self.expire(now_ms);
        self.total
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn expire(&mut self, now_ms: i64) {
        let cutoff = now_ms.saturating_sub(self.width_ms);
        while let Some(&(slot, n)) = self.slots.front()
            && slot + self.slot_ms <= cutoff
        {
            self.slots.pop_front();
            self.total -= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> i64 {
        (secs * 1000.0) as i64 + 1_700_000_000_000
    }

    #[test]
    fn counts_what_is_inside_the_window_and_stays_small() {
        let mut w = Window::new(Duration::from_secs(60));
        for i in 0..100_000 {
            w.add(at(f64::from(i) * 0.0005));
        }
        assert_eq!(w.count(at(50.0)), 100_000);
        assert!(w.slots.len() <= 101, "{}", w.slots.len());
        w.add(at(70.0));
        // The window is now 10s..70s: the 20,000 entries before 10s left, give or take one slot
        // (0.6s, 1,200 entries).
        let count = w.count(at(70.0));
        assert!((80_001..=81_201).contains(&count), "{count}");
        assert_eq!(w.count(at(200.0)), 0);
        assert!(w.is_empty());
    }
}
