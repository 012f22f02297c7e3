//! The relay: carries entries from `emit()` to the viewers so that `emit()` does as little as possible.
//!
//! `emit()` appends the entry to a short `pending` queue and stores its seq in an atomic; that is all
//! it does for viewers, however many there are. One relay thread per emitter looks at the seq every
//! [`POLL`]; when it moved, the relay moves everything pending into the `live` ring (one lock for the
//! whole batch) and wakes every viewer once. Viewers read the ring under a read lock the app's thread
//! never takes, so neither their number nor their reading touches `emit()`.
//!
//! Waking a parked task from the app's thread costs a system call (a futex or eventfd write to
//! unpark an idle runtime worker), so the relay polls instead of being signalled while entries flow.
//! When nothing has arrived for [`LINGER`] it parks, and the next `emit()` unparks it: a steady stream
//! costs the app no system call at all, a trickle costs one per entry, and an idle app nothing. This
//! is the "sleeping wait strategy" of low-latency loggers: about `1 / POLL` wake-ups a second on the
//! relay's side while entries flow, for a producer that never waits. It is a plain thread because
//! tokio's timer is 1 ms coarse, which would be most of the latency budget.
//!
//! The ring holds seqs without holes, so a reader that finds the seq after its cursor missing knows
//! exactly how many it missed; both the ring and `pending` are bounded by the live buffer size.
//!
//! Entries are freed on the app's thread, which allocated them. When the live ring evicts an entry
//! whose last reference it holds (history, smaller than the live buffer or bounded by bytes first,
//! let it go earlier), the relay does not free it: it puts it on a short hand-back queue under the
//! lock `emit()` already takes, and each `emit()` takes one off and drops it after releasing its
//! locks, as it drops what history evicts (see `handback`).
//!
//! Readers are of two kinds with one way of reading: viewer connections (async tasks, woken through
//! a `Notify`) and sinks (plain threads, woken through a condition variable, which the relay only
//! touches while a sink is attached). Each keeps its own cursor, so none can slow another.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

use super::ring::Ring;
use crate::model::LogEntry;

mod handback;

use handback::{Freed, Handback};

/// How often the relay looks for new entries while they flow. Adds about half of it (plus the
/// kernel's timer slack) to the emit-to-viewer latency.
const POLL: Duration = Duration::from_micros(100);
/// How long the relay keeps polling after the last entry before it parks.
const LINGER: Duration = Duration::from_millis(10);

/// Entries with their sizes as history charges them, which the live ring's byte bound counts.
type Queue = VecDeque<(Arc<LogEntry>, usize)>;

/// What `emit()` queued for the relay, and what it was charged; and what the relay hands back.
#[derive(Debug, Default)]
struct Pending {
    queue: Queue,
    bytes: usize,
    /// Entries the live ring evicted while holding their last reference, for `emit()` to free;
    /// at most a sixteenth of the live ring's bytes.
    handback: Handback,
}

/// Shared between the emitter, its relay thread and the viewers' subscriptions.
#[derive(Debug)]
pub(crate) struct Relay {
    /// Entries emitted since the relay last looked, in seq order.
    pending: Mutex<Pending>,
    /// Held by whoever moves `pending` into `live` (the relay thread, `close`, or `nudge` without a
    /// thread), from taking the batch until it is in the ring: two movers interleaving could push a
    /// later batch first, and the ring, seeing seqs go back, would start afresh and lose it.
    delivering: Mutex<()>,
    /// The newest seq queued; the relay moves `pending` when it changes.
    queued: AtomicU64,
    /// Entries viewers read, seqs without holes. On cache lines of its own, as is `wake`: every
    /// viewer writes to them (a read lock, a waiter) and `emit()` must not pay for that.
    live: CacheLines<RwLock<Ring>>,
    capacity: usize,
    /// The ring's byte bound, which `pending` keeps too: entries history evicted while queued are
    /// the queue's alone.
    max_bytes: usize,
    /// Open subscriptions; with none, `emit()` queues nothing.
    subscribers: AtomicUsize,
    /// Set by the relay just before it parks; whoever clears it unparks the relay.
    parked: AtomicBool,
    /// Set when the emitter is gone: viewers drain the ring and stop.
    closed: AtomicBool,
    thread: OnceLock<Thread>,
    /// Woken after entries were moved into `live`.
    wake: CacheLines<Notify>,
    /// Deliveries so far, for readers on plain threads (sinks), which cannot await `wake`.
    deliveries: Mutex<u64>,
    delivered: Condvar,
    /// Subscriptions read from plain threads; while there are none, `deliveries` is left alone.
    thread_readers: AtomicUsize,
}

/// Keeps a value off the cache lines of its neighbours (two lines: x86 prefetches in pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct CacheLines<T>(T);

impl<T> std::ops::Deref for CacheLines<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl Relay {
    /// A relay whose ring keeps up to `capacity` entries and `max_bytes` of them (as history counts
    /// them): how far a viewer may fall behind. Without the byte bound, 4,096 entries of 4 MB each
    /// would be 16 GB held for viewers.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Relay {
        let capacity = capacity.max(1);
        Relay {
            pending: Mutex::new(Pending::default()),
            delivering: Mutex::new(()),
            queued: AtomicU64::new(0),
            live: CacheLines(RwLock::new(Ring::new(capacity, max_bytes))),
            capacity,
            max_bytes,
            subscribers: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            thread: OnceLock::new(),
            wake: CacheLines(Notify::new()),
            deliveries: Mutex::new(0),
            delivered: Condvar::new(),
            thread_readers: AtomicUsize::new(0),
        }
    }

    /// Called by `emit()` with its stamping lock held, so entries queue in seq order. Returns `None`
    /// if the entry was not queued (nobody reads); else entries for the caller to drop once the lock
    /// is released, and then to call [`Relay::nudge`].
    pub(crate) fn queue(&self, entry: &Arc<LogEntry>, seq: u64, size: usize) -> Option<Freed> {
        if self.subscribers.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut pending = lock(&self.pending);
        // The relay has not looked for a whole ring's worth: these become a gap for viewers.
        while pending.queue.len() == self.capacity
            || (!pending.queue.is_empty() && pending.bytes + size > self.max_bytes)
        {
            if let Some((_, dropped)) = pending.queue.pop_front() {
                pending.bytes -= dropped;
            }
        }
        pending.queue.push_back((Arc::clone(entry), size));
        pending.bytes += size;
        self.queued.store(seq, Ordering::SeqCst);
        Some(pending.handback.take())
    }

    /// Makes sure the relay will look: an unpark only when it has gone to sleep. Without a relay
    /// thread (it could not be started), delivers on this thread instead.
    pub(crate) fn nudge(&self) {
        match self.thread.get() {
            Some(thread) => {
                if self.parked.load(Ordering::SeqCst) && self.parked.swap(false, Ordering::SeqCst) {
                    thread.unpark();
                }
            }
            None => self.deliver(&mut Queue::new()),
        }
    }

    /// Starts the relay thread if it is not running yet. Call before taking the emitter's lock.
    pub(crate) fn ensure_started(self: &Arc<Self>) {
        if self.thread.get().is_none() {
            self.start();
        }
    }

    /// A new viewer's view of the ring. Call with the emitter's stamping lock held, so that every
    /// entry emitted afterwards is queued for it.
    pub(crate) fn subscribe(self: &Arc<Self>) -> Subscription {
        self.subscribers.fetch_add(1, Ordering::SeqCst);
        Subscription {
            relay: Arc::clone(self),
            on_thread: false,
        }
    }

    /// [`Relay::subscribe`] for a reader on a plain thread, which waits with
    /// [`Subscription::wait_past`].
    pub(crate) fn subscribe_thread(self: &Arc<Self>) -> Subscription {
        self.thread_readers.fetch_add(1, Ordering::SeqCst);
        let mut subscription = self.subscribe();
        subscription.on_thread = true;
        subscription
    }

    /// Delivers what is pending, wakes every viewer a last time and ends the relay thread.
    pub(crate) fn close(&self) {
        self.deliver(&mut Queue::new());
        // Nobody may emit again to free them.
        self.free_handback();
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
        self.wake_threads();
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    fn start(self: &Arc<Self>) {
        let relay = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("vg-relay".into())
            .spawn(move || relay.run());
        match spawned {
            // Two first viewers may race here: `OnceLock` keeps one handle, and the other thread
            // ends as soon as it sees it is not the registered one.
            Ok(handle) => {
                let _ = self.thread.set(handle.thread().clone());
            }
            // Without a thread `nudge` delivers on the emitting thread: slower, still correct.
            Err(error) => tracing::warn!("could not start the viewer relay thread: {error}"),
        }
    }

    fn run(&self) {
        let registered = loop {
            if let Some(thread) = self.thread.get() {
                break thread.id();
            }
            std::thread::yield_now();
        };
        if registered != std::thread::current().id() {
            return;
        }
        let mut spare = Queue::new();
        // Not the current value: entries may have been queued before this thread got going.
        let mut seen = 0;
        let mut last_change = Instant::now();
        while !self.closed.load(Ordering::SeqCst) {
            let queued = self.queued.load(Ordering::SeqCst);
            if queued != seen {
                seen = queued;
                last_change = Instant::now();
                self.deliver(&mut spare);
            } else if last_change.elapsed() >= LINGER {
                // An app gone quiet frees nothing more: what it has not taken is freed here.
                self.free_handback();
                self.park_unless_queued(seen);
                continue;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Moves everything pending into the ring, hands what it evicts back to `emit()` and wakes the
    /// viewers. `spare` is an empty queue to swap in, so that neither side allocates once both have
    /// grown.
    fn deliver(&self, spare: &mut Queue) {
        let _turn = self
            .delivering
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        {
            let mut pending = lock(&self.pending);
            std::mem::swap(&mut pending.queue, spare);
            pending.bytes = 0;
        }
        if spare.is_empty() {
            return;
        }
        // Evicted entries only this thread still references; the rest are freed by whoever drops
        // the last reference (history, on the app's thread, or a reader).
        let mut last_held = Vec::new();
        {
            let mut live = self.live.write().unwrap_or_else(PoisonError::into_inner);
            for (entry, size) in spare.drain(..) {
                // Entries emitted while nobody watched were not queued; the ring starts afresh.
                if live
                    .newest_seq()
                    .is_some_and(|newest| entry.seq != Some(newest + 1))
                {
                    live.clear();
                }
                live.push_evicting(entry, size, |old, size| {
                    // With no `Weak`s, a count of 1 cannot grow again: this reference is the last.
                    if Arc::strong_count(&old) == 1 {
                        last_held.push((old, size));
                    }
                });
            }
        }
        if !last_held.is_empty() {
            self.hand_back(last_held);
        }
        self.wake.notify_waiters();
        if self.thread_readers.load(Ordering::SeqCst) > 0 {
            self.wake_threads();
        }
    }

    /// Queues `entries` for `emit()` to free, as many as the bounds allow; frees the rest here.
    fn hand_back(&self, mut entries: Vec<(Arc<LogEntry>, usize)>) {
        lock(&self.pending)
            .handback
            .give(&mut entries, self.max_bytes / 16);
        // Over the bounds (the app is not emitting enough to take them): freed here, outside the
        // lock `emit()` takes.
        drop(entries);
    }

    /// Frees, on this thread, what `emit()` has not taken.
    fn free_handback(&self) {
        let handback = lock(&self.pending).handback.take_all();
        drop(handback);
    }

    fn wake_threads(&self) {
        *self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
        self.delivered.notify_all();
    }

    /// Parks unless something was queued after `seen`. The flag is raised before the last look, so
    /// an `emit()` is either seen by that look or sees the flag and unparks.
    fn park_unless_queued(&self, seen: u64) {
        self.parked.store(true, Ordering::SeqCst);
        if self.queued.load(Ordering::SeqCst) == seen && !self.closed.load(Ordering::SeqCst) {
            std::thread::park();
        }
        self.parked.store(false, Ordering::SeqCst);
    }
}

/// One viewer's view of the live ring; entries emitted after it was taken are delivered to it.
#[derive(Debug)]
pub(crate) struct Subscription {
    relay: Arc<Relay>,
    on_thread: bool,
}

impl Relay {
    /// The oldest seq the live ring still holds and how many entries it holds (a reader whose
    /// cursor is near that oldest seq is about to be lapped), and whether `pending` is over half
    /// full (the relay is behind, and entries past a full `pending` are lost to every reader).
    pub(crate) fn live_span(&self) -> (Option<u64>, usize, bool) {
        let backlog = {
            let pending = lock(&self.pending);
            pending.queue.len() > self.capacity / 2 || pending.bytes > self.max_bytes / 2
        };
        let live = self.live.read().unwrap_or_else(PoisonError::into_inner);
        (live.oldest_seq(), live.len(), backlog)
    }
}

impl Subscription {
    /// Up to `max` entries with seqs after `cursor`, oldest first. When the ring no longer holds
    /// `cursor + 1`, it starts at the oldest it has, and the jump tells how many were missed.
    pub(crate) fn read(&self, cursor: u64, max: usize) -> Vec<Arc<LogEntry>> {
        let live = self
            .relay
            .live
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        live.forward(cursor.saturating_add(1), u64::MAX, max)
    }

    /// As [`Subscription::read`], stopping before the entries' sizes (as history charges them) pass
    /// `max_bytes`, at least one entry; also returns their sizes' sum. A reader that may wait with
    /// what it read (a viewer on a slow socket) holds that much, not a ring's worth.
    pub(crate) fn read_sized(
        &self,
        cursor: u64,
        max: usize,
        max_bytes: usize,
    ) -> (Vec<Arc<LogEntry>>, usize) {
        let live = self
            .relay
            .live
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        live.forward_sized(cursor.saturating_add(1), max, max_bytes)
    }

    /// Resolves after the next delivery. Enable it before [`Subscription::read`] so that a
    /// delivery between the two is not missed.
    pub(crate) fn delivered(&self) -> Notified<'_> {
        self.relay.wake.notified()
    }

    /// How many deliveries a thread reader has been woken for; pass it to
    /// [`Subscription::wait_past`] after a read that found nothing.
    pub(crate) fn deliveries(&self) -> u64 {
        *self
            .relay
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks this thread until a delivery after `seen` (see [`Subscription::deliveries`]), the
    /// close, or `timeout`.
    pub(crate) fn wait_past(&self, seen: u64, timeout: Duration) {
        let count = self
            .relay
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .relay
            .delivered
            .wait_timeout_while(count, timeout, |count| *count == seen);
    }

    /// Whether the emitter is gone (read the ring once more after seeing this: it may hold the last
    /// entries).
    pub(crate) fn closed(&self) -> bool {
        self.relay.closed.load(Ordering::SeqCst)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.on_thread {
            self.relay.thread_readers.fetch_sub(1, Ordering::SeqCst);
        }
        self.relay.subscribers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A poisoned lock only means a thread panicked mid-push; the queue is still usable, and `emit()`
/// must never panic in the app.
fn lock(queue: &Mutex<Pending>) -> MutexGuard<'_, Pending> {
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn entry(seq: u64) -> Arc<LogEntry> {
        let mut entry = LogEntry::new(Level::Info, "t", format!("m{seq}"));
        entry.seq = Some(seq);
        Arc::new(entry)
    }

    #[test]
    fn pending_keeps_the_newest_within_the_byte_bound_while_the_relay_is_behind() {
        let relay = Relay::new(100, 1000);
        relay.subscribers.store(1, Ordering::SeqCst);
        for seq in 1..=5 {
            assert!(relay.queue(&entry(seq), seq, 300).is_some());
        }
        let pending = lock(&relay.pending);
        let seqs: Vec<u64> = pending.queue.iter().filter_map(|(e, _)| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5], "the oldest go first, as a gap for viewers");
        assert_eq!(pending.bytes, 900);
        drop(pending);
        // One entry over the bound on its own is still queued, alone.
        assert!(relay.queue(&entry(6), 6, 5000).is_some());
        assert_eq!(lock(&relay.pending).queue.len(), 1);
        assert!(
            relay.live_span().2,
            "over half the bytes: the relay is behind"
        );
    }

    /// Queues `seq` as `emit()` does and returns what it hands back to be freed.
    fn emit_one(relay: &Relay, entry: &Arc<LogEntry>, size: usize) -> Vec<u64> {
        let handback = relay.queue(entry, entry.seq.unwrap(), size).unwrap();
        handback.iter().flatten().filter_map(|e| e.seq).collect()
    }

    #[test]
    fn what_only_the_live_ring_held_goes_back_to_emit_to_be_freed() {
        let relay = Relay::new(2, 1 << 20);
        relay.subscribers.store(1, Ordering::SeqCst);
        // History has let seq 1 go (only the relay holds it) and still holds seq 2.
        let two = entry(2);
        assert!(emit_one(&relay, &entry(1), 10).is_empty());
        assert!(emit_one(&relay, &two, 10).is_empty());
        relay.deliver(&mut Queue::new());
        assert!(emit_one(&relay, &entry(3), 10).is_empty());
        relay.deliver(&mut Queue::new());
        // The ring of 2 evicted seq 1: the next emit() gets it.
        assert_eq!(emit_one(&relay, &entry(4), 10), [1]);
        relay.deliver(&mut Queue::new());
        // Seq 2 went too, but it is still history's: the relay only let go of its own reference.
        assert!(emit_one(&relay, &entry(5), 10).is_empty());
        assert_eq!(Arc::strong_count(&two), 1);
        relay.deliver(&mut Queue::new());
        assert_eq!(emit_one(&relay, &entry(6), 10), [3]);
    }

    #[test]
    fn the_hand_back_queue_is_bounded_and_emptied_on_close() {
        // A sixteenth of 1 MiB: two entries of 30,000 bytes fit, a third does not.
        let relay = Relay::new(3, 1 << 20);
        relay.subscribers.store(1, Ordering::SeqCst);
        for seq in 1..=6 {
            assert!(emit_one(&relay, &entry(seq), 30_000).is_empty());
            if seq % 3 == 0 {
                relay.deliver(&mut Queue::new());
            }
        }
        assert_eq!(
            lock(&relay.pending).handback.seqs_and_bytes(),
            (vec![1, 2], 60_000),
            "the oldest wait, the rest were freed by the relay"
        );
        relay.close();
        assert_eq!(lock(&relay.pending).handback.seqs_and_bytes(), (vec![], 0));
    }
}
