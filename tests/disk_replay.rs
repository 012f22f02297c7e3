//! A viewer's backfill from disk: entries are written into its frames straight from their stored
//! form, never decoded into entries first. What a viewer receives must be exactly what the entries
//! themselves would have made: the same entries, in order, through every kind of filter, with
//! awkward text and meta, from sealed segments and from the one being written.

#![cfg(feature = "server")]

mod support;

use serde_json::json;
use support::{TempDir, TestServer, at, emit_paced, open_with, sealed, until_live};
use vg::filter::FilterSpec;
use vg::server::{DiskConfig, Gateway, GatewayConfig};
use vg::{Level, LogEntry};

/// Entry `i`: levels, sources, instances and regions in turn, text that needs escapes, nested
/// meta, and some entries with none of the optional fields.
fn entry(i: u64) -> LogEntry {
    let level = Level::ALL[(i % 6) as usize];
    let source = ["api", "worker", "db \"primary\"", "auth\tx"][(i % 4) as usize];
    let message = match i % 5 {
        0 => format!("GET /api/users/{i} 200"),
        1 => format!("line one\nline two \u{2713} \\ {i}"),
        2 => format!("\u{1b}[31mred\u{1b}[0m é 😀 {i}"),
        3 => format!("status {}", 500 + i % 3),
        _ => String::new(),
    };
    let mut e = LogEntry::new(level, source, message);
    e.timestamp = at(i64::try_from(i).unwrap()) + chrono::Duration::nanoseconds(123_456_789);
    if !i.is_multiple_of(3) {
        e.instance = Some(format!("148e{:02}", i % 7));
    }
    if i.is_multiple_of(2) {
        e.region = Some(["ams", "ord", ""][(i % 3) as usize].to_owned());
    }
    if !i.is_multiple_of(7) {
        e = e
            .with_meta("status", 200 + (i % 4) * 100)
            .with_meta("ratio", i as f64 / 7.0)
            .with_meta("neg", -(i as i64))
            .with_meta(
                "user",
                json!({"id": format!("u{}", i % 9), "tags": ["a\"b", null, true]}),
            )
            .with_meta("q\u{1}", "x\\y");
    }
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_from_disk_sends_exactly_what_the_entries_themselves_would() {
    let dir = TempDir::new("disk-replay");
    let count = 3000;
    let disk = DiskConfig::new(dir.path()).segment_bytes(128 * 1024);
    let emitter = open_with(disk.clone()).unwrap();
    emit_paced(&emitter, (1..=count).map(entry));
    drop(emitter);
    // Restarted: the memory ring is empty, so every entry comes from disk, from sealed segments
    // and (once more are emitted) from the open one.
    let emitter = open_with(disk).unwrap();
    sealed(&emitter);
    let more = 200;
    emit_paced(&emitter, (count + 1..=count + more).map(entry));
    let stored: Vec<LogEntry> = (1..=count + more)
        .map(|seq| {
            let mut e = entry(seq);
            e.seq = Some(seq);
            e
        })
        .collect();
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default());
    let router = gateway.router();
    let server = TestServer::serve(emitter.clone(), gateway, router).await;
    let since = at(1000).timestamp();
    let until = at(2500).timestamp();
    let queries = [
        "after=0".to_owned(),
        "after=0&level=warn".to_owned(),
        "after=0&source=db*".to_owned(),
        "after=0&exclude_source=api".to_owned(),
        "after=0&q=line%20two".to_owned(),
        "after=0&instance=148e03,148e05".to_owned(),
        "after=0&region=ams".to_owned(),
        "after=0&where=status%3E%3D400".to_owned(),
        "after=0&where=user.id%3Du3".to_owned(),
        format!("since={since}"),
        format!("since={since}&until={until}&level=error"),
        format!("after=2900&since={since}&where=neg%3C-3000"),
    ];
    for query in queries {
        let mut spec = FilterSpec::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            spec.set_param(&key, &value);
        }
        let filter = spec.compile(chrono::Utc::now()).unwrap();
        let after = query
            .split('&')
            .find_map(|p| p.strip_prefix("after="))
            .map_or(0, |a| a.parse().unwrap());
        let mut expected: Vec<LogEntry> = stored
            .iter()
            .filter(|e| e.seq > Some(after) && filter.matches(e))
            .map(|e| serde_json::from_str(&e.to_json()).unwrap())
            .collect();
        if let Some(until) = filter.until() {
            // A window's read ends at its first entry past `until` (times grow with seq here).
            expected.retain(|e| e.timestamp <= until);
        }
        let (mut ws, _) = server.connect(&query).await;
        let (got, gaps) = until_live(&mut ws).await;
        assert!(gaps.is_empty(), "{query}: {gaps:?}");
        assert!(!expected.is_empty(), "{query}: the test should select some");
        assert_eq!(got.len(), expected.len(), "{query}");
        assert!(got == expected, "{query}: the entries differ");
    }
    server.stop().await;
}
