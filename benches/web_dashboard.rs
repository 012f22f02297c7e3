//! The web dashboard measured in a real browser (chromium through chromedriver) against a real
//! `vg serve`: how soon the first rows show with a 10,000-entry backfill, and frame times and
//! memory while 5,000 entries/s arrive with 100,000 held. Prints a table for docs/benchmarks.md.
//!
//! `cargo bench --features server --bench web_dashboard` (needs chromium and chromedriver; says so
//! and stops without them). Figures come from the browser's own clock and `performance.memory`.

#[path = "../tests/web/driver.rs"]
mod driver;

use std::thread;
use std::time::{Duration, Instant};

use driver::{Browser, Server};
use serde_json::{Value, json};

const BACKFILL: usize = 10_000;
const HELD: usize = 100_000;
const RATE: usize = 5_000;
const SECONDS: u64 = 30;
/// Entries per POST while streaming: 10 posts a second.
const PER_POST: usize = RATE / 10;

/// An entry like the demo's API lines: a message and a handful of meta fields (about 250 bytes).
fn entry(i: usize) -> Value {
    let (level, status) = match i % 50 {
        0 => ("error", 500),
        1..=4 => ("warn", 404),
        5..=14 => ("debug", 200),
        _ => ("info", 200),
    };
    let source = ["api", "db", "worker", "auth"][i % 4];
    let instance = ["148e7d2a", "3d8f0b91", "9a21c4e5"][i % 3];
    let region = ["ord", "ams", "syd"][i % 3];
    json!({
        "timestamp": "2026-12-01T10:00:00.000Z",
        "level": level,
        "source": source,
        "message": format!("GET /api/users/{} {status} {}ms", i % 9973, i % 97),
        "meta": {"method": "GET", "path": "/api/users/{id}", "statusCode": status,
                 "duration": i % 97, "requestId": format!("req_{i:08x}"), "userId": format!("user_{}", i % 400)},
        "instance": instance,
        "region": region,
    })
}

fn post_range(server: &Server, from: usize, to: usize) {
    let mut at = from;
    while at < to {
        let end = (at + 5_000).min(to);
        let batch: Vec<Value> = (at..end).map(entry).collect();
        server.post(&batch);
        at = end;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list"
    )]
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

fn numbers(value: &Value) -> Vec<f64> {
    let mut v: Vec<f64> = value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    v.sort_by(f64::total_cmp);
    v
}

fn main() {
    let Some(browser) = Browser::launch_with(&["--enable-precise-memory-info"]) else {
        return;
    };
    let history = (HELD + RATE * SECONDS as usize).to_string();
    let server = Server::start(&["--history", &history, "--history-bytes", "1073741824"]);
    let url = format!("http://{}/", server.addr);

    // 1. First rows after load, with a 10,000-entry backfill.
    post_range(&server, 0, BACKFILL);
    let mut first = Vec::new();
    for _ in 0..7 {
        browser.goto("about:blank");
        browser.goto(&url);
        let at = browser.wait(
            "the first rows",
            "const m = performance.getEntriesByName('vg-first-rows')[0]; return m ? m.startTime : null",
        );
        browser.wait(
            "the whole backfill",
            &format!("return window.vgDashboard.buffer.length === {BACKFILL}"),
        );
        first.push(at.as_f64().unwrap_or(f64::NAN));
    }
    first.sort_by(f64::total_cmp);
    println!(
        "first rows after navigation start, {BACKFILL} backfilled: median {:.0} ms, worst {:.0} ms ({} loads)",
        percentile(&first, 0.5),
        first[first.len() - 1],
        first.len()
    );

    // 2. 100,000 held, then 5,000 entries/s for 30 s.
    post_range(&server, BACKFILL, HELD);
    browser.goto("about:blank");
    browser.goto(&url);
    let loaded = Instant::now();
    browser.wait(
        "100,000 entries held",
        &format!("return window.vgDashboard.buffer.length === {HELD} && window.vgDashboard.live"),
    );
    println!(
        "loading {HELD} entries took {:.1} s",
        loaded.elapsed().as_secs_f64()
    );
    browser.js(
        "const app = window.vgDashboard;
         const m = window.vgBench = { frames: [], draws: [], batches: [], heap: [] };
         let last = performance.now();
         const tick = (t) => { m.frames.push(t - last); last = t; requestAnimationFrame(tick); };
         requestAnimationFrame(tick);
         const draw = app.draw.bind(app);
         app.draw = () => { const t = performance.now(); draw(); m.draws.push(performance.now() - t); };
         const take = app.onEntries.bind(app);
         app.onEntries = (es) => { const t = performance.now(); take(es); m.batches.push(performance.now() - t); };
         setInterval(() => m.heap.push(performance.memory ? performance.memory.usedJSHeapSize : 0), 1000);
         return true",
    );
    let start = Instant::now();
    let mut next = HELD;
    let mut tick = 0u64;
    while start.elapsed() < Duration::from_secs(SECONDS) {
        post_range(&server, next, next + PER_POST);
        next += PER_POST;
        tick += 1;
        let due = start + Duration::from_millis(100 * tick);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    let sent = next - HELD;
    browser.wait(
        "the last entry",
        &format!("return window.vgDashboard.buffer.received >= {}", next),
    );
    let m = browser.js("return window.vgBench");
    let frames = numbers(&m["frames"]);
    let draws = numbers(&m["draws"]);
    let batches = numbers(&m["batches"]);
    let heap = numbers(&m["heap"]);
    let state = browser.js(
        "const a = window.vgDashboard; return { held: a.buffer.length, gaps: a.gaps, dom: document.querySelectorAll('#log .r').length }",
    );
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let rate = sent as f64 / start.elapsed().as_secs_f64();
    let slow = frames.iter().filter(|f| **f > 20.0).count();
    println!("streaming {sent} entries over {SECONDS} s ({rate:.0}/s) with {HELD} held:");
    println!(
        "  frame interval p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {slow} of {} frames over 20 ms",
        percentile(&frames, 0.5),
        percentile(&frames, 0.95),
        percentile(&frames, 0.99),
        frames.last().copied().unwrap_or(f64::NAN),
        frames.len()
    );
    println!(
        "  draw (the page's work per frame) p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms over {} draws",
        percentile(&draws, 0.5),
        percentile(&draws, 0.95),
        draws.last().copied().unwrap_or(f64::NAN),
        draws.len()
    );
    println!(
        "  taking in one frame of entries p50 {:.2} ms, p95 {:.2} ms over {} frames",
        percentile(&batches, 0.5),
        percentile(&batches, 0.95),
        batches.len()
    );
    println!(
        "  JS heap min {:.0} MB, max {:.0} MB (sampled each second)",
        heap.first().copied().unwrap_or(0.0) / 1e6,
        heap.last().copied().unwrap_or(0.0) / 1e6
    );
    println!("  afterwards: {state}");
}
