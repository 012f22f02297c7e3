//! When writing history fails, and when it is back: what to say on stderr, once each.
//!
//! A disk that is nearly full fails some batches and takes others (retention frees a segment, a
//! small batch still fits), and saying every turn flooded stderr with pairs of "cannot write" and
//! "writing again" lines. An outage is said when it begins, and over only once writing has gone
//! well for [`SETTLED`]: a failure before that continues the same outage.

use std::time::{Duration, Instant};

/// How long writes must go well before the outage is said to be over.
pub(super) const SETTLED: Duration = Duration::from_secs(5);

/// The writer's outage, if one is under way.
#[derive(Debug, Default)]
pub(super) struct Outage {
    /// Entries not written before it began, and since when writes have gone well again.
    current: Option<(u64, Option<Instant>)>,
}

/// What to say.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Say {
    /// Writing fails: the outage begins.
    Failing,
    /// Writing has gone well for [`SETTLED`]; this many entries could not be written meanwhile.
    Back(u64),
}

impl Outage {
    /// A write failed; `not_written` entries had not been written before it.
    pub(super) fn failed(&mut self, not_written: u64) -> Option<Say> {
        match &mut self.current {
            Some((_, ok_since)) => {
                *ok_since = None;
                None
            }
            None => {
                self.current = Some((not_written, None));
                Some(Say::Failing)
            }
        }
    }

    /// A write went well at `now`; `not_written` entries have not been written so far.
    pub(super) fn succeeded(&mut self, now: Instant, not_written: u64) -> Option<Say> {
        let (before, ok_since) = self.current.as_mut()?;
        let since = *ok_since.get_or_insert(now);
        if now.duration_since(since) < SETTLED {
            return None;
        }
        let lost = not_written - *before;
        self.current = None;
        Some(Say::Back(lost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flapping_disk_is_one_outage_said_over_once_writes_have_settled() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut outage = Outage::default();
        assert_eq!(
            outage.succeeded(at(0), 0),
            None,
            "nothing to say while all is well"
        );
        assert_eq!(outage.failed(0), Some(Say::Failing));
        // Fails, succeeds, fails again: the same outage, nothing more said.
        assert_eq!(outage.failed(100), None);
        assert_eq!(outage.succeeded(at(1_000), 300), None);
        assert_eq!(outage.failed(300), None);
        assert_eq!(outage.succeeded(at(2_000), 999), None);
        assert_eq!(
            outage.succeeded(at(6_000), 999),
            None,
            "not settled: a failure came between"
        );
        assert_eq!(outage.succeeded(at(7_000), 999), Some(Say::Back(999)));
        assert_eq!(outage.succeeded(at(8_000), 999), None, "said once");
        assert_eq!(outage.failed(999), Some(Say::Failing), "a new outage");
    }
}
