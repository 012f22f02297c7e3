//! What this machine charges for the least that `emit()` must do, with no vg code involved: the
//! floor under the `emit()` targets (docs/benchmarks.md, "The floor under the `emit()` targets").
//!
//! - **keep**: allocate a 200-byte entry behind an `Arc`, push it into a full ring of 100,000 and
//!   free the one it evicts: the least a full history does per entry.
//! - **keep + hand over**: the same, and also push a second reference into a mutex-guarded `Vec`
//!   that a consumer thread swaps out every 100 µs and reads: the least a sink or viewer costs.
//!
//! Both paced as the vg benches pace `emit()` (2,000/s as `e2e -- emit`, 30,000/s as `cluster`),
//! alternating, medians of the rounds' p50 and p99. Nothing outside the timed section differs
//! between the two but the consumer thread.
//!
//! ```sh
//! cargo bench --bench floor                                   # mimalloc, as `vg serve`
//! cargo bench --no-default-features --bench floor     # the system allocator
//! ```
//!
//! `VG_BENCH_ROUNDS` sets the rounds (default 5).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/pace.rs"]
mod pace;

type Entry = Arc<[u8; 200]>;

const HISTORY: usize = 100_000;
/// How often the consumer looks, as vg's relay does while entries flow.
const POLL: Duration = Duration::from_micros(100);

/// One round of `secs` seconds at `rate`: p50 and p99 in ns of the timed section.
fn round(rate: u64, secs: u64, hand_over: bool) -> (u64, u64) {
    let mut history: VecDeque<Entry> = (0..HISTORY).map(|_| Arc::new([1; 200])).collect();
    let queue: Arc<Mutex<Vec<Entry>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = hand_over.then(|| {
        let (queue, stop) = (Arc::clone(&queue), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut taken = Vec::new();
            let mut read = 0u64;
            while !stop.load(Ordering::Relaxed) {
                std::mem::swap(&mut *queue.lock().unwrap(), &mut taken);
                read += taken.drain(..).map(|e| u64::from(e[7])).sum::<u64>();
                std::thread::sleep(POLL);
            }
            read
        })
    });
    let total = rate * secs;
    let per_tick = (rate / 1000).max(1);
    let mut times = Vec::with_capacity(total as usize);
    let start = Instant::now();
    let mut i = 0;
    while i < total {
        pace::until(pace::tick(start, i, per_tick));
        for _ in 0..per_tick.min(total - i) {
            let t0 = Instant::now();
            let entry: Entry = Arc::new([i as u8; 200]);
            if hand_over {
                queue.lock().unwrap().push(Arc::clone(&entry));
            }
            history.push_back(entry);
            drop(history.pop_front());
            times.push(t0.elapsed().as_nanos() as u64);
            i += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(consumer) = consumer {
        std::hint::black_box(consumer.join().unwrap());
    }
    (quantile(&mut times, 0.5), quantile(&mut times, 0.99))
}

fn quantile(values: &mut [u64], q: f64) -> u64 {
    values.sort_unstable();
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

fn main() {
    let rounds = std::env::var("VG_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    println!(
        "floor under emit(), on {}, {rounds} rounds",
        allocator::NAME
    );
    for (rate, secs) in [(2_000, 5), (30_000, 2)] {
        let (mut keep, mut handed) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            keep.push(round(rate, secs, false));
            handed.push(round(rate, secs, true));
        }
        let p50 = |v: &[(u64, u64)]| median(v.iter().map(|r| r.0).collect());
        let p99 = |v: &[(u64, u64)]| median(v.iter().map(|r| r.1).collect());
        println!(
            "{rate}/s: keep p50 {} ns p99 {} ns; keep + hand over p50 {} ns p99 {} ns (ratio p50 {:.2}, p99 {:.2})",
            p50(&keep),
            p99(&keep),
            p50(&handed),
            p99(&handed),
            p50(&handed) as f64 / p50(&keep) as f64,
            p99(&handed) as f64 / p99(&keep) as f64,
        );
    }
}
