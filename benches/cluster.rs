//! Three instances publishing through one local Redis, a merged viewer on one of them: does it
//! receive every instance's entries at 30,000 entries/s each with no gap, what does the Redis sink
//! add to `emit()`, and how long does an entry take from `emit()` on one instance to a viewer of
//! another.
//!
//! ```sh
//! cargo bench --features server --bench cluster
//! ```
//!
//! Needs `redis-server` (Debian: redis-server); without it, it says so and stops. Redis runs on a
//! free loopback port in a temporary directory, saving nothing, and is killed at the end; the
//! servers bind 127.0.0.1:0. `VG_BENCH_RATE` (default 30000, per instance) and `VG_BENCH_SECS`
//! (default 5) size the run, `VG_BENCH_ROUNDS` (default 3) the `emit()` comparison; `VG_BENCH_ONLY=emit`
//! runs only that comparison.
//!
//! It allocates with mimalloc, as `vg serve` does, when the `mimalloc` feature is on (a default
//! one); `--no-default-features --features server` measures the system allocator instead.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::oneshot;
use vg::server::{Cluster, Emitter, EmitterConfig, Gateway, GatewayConfig, RedisConfig, serve};
use vg::wire::{Incoming, ServerMessage, decode_server_frame};

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/entries.rs"]
mod entries;
#[path = "support/live.rs"]
#[allow(
    dead_code,
    reason = "the merged viewer here is its own; the paced emitter is shared"
)]
mod live;

use live::{median, paced, quantile};

const INSTANCES: [&str; 3] = ["web-1", "web-2", "web-3"];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A `redis-server` on a free loopback port, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir = std::env::temp_dir().join(format!("vg-bench-redis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Redis { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One instance: an emitter publishing to `stream`, and its gateway on its own runtime thread.
struct Instance {
    emitter: Emitter,
    cluster: Cluster,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Instance {
    fn start(name: &str, redis: &str, stream: &str) -> Instance {
        let emitter = Emitter::new(
            EmitterConfig::default()
                .read_env(false)
                .instance(name)
                .region("lo")
                .history(HISTORY, usize::MAX),
        );
        // Ten seconds at 90,000/s: a viewer a moment behind is never trimmed past.
        let config = RedisConfig::new(redis).stream(stream).max_len(1_000_000);
        let cluster = Cluster::start(&emitter, config).expect("publisher");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let (gateway_emitter, gateway_cluster) = (emitter.clone(), cluster.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("vg-bench-gw")
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                ready_tx.send(url).unwrap();
                let gateway = Gateway::new(gateway_emitter, GatewayConfig::default())
                    .with_cluster(gateway_cluster);
                serve(listener, gateway.router(), gateway, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let url = ready_rx.recv().expect("server started");
        Instance {
            emitter,
            cluster,
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the merged viewer saw.
#[derive(Default)]
struct Seen {
    hello: AtomicU64,
    entries: AtomicU64,
    /// Entries the server reported missing in `gap` messages.
    missed: AtomicU64,
    /// Jumps in an instance's seqs the viewer saw (each should be covered by a `gap`).
    jumped: AtomicU64,
    /// Emit-to-viewer latency of every entry, in microseconds.
    latency_us: Mutex<Vec<u64>>,
    /// Per frame, for its last entry: `emit()` to Redis taking it (the stream id's time, which
    /// Redis stamps on this machine's clock), and Redis to the viewer, in milliseconds.
    stages_ms: Mutex<Vec<(i64, i64)>>,
}

/// A merged viewer (`cursor=`, no backfill) on `instance`, on a thread of its own (so that its
/// CPU, a client's decoding, is counted apart from the instances'); it ends with the connection.
fn merged_viewer(instance: &Instance) -> Arc<Seen> {
    let seen = Arc::new(Seen::default());
    let mine = Arc::clone(&seen);
    let url = format!(
        "{}/api/logs/stream?cursor=&tail=0",
        instance.url.replace("http", "ws")
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let viewer = async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        let mut last: HashMap<String, u64> = HashMap::new();
        while let Some(Ok(message)) = ws.next().await {
            let Ok(text) = message.into_text() else {
                continue;
            };
            match decode_server_frame(&text) {
                Ok(Incoming::Message(ServerMessage::Hello(_))) => {
                    mine.hello.store(1, Ordering::Release);
                }
                Ok(Incoming::Message(ServerMessage::Entries { entries })) => {
                    let now = chrono::Utc::now();
                    if let (Some(in_redis), Some(last)) = (cursor_ms(&text), entries.last()) {
                        mine.stages_ms.lock().unwrap().push((
                            in_redis - last.timestamp.timestamp_millis(),
                            now.timestamp_millis() - in_redis,
                        ));
                    }
                    let mut latencies = mine.latency_us.lock().unwrap();
                    for entry in &entries {
                        let us = (now - entry.timestamp).num_microseconds().unwrap_or(0);
                        latencies.push(u64::try_from(us).unwrap_or(0));
                        let (Some(name), Some(seq)) = (&entry.instance, entry.seq) else {
                            continue;
                        };
                        if let Some(prev) = last.insert(name.clone(), seq)
                            && seq != prev + 1
                        {
                            mine.jumped
                                .fetch_add(seq.saturating_sub(prev + 1), Ordering::Relaxed);
                        }
                    }
                    mine.entries
                        .fetch_add(entries.len() as u64, Ordering::Relaxed);
                }
                Ok(Incoming::Message(ServerMessage::Gap(gap))) => {
                    mine.missed.fetch_add(gap.missed, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    };
    std::thread::Builder::new()
        .name("vg-bench-viewer".into())
        .spawn(move || runtime.block_on(viewer))
        .expect("viewer thread");
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.hello.load(Ordering::Acquire) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    seen
}

/// The time part of the merged cursor an `entries` frame ends with (`"cursor":"MS-N"`).
fn cursor_ms(frame: &str) -> Option<i64> {
    let at = frame.rfind("\"cursor\":\"")? + "\"cursor\":\"".len();
    frame[at..].split('-').next()?.parse().ok()
}

/// An entry stamped now, so the viewer can tell how long it took.
fn stamped(i: u64) -> vg::LogEntry {
    let mut entry = entries::entry(i);
    entry.instance = None;
    entry.timestamp = chrono::Utc::now();
    entry
}

fn fan_out(redis: &Redis, rate: u64, secs: u64) {
    let instances: Vec<Instance> = INSTANCES
        .iter()
        .map(|name| Instance::start(name, &redis.url(), "vg:bench"))
        .collect();
    let viewer = merged_viewer(&instances[0]);
    let per_instance = rate * secs;
    let total = per_instance * INSTANCES.len() as u64;
    let cpu_before = cpu_by_thread();
    let process_before = cpu_of(std::process::id());
    let redis_before = cpu_of(redis.child.id());
    let start = Instant::now();
    std::thread::scope(|scope| {
        for instance in &instances {
            std::thread::Builder::new()
                .name("vg-bench-emit".into())
                .spawn_scoped(scope, || {
                    paced(&instance.emitter, rate, per_instance, start, |i, _| {
                        stamped(i)
                    })
                })
                .expect("emitting thread");
        }
    });
    let emitted_in = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    while viewer.entries.load(Ordering::Relaxed) + viewer.missed.load(Ordering::Relaxed) < total
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let received_in = start.elapsed();
    let cpu_after = cpu_by_thread();
    // The whole process, including the emitting threads, which have ended by now.
    let process = cpu_of(std::process::id()).saturating_sub(process_before);
    let redis_cpu = cpu_of(redis.child.id()).saturating_sub(redis_before);
    let received = viewer.entries.load(Ordering::Relaxed);
    let missed = viewer.missed.load(Ordering::Relaxed);
    let jumped = viewer.jumped.load(Ordering::Relaxed);
    let mut latency = std::mem::take(&mut *viewer.latency_us.lock().unwrap());
    let allocator = allocator::NAME;
    println!(
        "fan-out ({allocator}): {} instances x {rate}/s for {secs} s: emitted {total} in {:.2} s ({:.0}/s); the merged viewer on web-1 received {received} ({:.0}/s over {:.2} s), missed {missed} (gaps; seqs skipped {jumped})",
        INSTANCES.len(),
        emitted_in.as_secs_f64(),
        total as f64 / emitted_in.as_secs_f64(),
        received as f64 / received_in.as_secs_f64(),
        received_in.as_secs_f64(),
    );
    for instance in &instances {
        let stats = instance.cluster.stats();
        println!(
            "  {}: published {} overflow {} buffered {} state {}",
            instance.emitter.instance().unwrap_or("-"),
            stats.published,
            stats.overflow,
            stats.buffered,
            stats.state
        );
    }
    if !latency.is_empty() {
        println!(
            "  emit -> merged viewer latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            quantile(&mut latency, 0.50) as f64 / 1000.0,
            quantile(&mut latency, 0.99) as f64 / 1000.0,
            quantile(&mut latency, 1.0) as f64 / 1000.0,
        );
    }
    // CPU per entry emitted, by thread name: where the two cores went.
    let per_entry = |ticks: u64| ticks as f64 * 1e6 / CLOCK_TICKS / total as f64;
    let mut threads: Vec<(String, u64)> = cpu_after
        .iter()
        .map(|(name, t)| {
            // A blocking thread of the same name may have exited meanwhile, taking its time along.
            let before = cpu_before.get(name).copied().unwrap_or(0);
            (name.clone(), t.saturating_sub(before))
        })
        .filter(|(_, t)| *t > 0)
        .collect();
    threads.sort_by_key(|t| std::cmp::Reverse(t.1));
    println!(
        "  CPU per entry: this process {:.2} us (threads still running: {}), redis-server {:.2} us; the run used {:.2} cores",
        per_entry(process),
        threads
            .iter()
            .map(|(name, t)| format!("{name} {:.2}", per_entry(*t)))
            .collect::<Vec<_>>()
            .join(", "),
        per_entry(redis_cpu),
        (process + redis_cpu) as f64 / CLOCK_TICKS / received_in.as_secs_f64(),
    );
    let stages = std::mem::take(&mut *viewer.stages_ms.lock().unwrap());
    if !stages.is_empty() {
        let stage = |pick: fn(&(i64, i64)) -> i64| {
            let mut ms: Vec<u64> = stages
                .iter()
                .map(|s| u64::try_from(pick(s)).unwrap_or(0))
                .collect();
            (quantile(&mut ms, 0.50), quantile(&mut ms, 0.99))
        };
        let (publish, read) = (stage(|s| s.0), stage(|s| s.1));
        println!(
            "  of which, per frame's last entry (ms, Redis's clock): emit -> in Redis p50 {} p99 {}; in Redis -> viewer p50 {} p99 {} ({} frames)",
            publish.0,
            publish.1,
            read.0,
            read.1,
            stages.len()
        );
    }
}

/// User plus system CPU of each of this process's threads so far, summed by thread name, in clock
/// ticks (Linux; empty elsewhere).
fn cpu_by_thread() -> HashMap<String, u64> {
    let mut by_name = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        if let Some((name, ticks)) = parse_stat(&stat) {
            *by_name.entry(name).or_insert(0) += ticks;
        }
    }
    by_name
}

/// User plus system CPU of process `pid` so far, in clock ticks (0 when unknown).
fn cpu_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .map_or(0, |(_, ticks)| ticks)
}

/// The name and `utime + stime` of a `/proc/.../stat` line (the name is in parentheses and may
/// hold spaces; the times are the 12th and 13th fields after it).
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_owned();
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((name, ticks))
}

/// Clock ticks per second, as `/proc` counts CPU time (`USER_HZ`, 100 on Linux).
const CLOCK_TICKS: f64 = 100.0;

/// Entries each emitter keeps (`VG_BENCH_HISTORY` for the `emit()` comparison).
const HISTORY: usize = 100_000;

/// A sink that takes entries and does nothing with them: what any consumer (a viewer, a sink)
/// costs `emit()`, as against what the Redis sink adds to that.
struct Nothing;

impl vg::server::Sink for Nothing {
    fn write(&mut self, entries: &[Arc<vg::LogEntry>]) {
        std::hint::black_box(entries);
    }
}

/// `emit()` at `rate` for `secs` on an emitter with no consumer, one with a sink that does nothing
/// and one with the Redis sink, in turns.
fn emit_cost(redis: &Redis, rate: u64, secs: u64, rounds: usize, history: usize) {
    let emitter = |name: &str| {
        Emitter::new(
            EmitterConfig::default()
                .read_env(false)
                .instance(name)
                .history(history, usize::MAX),
        )
    };
    let (plain, consumed, published) =
        (emitter("plain"), emitter("consumed"), emitter("published"));
    // Full histories before the sinks start, as in an app that has run a while: every round then frees as it keeps.
    for emitter in [&plain, &consumed, &published] {
        for i in 0..history as u64 {
            emitter.emit(stamped(i));
        }
    }
    consumed.add_sink("nothing", Nothing).expect("sink");
    let config = RedisConfig::new(redis.url())
        .stream("vg:bench-emit")
        .max_len(100_000);
    let cluster = Cluster::start(&published, config).expect("publisher");
    let mut figures = [Vec::new(), Vec::new(), Vec::new()];
    let total = rate * secs;
    for _ in 0..rounds {
        for (emitter, into) in [&plain, &consumed, &published]
            .into_iter()
            .zip(&mut figures)
        {
            let mut times = paced(emitter, rate, total, Instant::now(), |i, _| stamped(i));
            into.push((
                quantile(&mut times, 0.5) as f64,
                quantile(&mut times, 0.99) as f64,
            ));
        }
    }
    let p50 = |v: &[(f64, f64)]| median(&v.iter().map(|r| r.0).collect::<Vec<_>>());
    let p99 = |v: &[(f64, f64)]| median(&v.iter().map(|r| r.1).collect::<Vec<_>>());
    let [off, nothing, on] = &figures;
    println!(
        "emit() at {rate}/s, median of {rounds} rounds: without the Redis sink p50 {:.0} ns p99 {:.0} ns; with it p50 {:.0} ns p99 {:.0} ns (ratio p50 {:.2}, p99 {:.2}); published {} overflow {}",
        p50(off),
        p99(off),
        p50(on),
        p99(on),
        p50(on) / p50(off),
        p99(on) / p99(off),
        cluster.stats().published,
        cluster.stats().overflow,
    );
    println!(
        "  with a sink that does nothing instead: p50 {:.0} ns p99 {:.0} ns; the Redis sink against it: ratio p50 {:.2}, p99 {:.2}",
        p50(nothing),
        p99(nothing),
        p50(on) / p50(nothing),
        p99(on) / p99(nothing),
    );
}

fn main() {
    let Some(redis) = Redis::start() else {
        eprintln!(
            "cluster bench: redis-server is needed (Debian: apt-get install redis-server); skipping"
        );
        return;
    };
    let rate = env_u64("VG_BENCH_RATE", 30_000);
    let secs = env_u64("VG_BENCH_SECS", 5);
    let rounds = usize::try_from(env_u64("VG_BENCH_ROUNDS", 3)).unwrap_or(3);
    // `VG_BENCH_ONLY=emit` measures only `emit()`'s cost, to compare trees quickly.
    if std::env::var("VG_BENCH_ONLY").as_deref() != Ok("emit") {
        fan_out(&redis, rate, secs);
    }
    let history = usize::try_from(env_u64("VG_BENCH_HISTORY", HISTORY as u64)).unwrap_or(HISTORY);
    emit_cost(&redis, rate, 2, rounds, history);
}
