//! Entries per second, by level, for the header's sparkline and rate.
//!
//! One bucket per second of arrival time (not log time: a backfill of old entries is not a burst),
//! kept for a few minutes. Time is passed in, so tests can step it.

use std::collections::VecDeque;
use std::time::Instant;

use crate::model::Level;

/// Seconds of history kept: more than the widest sparkline needs.
pub(crate) const HISTORY: usize = 300;

/// Per-second counts by level.
#[derive(Debug)]
pub(crate) struct Rate {
    origin: Instant,
    /// The second (since `origin`) that the last bucket counts.
    second: u64,
    /// Oldest first; the last is the second in progress.
    buckets: VecDeque<[u32; 6]>,
}

impl Rate {
    pub(crate) fn new(origin: Instant) -> Rate {
        Rate {
            origin,
            second: 0,
            buckets: VecDeque::from([[0; 6]]),
        }
    }

    /// Moves to the second `now` falls in; returns whether a new second started.
    pub(crate) fn advance(&mut self, now: Instant) -> bool {
        let second = now.saturating_duration_since(self.origin).as_secs();
        if second <= self.second {
            return false;
        }
        let steps = (second - self.second).min(HISTORY as u64);
        for _ in 0..steps {
            self.buckets.push_back([0; 6]);
        }
        while self.buckets.len() > HISTORY + 1 {
            self.buckets.pop_front();
        }
        self.second = second;
        true
    }

    pub(crate) fn record(&mut self, level: Level, now: Instant) {
        self.advance(now);
        if let Some(bucket) = self.buckets.back_mut() {
            bucket[level.index()] = bucket[level.index()].saturating_add(1);
        }
    }

    /// Complete seconds, oldest first, padded with empty seconds so there are always [`HISTORY`].
    pub(crate) fn history(&self) -> impl DoubleEndedIterator<Item = [u32; 6]> + '_ {
        let complete = self.buckets.len() - 1;
        std::iter::repeat_n([0; 6], HISTORY - complete)
            .chain(self.buckets.range(..complete).copied())
    }

    /// The last complete second.
    pub(crate) fn last(&self) -> [u32; 6] {
        self.history().next_back().unwrap_or([0; 6])
    }

    /// Entries in the last complete second.
    pub(crate) fn per_second(&self) -> u64 {
        self.last().iter().map(|&n| u64::from(n)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_land_in_their_second_and_idle_seconds_are_zero() {
        let t0 = Instant::now();
        let mut rate = Rate::new(t0);
        rate.record(Level::Info, t0);
        rate.record(Level::Error, t0 + Duration::from_millis(900));
        assert_eq!(
            rate.per_second(),
            0,
            "the first second is still in progress"
        );
        rate.advance(t0 + Duration::from_millis(1100));
        assert_eq!(rate.last(), [0, 0, 1, 0, 1, 0]);
        rate.advance(t0 + Duration::from_secs(4));
        let history: Vec<[u32; 6]> = rate.history().collect();
        assert_eq!(history.len(), HISTORY);
        assert_eq!(history[HISTORY - 4], [0, 0, 1, 0, 1, 0]);
        assert_eq!(rate.per_second(), 0);
        rate.advance(t0 + Duration::from_secs(10_000));
        assert_eq!(rate.history().count(), HISTORY);
    }
}
