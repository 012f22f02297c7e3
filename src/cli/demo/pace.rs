//! The demo's pace: how many entries each tick brings, when the incidents come and when one machine
//! restarts, as a function of the time since the workload started and a seeded generator. Kept apart
//! from the clock, so a test can run the demo's first minute in an instant and check what it shows.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The workload's schedule; deterministic for a seed.
#[derive(Debug)]
pub(crate) struct Pace {
    rng: StdRng,
    rate: u32,
    budget: f64,
    next_burst: Duration,
    burst_until: Duration,
    restart_after: Duration,
}

impl Pace {
    /// About `rate` entries a second. Every feature comes within the first minute: an incident (with
    /// its refused queries, 503s and stack traces) starts by 30 s, one machine restarts by 45 s, and
    /// slow queries come all along.
    pub(crate) fn new(seed: u64, rate: u32) -> Pace {
        let mut rng = StdRng::seed_from_u64(seed);
        let next_burst = Duration::from_secs(rng.random_range(15..30));
        let restart_after = Duration::from_secs(rng.random_range(35..45));
        Pace {
            rng,
            rate,
            budget: 0.0,
            next_burst,
            burst_until: Duration::ZERO,
            restart_after,
        }
    }

    /// When, after the start, one machine restarts.
    pub(crate) fn restart_after(&self) -> Duration {
        self.restart_after
    }

    /// One tick `elapsed` after the start, `span` after the last: how many entries it emits, and
    /// whether the system is in an incident.
    pub(crate) fn tick(&mut self, elapsed: Duration, span: Duration) -> (u32, bool) {
        if elapsed >= self.next_burst {
            self.burst_until = elapsed + Duration::from_secs(self.rng.random_range(4..10));
            self.next_burst = self.burst_until + Duration::from_secs(self.rng.random_range(40..90));
        }
        let burst = elapsed < self.burst_until;
        let boost = if burst { 2.5 } else { 1.0 };
        self.budget +=
            f64::from(self.rate) * span.as_secs_f64() * boost * self.rng.random_range(0.3..1.7);
        let count = self.budget.floor();
        self.budget -= count;
        (count as u32, burst)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::super::world::World;
    use super::*;
    use crate::model::{Level, LogEntry};

    /// The demo's first minute at its default rate, with the clock stepped instead of waited for.
    fn first_minute(seed: u64) -> Vec<LogEntry> {
        let tick = Duration::from_millis(100);
        let start = Utc::now();
        let mut pace = Pace::new(seed, 40);
        let mut world = World::new(seed);
        world.schedule_restart(start + TimeDelta::from_std(pace.restart_after()).unwrap());
        let mut entries = Vec::new();
        for n in 1..=600 {
            let elapsed = tick * n;
            let at = start + TimeDelta::from_std(elapsed).unwrap();
            let (count, burst) = pace.tick(elapsed, tick);
            entries.extend((0..count).map(|_| world.entry(at, burst)));
        }
        entries
    }

    #[test]
    fn the_first_minute_shows_a_slow_query_an_error_burst_a_stack_trace_and_a_restart() {
        for seed in 0..20 {
            let entries = first_minute(seed);
            let any = |what: &str, test: &dyn Fn(&LogEntry) -> bool| {
                assert!(entries.iter().any(test), "seed {seed}: no {what}");
            };
            any("slow query", &|e| e.message.starts_with("slow query ("));
            any("stack trace", &|e| {
                e.level == Level::Error && e.message.lines().count() > 3
            });
            any("refused connection", &|e| {
                e.message.starts_with("connection refused")
            });
            any("restart", &|e| e.message.starts_with("received SIGTERM"));
            any("return", &|e| e.message.starts_with("listening on"));
            // A burst: errors crowd together, at least 15 within some 5 seconds.
            let errors: Vec<_> = entries
                .iter()
                .filter(|e| e.level >= Level::Error)
                .map(|e| e.timestamp)
                .collect();
            let crowded = errors
                .windows(15)
                .any(|w| w[14] - w[0] <= TimeDelta::seconds(5));
            assert!(crowded, "seed {seed}: no error burst");
            let span = entries.last().unwrap().timestamp - entries[0].timestamp;
            assert!(span <= TimeDelta::seconds(60), "seed {seed}: {span}");
        }
    }

    #[test]
    fn the_rate_holds_on_average_and_more_in_an_incident() {
        let mut pace = Pace::new(1, 40);
        let tick = Duration::from_millis(100);
        let (mut calm, mut calm_ticks, mut busy, mut busy_ticks) = (0u32, 0u32, 0u32, 0u32);
        for n in 1..=3000 {
            let (count, burst) = pace.tick(tick * n, tick);
            if burst {
                (busy, busy_ticks) = (busy + count, busy_ticks + 1);
            } else {
                (calm, calm_ticks) = (calm + count, calm_ticks + 1);
            }
        }
        let per_second = |n: u32, ticks: u32| f64::from(n) / (f64::from(ticks) / 10.0);
        let calm = per_second(calm, calm_ticks);
        assert!((34.0..46.0).contains(&calm), "{calm}");
        assert!(busy_ticks > 0 && per_second(busy, busy_ticks) > 80.0);
    }
}
