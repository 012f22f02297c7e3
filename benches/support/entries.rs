//! Realistic log entries for the benchmarks, the same in every bench and in the data generator: an
//! HTTP service's request lines, job and database messages, with a few meta fields each (about 250
//! bytes of JSON an entry). Deterministic, so every run measures the same data.

use chrono::{TimeZone, Utc};
use vg::{Level, LogEntry};

const PATHS: &[&str] = &[
    "/api/users/{}",
    "/api/orders",
    "/api/orders/{}/items",
    "/healthz",
    "/api/search?q=shoes&page={}",
];
const SOURCES: &[&str] = &["api", "worker", "db", "auth", "cron"];
const REGIONS: &[&str] = &["ord", "ams", "fra"];

/// The `i`th entry of the benchmark stream.
pub fn entry(i: u64) -> LogEntry {
    let t0 = Utc.with_ymd_and_hms(2026, 2, 5, 18, 0, 0).unwrap();
    let level = Level::ALL[[2, 2, 2, 1, 3, 2, 0, 4][(i % 8) as usize]];
    let source = SOURCES[(i % 5) as usize];
    let status = [200, 201, 404, 500, 200, 304][(i % 6) as usize];
    let path = PATHS[(i % 5) as usize].replace("{}", &(i % 997).to_string());
    let ms = (i * 7919) % 900 + 1;
    let message = match i % 4 {
        0 | 1 => format!("GET {path} {status} {ms}ms"),
        2 => format!("job sync-invoices finished in {ms}ms, {} rows", i % 300),
        _ => format!("query users by id took {ms}ms (pool 8/16)"),
    };
    let mut e = LogEntry::new(level, source, message);
    e.timestamp = t0 + chrono::Duration::milliseconds(i as i64);
    e.instance = Some(format!("148e{:04x}", i % 7));
    e.region = Some(REGIONS[(i % 3) as usize].into());
    e.meta.insert("requestId", format!("req_{:08x}", i / 3));
    e.meta.insert("method", "GET");
    e.meta.insert("path", path);
    e.meta.insert("status", status);
    e.meta.insert("duration_ms", ms);
    e.meta.insert("userId", format!("user_{}", i % 5000));
    e
}
