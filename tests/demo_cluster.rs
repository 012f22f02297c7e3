//! `vg demo --instances 3 --redis URL` against a real `redis-server`: three simulated instances
//! publish through Redis, and a viewer on any one of their servers sees all three.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use std::collections::BTreeSet;
use std::time::Instant;

use support::*;

/// The instance names `vg logs --json` shows from `url`, read until `want` are all seen (bounded in
/// lines and time).
fn instances_seen(url: &str, want: &BTreeSet<String>) -> BTreeSet<String> {
    let logs = VgProcess::spawn(&["logs", "--json", "-n", "300", "--url", url]);
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + LIMIT;
    for _ in 0..20_000 {
        if seen.is_superset(want) || Instant::now() > deadline {
            break;
        }
        let Ok(line) = logs.stdout.recv_timeout(LIMIT) else {
            break;
        };
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(instance) = entry["instance"].as_str() {
            seen.insert(instance.to_owned());
        }
    }
    seen
}

#[test]
fn three_instances_through_redis_each_serve_all_three() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let demo = VgProcess::spawn(&[
        "demo",
        "--no-tui",
        "--bind",
        "127.0.0.1:0",
        "--instances",
        "3",
        "--redis",
        &redis.url(),
        "--rate",
        "60",
    ]);
    let urls: Vec<String> = (0..3)
        .map(|_| demo.stdout.recv_timeout(LIMIT).expect("a URL per instance"))
        .collect();
    assert_eq!(urls.iter().collect::<BTreeSet<_>>().len(), 3, "{urls:?}");
    let said = demo.wait_stderr("instances publishing through Redis");
    assert!(said.contains(&urls[2]), "{said}");

    let want: BTreeSet<String> = ["148e7d2a", "3d8f0b91", "9a21c4e5"]
        .map(String::from)
        .into();
    // The TUI opens on the first; any of them serves the whole system.
    for url in [&urls[0], &urls[2]] {
        assert_eq!(instances_seen(url, &want), want, "from {url}");
    }
    // Every instance got its entries into Redis.
    let records = redis.records("vg:logs");
    let publishers: BTreeSet<String> = records
        .iter()
        .filter_map(|(_, fields)| fields.get("i").cloned())
        .collect();
    assert_eq!(publishers, want);
}
