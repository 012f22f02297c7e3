//! Publishing to Redis against a real `redis-server`: every entry once, in order, through Redis
//! going away and coming back, with the bounded buffer's overflow counted and retries deduplicated.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::*;
use vg::Level;
use vg::server::{Cluster, Emitter, EmitterConfig, RedisConfig, RedisStats};

type Record = (String, HashMap<String, String>);

/// The seqs of `records`, in stream order.
fn seqs_of(records: &[Record]) -> Vec<u64> {
    records
        .iter()
        .map(|(_, f)| f["s"].parse().unwrap())
        .collect()
}

/// The messages of `records`, in stream order.
fn messages_of(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|(_, f)| {
            let entry: serde_json::Value = serde_json::from_str(&f["e"]).unwrap();
            entry["message"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// `/healthz`'s `redis` part, once `done` holds for it (bounded).
async fn redis_health(
    server: &VgServe,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let health = http(server.addr, "GET", "/healthz", &[], b"").await.json();
        let redis = health["redis"].clone();
        if done(&redis) {
            return redis;
        }
        assert!(
            Instant::now() < deadline,
            "healthz never got there: {redis}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn serve_publishes_every_entry_once_in_order_and_shows_it_in_healthz() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut server = VgServe::start_with(
        "127.0.0.1:0",
        &["--redis", &redis.url(), "--redis-stream", "app:logs"],
        &[("VG_INSTANCE", "web-1"), ("VG_REGION", "ams")],
    );
    server.write_lines((0..500).map(|i| format!("line {i}")));
    let health = redis_health(&server, |r| r["published"] == 500).await;
    assert_eq!(health["state"], "up");
    assert_eq!(health["stream"], "app:logs");
    assert_eq!(
        (health["buffered"].clone(), health["overflow"].clone()),
        (0.into(), 0.into())
    );

    let records = redis.records("app:logs");
    assert_eq!(seqs_of(&records), (1..=500).collect::<Vec<u64>>());
    let expected: Vec<String> = (0..500).map(|i| format!("line {i}")).collect();
    assert_eq!(messages_of(&records), expected);
    let (_, first) = &records[0];
    assert_eq!(first["i"], "web-1");
    let entry: serde_json::Value = serde_json::from_str(&first["e"]).unwrap();
    assert_eq!(
        (entry["instance"].as_str(), entry["region"].as_str()),
        (Some("web-1"), Some("ams"))
    );
    // One stream identity for all of them.
    assert!(
        records
            .iter()
            .all(|(_, f)| f["b"] == first["b"] && !f["b"].is_empty())
    );
    // And for a scraper.
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await.body;
    for line in [
        "vg_redis_up{stream=\"app:logs\"} 1",
        "vg_redis_published_entries_total{stream=\"app:logs\"} 500",
        "vg_redis_buffered_entries{stream=\"app:logs\"} 0",
        "vg_redis_overflow_entries_total{stream=\"app:logs\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn an_instance_nothing_names_publishes_under_its_host_and_port() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let Some(host) = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
    else {
        println!("skipped: no /proc/sys/kernel/hostname to compare with");
        return;
    };
    // No VG_INSTANCE (the test processes never inherit one): merged viewers must still tell the
    // instances apart.
    let mut server = VgServe::start_with("127.0.0.1:0", &["--redis", &redis.url()], &[]);
    server.write_lines(["one line"]);
    redis_health(&server, |r| r["published"] == 1).await;
    let records = redis.records("vg:logs");
    // With its port: two servers on one machine are two instances.
    let name = format!("{host}:{}", server.addr.port());
    assert_eq!(records[0].1["i"], name);
    let entry: serde_json::Value = serde_json::from_str(&records[0].1["e"]).unwrap();
    assert_eq!(entry["instance"].as_str(), Some(name.as_str()));
}

#[tokio::test]
async fn entries_wait_while_redis_is_down_and_arrive_once_each_with_overflow_counted() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mut server = VgServe::start(
        "127.0.0.1:0",
        &["--redis", &redis.url(), "--redis-buffer", "100"],
    );
    server.write_lines((0..50).map(|i| format!("before {i}")));
    redis_health(&server, |r| r["published"] == 50).await;

    server.process.wait_stderr("connected to Redis at");
    redis.kill();
    // 250 entries while Redis is gone: the buffer holds 100 of them, the rest are counted.
    server.write_lines((0..250).map(|i| format!("during {i}")));
    let said = server.process.wait_stderr("is down");
    assert!(said.contains("entries wait in a buffer of 100"), "{said}");
    // While a batch is out, its entries are held besides the buffer's 100; once its attempt has
    // failed, the buffer holds the newest 100.
    let down = redis_health(&server, |r| {
        r["state"] == "down" && r["overflow"] == 150 && r["buffered"] == 100
    })
    .await;
    assert!(down["error"].is_string(), "{down}");
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await.body;
    for line in [
        "vg_redis_up{stream=\"vg:logs\"} 0",
        "vg_redis_buffered_entries{stream=\"vg:logs\"} 100",
        "vg_redis_overflow_entries_total{stream=\"vg:logs\"} 150",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    // Local viewers still get every entry.
    let local = http(server.addr, "GET", "/api/logs?limit=1000", &[], b"")
        .await
        .json();
    assert_eq!(local.as_array().unwrap().len(), 300);

    // Redis comes back empty (it saved nothing): what the buffer held arrives, once each, in order.
    redis.restart();
    let up = redis_health(&server, |r| r["state"] == "up" && r["buffered"] == 0).await;
    let said = server.process.wait_stderr("is back");
    assert!(said.contains("150 entries dropped"), "{said}");
    assert_eq!(up["published"], 150, "{up}");
    let records = redis.records("vg:logs");
    // What the buffer held, each once, in order: the newest (a batch whose attempt was under way
    // when Redis went, and which it then took, may stand before them).
    let seqs = seqs_of(&records);
    assert_eq!(seqs.len(), 100, "{seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "out of order or twice: {seqs:?}"
    );
    assert!(seqs.iter().all(|s| (51..=300).contains(s)), "{seqs:?}");
    assert_eq!(seqs.last(), Some(&300), "the newest entry was not kept");

    // And publishing goes on after them.
    server.write_lines(["after"]);
    redis_health(&server, |r| r["published"] == 151).await;
    let records = redis.records("vg:logs");
    assert_eq!(
        messages_of(&records).last().map(String::as_str),
        Some("after")
    );
    assert_eq!(seqs_of(&records).last(), Some(&301));
}

/// The publisher's stats once `done` holds (bounded).
fn stats_when(cluster: &Cluster, done: impl Fn(&RedisStats) -> bool) -> RedisStats {
    let deadline = Instant::now() + LIMIT;
    loop {
        let stats = cluster.stats();
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "never got there: {stats:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An emitter named `api-1` publishing to Redis with `config`.
fn publishing(config: RedisConfig) -> (Emitter, Cluster) {
    let emitter = Emitter::new(EmitterConfig::default().read_env(false).instance("api-1"));
    let cluster = Cluster::start(&emitter, config).unwrap();
    (emitter, cluster)
}

/// Logs `prefix 1` to `prefix N` and waits (bounded) until `published` entries are in Redis.
fn log_published(emitter: &Emitter, cluster: &Cluster, prefix: &str, n: u64, published: u64) {
    for i in 1..=n {
        emitter.log(Level::Info, "t", format!("{prefix}{i}"));
    }
    stats_when(cluster, |s| s.published == published);
}

#[test]
fn the_stream_keeps_about_max_len_entries_the_newest() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (emitter, cluster) = publishing(RedisConfig::new(redis.url()).max_len(200));
    log_published(&emitter, &cluster, "m", 2000, 2000);

    // `MAXLEN ~` trims whole nodes (100 records each by default), so somewhat more may stay.
    let seqs = seqs_of(&redis.records("vg:logs"));
    assert!(
        (200..=400).contains(&seqs.len()),
        "kept {} records for a bound of about 200",
        seqs.len()
    );
    let newest: Vec<u64> = (2001 - seqs.len() as u64..=2000).collect();
    assert_eq!(seqs, newest, "the newest, in order, once each");
}

#[test]
fn the_stream_trims_entries_older_than_max_age_and_keeps_the_young() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let config = RedisConfig::new(redis.url()).max_age(Duration::from_secs(1));
    let (emitter, cluster) = publishing(config);
    log_published(&emitter, &cluster, "old ", 300, 300);
    assert_eq!(
        redis.records("vg:logs").len(),
        300,
        "all younger than a second"
    );
    std::thread::sleep(Duration::from_millis(1500));
    log_published(&emitter, &cluster, "new ", 300, 600);

    // `MINID ~` trims whole nodes (100 records each by default): a node holding old and new
    // entries stays, every node of old ones alone goes.
    let messages = messages_of(&redis.records("vg:logs"));
    let old = messages.iter().filter(|m| m.starts_with("old")).count();
    assert!(old <= 100, "kept {old} old entries");
    let young: Vec<String> = (1..=300).map(|i| format!("new {i}")).collect();
    assert_eq!(messages[old..], young[..], "every young entry, in order");
}

#[test]
fn a_retry_after_a_lost_reply_adds_nothing_twice() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let config = RedisConfig::new(redis.url()).timeout(Duration::from_millis(200));
    let (emitter, cluster) = publishing(config);
    log_published(&emitter, &cluster, "m", 10, 10);

    // Redis holds writes for 1.5 s: the publisher's next batch times out after 200 ms, though Redis
    // then takes it. Its retry must find that out instead of adding the batch again.
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("WRITE")
        .query(&mut redis.connection())
        .unwrap();
    for i in 11..=20 {
        emitter.log(Level::Info, "t", format!("m{i}"));
    }
    let stats = stats_when(&cluster, |s| {
        s.state == "up" && s.buffered == 0 && s.published + s.deduplicated == 20
    });
    assert!(
        stats.deduplicated > 0,
        "the slow batch was never retried: {stats:?}"
    );

    let records = redis.records("vg:logs");
    assert_eq!(seqs_of(&records), (1..=20).collect::<Vec<u64>>());
    let expected: Vec<String> = (1..=20).map(|i| format!("m{i}")).collect();
    assert_eq!(messages_of(&records), expected);
}

#[test]
fn a_bad_redis_url_is_one_line_and_exit_2() {
    let (status, said) = exit_within_limit(vg().args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--redis",
        "http://user:hunter2@cache:6379",
    ]));
    assert_eq!(status.code(), Some(2));
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("redis://HOST:PORT"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");

    // An age limit of nothing would trim every entry.
    let (status, said) = exit_within_limit(
        vg().args(["serve", "--bind", "127.0.0.1:0", "--redis"])
            .args(["redis://127.0.0.1:1", "--redis-max-age", "0s"]),
    );
    assert_eq!(status.code(), Some(2));
    assert!(
        said.contains("--redis-max-age") && said.contains("24h"),
        "{said}"
    );

    // Redis settings without --redis would be ignored without a word: refused instead.
    let (status, said) = exit_within_limit(
        vg().args(["serve", "--bind", "127.0.0.1:0", "--redis-max-age", "5m"])
            .env_remove("VG_REDIS_URL"),
    );
    assert_eq!(status.code(), Some(2), "{said}");
    assert!(said.contains("--redis <URL>"), "{said}");
}

#[tokio::test]
async fn rediss_with_a_private_ca_publishes_and_without_it_is_refused_clearly() {
    let ca = Ca::new();
    let files = TempDir::new("redis-tls");
    let (cert, key, _) = ca.server(&["localhost"], "redis test server");
    let cert = files.write("redis.pem", &cert);
    let key = files.write("redis.key", &key);
    let ca_file = files.write("ca.pem", &ca.pem());
    let Some(redis) = RedisServer::start_tls(&cert, &key, &ca_file) else {
        return;
    };
    let mut server = VgServe::start(
        "127.0.0.1:0",
        &["--redis", &redis.tls_url(), "--redis-ca-cert", &ca_file],
    );
    server.write_lines((0..50).map(|i| format!("over tls {i}")));
    let health = redis_health(&server, |r| r["published"] == 50).await;
    assert_eq!(health["state"], "up");
    let expected: Vec<String> = (0..50).map(|i| format!("over tls {i}")).collect();
    assert_eq!(messages_of(&redis.records("vg:logs")), expected);

    // Without the CA, Redis's certificate is not trusted: down, saying why, nothing published.
    let mut untrusting = VgServe::start("127.0.0.1:0", &["--redis", &redis.tls_url()]);
    untrusting.write_lines(["not over tls"]);
    let down = redis_health(&untrusting, |r| r["state"] == "down").await;
    let error = down["error"].as_str().unwrap_or_default().to_lowercase();
    assert!(error.contains("certificate"), "{down}");

    // A CA for a plain redis:// URL, one that cannot be read, or a file with no certificate in
    // it (the key instead): one line, exit 2.
    let missing = files.path().join("missing.pem").display().to_string();
    for (url, ca) in [
        (redis.url(), ca_file.clone()),
        (redis.tls_url(), missing),
        (redis.tls_url(), key.clone()),
    ] {
        let (status, said) = exit_within_limit(vg().args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--redis",
            &url,
            "--redis-ca-cert",
            &ca,
        ]));
        assert_eq!(status.code(), Some(2), "{url} {ca}");
        assert_eq!(said.lines().count(), 1, "{said}");
    }
}

#[tokio::test]
async fn a_quiet_instance_says_redis_is_down_before_its_first_entry_and_up_once_it_answers() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    redis.kill();
    let server = VgServe::start("127.0.0.1:0", &["--redis", &redis.url()]);
    // Nothing emitted: the status still says how Redis is, not "connecting" for ever.
    let down = redis_health(&server, |r| r["state"] == "down").await;
    assert!(down["error"].is_string(), "{down}");
    redis.restart();
    redis_health(&server, |r| r["state"] == "up" && r["error"].is_null()).await;
}

#[tokio::test]
async fn a_stop_publishes_what_was_still_waiting() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut server = VgServe::start("127.0.0.1:0", &["--redis", &redis.url()]);
    server.write_lines(["first"]);
    redis_health(&server, |r| r["published"] == 1).await;
    // Redis holds writes for a second, so the entries below are still waiting when the stop comes.
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1000)
        .arg("WRITE")
        .query(&mut redis.connection())
        .unwrap();
    let body: String = (0..1500)
        .map(|i| format!("{{\"message\":\"m{i}\"}}\n"))
        .collect();
    let reply = http(server.addr, "POST", "/api/logs", &[], body.as_bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(server.process.terminate().success());

    let records = redis.records("vg:logs");
    assert_eq!(seqs_of(&records), (1..=1501).collect::<Vec<u64>>());
}
