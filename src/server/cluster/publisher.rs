//! The Redis publisher: a sink that only queues (bounded), and a thread of its own that sends.
//!
//! The sink's `write` never touches the network, so the sink keeps taking entries from the relay
//! while Redis is down (instead of falling behind and missing them), and the sending thread can
//! retry on its own schedule, also when no new entry arrives to wake the sink. Each batch goes
//! out as one script call ([`script`]).

mod script;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Notify;

use super::{RedisConfig, RedisStats};
use crate::model::LogEntry;
use crate::server::context::mark_thread_as_vg;
use crate::server::store::{Emitter, Sink};

/// The first pause after a failed attempt; it doubles up to [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How long the dedupe record of one boot outlives its last batch: long after any retry.
const DEDUPE_TTL_SECS: u64 = 7 * 24 * 3600;
/// How long closing waits for the last entries to reach Redis.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

const CONNECTING: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// Entries waiting for Redis, oldest first, and what they cost in memory.
#[derive(Debug, Default)]
struct Waiting {
    entries: VecDeque<(Arc<LogEntry>, usize)>,
    bytes: usize,
}

impl Waiting {
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Queues `entry`, whose [`LogEntry::approx_size`] is `size` (worked out before the lock is
    /// taken: the sending thread waits on that lock for its next batch).
    fn push_back(&mut self, entry: Arc<LogEntry>, size: usize) {
        self.bytes += size;
        self.entries.push_back((entry, size));
    }

    fn push_front(&mut self, entry: Arc<LogEntry>) {
        let size = entry.approx_size();
        self.bytes += size;
        self.entries.push_front((entry, size));
    }

    fn pop_front(&mut self) -> Option<Arc<LogEntry>> {
        let (entry, size) = self.entries.pop_front()?;
        self.bytes -= size;
        Some(entry)
    }

    /// Drops the oldest until at most `max` entries of at most `max_bytes` are left (one entry
    /// larger than that stays alone); returns how many went.
    fn trim(&mut self, max: usize, max_bytes: usize) -> usize {
        let mut dropped = 0;
        while self.len() > max || (self.len() > 1 && self.bytes > max_bytes) {
            self.pop_front();
            dropped += 1;
        }
        dropped
    }
}

/// What the sink and the sending thread share, and what `/healthz` reads.
#[derive(Debug, Default)]
pub(super) struct Status {
    queue: Mutex<Waiting>,
    /// Wakes the sending thread: entries queued, or closing.
    wake: Notify,
    closing: AtomicBool,
    /// Entries the sending thread has taken and not yet put into Redis (one batch at most, so
    /// the queue and the batch together hold at most the buffer's bound plus one batch).
    in_flight: AtomicU64,
    state: AtomicU8,
    published: AtomicU64,
    buffered: AtomicU64,
    overflow: AtomicU64,
    deduplicated: AtomicU64,
    error: Mutex<Option<String>>,
}

impl Status {
    pub(super) fn stats(&self, stream: &str) -> RedisStats {
        RedisStats {
            state: match self.state.load(Ordering::Relaxed) {
                CONNECTING => "connecting",
                UP => "up",
                _ => "down",
            },
            stream: stream.to_owned(),
            published: self.published.load(Ordering::Relaxed),
            buffered: self.buffered.load(Ordering::Relaxed),
            overflow: self.overflow.load(Ordering::Relaxed),
            deduplicated: self.deduplicated.load(Ordering::Relaxed),
            error: self
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records how many entries are held, given the locked queue and the in-flight count.
    fn track(&self, queue: &Waiting, in_flight: usize) {
        self.in_flight.store(in_flight as u64, Ordering::Relaxed);
        self.buffered
            .store((queue.len() + in_flight) as u64, Ordering::Relaxed);
    }

    fn set_up(&self) {
        self.state.store(UP, Ordering::Relaxed);
        *self.error.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn set_down(&self, error: &redis::RedisError) {
        self.state.store(DOWN, Ordering::Relaxed);
        *self.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(error.to_string());
    }
}

/// The sink half: queues what the emitter stamps.
pub(super) struct Publisher {
    status: Arc<Status>,
    capacity: usize,
    capacity_bytes: usize,
    /// Disconnects when the sending thread ends.
    done: mpsc::Receiver<()>,
}

impl Publisher {
    /// Starts the sending thread for `emitter`'s entries.
    pub(super) fn start(
        client: redis::Client,
        config: &RedisConfig,
        emitter: &Emitter,
        status: Arc<Status>,
    ) -> std::io::Result<Publisher> {
        let (done_tx, done) = mpsc::channel();
        let sender = Sender {
            status: Arc::clone(&status),
            stream: config.stream.clone(),
            dedupe_key: format!(
                "{}:published:{}:{}",
                config.stream,
                emitter.instance().unwrap_or("-"),
                emitter.boot()
            ),
            boot: emitter.boot().to_owned(),
            instance: emitter.instance().unwrap_or_default().to_owned(),
            restarted: last_lost(emitter),
            max_len: config.max_len,
            max_age_ms: config
                .max_age
                .map_or(0, |age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX)),
            capacity: config.buffer,
            capacity_bytes: config.buffer_bytes,
            // A batch never holds more than the buffer's bound.
            batch: config.batch.min(config.buffer),
            timeout: config.timeout,
        };
        std::thread::Builder::new()
            .name("vg-redis".into())
            .spawn(move || {
                // The client library's own `tracing` events must not come back as entries.
                mark_thread_as_vg();
                let _done = done_tx;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(sender.run(client));
                }
            })?;
        Ok(Publisher {
            status,
            capacity: config.buffer,
            capacity_bytes: config.buffer_bytes,
            done,
        })
    }
}

impl Sink for Publisher {
    fn write(&mut self, entries: &[Arc<LogEntry>]) {
        let sized: Vec<(Arc<LogEntry>, usize)> = entries
            .iter()
            .map(|entry| (Arc::clone(entry), entry.approx_size()))
            .collect();
        let mut queue = self.status.queue();
        for (entry, size) in sized {
            queue.push_back(entry, size);
        }
        // The oldest waiting go first: a viewer cares most about what is happening now. The queue
        // is bounded on its own, not together with the batch being sent: that batch stays until
        // its attempt ends (it may be in Redis already), so counting it here would drop the
        // newest entries while it is out. A failed batch comes back to the front of the queue
        // and is trimmed there, the oldest first.
        let over = queue.trim(self.capacity, self.capacity_bytes);
        if over > 0 {
            self.status
                .overflow
                .fetch_add(over as u64, Ordering::Relaxed);
        }
        let in_flight = self.status.in_flight.load(Ordering::Relaxed) as usize;
        self.status
            .buffered
            .store((queue.len() + in_flight) as u64, Ordering::Relaxed);
        drop(queue);
        self.status.wake.notify_one();
    }

    fn missed(&mut self, from: u64, to: u64) {
        // Gone before the publisher could queue them: as lost for Redis as an overflow.
        self.status
            .overflow
            .fetch_add(to - from + 1, Ordering::Relaxed);
    }

    fn close(&mut self) {
        self.status.closing.store(true, Ordering::Relaxed);
        self.status.wake.notify_one();
        let _ = self.done.recv_timeout(CLOSE_WAIT);
    }
}

/// The seqs the last start may have stamped and never written, when it did not stop cleanly (a
/// durable history knows; see `History::unwritten`).
fn last_lost(emitter: &Emitter) -> Option<(u64, u64)> {
    let history = emitter.history();
    let newest = history.bounds().newest?;
    history.unwritten(1, newest).last().copied()
}

/// The sending half, on its own thread and runtime.
struct Sender {
    status: Arc<Status>,
    stream: String,
    dedupe_key: String,
    boot: String,
    instance: String,
    /// Seqs lost in a crash before this start, to announce to merged readers before the first
    /// batch (see `send_restart`): without it, the jump in this instance's seqs reads as entries
    /// known to be lost.
    restarted: Option<(u64, u64)>,
    max_len: usize,
    /// Trims entries older than this many milliseconds too (0: no age limit).
    max_age_ms: u64,
    capacity: usize,
    capacity_bytes: usize,
    batch: usize,
    timeout: Duration,
}

impl Sender {
    async fn run(self, client: redis::Client) {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // This loop retries, with its own backoff; one try per attempt here.
            .set_number_of_retries(0);
        let mut connection = match ConnectionManager::new_lazy_with_config(client, config) {
            Ok(connection) => connection,
            Err(e) => {
                self.status.set_down(&e);
                return;
            }
        };
        // Taken from the queue, not yet known to be in Redis.
        let mut in_flight: Vec<Arc<LogEntry>> = Vec::new();
        // Whether Redis may already hold some of `in_flight` (a failure of unknown outcome).
        let mut unsure = false;
        // One command buffer for every batch: a batch is a few hundred KiB.
        let mut cmd = redis::Cmd::new();
        let script = script::script();
        let mut pause = RETRY_MIN;
        let mut restarted = self.restarted;
        // When Redis was last asked how it is while nothing was waiting (at once, at start).
        let mut checked: Option<Instant> = None;
        loop {
            if in_flight.is_empty() {
                self.take_batch(&mut in_flight);
            }
            if in_flight.is_empty() {
                if self.status.closing.load(Ordering::Relaxed) {
                    return;
                }
                // Idle: the status must say how Redis is, not only how the last batch went, or a
                // quiet instance that cannot reach Redis (or whose certificate does not check out)
                // would look healthy until its first entry.
                if checked.is_none_or(|at| at.elapsed() >= RETRY_MAX) {
                    checked = Some(Instant::now());
                    match redis::cmd("PING").query_async::<()>(&mut connection).await {
                        Ok(()) => self.status.set_up(),
                        Err(e) => self.status.set_down(&e),
                    }
                }
                // A notify before this wait is kept as a permit, so no wake-up is lost.
                let _ = tokio::time::timeout(RETRY_MAX, self.status.wake.notified()).await;
                continue;
            }
            let sent = match self.send_restart(&mut connection, restarted).await {
                Ok(()) => {
                    restarted = None;
                    self.send(&mut connection, &script, &mut cmd, &mut in_flight, unsure)
                        .await
                }
                Err(e) => Err(e),
            };
            match sent {
                Ok(()) => {
                    self.status.track(&self.status.queue(), 0);
                    self.status.set_up();
                    unsure = false;
                    pause = RETRY_MIN;
                }
                Err(e) => {
                    self.put_back(&mut in_flight);
                    self.status.set_down(&e);
                    // Whatever the batch's fate, the next attempt first asks Redis how far it got.
                    unsure = true;
                    if self.status.closing.load(Ordering::Relaxed) {
                        return;
                    }
                    let closing = async {
                        while !self.status.closing.load(Ordering::Relaxed) {
                            self.status.wake.notified().await;
                        }
                    };
                    let _ = tokio::time::timeout(pause, closing).await;
                    pause = (pause * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// Moves the oldest waiting entries, one batch at most, from the queue into `batch`.
    fn take_batch(&self, batch: &mut Vec<Arc<LogEntry>>) {
        let mut queue = self.status.queue();
        let take = queue.len().min(self.batch);
        batch.extend(std::iter::from_fn(|| queue.pop_front()).take(take));
        self.status.track(&queue, batch.len());
    }

    /// Returns a failed batch to the front of the queue, then drops the oldest beyond the bound:
    /// while Redis is down, the newest entries are the ones kept.
    fn put_back(&self, batch: &mut Vec<Arc<LogEntry>>) {
        let mut queue = self.status.queue();
        for entry in batch.drain(..).rev() {
            queue.push_front(entry);
        }
        let over = queue.trim(self.capacity, self.capacity_bytes);
        if over > 0 {
            self.status
                .overflow
                .fetch_add(over as u64, Ordering::Relaxed);
        }
        self.status.track(&queue, 0);
    }

    /// Adds the record that tells merged readers this instance restarted after a crash that may
    /// have lost seqs `from..=to`: fields `b`, `i`, `s` (= `to`) and `r` (= `from`), no entry. A
    /// reader then counts the jump to `to` as a restart's "up to" loss, not as entries known lost.
    /// Sent again after a failure of unknown outcome: a second one is harmless (a reader takes one
    /// only when it moves the instance's seqs forward). Older readers skip it (it has no `e`).
    async fn send_restart(
        &self,
        connection: &mut ConnectionManager,
        restarted: Option<(u64, u64)>,
    ) -> redis::RedisResult<()> {
        let Some((from, to)) = restarted else {
            return Ok(());
        };
        redis::cmd("XADD")
            .arg(&self.stream)
            .arg("*")
            .arg("b")
            .arg(&self.boot)
            .arg("i")
            .arg(&self.instance)
            .arg("s")
            .arg(to)
            .arg("r")
            .arg(from)
            .query_async::<redis::Value>(connection)
            .await
            .map(drop)
    }

    /// Puts `batch` into Redis and empties it, all or nothing. When `unsure`, first drops what an
    /// earlier attempt may have put there already.
    async fn send(
        &self,
        connection: &mut ConnectionManager,
        script: &redis::Script,
        cmd: &mut redis::Cmd,
        batch: &mut Vec<Arc<LogEntry>>,
        unsure: bool,
    ) -> redis::RedisResult<()> {
        if unsure {
            let done: Option<u64> = redis::cmd("GET")
                .arg(&self.dedupe_key)
                .query_async(connection)
                .await?;
            if let Some(done) = done {
                let before = batch.len();
                batch.retain(|e| e.seq.is_some_and(|seq| seq > done));
                self.status
                    .deduplicated
                    .fetch_add((before - batch.len()) as u64, Ordering::Relaxed);
            }
        }
        let Some(newest) = batch.last().and_then(|e| e.seq) else {
            batch.clear();
            return Ok(());
        };
        let target = script::Target {
            stream: &self.stream,
            dedupe_key: &self.dedupe_key,
            max_len: self.max_len,
            max_age_ms: self.max_age_ms,
            boot: &self.boot,
            instance: &self.instance,
            ttl_secs: DEDUPE_TTL_SECS,
        };
        script::command(cmd, script.get_hash(), &target, batch, newest);
        let added: u64 = match cmd.query_async(connection).await {
            // Redis forgets scripts when it restarts (or on SCRIPT FLUSH); a refused EVALSHA ran
            // nothing, so loading it and sending again is safe.
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                script.load_async(connection).await?;
                cmd.query_async(connection).await?
            }
            other => other?,
        };
        debug_assert_eq!(added, batch.len() as u64, "the script adds every entry");
        self.status
            .published
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    const CAPACITY: usize = 4;

    fn entries(seqs: std::ops::RangeInclusive<u64>) -> Vec<Arc<LogEntry>> {
        seqs.map(|seq| {
            let mut entry = LogEntry::new(Level::Info, "app", format!("line {seq}"));
            entry.seq = Some(seq);
            Arc::new(entry)
        })
        .collect()
    }

    /// The two halves over one status, without a thread or a connection: the test plays the
    /// sending thread's part by hand.
    fn halves() -> (Publisher, Sender, mpsc::Sender<()>) {
        halves_within(usize::MAX)
    }

    /// As [`halves`], with the buffer also bounded to `max_bytes`.
    fn halves_within(max_bytes: usize) -> (Publisher, Sender, mpsc::Sender<()>) {
        let status = Arc::new(Status::default());
        let (done_tx, done) = mpsc::channel();
        let publisher = Publisher {
            status: Arc::clone(&status),
            capacity: CAPACITY,
            capacity_bytes: max_bytes,
            done,
        };
        let sender = Sender {
            status,
            stream: "vg:logs".into(),
            dedupe_key: "vg:logs:published:-:boot".into(),
            boot: "boot".into(),
            instance: String::new(),
            restarted: None,
            max_len: 100,
            max_age_ms: 0,
            capacity: CAPACITY,
            capacity_bytes: max_bytes,
            batch: CAPACITY,
            timeout: Duration::from_secs(1),
        };
        (publisher, sender, done_tx)
    }

    fn queued(status: &Status) -> Vec<u64> {
        let queue = status.queue();
        queue.entries.iter().filter_map(|(e, _)| e.seq).collect()
    }

    #[test]
    fn entries_written_while_a_full_batch_is_out_are_kept() {
        let (mut publisher, sender, _done) = halves();
        publisher.write(&entries(1..=4));
        let mut batch = Vec::new();
        sender.take_batch(&mut batch);
        assert_eq!(batch.len(), CAPACITY);

        // The batch's attempt is under way: what arrives now is the newest, and waits.
        publisher.write(&entries(5..=6));
        assert_eq!(queued(&sender.status), [5, 6]);
        let stats = sender.status.stats("vg:logs");
        assert_eq!((stats.buffered, stats.overflow), (6, 0));
    }

    #[test]
    fn a_failed_batch_gives_way_to_newer_entries_and_the_drop_is_counted() {
        let (mut publisher, sender, _done) = halves();
        publisher.write(&entries(1..=4));
        let mut batch = Vec::new();
        sender.take_batch(&mut batch);
        publisher.write(&entries(5..=7));

        // The attempt failed: the batch goes back in front, and the oldest beyond the bound go.
        sender.put_back(&mut batch);
        assert_eq!(queued(&sender.status), [4, 5, 6, 7]);
        let stats = sender.status.stats("vg:logs");
        assert_eq!((stats.buffered, stats.overflow), (4, 3));

        // Past the bound with nothing out, the oldest waiting go too.
        publisher.write(&entries(8..=9));
        assert_eq!(queued(&sender.status), [6, 7, 8, 9]);
        assert_eq!(sender.status.stats("vg:logs").overflow, 5);
    }

    #[test]
    fn the_buffer_keeps_the_newest_within_its_bytes_too() {
        let one = entries(1..=1)[0].approx_size();
        let (mut publisher, sender, _done) = halves_within(2 * one);
        publisher.write(&entries(1..=3));
        assert_eq!(
            queued(&sender.status),
            [2, 3],
            "two entries' worth, the newest"
        );
        assert_eq!(sender.status.stats("vg:logs").overflow, 1);
        // One entry over the bound on its own still waits, alone.
        let (mut publisher, sender, _done) = halves_within(1);
        publisher.write(&entries(1..=2));
        assert_eq!(queued(&sender.status), [2]);
    }
}
