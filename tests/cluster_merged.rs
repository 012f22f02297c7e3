//! The merged stream against a real `redis-server` and real `vg serve --redis` processes: a viewer
//! on any instance sees every instance's entries once each, in one order every instance agrees on,
//! resumes exactly on another instance with its cursor, and is told of what Redis trimmed.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use std::collections::HashSet;

use futures_util::StreamExt;
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// What a merged viewer has read.
#[derive(Debug, Default)]
struct Seen {
    /// (instance, message) in the order received.
    entries: Vec<(String, String)>,
    /// `missed` of every gap.
    gaps: Vec<u64>,
    /// `reason` of every gap.
    reasons: Vec<String>,
    /// The newest cursor a frame carried.
    cursor: Option<String>,
    /// `error` messages (Redis not answering).
    errors: Vec<String>,
}

/// Connects with `query` (which asks for the merged stream) and reads until `live`.
async fn merged_viewer(server: &VgServe, query: &str) -> (Ws, Seen) {
    let mut ws = connect(&format!("{}?{query}", server.ws_url())).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, |frame, _| frame["type"] == "live").await;
    assert!(seen.cursor.is_some(), "hello carries the cursor");
    (ws, seen)
}

/// Reads frames into `seen` until `done(frame, seen)` (bounded by [`LIMIT`] as a whole).
async fn read_until(
    ws: &mut Ws,
    seen: &mut Seen,
    done: impl Fn(&serde_json::Value, &Seen) -> bool,
) {
    within("merged frames", async {
        loop {
            let text = match ws.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => panic!("closed: {frame:?}"),
                Some(Ok(_)) => continue,
                other => panic!("stream ended: {other:?}"),
            };
            let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
            match frame["type"].as_str() {
                Some("entries") => {
                    for entry in frame["entries"].as_array().unwrap() {
                        seen.entries.push((
                            entry["instance"].as_str().unwrap_or_default().to_owned(),
                            entry["message"].as_str().unwrap().to_owned(),
                        ));
                    }
                }
                Some("gap") => {
                    seen.gaps.push(frame["missed"].as_u64().unwrap());
                    seen.reasons
                        .push(frame["reason"].as_str().unwrap_or_default().to_owned());
                }
                Some("error") => seen.errors.push(frame["message"].to_string()),
                _ => {}
            }
            if let Some(cursor) = frame["cursor"].as_str() {
                seen.cursor = Some(cursor.to_owned());
            }
            if done(&frame, seen) {
                return;
            }
        }
    })
    .await;
}

async fn read_entries(ws: &mut Ws, seen: &mut Seen, count: usize) {
    read_until(ws, seen, |_, seen| seen.entries.len() >= count).await;
}

fn instance(redis: &RedisServer, name: &str, region: &str) -> VgServe {
    VgServe::start_with(
        "127.0.0.1:0",
        &["--redis", &redis.url()],
        &[("VG_INSTANCE", name), ("VG_REGION", region)],
    )
}

/// `n` lines from each instance, written in turns so their entries interleave in Redis.
fn write_from_each(servers: &mut [VgServe], names: &[&str], round: &str, n: usize) {
    for i in 0..n {
        for (server, name) in servers.iter_mut().zip(names) {
            server.write_lines([format!("{round} {name} {i}")]);
        }
    }
}

fn expected(names: &[&str], round: &str, n: usize) -> HashSet<(String, String)> {
    names
        .iter()
        .flat_map(|name| (0..n).map(move |i| (name.to_string(), format!("{round} {name} {i}"))))
        .collect()
}

/// Waits (bounded) until the stream holds `count` records.
async fn published(redis: &RedisServer, count: usize) {
    within("published", async {
        while redis.records("vg:logs").len() < count {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// `vg logs --json ARGS`, which must succeed: what it printed, as (instance, message).
fn logs_json(args: &[&str]) -> Vec<(String, String)> {
    let out = vg().args(["logs", "--json"]).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                entry["instance"].as_str().unwrap().to_owned(),
                entry["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Each entry once: as many as expected, and all of them.
fn assert_once_each(got: &[(String, String)], want: &HashSet<(String, String)>) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    let distinct: HashSet<_> = got.iter().cloned().collect();
    assert_eq!(&distinct, want);
}

#[tokio::test]
async fn three_instances_every_viewer_sees_all_entries_once_in_one_order() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let names = ["web-1", "web-2", "web-3"];
    let mut servers = vec![
        instance(&redis, "web-1", "ams"),
        instance(&redis, "web-2", "ams"),
        instance(&redis, "web-3", "nyc"),
    ];
    let mut viewers = Vec::new();
    for server in &servers {
        viewers.push(merged_viewer(server, "cursor=").await);
    }
    // Filters apply to the merged stream, the instance and region tags included.
    let (mut only_web2, mut seen_web2) = merged_viewer(&servers[0], "cursor=&instance=web-2").await;
    let (mut only_nyc, mut seen_nyc) = merged_viewer(&servers[1], "cursor=&region=nyc").await;

    write_from_each(&mut servers, &names, "live", 40);
    let want = expected(&names, "live", 40);
    for (ws, seen) in &mut viewers {
        read_entries(ws, seen, want.len()).await;
        assert_once_each(&seen.entries, &want);
    }
    // One order, whichever instance the viewer is on.
    assert_eq!(viewers[0].1.entries, viewers[1].1.entries);
    assert_eq!(viewers[0].1.entries, viewers[2].1.entries);
    // Each instance's own entries in the order it emitted them.
    for name in names {
        let own: Vec<_> = viewers[0]
            .1
            .entries
            .iter()
            .filter(|(i, _)| i == name)
            .collect();
        let in_order: Vec<_> = (0..40).map(|i| format!("live {name} {i}")).collect();
        assert_eq!(
            own.iter().map(|(_, m)| m).collect::<Vec<_>>(),
            in_order.iter().collect::<Vec<_>>()
        );
    }

    read_entries(&mut only_web2, &mut seen_web2, 40).await;
    assert_once_each(&seen_web2.entries, &expected(&["web-2"], "live", 40));
    read_entries(&mut only_nyc, &mut seen_nyc, 40).await;
    assert_once_each(&seen_nyc.entries, &expected(&["web-3"], "live", 40));
    assert!(
        viewers
            .iter()
            .all(|(_, seen)| seen.gaps.is_empty() && seen.errors.is_empty())
    );
}

#[tokio::test]
async fn a_record_in_redis_twice_reaches_a_merged_viewer_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut servers = [instance(&redis, "a", "eu"), instance(&redis, "b", "us")];
    let (mut ws, mut seen) = merged_viewer(&servers[1], "cursor=").await;
    write_from_each(&mut servers[..1], &["a"], "line", 3);
    published(&redis, 3).await;
    // What a publish retried past its dedupe key would leave: the second record again.
    let (_, fields) = &redis.records("vg:logs")[1];
    let mut again = redis::cmd("XADD");
    again.arg("vg:logs").arg("*");
    for (field, value) in fields {
        again.arg(field).arg(value);
    }
    let _: String = again.query(&mut redis.connection()).unwrap();
    write_from_each(&mut servers[..1], &["a"], "more", 2);
    read_until(&mut ws, &mut seen, |_, seen| {
        seen.entries.iter().any(|(_, m)| m == "more a 1")
    })
    .await;
    let mut want = expected(&["a"], "line", 3);
    want.extend(expected(&["a"], "more", 2));
    assert_once_each(&seen.entries, &want);
    assert!(seen.gaps.is_empty(), "{:?}", seen.gaps);
}

#[tokio::test]
async fn a_viewer_moved_to_another_instance_resumes_exactly_at_its_cursor() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let names = ["a", "b"];
    let mut servers = vec![instance(&redis, "a", "eu"), instance(&redis, "b", "us")];
    let (mut ws, mut seen) = merged_viewer(&servers[0], "cursor=").await;
    write_from_each(&mut servers, &names, "first", 30);
    read_entries(&mut ws, &mut seen, 60).await;
    assert_once_each(&seen.entries, &expected(&names, "first", 30));
    let cursor = seen.cursor.clone().unwrap();
    drop(ws);

    // Written while the viewer is away, then it comes back to the other instance.
    write_from_each(&mut servers, &names, "away", 30);
    let (mut ws, mut resumed) = merged_viewer(&servers[1], &format!("cursor={cursor}")).await;
    write_from_each(&mut servers, &names, "back", 10);
    read_entries(&mut ws, &mut resumed, 80).await;
    let mut want = expected(&names, "away", 30);
    want.extend(expected(&names, "back", 10));
    assert_once_each(&resumed.entries, &want);
    assert!(resumed.gaps.is_empty(), "{:?}", resumed.gaps);

    // Resuming twice from one cursor gives the same entries in the same order, on either instance.
    let (mut again, mut replay) = merged_viewer(&servers[0], &format!("cursor={cursor}")).await;
    read_entries(&mut again, &mut replay, 80).await;
    assert_eq!(replay.entries, resumed.entries);
}

#[tokio::test]
async fn a_cursor_redis_has_trimmed_past_gets_a_counted_gap() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut server = instance(&redis, "a", "eu");
    let (mut ws, mut seen) = merged_viewer(&server, "cursor=").await;
    server.write_lines((0..10).map(|i| format!("seen {i}")));
    read_entries(&mut ws, &mut seen, 10).await;
    let cursor = seen.cursor.clone().unwrap();
    drop(ws);

    server.write_lines((0..300).map(|i| format!("later {i}")));
    server.wait_emitted("later 299");
    // Wait (bounded) until all 310 are in Redis, then trim as retention would.
    published(&redis, 310).await;
    let _: u64 = redis::cmd("XTRIM")
        .arg("vg:logs")
        .arg("MAXLEN")
        .arg(5)
        .query(&mut redis.connection())
        .unwrap();

    let (_ws, resumed) = merged_viewer(&server, &format!("cursor={cursor}")).await;
    // 295 records after the cursor are gone: the gap counts at least those.
    assert_eq!(resumed.gaps.len(), 1, "{:?}", resumed.gaps);
    assert!(resumed.gaps[0] >= 295, "{:?}", resumed.gaps);
    let (mut ws, mut resumed) = (_ws, resumed);
    read_entries(&mut ws, &mut resumed, 5).await;
    let messages: Vec<_> = resumed.entries.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "later 295",
            "later 296",
            "later 297",
            "later 298",
            "later 299"
        ]
    );
}

#[tokio::test]
async fn vg_logs_on_one_instance_or_two_shows_every_instances_entries_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let names = ["a", "b"];
    let mut servers = vec![instance(&redis, "a", "eu"), instance(&redis, "b", "us")];
    write_from_each(&mut servers, &names, "line", 5);
    published(&redis, 10).await;
    let got = logs_json(&["--no-follow", "-n", "100", "--url", &servers[1].url()]);
    // All of them, in the Redis stream's order.
    let want: Vec<(String, String)> = redis
        .records("vg:logs")
        .iter()
        .map(|(_, fields)| {
            let entry: serde_json::Value = serde_json::from_str(&fields["e"]).unwrap();
            (
                fields["i"].clone(),
                entry["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_once_each(&got, &expected(&names, "line", 5));

    // `--since` alone backfills what matches from the merged stream too.
    let since = logs_json(&[
        "--no-follow",
        "--since",
        "1h",
        "--instance",
        "a",
        "--url",
        &servers[1].url(),
    ]);
    assert_eq!(since.len(), 5, "{since:?}");
    assert!(
        since.iter().all(|(instance, _)| instance == "a"),
        "{since:?}"
    );

    // Given two instances, each serving every instance's entries: each entry once all the same.
    let got = logs_json(&[
        "--no-follow",
        "-n",
        "100",
        "--url",
        &servers[0].url(),
        "--url",
        &servers[1].url(),
    ]);
    assert_once_each(&got, &expected(&names, "line", 5));
}

#[tokio::test]
async fn entries_an_instance_never_got_into_redis_are_a_counted_gap_for_merged_viewers() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mut a = instance(&redis, "a", "eu");
    let mut b = VgServe::start_with(
        "127.0.0.1:0",
        &["--redis", &redis.url(), "--redis-buffer", "10"],
        &[("VG_INSTANCE", "b"), ("VG_REGION", "us")],
    );
    let (mut ws, mut seen) = merged_viewer(&a, "cursor=").await;
    b.write_lines((0..5).map(|i| format!("before {i}")));
    read_entries(&mut ws, &mut seen, 5).await;

    // Redis goes away; b holds only its 10 newest of 50, and publishes them once Redis is back.
    redis.kill();
    b.write_lines((0..50).map(|i| format!("during {i}")));
    b.process.wait_stderr("is down");
    // All 50 stamped while Redis is away (a plain line is held briefly in case a continuation
    // follows, so the last may come a moment after the others): 40 over the buffer of 10.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let health = http(b.addr, "GET", "/healthz", &[], b"").await.json();
        if health["redis"]["overflow"].as_u64() >= Some(40) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "b never held 50: {health}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    redis.restart();
    b.process.wait_stderr("is back");
    a.write_lines(["a after"]);
    read_until(&mut ws, &mut seen, |_, seen| {
        seen.entries.iter().any(|(i, _)| i == "a")
    })
    .await;

    let during: Vec<&str> = seen
        .entries
        .iter()
        .filter(|(i, m)| i == "b" && m.starts_with("during"))
        .map(|(_, m)| m.as_str())
        .collect();
    assert!(!during.is_empty() && during.len() <= 10, "{during:?}");
    // What b never published is counted, exactly: with what arrived, all 50.
    let missed: u64 = seen.gaps.iter().sum();
    assert_eq!(
        missed + during.len() as u64,
        50,
        "{:?} {during:?}",
        seen.gaps
    );
    // Once each, in b's order.
    let numbers: Vec<u32> = during
        .iter()
        .map(|m| m["during ".len()..].parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
}

#[tokio::test]
async fn a_merged_viewer_arriving_while_redis_is_down_is_told_and_starts_once_it_is_back() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mut server = instance(&redis, "a", "eu");
    redis.kill();
    let mut ws = connect(&format!("{}?cursor=", server.ws_url())).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, |_, seen| !seen.errors.is_empty()).await;
    assert!(
        seen.errors[0].contains("Redis does not answer"),
        "{:?}",
        seen.errors
    );
    assert!(
        seen.cursor.is_none(),
        "no hello before Redis says where the stream stands"
    );

    redis.restart();
    read_until(&mut ws, &mut seen, |frame, _| frame["type"] == "live").await;
    assert!(seen.cursor.is_some());
    server.write_lines(["after"]);
    read_entries(&mut ws, &mut seen, 1).await;
    assert_eq!(seen.entries, [("a".to_owned(), "after".to_owned())]);
    assert_eq!(seen.errors.len(), 1, "said once: {:?}", seen.errors);
}

#[tokio::test]
async fn an_instance_back_from_a_crash_is_an_up_to_restart_gap_not_entries_known_lost() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("merged-crash");
    let data = dir.path().join("a");
    let start_a = || {
        VgServe::start_with(
            "127.0.0.1:0",
            &[
                "--redis",
                &redis.url(),
                "--data-dir",
                data.to_str().unwrap(),
            ],
            &[("VG_INSTANCE", "a"), ("VG_REGION", "eu")],
        )
    };
    let mut a = start_a();
    let b = instance(&redis, "b", "us");
    let (mut ws, mut seen) = merged_viewer(&b, "cursor=").await;
    a.write_lines((0..5).map(|i| format!("before {i}")));
    read_entries(&mut ws, &mut seen, 5).await;
    // Killed (SIGKILL, as dropping it does), then started again on its data dir: the same stream
    // identity, its seqs continuing past what the crash may have stamped.
    drop(a);
    let mut a = start_a();
    a.write_lines(["after"]);
    read_until(&mut ws, &mut seen, |_, seen| {
        seen.entries.iter().any(|(_, m)| m == "after")
    })
    .await;
    assert_eq!(seen.reasons, ["restart"], "gaps {:?}", seen.gaps);
    assert!(seen.gaps[0] > 0, "{:?}", seen.gaps);
    assert_eq!(seen.entries.len(), 6, "{:?}", seen.entries);
}

#[tokio::test]
async fn no_merge_shows_the_instances_own_entries_while_redis_is_down() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mut a = instance(&redis, "a", "eu");
    redis.kill();
    a.write_lines(["while redis is down"]);
    a.wait_emitted("while redis is down");
    let out = vg()
        .args(["logs", "--no-merge", "--no-follow", "--url", &a.url()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("while redis is down"),
        "{said}"
    );
}

#[tokio::test]
async fn vg_logs_no_follow_while_redis_is_down_ends_with_one_line_instead_of_waiting() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let server = instance(&redis, "a", "eu");
    redis.kill();
    let mut logs = vg()
        .args(["logs", "--no-follow", "--url", &server.url()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ended = wait_with_deadline(&mut logs, LIMIT);
    let mut said = String::new();
    std::io::Read::read_to_string(&mut logs.stderr.take().unwrap(), &mut said).unwrap();
    assert_eq!(ended.code(), Some(1), "{said}");
    assert!(said.contains("Redis does not answer"), "{said}");
}

#[tokio::test]
async fn a_merged_viewer_is_told_how_publishing_to_redis_goes() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mut server = instance(&redis, "web-1", "ord");
    let (mut ws, mut seen) = merged_viewer(&server, "cursor=").await;
    let mut states: Vec<serde_json::Value> = Vec::new();
    let next_state = async |ws: &mut Ws, seen: &mut Seen| {
        let found = std::cell::RefCell::new(None);
        read_until(ws, seen, |frame, _| {
            let done = frame["type"] == "redis";
            if done {
                *found.borrow_mut() = Some(frame.clone());
            }
            done
        })
        .await;
        found.into_inner().unwrap()
    };
    // Right after `hello`; the publisher says `up` once Redis answers (it asks while idle too).
    states.push(next_state(&mut ws, &mut seen).await);
    while states.last().unwrap()["state"] != "up" {
        assert!(states.len() < 30, "never up: {states:?}");
        states.push(next_state(&mut ws, &mut seen).await);
    }
    assert_eq!(states.last().unwrap()["buffered"], 0, "{states:?}");
    // An entry through Redis, so that nothing is waiting when it goes away.
    server.write_lines(["first"]);
    read_until(&mut ws, &mut seen, |_, seen| {
        seen.entries.iter().any(|(_, m)| m == "first")
    })
    .await;

    // Redis goes away while the instance has entries to publish: the viewer is told, with the count
    // waiting (the TUI's status bar shows it).
    redis.kill();
    server.write_lines((0..20).map(|i| format!("while down {i}")));
    let down = loop {
        let state = next_state(&mut ws, &mut seen).await;
        if state["state"] == "down" && state["buffered"] == 20 {
            break state;
        }
        assert!(states.len() < 30, "never down with 20 buffered: {states:?}");
        states.push(state);
    };
    assert_eq!(down["overflow"], 0, "{down}");
}

#[tokio::test]
async fn vg_logs_says_when_the_instance_cannot_publish_and_what_it_dropped_and_goes_on() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mut server = VgServe::start_with(
        "127.0.0.1:0",
        &["--redis", &redis.url(), "--redis-buffer", "10"],
        &[("VG_INSTANCE", "a"), ("VG_REGION", "eu")],
    );
    let logs = VgProcess::spawn(&["logs", "--json", "--url", &server.url()]);
    server.write_lines(["first"]);
    let line = logs.stdout.recv_timeout(LIMIT).expect("an entry on stdout");
    assert!(line.contains("first"), "{line}");

    // Redis goes away while the instance has 50 entries to publish and room for 10.
    redis.kill();
    server.write_lines((0..50).map(|i| format!("during {i}")));
    let said = logs.wait_stderr("cannot publish to Redis");
    assert!(said.starts_with("vg: redis: "), "{said}");
    let said = logs.wait_stderr("its full buffer could not hold");
    assert!(said.contains("since it started"), "{said}");

    // Back: said once, and the stream goes on (the state is news, not an error).
    redis.restart();
    logs.wait_stderr("publishes to Redis again");
    server.write_lines(["after"]);
    // Before it, the 10 or fewer entries the instance held.
    for _ in 0..=10 {
        let line = logs.stdout.recv_timeout(LIMIT).expect("entries on stdout");
        if line.contains("\"after\"") {
            return;
        }
    }
    panic!("the entry after Redis came back never arrived");
}
