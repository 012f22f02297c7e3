//! Pacing a producer at a rate: entries go out in millisecond ticks, and the wait for the next
//! tick sleeps in short steps, so that each tick starts close to its time.

use std::time::{Duration, Instant};

/// When the tick holding entry `i` starts, `per_tick` entries to a millisecond from `start`.
pub fn tick(start: Instant, i: u64, per_tick: u64) -> Instant {
    start + Duration::from_micros(i / per_tick * 1000)
}

/// Sleeps until `at`, in steps of at most 200 µs.
pub fn until(at: Instant) {
    while Instant::now() < at {
        std::thread::sleep(
            at.saturating_duration_since(Instant::now())
                .min(Duration::from_micros(200)),
        );
    }
}
