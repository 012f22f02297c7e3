//! The emitter: the one place entries enter the server.
//!
//! [`Emitter::emit`] is synchronous and never waits on the network. Under one short mutex it stamps the
//! next seq, pushes the entry into the bounded memory history and, when anyone is reading (a viewer
//! or a [`Sink`]), queues it for the [`Relay`], which carries it to them on its own thread (see
//! `relay`). Doing all of it under the same lock keeps every queue in seq order, which is what lets a
//! reader turn any jump in seqs into an exact count of what it missed. Subscribing takes the same
//! lock, so a new reader knows precisely which seqs are history and which will arrive live.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::disk::{self, Catalog, DiskConfig, DiskError, DiskStats, Tiered, Writer};
use super::history::{Bounds, History};
use super::memory::MemoryHistory;
use super::relay::{Relay, Subscription};
use super::sink::{Attached, CLOSE_WAIT, Sink, SinkStats};
use crate::model::{Level, LogEntry};
use crate::server::context::add_current_request_id;

/// Where the instance name is looked for when the configuration does not give one, in order.
const INSTANCE_VARS: &[&str] = &["VG_INSTANCE", "FLY_MACHINE_ID", "FLY_ALLOC_ID"];
/// Where the region is looked for when the configuration does not give one, in order.
const REGION_VARS: &[&str] = &["VG_REGION", "FLY_REGION"];

/// How an [`Emitter`] stamps and keeps entries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmitterConfig {
    /// Instance name stamped on entries that have none. When `None` (and `read_env` is set) it comes
    /// from `VG_INSTANCE`, then Fly's `FLY_MACHINE_ID` or `FLY_ALLOC_ID`.
    pub instance: Option<String>,
    /// Region stamped on entries that have none. When `None` (and `read_env` is set) it comes from
    /// `VG_REGION`, then Fly's `FLY_REGION`.
    pub region: Option<String>,
    /// Whether to read the environment variables above.
    pub read_env: bool,
    /// Most entries kept for backfill and resume.
    pub history: usize,
    /// Most bytes kept in history (as counted by [`LogEntry::approx_size`]).
    pub history_bytes: usize,
    /// How many entries a viewer may fall behind the newest before it is told it missed some (also
    /// at most [`history_bytes`](Self::history_bytes) of them).
    pub live_buffer: usize,
    /// Durable history in a data dir (see [`DiskConfig`]); `None` keeps history in memory only.
    pub disk: Option<DiskConfig>,
}

impl Default for EmitterConfig {
    fn default() -> Self {
        EmitterConfig {
            instance: None,
            region: None,
            read_env: true,
            history: 10_000,
            history_bytes: 16 * 1024 * 1024,
            live_buffer: 4096,
            disk: None,
        }
    }
}

impl EmitterConfig {
    /// Sets the instance name (builder style).
    #[must_use]
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Sets the region (builder style).
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Whether instance and region may come from the environment (builder style).
    #[must_use]
    pub fn read_env(mut self, read_env: bool) -> Self {
        self.read_env = read_env;
        self
    }

    /// Sets the history limits: entries and bytes (builder style).
    #[must_use]
    pub fn history(mut self, entries: usize, bytes: usize) -> Self {
        self.history = entries;
        self.history_bytes = bytes;
        self
    }

    /// Keeps history in `dir` too, with the default durability and retention (builder style):
    /// entries survive a restart and the stream continues where it stopped.
    #[must_use]
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.disk = Some(DiskConfig::new(dir));
        self
    }

    /// Sets durable history in full (builder style).
    #[must_use]
    pub fn disk(mut self, disk: DiskConfig) -> Self {
        self.disk = Some(disk);
        self
    }

    /// Sets how far a viewer may fall behind before a `gap` (builder style).
    #[must_use]
    pub fn live_buffer(mut self, entries: usize) -> Self {
        self.live_buffer = entries;
        self
    }
}

/// A cheap, cloneable handle that apps log through. All clones feed the same history and viewers.
#[derive(Clone)]
pub struct Emitter {
    inner: Arc<Inner>,
}

struct Inner {
    /// The stamping lock and the entries kept in memory.
    memory: Arc<MemoryHistory>,
    /// What readers read: the memory ring, or the ring in front of the disk.
    history: Arc<dyn History>,
    tiered: Option<Arc<Tiered>>,
    disk: Option<Arc<Catalog>>,
    /// Carries emitted entries to viewers and sinks.
    relay: Arc<Relay>,
    sinks: Mutex<Vec<Attached>>,
    instance: Option<String>,
    region: Option<String>,
}

/// A summary of what the emitter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryStats {
    /// Entries retained.
    pub entries: usize,
    /// Bytes charged for them.
    pub bytes: usize,
    /// Oldest seq retained.
    pub oldest_seq: Option<u64>,
    /// Newest seq stamped.
    pub newest_seq: Option<u64>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("boot", &self.inner.history.identity())
            .field("instance", &self.inner.instance)
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

impl Default for Emitter {
    fn default() -> Self {
        Emitter::new(EmitterConfig::default())
    }
}

impl Emitter {
    /// A new emitter with its own history and a fresh `boot` id (or, with a data dir, the stream
    /// the dir holds: see [`Emitter::open`]).
    ///
    /// # Panics
    ///
    /// With [`EmitterConfig::disk`] set, if the data dir cannot be opened; use [`Emitter::open`]
    /// to handle that.
    pub fn new(config: EmitterConfig) -> Emitter {
        Emitter::open(config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A new emitter; with a data dir, it opens the dir (recovering what a crash left), continues
    /// the stream it holds (same `boot`, seqs above the last start's) and writes every entry to it
    /// from a sink thread. Fails if the dir is in use by another server, written by a newer vg, or
    /// cannot be created.
    pub fn open(config: EmitterConfig) -> Result<Emitter, DiskError> {
        let env = |key: &str| config.read_env.then(|| std::env::var(key).ok()).flatten();
        let opened = match config.disk.clone() {
            Some(disk) => Some(disk::open(disk, new_boot_id())?),
            None => None,
        };
        let (identity, first_seq) = match &opened {
            Some(o) => (o.catalog.identity().to_owned(), o.first_seq),
            None => (new_boot_id(), 1),
        };
        let memory = Arc::new(MemoryHistory::new(
            config.history,
            config.history_bytes,
            identity,
            first_seq,
        ));
        let catalog = opened.as_ref().map(|o| Arc::clone(&o.catalog));
        let tiered = catalog
            .as_ref()
            .map(|c| Arc::new(Tiered::new(Arc::clone(&memory), Arc::clone(c))));
        let history: Arc<dyn History> = match &tiered {
            Some(tiered) => Arc::clone(tiered) as Arc<dyn History>,
            None => Arc::clone(&memory) as Arc<dyn History>,
        };
        let emitter = Emitter {
            inner: Arc::new(Inner {
                memory,
                history,
                tiered,
                disk: catalog,
                relay: Arc::new(Relay::new(config.live_buffer, config.history_bytes)),
                sinks: Mutex::new(Vec::new()),
                instance: resolve(config.instance, INSTANCE_VARS, env),
                region: resolve(config.region, REGION_VARS, env),
            }),
        };
        if let Some(opened) = opened {
            let dir = opened.catalog.config.dir.clone();
            let memory = Arc::clone(&emitter.inner.memory);
            let stamped = Box::new(move || memory.lock().bounds().newest.unwrap_or(0));
            let writer = Writer::new(opened.catalog, opened.active, opened.lease, stamped);
            writer
                .and_then(|writer| emitter.add_sink("disk", writer))
                .map_err(|e| DiskError::io("start the history writer for", &dir, e))?;
        }
        Ok(emitter)
    }

    /// Records an entry and returns the seq it was given. Never blocks on viewers or the network.
    ///
    /// The entry's `seq` is replaced; `instance` and `region` are filled in when it has none, and so
    /// is `meta.requestId` while a request logged by [`RequestLogLayer`](crate::server::RequestLogLayer) is
    /// being handled (not in tasks the handler spawns: the id is a task-local).
    pub fn emit(&self, mut entry: LogEntry) -> u64 {
        add_current_request_id(&mut entry.meta);
        self.record(entry)
    }

    /// [`Emitter::emit`] for entries that come from elsewhere (ingest, stdin): the request that
    /// carried them in is not theirs, so they do not get its id.
    pub(crate) fn record(&self, mut entry: LogEntry) -> u64 {
        if entry.instance.is_none() {
            entry.instance.clone_from(&self.inner.instance);
        }
        if entry.region.is_none() {
            entry.region.clone_from(&self.inner.region);
        }
        // Measured and allocated before taking the lock, so the lock covers only the stamping.
        let size = entry.approx_size();
        let mut entry = Arc::new(entry);
        let mut state = self.inner.memory.lock();
        let (seq, evicted) = state.stamp(&mut entry, size);
        let queued = self.inner.relay.queue(&entry, seq, size);
        drop(state);
        // Freed here, outside the lock, on an emitting thread (the app's, which allocated them,
        // unless several threads emit): a freeing thread made every allocation of the app slower
        // under glibc's malloc (docs/benchmarks.md, "`emit()` with a full history"). Entries whose last reference the relay's live ring held (a live
        // buffer larger than history) come back from the relay to be freed here too.
        if let Some(handback) = queued {
            self.inner.relay.nudge();
            drop(handback);
        }
        drop(evicted);
        seq
    }

    /// Shorthand for emitting a new entry with this level, source and message.
    pub fn log(&self, level: Level, source: &str, message: impl Into<String>) -> u64 {
        self.emit(LogEntry::new(level, source, message))
    }

    /// The stream's identity, unique to this emitter (one start of the server): resuming viewers
    /// compare it.
    pub fn boot(&self) -> &str {
        self.inner.history.identity()
    }

    /// The history that backfill, resume and queries read.
    pub fn history(&self) -> Arc<dyn History> {
        Arc::clone(&self.inner.history)
    }

    /// What durable history holds and how writing goes, when there is a data dir.
    pub fn disk_stats(&self) -> Option<DiskStats> {
        self.inner.disk.as_ref().map(|d| d.stats())
    }

    /// Adds a consumer of every entry emitted from now on, in seq order, run on a thread of its own
    /// (see [`Sink`]). Fails only if the thread cannot be started.
    pub fn add_sink(&self, name: &str, sink: impl Sink) -> std::io::Result<()> {
        self.inner.relay.ensure_started();
        let subscription;
        let start_after;
        {
            // Under the stamping lock: the sink gets exactly the seqs after the newest stamped.
            let state = self.inner.memory.lock();
            subscription = self.inner.relay.subscribe_thread();
            start_after = state.bounds().newest.unwrap_or(0);
        }
        let attached = Attached::start(name, Box::new(sink), subscription, start_after)?;
        self.inner
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(attached);
        Ok(())
    }

    /// Ends the stream: viewers are sent what they are owed and closed, and every sink gets the
    /// entries emitted until now, then [`Sink::close`]. Blocks until the sinks are done, or for
    /// [`CLOSE_WAIT`] (5 s) in all. Entries emitted afterwards are kept in history but reach no
    /// viewer or sink.
    ///
    /// [`serve`](crate::server::serve) calls it once its viewers are closed. An app that runs its
    /// server otherwise calls it at the end of its shutdown: clones of the emitter (in a `tracing`
    /// subscriber, say) usually live until the process exits, and dropping the last one is the
    /// only other thing that closes the sinks. Calling it again does nothing more.
    pub fn close(&self) {
        self.inner.close();
    }

    /// What each sink has written and missed so far, in the order they were added.
    pub fn sink_stats(&self) -> Vec<SinkStats> {
        let sinks = self
            .inner
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sinks.iter().map(Attached::stats).collect()
    }

    /// Waits, at most `timeout`, until the relay has caught up and every running sink is in the
    /// newer half of what the live buffer holds, i.e. neither is about to lose entries; returns
    /// whether they are. For a producer that can
    /// wait, unlike an app's `emit()`: a bulk import, or `vg serve --stdin`, whose pipe then holds
    /// the writing program back instead of the history writer missing entries it never saw.
    pub fn wait_for_sinks(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        loop {
            let (oldest, held, backlog) = self.inner.relay.live_span();
            let slowest = self
                .inner
                .sinks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter_map(Attached::running_position)
                .min();
            // Seqs in the ring have no holes: its newer half starts at `oldest + held / 2`.
            let lapping = match (oldest, slowest) {
                (Some(oldest), Some(slowest)) => {
                    slowest.saturating_add(1) < oldest + (held / 2) as u64
                }
                _ => false,
            };
            if !backlog && !lapping {
                return true;
            }
            if start.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The instance name stamped on entries, if any.
    pub fn instance(&self) -> Option<&str> {
        self.inner.instance.as_deref()
    }

    /// The region stamped on entries, if any.
    pub fn region(&self) -> Option<&str> {
        self.inner.region.as_deref()
    }

    /// What history holds now.
    pub fn stats(&self) -> HistoryStats {
        let state = self.inner.memory.lock();
        HistoryStats {
            entries: state.ring.len(),
            bytes: state.ring.bytes(),
            oldest_seq: state.ring.oldest_seq(),
            newest_seq: state.ring.newest_seq(),
        }
    }

    /// The newest `max` retained entries, oldest first.
    pub fn recent(&self, max: usize) -> Vec<Arc<LogEntry>> {
        let mut entries = self.inner.memory.backward(u64::MAX, max);
        entries.reverse();
        entries
    }

    /// Subscribes to live entries. Taken under the stamping lock, so every seq up to
    /// `Bounds::newest` is history and every later one arrives on the subscription.
    pub(crate) fn subscribe(&self) -> (Subscription, Bounds) {
        self.inner.relay.ensure_started();
        let state = self.inner.memory.lock();
        let subscription = self.inner.relay.subscribe();
        let bounds = state.bounds();
        drop(state);
        // The disk only reaches further back; its oldest moves only by retention, like the ring's.
        let bounds = match &self.inner.tiered {
            Some(tiered) => tiered.widen(bounds),
            None => bounds,
        };
        (subscription, bounds)
    }
}

impl Inner {
    /// Ends the stream for viewers and sinks, and gives the sinks (together, bounded) time to take
    /// the last entries and close.
    fn close(&self) {
        self.relay.close();
        let deadline = Instant::now() + CLOSE_WAIT;
        let sinks = self.sinks.lock().unwrap_or_else(PoisonError::into_inner);
        for sink in sinks.iter() {
            sink.wait_closed(deadline);
        }
    }
}

impl Drop for Inner {
    /// The last clone is gone: close, if [`Emitter::close`] has not.
    fn drop(&mut self) {
        self.close();
    }
}

/// The configured value, else the first non-empty variable.
/// The instance name the environment gives an emitter that reads it (`VG_INSTANCE`, then the
/// platform's machine id), if any.
#[cfg(feature = "cli")]
pub(crate) fn instance_from_env() -> Option<String> {
    resolve(None, INSTANCE_VARS, |key| std::env::var(key).ok())
}

fn resolve(
    configured: Option<String>,
    vars: &[&str],
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    configured.filter(|v| !v.is_empty()).or_else(|| {
        vars.iter()
            .find_map(|key| lookup(key).filter(|v| !v.trim().is_empty()))
    })
}

/// 48 random bits in hex: short enough to read, unlikely to repeat across restarts.
fn new_boot_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> EmitterConfig {
        EmitterConfig::default().read_env(false)
    }

    /// Reads what the subscription holds after `cursor`, waiting (bounded) for the relay to deliver.
    fn read_soon(sub: &Subscription, cursor: u64) -> Vec<Arc<LogEntry>> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let entries = sub.read(cursor, usize::MAX);
            if !entries.is_empty() || std::time::Instant::now() > deadline {
                return entries;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn messages(entries: &[Arc<LogEntry>]) -> Vec<&str> {
        entries.iter().map(|e| e.message.as_str()).collect()
    }

    /// Waits (bounded) for one delivery notice after `act` ran.
    fn woken_after(sub: &Subscription, act: impl FnOnce()) -> bool {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let delivered = sub.delivered();
            tokio::pin!(delivered);
            delivered.as_mut().enable();
            act();
            tokio::time::timeout(std::time::Duration::from_secs(5), delivered)
                .await
                .is_ok()
        })
    }

    #[test]
    fn viewers_are_woken_and_read_what_was_emitted() {
        let emitter = Emitter::new(quiet());
        let (sub, bounds) = emitter.subscribe();
        assert_eq!(bounds.newest, None);
        let woken = woken_after(&sub, || {
            emitter.log(Level::Info, "t", "one");
            emitter.log(Level::Info, "t", "two");
        });
        assert!(woken, "a viewer waited forever");
        assert_eq!(messages(&read_soon(&sub, 0)), ["one", "two"]);
        assert_eq!(messages(&sub.read(1, 10)), ["two"]);
    }

    #[test]
    fn a_parked_relay_is_woken_by_the_next_emit() {
        let emitter = Emitter::new(quiet());
        let (sub, _) = emitter.subscribe();
        emitter.log(Level::Info, "t", "first");
        assert_eq!(messages(&read_soon(&sub, 0)), ["first"]);
        // Long past the relay's linger, so it has parked and only `emit()` can wake it.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let woken = woken_after(&sub, || {
            emitter.log(Level::Info, "t", "after a quiet spell");
        });
        assert!(woken, "the parked relay never woke the viewer");
        assert_eq!(messages(&read_soon(&sub, 1)), ["after a quiet spell"]);
    }

    #[test]
    fn dropping_the_emitter_delivers_the_rest_and_closes() {
        let emitter = Emitter::new(quiet());
        let (sub, _) = emitter.subscribe();
        let woken = woken_after(&sub, move || {
            emitter.log(Level::Info, "t", "last words");
            drop(emitter);
        });
        assert!(woken, "a viewer was not told the emitter is gone");
        assert!(sub.closed());
        assert_eq!(messages(&sub.read(0, 10)), ["last words"]);
    }

    #[test]
    fn entries_emitted_while_nobody_watched_are_history_not_live() {
        let emitter = Emitter::new(quiet());
        let (first, _) = emitter.subscribe();
        emitter.log(Level::Info, "t", "seen by the first");
        assert_eq!(read_soon(&first, 0).len(), 1);
        drop(first);
        emitter.log(Level::Info, "t", "nobody watching");
        let (second, bounds) = emitter.subscribe();
        assert_eq!(bounds.newest, Some(2));
        emitter.log(Level::Info, "t", "seen by the second");
        assert_eq!(messages(&read_soon(&second, 2)), ["seen by the second"]);
    }

    #[test]
    fn emit_stamps_increasing_seqs_and_fills_origin() {
        let emitter = Emitter::new(quiet().instance("148e").region("ord"));
        assert_eq!(emitter.log(Level::Info, "api", "one"), 1);
        let mut own = LogEntry::new(Level::Warn, "api", "two");
        own.instance = Some("other".into());
        own.seq = Some(999);
        assert_eq!(emitter.emit(own), 2);
        let recent = emitter.recent(10);
        assert_eq!(recent[0].seq, Some(1));
        assert_eq!(recent[0].instance.as_deref(), Some("148e"));
        assert_eq!(recent[0].region.as_deref(), Some("ord"));
        assert_eq!(recent[1].seq, Some(2));
        assert_eq!(recent[1].instance.as_deref(), Some("other"));
    }

    #[test]
    fn subscribe_splits_history_from_live_exactly() {
        let emitter = Emitter::new(quiet().history(2, usize::MAX));
        let (_, empty) = emitter.subscribe();
        assert_eq!((empty.oldest, empty.newest), (None, None));
        for _ in 0..5 {
            emitter.log(Level::Info, "a", "x");
        }
        let (sub, bounds) = emitter.subscribe();
        assert_eq!((bounds.oldest, bounds.newest), (Some(4), Some(5)));
        emitter.log(Level::Info, "a", "y");
        let live = read_soon(&sub, 5);
        assert_eq!(live[0].seq, Some(6));
    }

    #[test]
    fn a_slow_subscriber_lags_without_blocking_emit() {
        let emitter = Emitter::new(quiet().live_buffer(4));
        let (sub, _) = emitter.subscribe();
        for _ in 0..10 {
            emitter.log(Level::Info, "a", "x");
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while sub.read(0, 10).last().and_then(|e| e.seq) != Some(10)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // Only the newest four are kept; the jump from the cursor tells the viewer it missed six.
        let seqs: Vec<_> = sub.read(0, 10).iter().filter_map(|e| e.seq).collect();
        assert_eq!(seqs, [7, 8, 9, 10]);
    }

    /// A sink that takes its time over every batch, as a history writer on a busy disk does.
    struct Slow;

    impl crate::server::Sink for Slow {
        fn write(&mut self, _: &[Arc<LogEntry>]) {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    fn missed_by_a_slow_sink(wait: bool) -> u64 {
        let emitter = Emitter::new(quiet().live_buffer(64));
        emitter.add_sink("slow", Slow).unwrap();
        for i in 1..=3_000u64 {
            emitter.log(Level::Info, "import", "x");
            if wait && i.is_multiple_of(8) {
                assert!(emitter.wait_for_sinks(std::time::Duration::from_secs(5)));
            }
        }
        emitter.close();
        let stats = emitter.sink_stats();
        assert_eq!(stats[0].written + stats[0].missed, 3_000);
        stats[0].missed
    }

    #[test]
    fn a_producer_that_waits_for_sinks_loses_nothing_to_a_slow_one() {
        // Without waiting, a tight loop laps the slow sink: the contrast shows the wait is what
        // keeps every entry.
        assert!(missed_by_a_slow_sink(false) > 0);
        assert_eq!(missed_by_a_slow_sink(true), 0);
    }

    #[test]
    fn instance_and_region_come_from_config_then_vg_then_fly() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let fly = env(&[("FLY_ALLOC_ID", "alloc"), ("FLY_MACHINE_ID", "machine")]);
        assert_eq!(
            resolve(None, INSTANCE_VARS, fly).as_deref(),
            Some("machine")
        );
        assert_eq!(
            resolve(Some("mine".into()), INSTANCE_VARS, fly).as_deref(),
            Some("mine")
        );
        let both = env(&[("FLY_REGION", "ord"), ("VG_REGION", "local")]);
        assert_eq!(resolve(None, REGION_VARS, both).as_deref(), Some("local"));
        let blank = env(&[("VG_REGION", " "), ("FLY_REGION", "ams")]);
        assert_eq!(resolve(None, REGION_VARS, blank).as_deref(), Some("ams"));
        assert_eq!(resolve(None, REGION_VARS, env(&[])), None);
    }

    #[test]
    fn boots_differ() {
        assert_ne!(Emitter::default().boot(), Emitter::default().boot());
    }
}
