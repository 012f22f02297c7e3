//! End-to-end figures that need a real server, real sockets and the `vg` binary, which criterion's
//! in-process loop cannot give: per-call `emit()` percentiles with viewers attached, fan-out without
//! gaps, emit-to-client latency and `vg logs --json` throughput. Every figure is a ratio against a
//! baseline taken in the same run, and each is the median of several rounds.
//!
//! ```sh
//! cargo build --release --features server
//! cargo bench --features server --bench e2e -- [emit|sink|fanout|latency|throughput]...
//! ```
//!
//! Servers bind 127.0.0.1:0 and everything stops by itself. `VG_BIN` names the `vg` binary to drive
//! (default: this checkout's `target/release/vg`); `VG_BENCH_ROUNDS` sets the rounds (default 3);
//! `VG_BENCH_TAIL=1` also prints p90 to p99.9 of each `emit()` round.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use vg::LogEntry;
use vg::server::{Emitter, EmitterConfig, Sink};

#[path = "support/entries.rs"]
mod entries;
#[path = "support/live.rs"]
mod live;

use live::{Server, median, paced, quantile};

fn rounds() -> usize {
    std::env::var("VG_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
}

fn vg_bin() -> String {
    std::env::var("VG_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/vg").to_owned())
}

fn quiet_emitter(history: usize) -> Emitter {
    Emitter::new(
        EmitterConfig::default()
            .read_env(false)
            .instance("bench")
            .region("lo")
            .history(history, usize::MAX),
    )
}

/// A sink that counts what it is given and what it is told it missed.
#[derive(Clone, Default)]
struct CountingSink {
    written: Arc<AtomicU64>,
    missed: Arc<AtomicU64>,
}

impl Sink for CountingSink {
    fn write(&mut self, entries: &[Arc<LogEntry>]) {
        self.written
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
    }

    fn missed(&mut self, from: u64, to: u64) {
        self.missed.fetch_add(to - from + 1, Ordering::Relaxed);
    }
}

/// `emit()` p50 and p99 in ns with `viewers` live viewers and `sinks` sinks, at `rate` a second for
/// `secs`; and the entries the viewers and sinks missed (must be 0) and did not receive by the end.
fn emit_round(viewers: usize, sinks: usize, rate: u64, secs: u64) -> (u64, u64, u64, u64) {
    const HISTORY: usize = 10_000;
    let emitter = quiet_emitter(HISTORY);
    // A full history, as in an app that has run for a while: every timed emit() also evicts one.
    for i in 0..HISTORY as u64 {
        emitter.emit(entries::entry(i));
    }
    let counting: Vec<CountingSink> = (0..sinks).map(|_| CountingSink::default()).collect();
    for (i, sink) in counting.iter().enumerate() {
        emitter
            .add_sink(&format!("count{i}"), sink.clone())
            .unwrap();
    }
    let server = Server::start(emitter.clone());
    let seen = live::viewers(&server, viewers);
    let total = rate * secs;
    let base = Instant::now();
    let mut times = paced(&emitter, rate, total, base, |i, _| entries::entry(i));
    // Give the viewers time to take the tail of the stream.
    let deadline = Instant::now() + Duration::from_secs(10);
    let received = |n: u64, missed: u64| n + missed >= total;
    while (seen.iter().any(|s| {
        !received(
            s.entries.load(Ordering::Relaxed),
            s.missed.load(Ordering::Relaxed),
        )
    }) || counting.iter().any(|s| {
        !received(
            s.written.load(Ordering::Relaxed),
            s.missed.load(Ordering::Relaxed),
        )
    })) && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let missed = seen
        .iter()
        .map(|s| s.missed.load(Ordering::Relaxed))
        .sum::<u64>()
        + counting
            .iter()
            .map(|s| s.missed.load(Ordering::Relaxed))
            .sum::<u64>();
    let short = seen
        .iter()
        .map(|s| total.saturating_sub(s.entries.load(Ordering::Relaxed)))
        .chain(
            counting
                .iter()
                .map(|s| total.saturating_sub(s.written.load(Ordering::Relaxed))),
        )
        .sum();
    let p50 = quantile(&mut times, 0.5);
    let p99 = quantile(&mut times, 0.99);
    if std::env::var_os("VG_BENCH_TAIL").is_some() {
        let tail: Vec<u64> = [0.9, 0.95, 0.98, 0.99, 0.995, 0.999]
            .iter()
            .map(|&q| quantile(&mut times, q))
            .collect();
        println!("  tail (p90 p95 p98 p99 p99.5 p99.9): {tail:?}");
    }
    drop(server);
    (p50, p99, missed, short)
}

/// `counts`: (viewers, sinks) for each variant; the first is the baseline.
fn emit_figure(name: &str, counts: &[(usize, usize)], rate: u64, secs: u64) {
    println!(
        "## {name}: emit() on the app's thread at {rate}/s for {secs}s, viewers/sinks attached"
    );
    let mut p50s = vec![Vec::new(); counts.len()];
    let mut p99s = vec![Vec::new(); counts.len()];
    for _ in 0..rounds() {
        // Interleaved, so the machine's noise falls on every viewer count alike.
        for (k, &(n, sinks)) in counts.iter().enumerate() {
            let (p50, p99, missed, short) = emit_round(n, sinks, rate, secs);
            p50s[k].push(p50 as f64);
            p99s[k].push(p99 as f64);
            println!(
                "  round: {n:>3} viewers {sinks} sinks  p50 {p50:>5} ns  p99 {p99:>6} ns  missed {missed}  undelivered {short}"
            );
        }
    }
    let (base50, base99) = (median(&p50s[0]), median(&p99s[0]));
    for (k, &(n, sinks)) in counts.iter().enumerate() {
        let (p50, p99) = (median(&p50s[k]), median(&p99s[k]));
        println!(
            "{name} viewers={n:<3} sinks={sinks} p50={p50:.0}ns p99={p99:.0}ns p50_ratio={:.2} p99_ratio={:.2} (vs {} viewers, {} sinks)",
            p50 / base50,
            p99 / base99,
            counts[0].0,
            counts[0].1
        );
    }
}

/// Emit-to-client latency through a `vg logs --json` process at 10,000 entries a second.
fn latency() {
    const RATE: u64 = 10_000;
    const SECS: u64 = 3;
    println!("## latency: emit() to a line on `vg logs --json` stdout, {RATE}/s for {SECS}s");
    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    for _ in 0..rounds() {
        let emitter = quiet_emitter(10_000);
        let server = Server::start(emitter.clone());
        let mut child = Command::new(vg_bin())
            .args(["logs", "--json", "--tail", "0", "--url", &server.url])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run vg (build it first: cargo build --release --features server)");
        let stdout = child.stdout.take().unwrap();
        let base = Instant::now();
        let reader = std::thread::spawn(move || {
            let mut lags = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let Some(at) = line.find("\"sent_ns\":") else {
                    continue;
                };
                let digits: String = line[at + 10..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let now = base.elapsed().as_nanos() as u64;
                lags.push(now.saturating_sub(digits.parse::<u64>().unwrap()));
                if lags.len() as u64 == RATE * SECS {
                    break;
                }
            }
            lags
        });
        // Let the viewer connect and subscribe before the measured stream starts.
        std::thread::sleep(Duration::from_millis(500));
        paced(&emitter, RATE, RATE * SECS, base, |i, sent| {
            entries::entry(i).with_meta("sent_ns", sent)
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !reader.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        let mut lags = reader.join().unwrap();
        let got = lags.len();
        // The first second is warm-up (page faults, first allocations).
        let mut lags = lags.split_off((RATE as usize).min(got));
        let (p50, p99) = (quantile(&mut lags, 0.5), quantile(&mut lags, 0.99));
        println!(
            "  round: received {got}/{}  p50 {p50} ns  p99 {p99} ns  max {} ns",
            RATE * SECS,
            lags.last().unwrap()
        );
        p50s.push(p50 as f64);
        p99s.push(p99 as f64);
        drop(server);
    }
    println!(
        "latency p50={:.3}ms p99={:.3}ms (limits 0.3 ms and 2 ms)",
        median(&p50s) / 1e6,
        median(&p99s) / 1e6
    );
}

/// `vg logs --json` reading a large backfill over loopback, against serde_json decoding the same bytes.
fn throughput() {
    const N: u64 = 500_000;
    println!(
        "## throughput: `vg logs --json --tail {N} --no-follow` over loopback vs serde_json on its output"
    );
    let emitter = quiet_emitter(N as usize);
    for i in 0..N {
        emitter.emit(entries::entry(i));
    }
    let server = Server::start(emitter.clone());
    let (mut vg_rates, mut raw_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds() {
        let start = Instant::now();
        let mut child = Command::new(vg_bin())
            .args([
                "logs",
                "--json",
                "--no-follow",
                "--tail",
                &N.to_string(),
                "--url",
                &server.url,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run vg");
        let mut out = Vec::with_capacity(300 * N as usize);
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        let _ = child.wait();
        let vg_secs = start.elapsed().as_secs_f64();
        let text = std::str::from_utf8(&out).unwrap();
        let lines = text.lines().count() as u64;
        assert_eq!(lines, N, "vg logs lost entries");
        let start = Instant::now();
        for line in text.lines() {
            std::hint::black_box(serde_json::from_str::<serde_json::Value>(line).unwrap());
        }
        let raw_secs = start.elapsed().as_secs_f64();
        let (vg_rate, raw_rate) = (N as f64 / vg_secs, N as f64 / raw_secs);
        println!(
            "  round: vg {vg_rate:.0}/s ({lines} lines, {} MB)  serde_json::Value {raw_rate:.0}/s",
            out.len() / 1_000_000
        );
        vg_rates.push(vg_rate);
        raw_rates.push(raw_rate);
        ratios.push(vg_rate / raw_rate);
    }
    println!(
        "throughput vg={:.0}/s serde_json_value={:.0}/s ratio={:.2} lost=0",
        median(&vg_rates),
        median(&raw_rates),
        median(&ratios)
    );
}

fn main() {
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = asked.is_empty();
    let want = |name: &str| all || asked.iter().any(|a| a == name);
    if want("emit") {
        emit_figure("emit", &[(0, 0), (10, 0), (100, 0)], 2_000, 5);
    }
    if want("sink") {
        emit_figure("sink", &[(0, 0), (0, 1), (0, 4), (10, 1)], 2_000, 5);
    }
    if want("fanout") {
        emit_figure("fanout", &[(0, 0), (50, 0)], 5_000, 3);
    }
    if want("latency") {
        latency();
    }
    if want("throughput") {
        throughput();
    }
}
