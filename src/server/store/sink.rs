//! Sinks: consumers of every stamped entry, in seq order, in batches, each on a thread of its own.
//!
//! A sink reads the relay's live ring exactly as a viewer does, with a cursor of its own, so it costs
//! `emit()` nothing beyond what one viewer costs (the entry is queued once for all readers), and a
//! slow sink never slows `emit()` or another sink or viewer. When a sink falls further behind than
//! the ring holds, the seqs it can no longer read are reported to it as missed, exactly, and counted
//! in its [`SinkStats`]. Durable history, the Redis publisher and alert rules are sinks; so can be
//! anything an app wants to do with its entries off its own threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::relay::Subscription;
use crate::model::LogEntry;
use crate::server::context::mark_thread_as_vg;

/// Most entries handed to [`Sink::write`] at once.
const BATCH_MAX: usize = 4096;
/// How long an idle sink thread sleeps before looking again without being woken (a safety net: the
/// relay wakes it after every delivery).
const IDLE_WAIT: Duration = Duration::from_millis(250);
/// How long closing the emitter waits, in all, for its sinks to take the last entries and close.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A consumer of every entry the emitter stamps after it was added, in seq order.
///
/// Its methods run on the sink's own thread, never on the app's: they may block (write a file, wait
/// for the network) without slowing `emit()`. `tracing` events raised on that thread are not
/// streamed (they would come back to the sink as entries); work the sink hands to other threads
/// should be wrapped likewise if it logs. While they block, entries wait in the relay's live
/// ring; what the ring can no longer hold by the time the sink looks is reported to
/// [`Sink::missed`].
///
/// ```
/// use std::sync::Arc;
/// use vg::LogEntry;
/// use vg::server::{Emitter, EmitterConfig, Sink};
///
/// struct Count(usize);
/// impl Sink for Count {
///     fn write(&mut self, entries: &[Arc<LogEntry>]) {
///         self.0 += entries.len();
///     }
/// }
///
/// let emitter = Emitter::new(EmitterConfig::default());
/// emitter.add_sink("count", Count(0)).expect("a thread for the sink");
/// ```
pub trait Sink: Send + 'static {
    /// The next entries, in seq order. Consecutive unless [`Sink::missed`] was called in between.
    fn write(&mut self, entries: &[Arc<LogEntry>]);

    /// Seqs `from..=to` were stamped but dropped before this sink could take them: it fell further
    /// behind than the live buffer holds (see `EmitterConfig::live_buffer`).
    fn missed(&mut self, from: u64, to: u64) {
        let _ = (from, to);
    }

    /// The emitter is gone and every entry has been written or reported missed: flush and finish.
    fn close(&mut self) {}
}

/// What one sink has taken and missed so far.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SinkStats {
    /// The name it was added with.
    pub name: String,
    /// Entries handed to [`Sink::write`].
    pub written: u64,
    /// Entries reported to [`Sink::missed`].
    pub missed: u64,
    /// The newest seq it has written or been told it missed.
    pub position: u64,
    /// Whether its thread still runs (it ends after [`Sink::close`], or if the sink panicked).
    pub running: bool,
}

#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    missed: AtomicU64,
    position: AtomicU64,
    running: AtomicBool,
}

/// A sink attached to the emitter: its thread and its counters.
#[derive(Debug)]
pub(crate) struct Attached {
    name: String,
    counters: Arc<Counters>,
    /// Disconnects when the thread ends.
    done: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
}

impl Attached {
    /// Starts `sink` on a thread of its own, reading `subscription` after seq `start_after`.
    pub(crate) fn start(
        name: &str,
        sink: Box<dyn Sink>,
        subscription: Subscription,
        start_after: u64,
    ) -> std::io::Result<Attached> {
        let counters = Arc::new(Counters::default());
        counters.position.store(start_after, Ordering::Relaxed);
        counters.running.store(true, Ordering::Relaxed);
        let (done_tx, done) = mpsc::channel();
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name(format!("vg-sink-{name}"))
            .spawn(move || {
                // A sink that logs through `tracing` (or whose client library does) would otherwise
                // be fed its own events, which it would log about, and so on.
                mark_thread_as_vg();
                let _done = done_tx;
                let _running = Running(&thread_counters);
                drive(sink, &subscription, start_after, &thread_counters);
            })?;
        Ok(Attached {
            name: name.to_owned(),
            counters,
            done,
            thread,
        })
    }

    /// Its figures now.
    pub(crate) fn stats(&self) -> SinkStats {
        let c = &self.counters;
        SinkStats {
            name: self.name.clone(),
            written: c.written.load(Ordering::Relaxed),
            missed: c.missed.load(Ordering::Relaxed),
            position: c.position.load(Ordering::Relaxed),
            running: c.running.load(Ordering::Relaxed),
        }
    }

    /// The newest seq it has dealt with, while its thread runs.
    pub(crate) fn running_position(&self) -> Option<u64> {
        let c = &self.counters;
        c.running
            .load(Ordering::Relaxed)
            .then(|| c.position.load(Ordering::Relaxed))
    }

    /// Waits until `deadline` at most for the thread to finish, once the relay is closed. Not from
    /// the sink's own thread (a sink holding the last emitter clone drops it there).
    pub(crate) fn wait_closed(&self, deadline: Instant) {
        if std::thread::current().id() != self.thread.thread().id() {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = self.done.recv_timeout(left);
        }
    }
}

/// Clears `running` when the thread ends, however it ends.
struct Running<'a>(&'a Counters);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Relaxed);
    }
}

/// The sink's thread: read what follows the cursor, report any jump as missed, write, repeat; after
/// the close, drain the ring and close the sink.
fn drive(mut sink: Box<dyn Sink>, live: &Subscription, start_after: u64, counters: &Counters) {
    let mut cursor = start_after;
    loop {
        // Both taken before reading, so a delivery after the read still ends the wait below, and
        // a close is only acted on after a read that saw everything delivered before it.
        let seen = live.deliveries();
        let closed = live.closed();
        let batch = live.read(cursor, BATCH_MAX);
        let (Some(first), Some(last)) = (
            batch.first().and_then(|e| e.seq),
            batch.last().and_then(|e| e.seq),
        ) else {
            if closed {
                break;
            }
            live.wait_past(seen, IDLE_WAIT);
            continue;
        };
        if first > cursor + 1 {
            sink.missed(cursor + 1, first - 1);
            counters
                .missed
                .fetch_add(first - 1 - cursor, Ordering::Relaxed);
        }
        sink.write(&batch);
        cursor = last;
        counters
            .written
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters.position.store(cursor, Ordering::Relaxed);
    }
    sink.close();
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, Sender, channel};

    use super::*;
    use crate::model::Level;
    use crate::server::{Emitter, EmitterConfig};

    const WAIT: Duration = Duration::from_secs(10);

    /// What a sink saw, in the order it saw it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Seen {
        Entry(u64),
        Missed(u64, u64),
        Closed,
    }

    /// Records what it sees; optionally stops in its first `write` until released.
    struct Recorder {
        seen: Sender<Seen>,
        hold_first: Option<(Sender<()>, Receiver<()>)>,
    }

    impl Sink for Recorder {
        fn write(&mut self, entries: &[Arc<LogEntry>]) {
            for entry in entries {
                let _ = self.seen.send(Seen::Entry(entry.seq.unwrap_or(0)));
            }
            if let Some((holding, release)) = self.hold_first.take() {
                let _ = holding.send(());
                let _ = release.recv_timeout(WAIT);
            }
        }

        fn missed(&mut self, from: u64, to: u64) {
            let _ = self.seen.send(Seen::Missed(from, to));
        }

        fn close(&mut self) {
            let _ = self.seen.send(Seen::Closed);
        }
    }

    fn emitter(live_buffer: usize) -> Emitter {
        Emitter::new(
            EmitterConfig::default()
                .read_env(false)
                .live_buffer(live_buffer),
        )
    }

    /// Everything the sink saw until it closed (the emitter is dropped first, which closes it).
    fn until_closed(seen: &Receiver<Seen>) -> Vec<Seen> {
        let mut all = Vec::new();
        while let Ok(item) = seen.recv_timeout(WAIT) {
            all.push(item);
            if item == Seen::Closed {
                return all;
            }
        }
        panic!("the sink was never closed; it saw {} items", all.len());
    }

    #[test]
    fn a_sink_receives_every_entry_after_it_was_added_in_order() {
        let emitter = emitter(100_000);
        emitter.log(Level::Info, "t", "before the sink");
        let (tx, seen) = channel();
        let recorder = Recorder {
            seen: tx,
            hold_first: None,
        };
        emitter.add_sink("recorder", recorder).unwrap();
        for i in 0..20_000 {
            emitter.log(Level::Info, "t", format!("m{i}"));
        }
        drop(emitter);
        let all = until_closed(&seen);
        let expected: Vec<Seen> = (2..=20_001)
            .map(Seen::Entry)
            .chain([Seen::Closed])
            .collect();
        assert_eq!(all, expected);
    }

    /// An emitter with a sink named "slow" stuck in writing its first entry; returns what the sink
    /// sees and the switch that lets it go on.
    fn stuck_sink(live_buffer: usize) -> (Emitter, Receiver<Seen>, Sender<()>) {
        let emitter = emitter(live_buffer);
        let (tx, seen) = channel();
        let (holding_tx, holding) = channel();
        let (release, release_rx) = channel();
        let recorder = Recorder {
            seen: tx,
            hold_first: Some((holding_tx, release_rx)),
        };
        emitter.add_sink("slow", recorder).unwrap();
        emitter.log(Level::Info, "t", "first");
        holding
            .recv_timeout(WAIT)
            .expect("the sink never got the first entry");
        (emitter, seen, release)
    }

    #[test]
    fn a_slow_sink_is_told_exactly_what_it_missed_and_emit_does_not_wait_for_it() {
        let (emitter, seen, release) = stuck_sink(8);
        // The sink is stuck in write(): if emit() waited for it, this loop would never end.
        for i in 2..=1000 {
            emitter.log(Level::Info, "t", format!("m{i}"));
        }
        release.send(()).unwrap();
        drop(emitter);
        let all = until_closed(&seen);
        // Every seq is accounted for once, in order: written, or inside a missed range.
        let mut next = 1;
        let mut missed = 0;
        for item in &all {
            match *item {
                Seen::Entry(seq) => {
                    assert_eq!(seq, next, "out of order or a silent hole");
                    next += 1;
                }
                Seen::Missed(from, to) => {
                    assert_eq!(from, next, "a missed range that does not follow");
                    missed += to - from + 1;
                    next = to + 1;
                }
                Seen::Closed => {}
            }
        }
        assert_eq!(next, 1001, "the sink did not reach the newest entry");
        // While 999 arrived, at most the live ring's 8 and the relay's 8 pending could wait for it.
        assert!(missed >= 1000 - 1 - 2 * 8, "missed only {missed}");
    }

    #[test]
    fn sink_stats_count_what_was_written_and_missed() {
        let (emitter, seen, release) = stuck_sink(4);
        for _ in 0..100 {
            emitter.log(Level::Info, "t", "x");
        }
        release.send(()).unwrap();
        // Read the figures once the sink has reached the newest seq.
        let deadline = std::time::Instant::now() + WAIT;
        let stats = loop {
            let stats = emitter.sink_stats().remove(0);
            if stats.position == 101 || std::time::Instant::now() > deadline {
                break stats;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(stats.name, "slow");
        assert_eq!(stats.position, 101);
        assert_eq!(stats.written + stats.missed, 101);
        // At most the live ring's 4 and the relay's 4 pending waited while it was stuck.
        assert!(stats.missed >= 100 - 2 * 4, "missed {}", stats.missed);
        assert!(stats.running);
        drop(emitter);
        let all = until_closed(&seen);
        let missed: u64 = all
            .iter()
            .map(|s| match s {
                Seen::Missed(from, to) => to - from + 1,
                _ => 0,
            })
            .sum();
        assert_eq!(missed, stats.missed);
    }

    #[test]
    fn close_ends_the_sinks_while_other_clones_of_the_emitter_live() {
        let emitter = emitter(1024);
        // A tracing subscriber holding a clone, as in every app that streams its tracing events.
        let _held_elsewhere = emitter.clone();
        let (tx, seen) = channel();
        let recorder = Recorder {
            seen: tx,
            hold_first: None,
        };
        emitter.add_sink("recorder", recorder).unwrap();
        emitter.log(Level::Info, "t", "one");
        emitter.log(Level::Info, "t", "two");
        emitter.close();
        // close() returned after the sink closed: everything is already there.
        let all: Vec<Seen> = seen.try_iter().collect();
        assert_eq!(all, [Seen::Entry(1), Seen::Entry(2), Seen::Closed]);
        assert!(!emitter.sink_stats()[0].running);
    }

    /// Records whether its thread counts as vg's own when it writes.
    struct Introspect(Sender<bool>);

    impl Sink for Introspect {
        fn write(&mut self, _: &[Arc<LogEntry>]) {
            let _ = self.0.send(crate::server::context::inside_vg());
        }
    }

    #[test]
    fn a_sinks_own_tracing_events_are_not_streamed_back_to_it() {
        let emitter = emitter(1024);
        let (tx, inside) = channel();
        emitter.add_sink("introspect", Introspect(tx)).unwrap();
        emitter.log(Level::Info, "t", "x");
        // The tracing bridge skips events raised where this is true.
        assert!(inside.recv_timeout(WAIT).unwrap());
        assert!(
            !crate::server::context::inside_vg(),
            "the app's thread is not vg's"
        );
    }
}
