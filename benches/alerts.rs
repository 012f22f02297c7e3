//! Alert rules' cost, in one run: the same stream through an emitter with an alert sink holding no
//! rules and one holding 50 (levels, source globs, regexes, meta predicates, group_by, absence).
//!
//! - `emit()`: ns per call on the app's thread (the rules run on the sink's thread, so this should
//!   not move);
//! - ingest throughput: entries per second from the first `emit()` until the alert sink has
//!   evaluated the last one, none missed (what the rules cost the server). The producer is paced as
//!   `vg serve --stdin` paces its pipe: every [`PACE`] entries it waits until the sinks are in no
//!   danger of being lapped (`Emitter::wait_for_sinks`), so a slow sink shows as lower throughput,
//!   never as entries it skipped; a sink missing any entry fails the bench;
//! - the alert sink's own CPU time per entry (from `/proc`), steadier than wall time on a shared
//!   machine;
//! - a burst of 1,000,000 matching entries against rules with a 10-minute cooldown, webhooks to a
//!   receiver on 127.0.0.1: notifications received, at most one per rule and group.
//!
//! `cargo bench --features server --bench alerts`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vg::server::alerts::{Alerts, AlertsConfig, NotifierSpec, RuleSpec, Rules};
use vg::server::{Emitter, EmitterConfig};
use vg::{FilterSpec, Level, LogEntry};

#[path = "support/entries.rs"]
mod entries;

const N: u64 = 500_000;
const ROUNDS: usize = 3;
/// Entries emitted between two waits for the sinks.
const PACE: u64 = 1024;
/// The live buffer: 64 paces, so the wait's 1 ms sleeps cannot starve a sink that keeps up.
const LIVE: usize = 1 << 16;
/// A sink that has not caught up after this long is stuck: the bench fails.
const STUCK: Duration = Duration::from_secs(60);

fn fifty_rules(notify: &[&str]) -> Vec<RuleSpec> {
    let mut rules = Vec::new();
    for i in 0..50 {
        let mut filter = FilterSpec::default();
        match i % 5 {
            0 => filter.level = Some(["warn", "error"][i % 2].into()),
            1 => filter.source = vec![format!("{}*", ["api", "db", "wor"][i % 3])],
            2 => {
                filter.q =
                    Some(["timeout|refused", r"took \d{3}ms", "^GET /api/orders"][i % 3].into())
            }
            3 => filter.predicates = vec![format!("status>={}", [500, 404][i % 2])],
            _ => {
                filter.level = Some("error".into());
                filter.predicates = vec!["path~^/api/users".into()];
            }
        }
        let mut rule = RuleSpec::new(format!("rule {i}"), filter);
        rule.threshold = [1, 5, 100][i % 3];
        rule.cooldown = Duration::from_secs(600);
        if i % 7 == 0 {
            rule.group_by = Some("region".into());
        }
        if i % 10 == 9 {
            rule = RuleSpec::new(
                format!("rule {i}"),
                FilterSpec {
                    source: vec!["cron".into()],
                    ..Default::default()
                },
            );
            rule.absent_for = Some(Duration::from_secs(300));
        }
        rule.notify = notify.iter().map(|s| (*s).to_owned()).collect();
        rules.push(rule);
    }
    rules
}

/// An emitter with the live buffer the pacing assumes.
fn emitter() -> Emitter {
    Emitter::new(
        EmitterConfig::default()
            .read_env(false)
            .history(10_000, 256 << 20)
            .live_buffer(LIVE),
    )
}

/// Emits `entries` paced by the sinks (see the module docs); returns the time spent inside
/// `emit()` and the last seq.
fn emit_paced(emitter: &Emitter, entries: impl IntoIterator<Item = LogEntry>) -> (Duration, u64) {
    let mut in_emit = Duration::ZERO;
    let mut last = 0;
    for entry in entries {
        let t = Instant::now();
        last = emitter.emit(entry);
        in_emit += t.elapsed();
        if last % PACE == 0 {
            assert!(
                emitter.wait_for_sinks(STUCK),
                "the alert sink did not catch up within {STUCK:?}"
            );
        }
    }
    (in_emit, last)
}

/// Waits until the alert sink has taken seq `last`; fails the bench if it missed any entry.
fn drained(emitter: &Emitter, last: u64) {
    let deadline = Instant::now() + STUCK;
    while emitter.sink_stats()[0].position < last {
        assert!(
            Instant::now() < deadline,
            "the alert sink did not catch up within {STUCK:?}"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    let stats = &emitter.sink_stats()[0];
    assert_eq!(
        (stats.missed, stats.written),
        (0, last),
        "the alert sink missed entries: the figures would not be of evaluated entries"
    );
}

/// The ids of this process's threads named `name`.
fn threads(name: &str) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .map(|t| t.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Nanoseconds thread `tid` has run on a CPU (0 where `/proc` does not say).
fn cpu_ns(tid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// What one run measured.
struct Figures {
    /// ns per `emit()` on the app's thread.
    emit_ns: f64,
    /// Entries per second until the alert sink evaluated the last.
    per_sec: f64,
    /// The alert sink's CPU time per entry, ns.
    sink_ns: f64,
}

/// Emits `N` entries through an alert sink running `rules`.
fn run(rules: Vec<RuleSpec>) -> Figures {
    let emitter = emitter();
    let rules = Rules::new(rules, Vec::new()).expect("valid rules");
    let before = threads("vg-sink-alerts");
    let _alerts = Alerts::start(&emitter, rules, AlertsConfig::default()).expect("threads");
    let batch: Vec<LogEntry> = (0..N).map(entries::entry).collect();
    let start = Instant::now();
    let (in_emit, last) = emit_paced(&emitter, batch);
    drained(&emitter, last);
    let total = start.elapsed();
    // Found now: a thread names itself once running. Idle until the first entry, so its CPU time
    // is this run's.
    let cpu = threads("vg-sink-alerts")
        .iter()
        .find(|t| !before.contains(t))
        .map_or(0, |t| cpu_ns(t));
    Figures {
        emit_ns: in_emit.as_nanos() as f64 / N as f64,
        per_sec: N as f64 / total.as_secs_f64(),
        sink_ns: cpu as f64 / N as f64,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn burst() {
    let received = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let counter = Arc::clone(&received);
    let url = runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                async { "" }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    });
    let emitter = emitter();
    // Every entry matches every rule: error level, one of 3 regions.
    let mut specs = Vec::new();
    for i in 0..50 {
        let mut rule = RuleSpec::new(
            format!("burst {i}"),
            FilterSpec {
                level: Some("error".into()),
                ..Default::default()
            },
        );
        rule.cooldown = Duration::from_secs(600);
        if i % 2 == 0 {
            rule.group_by = Some("region".into());
        }
        rule.notify = vec!["sink".into()];
        specs.push(rule);
    }
    let rules = Rules::new(specs, vec![NotifierSpec::new("sink", &url)]).unwrap();
    let alerts = Alerts::start(&emitter, rules, AlertsConfig::default()).unwrap();
    let start = Instant::now();
    let burst = (0..1_000_000u64).map(|i| {
        let mut e = LogEntry::new(Level::Error, "api", "upstream refused");
        e.meta
            .insert("region", ["ord", "ams", "fra"][(i % 3) as usize]);
        e
    });
    let (_, last) = emit_paced(&emitter, burst);
    drained(&emitter, last);
    let took = start.elapsed();
    // Let the sender deliver what it queued.
    let expected = 25 * 3 + 25;
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    let got = received.load(Ordering::Relaxed);
    let status = alerts.status();
    let suppressed: u64 = status.rules.iter().map(|r| r.suppressed).sum();
    println!(
        "burst: 1,000,000 matching entries x 50 rules in {:.2}s: {got} notifications (at most {expected}: one per rule and group), {suppressed} held back, dropped {}",
        took.as_secs_f64(),
        status.notifiers[0].dropped
    );
    assert!(
        got <= expected,
        "{got} notifications for {expected} rule/group pairs"
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (mut none, mut fifty) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        none.push(run(Vec::new()));
        fifty.push(run(fifty_rules(&[])));
    }
    let medians = |runs: &[Figures]| {
        (
            median(runs.iter().map(|f| f.emit_ns).collect()),
            median(runs.iter().map(|f| f.per_sec).collect()),
            median(runs.iter().map(|f| f.sink_ns).collect()),
        )
    };
    let (e0, t0, c0) = medians(&none);
    let (e50, t50, c50) = medians(&fifty);
    let rounds = |runs: &[Figures]| {
        runs.iter()
            .map(|f| format!("{:.0}", f.per_sec))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!(
        "emit(): no rules {e0:.0} ns, 50 rules {e50:.0} ns ({:+.1}%)",
        (e50 / e0 - 1.0) * 100.0
    );
    println!(
        "ingest until the alert sink evaluated all {N}, none missed: no rules {t0:.0}/s, 50 rules {t50:.0}/s ({:+.1}%; rounds {} and {})",
        (t50 / t0 - 1.0) * 100.0,
        rounds(&none),
        rounds(&fifty),
    );
    println!("alert sink CPU per entry: no rules {c0:.0} ns, 50 rules {c50:.0} ns");
    burst();
}
