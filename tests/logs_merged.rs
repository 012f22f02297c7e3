//! `vg logs --url A --url B` against two real `vg serve` processes that share nothing: one stream
//! in time order, each entry tagged with its server, and one server's restart leaving the other's
//! entries flowing, with its gap naming it.

#![cfg(all(feature = "server", feature = "cli"))]

mod support;

use support::*;

/// Posts entries `(timestamp, message)` to the server's ingest endpoint.
async fn post(server: &VgServe, entries: &[(&str, &str)]) {
    let body: String = entries
        .iter()
        .map(|(at, message)| {
            format!(
                "{}\n",
                serde_json::json!({"timestamp": at, "level": "info", "source": "api", "message": message})
            )
        })
        .collect();
    let reply = http(server.addr, "POST", "/api/logs", &[], body.as_bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// The next `n` entries `vg logs --json` printed, as (instance, message).
fn read(logs: &VgProcess, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|_| {
            let line = logs.stdout.recv_timeout(LIMIT).expect("an entry on stdout");
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
            (
                entry["instance"].as_str().unwrap_or_default().to_owned(),
                entry["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn tagged(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(i, m)| ((*i).to_owned(), (*m).to_owned()))
        .collect()
}

#[tokio::test]
async fn two_servers_merge_in_time_order_and_one_restarting_does_not_stop_the_other() {
    let a = VgServe::start("127.0.0.1:0", &[]);
    let b = VgServe::start("127.0.0.1:0", &[]);
    let (tag_a, tag_b) = (format!(":{}", a.addr.port()), format!(":{}", b.addr.port()));
    let (ta, tb) = (tag_a.as_str(), tag_b.as_str());
    // Each server's history, interleaved in time with the other's.
    post(
        &a,
        &[
            ("2026-02-05T18:00:00Z", "a0"),
            ("2026-02-05T18:00:02Z", "a2"),
            ("2026-02-05T18:00:04Z", "a4"),
        ],
    )
    .await;
    post(
        &b,
        &[
            ("2026-02-05T18:00:01Z", "b1"),
            ("2026-02-05T18:00:03Z", "b3"),
            ("2026-02-05T18:00:05Z", "b5"),
        ],
    )
    .await;

    let logs = VgProcess::spawn(&["logs", "--json", "--url", &a.url(), "--url", &b.url()]);
    assert_eq!(
        read(&logs, 6),
        tagged(&[
            (ta, "a0"),
            (tb, "b1"),
            (ta, "a2"),
            (tb, "b3"),
            (ta, "a4"),
            (tb, "b5")
        ]),
        "the two histories as one, in time order, each entry naming its server"
    );

    // Live: A's entry arrives first but is stamped after B's, which arrives a moment later
    // (within the 200 ms window): they come out in time order, so the window held A's back.
    post(&a, &[("2026-02-05T18:01:00.300Z", "a live")]).await;
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    post(&b, &[("2026-02-05T18:01:00.100Z", "b live")]).await;
    assert_eq!(read(&logs, 2), tagged(&[(tb, "b live"), (ta, "a live")]));

    // B goes away: vg logs says which server is down, and A's entries keep coming.
    let b_addr = b.addr.to_string();
    drop(b);
    let said = logs.wait_stderr("retrying until it is back");
    assert!(said.contains(&b_addr), "{said}");
    assert!(said.contains("1 of 2 servers down"), "{said}");
    post(&a, &[("2026-02-05T18:02:00Z", "a while b is down")]).await;
    assert_eq!(read(&logs, 1), tagged(&[(ta, "a while b is down")]));

    // B is back on the same address, with a history of its own: it resumes there.
    let b = VgServe::start(&b_addr, &[]);
    let said = logs.wait_stderr("reconnected");
    assert!(said.contains(&b_addr), "{said}");
    // Its new stream is a gap of B's, and the line says so.
    let said = logs.wait_stderr("server restarted");
    assert_eq!(
        said,
        format!("vg: {tb}: server restarted; a new stream began")
    );
    post(&b, &[("2026-02-05T18:03:00Z", "b after restart")]).await;
    post(&a, &[("2026-02-05T18:03:01Z", "a after restart")]).await;
    assert_eq!(
        read(&logs, 2),
        tagged(&[(tb, "b after restart"), (ta, "a after restart")])
    );
    if let Ok(extra) = logs
        .stdout
        .recv_timeout(std::time::Duration::from_millis(500))
    {
        panic!("an entry twice or unexpected: {extra}");
    }
}

#[tokio::test]
async fn a_finite_read_that_misses_a_server_prints_the_others_and_fails() {
    let a = VgServe::start("127.0.0.1:0", &[]);
    post(&a, &[("2026-02-05T18:00:00Z", "from a")]).await;
    // A port nothing listens on: reserved, then freed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = vg()
        .args(["logs", "--no-follow", "--url", &a.url()])
        .args(["--url", &format!("http://{closed}")])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("from a"),
        "{said}"
    );
    assert!(
        said.contains("not every server could be read (1 of 2)"),
        "{said}"
    );
}
