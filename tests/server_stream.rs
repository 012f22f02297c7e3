//! The stream endpoint end to end: a real gateway on loopback, real WebSocket clients.

#![cfg(feature = "server")]

mod support;

use chrono::{Duration as Age, Utc};
use serde_json::json;
use support::*;
use vg::server::GatewayConfig;
use vg::wire::{GapReason, ServerMessage};
use vg::{Level, LogEntry};

#[tokio::test]
async fn hello_then_live_entries_in_seq_order() {
    let server = TestServer::default().await;
    let (mut ws, hello) = server.connect("").await;
    assert_eq!((hello.protocol, hello.server.as_str()), (1, "vg"));
    assert_eq!(hello.boot, server.emitter.boot());
    assert_eq!((hello.newest_seq, hello.oldest_seq), (None, None));
    let (backfill, gaps) = until_live(&mut ws).await;
    assert!(backfill.is_empty() && gaps.is_empty());
    for i in 1..=3 {
        server
            .emitter
            .emit(LogEntry::new(Level::Info, "api", format!("m{i}")).with_meta("i", i));
    }
    let (entries, gaps) = until_entry(&mut ws, |e| e.message == "m3").await;
    assert!(gaps.is_empty());
    assert_eq!(messages(&entries), ["m1", "m2", "m3"]);
    assert_eq!(seqs(&entries), [1, 2, 3]);
    assert_eq!(entries[2].meta["i"], 3);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn many_viewers_each_get_every_entry() {
    // More viewers than emit() wakes directly, so the relay task delivers the wake-ups. Pings are
    // pushed far out so that nothing but the relay could wake a viewer within the test's limits.
    let hour = std::time::Duration::from_secs(3600);
    let config = GatewayConfig::default().keepalive(hour, hour);
    let server = TestServer::start(emitter_config(), config).await;
    let mut viewers = Vec::new();
    for _ in 0..40 {
        let (mut ws, _) = server.connect("").await;
        until_live(&mut ws).await;
        viewers.push(ws);
    }
    for i in 1..=5 {
        server.emitter.log(Level::Info, "api", format!("m{i}"));
        tokio::task::yield_now().await;
    }
    for ws in &mut viewers {
        let (entries, gaps) = until_entry(ws, |e| e.message == "m5").await;
        assert!(gaps.is_empty());
        assert_eq!(seqs(&entries), [1, 2, 3, 4, 5]);
    }
    drop(viewers);
    server.stop().await;
}

#[tokio::test]
async fn a_burst_is_coalesced_into_batches() {
    let server = TestServer::default().await;
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    // Emitted without yielding, so most of them are waiting by the time the viewer looks.
    for i in 1..=1000 {
        server.emitter.log(Level::Info, "api", format!("m{i}"));
    }
    let mut frames = 0;
    let mut got = Vec::new();
    while got.len() < 1000 {
        match next_message(&mut ws).await {
            ServerMessage::Entries { entries } => {
                frames += 1;
                got.extend(entries);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seqs(&got), (1..=1000).collect::<Vec<_>>());
    // The relay hands over whatever arrived since it last looked (every 100 µs), and a frame takes
    // up to 512 entries: a handful of frames, not a thousand.
    assert!(frames < 50, "{frames} frames for a burst of 1000");
    drop(ws);
    server.stop().await;
}

/// Entries covering every filter dimension; `message` names each.
fn fixture() -> Vec<LogEntry> {
    let old = Utc::now() - Age::hours(2);
    let entry = |level, source: &str, message: &str, instance: &str, region: &str| {
        let mut e = LogEntry::new(level, source, message);
        e.instance = Some(instance.into());
        e.region = Some(region.into());
        e
    };
    let mut stale = entry(Level::Error, "api", "old api error", "i-1", "ord");
    stale.timestamp = old;
    vec![
        entry(Level::Debug, "api", "api debug", "i-1", "ord")
            .with_meta("statusCode", 200)
            .with_meta("method", "GET"),
        entry(Level::Warn, "db", "db timeout warn", "i-2", "ams").with_meta("statusCode", 503),
        entry(Level::Info, "worker-1", "worker info", "i-2", "ams")
            .with_meta("userId", "u_1")
            .with_meta("method", "POST"),
        stale,
        entry(Level::Error, "api", "api timeout error", "i-3", "syd")
            .with_meta("statusCode", 500)
            .with_meta("userId", "u_1")
            .with_meta("method", "GET"),
        entry(Level::Info, "auth", "auth info", "i-1", "ord").with_meta("method", "DELETE"),
    ]
}

#[tokio::test]
async fn every_filter_is_applied_by_the_server() {
    let cases: &[(&str, &[&str])] = &[
        (
            "level=warn",
            &["db timeout warn", "old api error", "api timeout error"],
        ),
        (
            "source=api,db",
            &[
                "api debug",
                "db timeout warn",
                "old api error",
                "api timeout error",
            ],
        ),
        ("source=work*", &["worker info"]),
        (
            "exclude_source=api",
            &["db timeout warn", "worker info", "auth info"],
        ),
        ("q=timeout", &["db timeout warn", "api timeout error"]),
        ("instance=i-1", &["api debug", "old api error", "auth info"]),
        (
            "region=ams&region=syd",
            &["db timeout warn", "worker info", "api timeout error"],
        ),
        (
            "where=statusCode%3E%3D500",
            &["db timeout warn", "api timeout error"],
        ),
        ("where=userId%3Du_1&where=method!%3DGET", &["worker info"]),
        (
            "since=1h",
            &[
                "api debug",
                "db timeout warn",
                "worker info",
                "api timeout error",
                "auth info",
            ],
        ),
        ("until=1h", &["old api error"]),
    ];
    let server = TestServer::default().await;
    for (query, want) in cases {
        let (mut ws, _) = server.connect(query).await;
        until_live(&mut ws).await;
        for entry in fixture() {
            server.emitter.emit(entry);
        }
        let last = *want.last().unwrap();
        let (entries, _) = until_entry(&mut ws, |e| e.message == last).await;
        assert_eq!(messages(&entries), *want, "{query}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_filter_can_be_changed_live() {
    let server = TestServer::default().await;
    let (mut ws, _) = server.connect("level=error").await;
    until_live(&mut ws).await;
    send_text(&mut ws, r#"{"type":"filter","source":["db","auth"]}"#).await;
    // The server reads messages in order, so the answer to this bad one also confirms the one above.
    send_text(&mut ws, r#"{"type":"filter","q":"("}"#).await;
    match next_message(&mut ws).await {
        ServerMessage::Error { message } => {
            assert!(message.starts_with("invalid regex '('"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    for entry in fixture() {
        server.emitter.emit(entry);
    }
    let (entries, _) = until_entry(&mut ws, |e| e.message == "auth info").await;
    assert_eq!(messages(&entries), ["db timeout warn", "auth info"]);
    send_text(&mut ws, "not json").await;
    match next_message(&mut ws).await {
        ServerMessage::Error { message } => {
            assert!(message.starts_with("unreadable message"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn tail_backfills_the_last_matching_entries_then_goes_live() {
    let server = TestServer::default().await;
    for i in 1..=50 {
        let level = if i % 2 == 0 { Level::Warn } else { Level::Info };
        server.emitter.log(level, "api", format!("m{i}"));
    }
    let (mut ws, hello) = server.connect("tail=5&level=warn").await;
    assert_eq!((hello.oldest_seq, hello.newest_seq), (Some(1), Some(50)));
    let (backfill, gaps) = until_live(&mut ws).await;
    assert!(gaps.is_empty());
    assert_eq!(messages(&backfill), ["m42", "m44", "m46", "m48", "m50"]);
    server.emitter.log(Level::Info, "api", "quiet");
    server.emitter.log(Level::Error, "api", "m52");
    let (live, _) = until_entry(&mut ws, |e| e.message == "m52").await;
    assert_eq!(messages(&live), ["m52"]);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn since_backfills_by_time() {
    let server = TestServer::default().await;
    for (age, message) in [(120, "two hours"), (20, "twenty minutes"), (1, "a minute")] {
        let mut entry = LogEntry::new(Level::Info, "api", message);
        entry.timestamp = Utc::now() - Age::minutes(age);
        server.emitter.emit(entry);
    }
    let (mut ws, _) = server.connect("since=30m").await;
    let (backfill, _) = until_live(&mut ws).await;
    assert_eq!(messages(&backfill), ["twenty minutes", "a minute"]);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn resume_after_a_seq_is_exact() {
    let server = TestServer::default().await;
    let (mut ws, hello) = server.connect("").await;
    until_live(&mut ws).await;
    for i in 1..=10 {
        server.emitter.log(Level::Info, "api", format!("m{i}"));
    }
    let (first, _) = until_entry(&mut ws, |e| e.message == "m10").await;
    drop(ws);
    // Emitted while the client is away.
    for i in 11..=20 {
        server.emitter.log(Level::Info, "api", format!("m{i}"));
    }
    let last = first.last().unwrap().seq.unwrap();
    let (mut ws, _) = server
        .connect(&format!("after={last}&boot={}", hello.boot))
        .await;
    let (missed, gaps) = until_live(&mut ws).await;
    assert!(gaps.is_empty(), "{gaps:?}");
    assert_eq!(seqs(&missed), (11..=20).collect::<Vec<_>>());
    server.emitter.log(Level::Info, "api", "m21");
    let (live, _) = until_entry(&mut ws, |e| e.message == "m21").await;
    assert_eq!(seqs(&live), [21]);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn resume_reports_evicted_and_restart_gaps_exactly() {
    let server = TestServer::start(
        emitter_config().history(10, usize::MAX),
        GatewayConfig::default(),
    )
    .await;
    for i in 1..=30 {
        let level = if i % 3 == 0 {
            Level::Error
        } else {
            Level::Info
        };
        server.emitter.log(level, "api", format!("m{i}"));
    }
    let boot = server.emitter.boot().to_owned();

    let (mut ws, _) = server.connect(&format!("after=5&boot={boot}")).await;
    let (entries, gaps) = until_live(&mut ws).await;
    assert_eq!(gaps.len(), 1);
    let gap = &gaps[0];
    assert_eq!(
        (gap.reason, gap.missed, gap.from_seq, gap.to_seq),
        (GapReason::Evicted, 15, Some(6), Some(20))
    );
    assert_eq!(seqs(&entries), (21..=30).collect::<Vec<_>>());

    // Another boot: everything this start still holds, after saying what happened.
    let (mut ws, _) = server.connect("after=500&boot=previous&level=error").await;
    let (entries, gaps) = until_live(&mut ws).await;
    assert_eq!(gaps[0].reason, GapReason::Restart);
    assert_eq!((gaps[0].missed, gaps[0].from_seq), (0, None));
    assert_eq!(
        (gaps[1].reason, gaps[1].from_seq, gaps[1].to_seq),
        (GapReason::Evicted, Some(1), Some(20))
    );
    assert_eq!(seqs(&entries), [21, 24, 27, 30]);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn follow_false_closes_normally_after_the_backfill() {
    let server = TestServer::default().await;
    server.emitter.log(Level::Info, "api", "one");
    let (mut ws, _) = server.connect("tail=10&follow=false").await;
    let (entries, _) = until_live(&mut ws).await;
    assert_eq!(messages(&entries), ["one"]);
    assert_eq!(close_code(&mut ws).await, Some(1000));
    server.stop().await;
}

#[tokio::test]
async fn an_invalid_query_is_an_error_and_close_1008() {
    let server = TestServer::default().await;
    for query in ["level=loud", "q=(", "where=status", "tail=lots"] {
        let mut ws = connect(&server.ws_url(query)).await;
        match next_message(&mut ws).await {
            ServerMessage::Error { message } => assert!(message.contains("'"), "{message}"),
            other => panic!("{query}: {other:?}"),
        }
        assert_eq!(close_code(&mut ws).await, Some(1008), "{query}");
    }
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_viewers_with_1000() {
    let server = TestServer::default().await;
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    server.gateway.shutdown();
    assert_eq!(close_code(&mut ws).await, Some(1000));
    within("viewers gone", server.gateway.closed()).await;
    assert_eq!(server.gateway.viewers(), 0);
    server.stop().await;
}

/// An app's last words, logged just before it stops, are what its viewers most want to read.
#[tokio::test]
async fn entries_emitted_just_before_shutdown_reach_viewers_before_the_close() {
    let server = TestServer::default().await;
    let (mut ws, _) = server.connect("level=warn").await;
    until_live(&mut ws).await;
    // Nothing awaits in between, so the viewer's task first runs with the shutdown already signalled.
    server
        .emitter
        .log(Level::Warn, "main", "draining connections");
    server
        .emitter
        .log(Level::Info, "main", "not for this viewer");
    server.emitter.log(Level::Warn, "main", "shutting down now");
    server.gateway.shutdown();
    let (entries, gaps, code) = until_closed(&mut ws).await;
    assert_eq!(
        messages(&entries),
        ["draining connections", "shutting down now"]
    );
    assert_eq!(seqs(&entries), [1, 3]);
    assert!(gaps.is_empty(), "{gaps:?}");
    assert_eq!(code, Some(1000));
    server.stop().await;
}

#[tokio::test]
async fn a_burst_just_before_shutdown_arrives_whole_in_order_and_once() {
    let server = TestServer::default().await;
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    for i in 1..=1500 {
        server.emitter.log(Level::Info, "api", format!("m{i}"));
    }
    // The viewer is part way through the burst when the rest comes and the server stops.
    let (mut got, _) = until_entry(&mut ws, |_| true).await;
    for i in 1501..=3000 {
        server.emitter.log(Level::Info, "api", format!("m{i}"));
    }
    server.gateway.shutdown();
    let (rest, gaps, code) = until_closed(&mut ws).await;
    got.extend(rest);
    let got = seqs(&got);
    assert!(
        got == (1..=3000).collect::<Vec<_>>(),
        "{} entries, the last {:?}",
        got.len(),
        got.last()
    );
    assert!(gaps.is_empty(), "{gaps:?}");
    assert_eq!(code, Some(1000));
    server.stop().await;
}

#[tokio::test]
async fn meta_and_multiline_messages_survive_the_trip() {
    let server = TestServer::default().await;
    let (mut ws, _) = server.connect("").await;
    until_live(&mut ws).await;
    let entry = LogEntry::new(Level::Error, "worker", "boom\n  at a.rs:1\n  at b.rs:2")
        .with_meta("nested", json!({"a": [1, 2, {"b": null}]}));
    server.emitter.emit(entry.clone());
    let (got, _) = until_entry(&mut ws, |_| true).await;
    assert_eq!(got[0].message, entry.message);
    assert_eq!(got[0].meta, entry.meta);
    assert_eq!(
        got[0].timestamp.timestamp_millis(),
        entry.timestamp.timestamp_millis()
    );
    drop(ws);
    server.stop().await;
}
