//! `vg serve --data-dir` as a real process, stopped the hard way (`kill -9`) and the polite way
//! (SIGTERM), then started again on the same dir: what a viewer and a poller see across it.

#![cfg(all(feature = "server", feature = "cli", unix))]

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{
    LIMIT, TempDir, announced_addr, close_code, connect, exit_within_limit, expect_hello, http,
    line_reader, seqs, until_live, vg, wait_with_deadline,
};
use vg::wire::GapReason;

/// `vg serve --data-dir DIR` on a free loopback port.
struct Serve {
    child: Child,
    addr: SocketAddr,
    /// What it said on stderr before it listened (what the data dir holds, what recovery did).
    said: Vec<String>,
    /// What it has said since.
    later: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Serve {
    fn start(data: &Path, extra: &[&str]) -> Serve {
        Serve::start_at("127.0.0.1:0", data, extra)
    }

    /// On `bind`: a server started again where its viewers look for it.
    fn start_at(bind: &str, data: &Path, extra: &[&str]) -> Serve {
        let mut child = vg()
            .args(["serve", "--bind", bind, "--data-dir"])
            .arg(data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = line_reader(child.stderr.take().unwrap());
        let mut said = Vec::new();
        let addr = loop {
            let line = stderr
                .recv_timeout(LIMIT)
                .unwrap_or_else(|_| panic!("vg serve never listened; it said {said:?}"));
            if line.contains("listening on") {
                break announced_addr(&line);
            }
            said.push(line);
        };
        // Later lines are read as they come, so the server never blocks on a full pipe.
        let later: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::default();
        let keep = std::sync::Arc::clone(&later);
        std::thread::spawn(move || {
            while let Ok(line) = stderr.recv() {
                keep.lock().unwrap().push(line);
            }
        });
        Serve {
            child,
            addr,
            said,
            later,
        }
    }

    /// SIGKILL: no chance to flush or close anything.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends the signal `kill -NAME` names.
    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGHUP, which asks a server to reload: this one has nothing to reload.
    fn hang_up(&self) {
        self.signal("HUP");
    }

    /// SIGTERM, as a platform stops a server, and waits for it to exit.
    fn stop(mut self) {
        self.signal("TERM");
        assert!(wait_with_deadline(&mut self.child, LIMIT).success());
    }

    async fn post(&self, lines: impl Iterator<Item = String>) {
        let body: String = lines.map(|l| l + "\n").collect();
        let reply = http(self.addr, "POST", "/api/logs", &[], body.as_bytes()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    /// Waits (bounded) until the disk holds seq `newest`: written, so a kill cannot take it.
    async fn written(&self, newest: u64) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let health = http(self.addr, "GET", "/healthz", &[], b"").await.json();
            if health["disk"]["newest_seq"].as_u64() >= Some(newest) {
                return;
            }
            assert!(Instant::now() < deadline, "never written: {health}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `/healthz`'s `disk` figures once `done` holds for them (bounded).
    async fn disk_when(&self, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + LIMIT;
        loop {
            let disk = http(self.addr, "GET", "/healthz", &[], b"").await.json()["disk"].clone();
            if done(&disk) {
                return disk;
            }
            assert!(Instant::now() < deadline, "healthz never got there: {disk}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether it has said a line containing `text` since it listened.
    fn has_said(&self, text: &str) -> bool {
        self.later.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// A viewer's `follow=false` stream with `query`: its boot, seqs and gaps.
    async fn read(&self, query: &str) -> (String, Vec<u64>, Vec<vg::wire::Gap>) {
        let url = format!("ws://{}/api/logs/stream?follow=false&{query}", self.addr);
        let mut ws = connect(&url).await;
        let hello = expect_hello(&mut ws).await;
        let (entries, gaps) = until_live(&mut ws).await;
        assert_eq!(close_code(&mut ws).await, Some(1000));
        (hello.boot, seqs(&entries), gaps)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(range: std::ops::RangeInclusive<u64>) -> impl Iterator<Item = String> {
    range.map(|i| format!(r#"{{"level":"info","source":"app","message":"m{i}"}}"#))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_written_before_a_kill_9_survive_with_their_seqs_and_resume_is_exact() {
    let dir = TempDir::new("kill9");
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    server.post(lines(1..=3000)).await;
    server.written(3000).await;
    let (boot, _, _) = server.read("tail=1").await;
    server.kill_9();

    let server = Serve::start(&data, &[]);
    let said = server.said.join("\n");
    assert!(
        said.contains("3000 entries on disk (seqs 1-3000)"),
        "{said}"
    );
    assert!(said.contains("seqs 3001-"), "{said}");
    // Every entry written is back, in order, with its seq and its content.
    let reply = http(server.addr, "GET", "/api/logs?limit=10000", &[], b"").await;
    let back = reply.json();
    let back = back.as_array().unwrap();
    assert_eq!(back.len(), 3000);
    for (i, entry) in back.iter().enumerate() {
        let seq = i as u64 + 1;
        assert_eq!(entry["seq"].as_u64(), Some(seq));
        assert_eq!(entry["message"].as_str(), Some(format!("m{seq}").as_str()));
    }
    // A viewer that had seq 2500 resumes: the rest exactly once, then what the crash may have
    // taken, counted, as one restart gap; the same stream (boot), no restart notice without seqs.
    let (again, got, gaps) = server.read(&format!("after=2500&boot={boot}")).await;
    assert_eq!(again, boot);
    assert_eq!(got, (2501..=3000).collect::<Vec<_>>());
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let gap = &gaps[0];
    assert_eq!(gap.reason, GapReason::Restart);
    assert_eq!(gap.from_seq, Some(3001));
    let to = gap.to_seq.unwrap();
    assert_eq!(gap.missed, to - 3000);
    // New entries are stamped above anything the killed server could have given.
    server.post(lines(3001..=3001)).await;
    server.written(to + 1).await;
    let (_, got, gaps) = server.read(&format!("after={to}&boot={boot}")).await;
    assert_eq!(got, [to + 1]);
    assert!(gaps.is_empty());
}

/// `vg logs -f` as a child process: what it printed on stdout and on stderr so far.
struct Follower {
    child: Child,
    stdout: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::mpsc::Receiver<String>,
    printed: Vec<String>,
    said: Vec<String>,
}

impl Follower {
    fn start(addr: SocketAddr) -> Follower {
        let mut child = vg()
            .args(["logs", "--json", "-n", "10000", "--url"])
            .arg(format!("http://{addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Follower {
            stdout: line_reader(child.stdout.take().unwrap()),
            stderr: line_reader(child.stderr.take().unwrap()),
            child,
            printed: Vec::new(),
            said: Vec::new(),
        }
    }

    /// Reads (bounded) until `count` entries have been printed; returns their messages.
    fn until_printed(&mut self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + LIMIT;
        while self.printed.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .stdout
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => self.printed.push(line),
                Err(_) if Instant::now() < deadline => {}
                Err(_) => panic!(
                    "printed {} of {count}; stderr: {:?}",
                    self.printed.len(),
                    self.stderr()
                ),
            }
        }
        self.printed
            .iter()
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).unwrap();
                entry["message"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// What it has said on stderr so far.
    fn stderr(&mut self) -> Vec<String> {
        self.said.extend(self.stderr.try_iter());
        self.said.clone()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vg_logs_follows_a_server_through_a_deploy_and_a_kill_9_as_one_stream() {
    let dir = TempDir::new("follow");
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let (addr, bind) = (server.addr, server.addr.to_string());
    server.post(lines(1..=200)).await;
    server.written(200).await;
    let mut follower = Follower::start(addr);
    follower.until_printed(200);

    // A deploy: stopped politely, started again on the same dir and address.
    server.stop();
    let server = Serve::start_at(&bind, &data, &[]);
    server.post(lines(201..=300)).await;
    let messages = follower.until_printed(300);
    let want: Vec<String> = (1..=300).map(|i| format!("m{i}")).collect();
    assert_eq!(messages, want, "every entry once, in order");
    let said = follower.stderr().join("\n");
    assert!(
        !said.contains("missed") && !said.contains("new stream"),
        "a deploy is invisible: {said}"
    );

    // A crash: what was written is not shown again; what the killed server may have stamped and
    // not written is one counted gap, said once; then the stream goes on.
    server.written(300).await;
    server.kill_9();
    let server = Serve::start_at(&bind, &data, &[]);
    server.post(lines(301..=400)).await;
    let messages = follower.until_printed(400);
    let want: Vec<String> = (1..=400).map(|i| format!("m{i}")).collect();
    assert_eq!(messages, want, "every entry once, in order");
    let said = follower.stderr();
    let gaps: Vec<&String> = said.iter().filter(|l| l.contains("missed")).collect();
    assert_eq!(gaps.len(), 1, "{said:?}");
    assert!(
        gaps[0].contains("restarted after a crash") && gaps[0].contains("up to"),
        "{said:?}"
    );
    assert!(!said.iter().any(|l| l.contains("new stream")), "{said:?}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vg_serve_says_what_recovery_did_serves_the_rest_and_refuses_a_newer_dir() {
    let dir = TempDir::new("recover");
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    server.post(lines(1..=200)).await;
    server.written(200).await;
    server.stop();
    // A byte flipped in the middle of the segment, and its end torn off mid-record (the last 25
    // bytes are the lease recorded at the stop, the 20 before them part of seq 200's record).
    let segment = support::segments(&data).pop().unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    bytes.truncate(bytes.len() - 25 - 20);
    std::fs::write(&segment, &bytes).unwrap();

    let server = Serve::start(&data, &[]);
    let said = server.said.join("\n");
    let name = segment.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        said.contains(&format!("{name}: cut a torn record off the end")),
        "{said}"
    );
    assert!(
        said.contains(&format!("{name}: skipped a damaged record at offset")),
        "{said}"
    );
    // Everything else is served, in order.
    let back = http(server.addr, "GET", "/api/logs?limit=1000", &[], b"")
        .await
        .seqs();
    assert_eq!(back.len(), 198, "all but the damaged and the torn record");
    assert!(back.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(back.last(), Some(&199));
    server.stop();

    // A data dir a newer vg wrote: one line saying what to do, and no server.
    let segment = support::segments(&data).pop().unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[8] = 99;
    std::fs::write(&segment, &bytes).unwrap();
    let said = refused(&data);
    assert!(
        said.contains("newer vg") && said.contains("upgrade vg"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_that_cannot_be_written_leaves_live_streaming_going_counted_and_said() {
    let dir = TempDir::new("unwritable");
    let data = dir.path().join("data");
    let server = Serve::start(&data, &["--segment-bytes", "16KiB"]);
    server.post(lines(1..=100)).await;
    server.written(100).await;
    let mut follower = Follower::start(server.addr);
    follower.until_printed(100);

    // The dir goes away under the server (an unmounted volume, a cleanup gone wrong): nothing
    // more can be written, not even to the file it had open, and every entry is counted.
    std::fs::remove_dir_all(&data).unwrap();
    server.post(lines(101..=600)).await;
    let disk = server
        .disk_when(|d| d["writing"] == false && d["not_written"] == 500)
        .await;
    assert!(disk["write_errors"].as_u64() > Some(0), "{disk}");
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await.body;
    for line in ["vg_disk_writing 0", "vg_disk_not_written_entries_total 500"] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    let deadline = Instant::now() + LIMIT;
    while !server.has_said("cannot write history to") {
        assert!(Instant::now() < deadline, "never said: {:?}", server.later);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Viewers get every entry all the same.
    let want: Vec<String> = (1..=600).map(|i| format!("m{i}")).collect();
    assert_eq!(follower.until_printed(600), want);

    // It can write again: it does, without a restart, and says so once writes have settled.
    std::fs::create_dir_all(&data).unwrap();
    server.post(lines(601..=700)).await;
    let disk = server.disk_when(|d| d["writing"] == true).await;
    let not_written = disk["not_written"].as_u64().unwrap();
    assert_eq!(not_written, 500, "{disk}");
    assert!(
        !support::segments(&data).is_empty(),
        "a new segment in the dir"
    );
    // The dir is this server's again: a second server is refused, as before.
    let said = refused(&data);
    assert!(said.contains("in use by another vg server"), "{said}");
    assert!(data.join("stream").exists());
    tokio::time::sleep(Duration::from_millis(5200)).await;
    server.post(lines(701..=710)).await;
    let deadline = Instant::now() + LIMIT;
    while !server.has_said("writing history to") {
        assert!(
            Instant::now() < deadline,
            "never said it writes again: {:?}",
            server.later
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        server.has_said(&format!(
            "{not_written} entries could not be written meanwhile"
        )),
        "{:?}",
        server.later
    );
    assert_eq!(follower.until_printed(710).len(), 710);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_nothing_to_reload_leaves_the_server_serving_and_its_stop_clean() {
    let dir = TempDir::new("sighup");
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    server.post(lines(1..=20)).await;
    server.hang_up();
    // Still serving after it (a SIGHUP that ended the process would fail this post).
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.post(lines(21..=40)).await;
    server.written(40).await;
    server.stop();

    let server = Serve::start(&data, &[]);
    let said = server.said.join("\n");
    assert!(said.contains("continuing at seq 41"), "{said}");
    assert!(!said.contains("did not stop cleanly"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_restart_is_invisible_to_a_resuming_viewer() {
    let dir = TempDir::new("sigterm");
    let data = dir.path().join("data");
    let server = Serve::start(&data, &["--fsync", "always"]);
    server.post(lines(1..=500)).await;
    server.written(500).await;
    let (boot, _, _) = server.read("tail=1").await;
    server.stop();

    let server = Serve::start(&data, &["--fsync", "always"]);
    let said = server.said.join("\n");
    assert!(said.contains("continuing at seq 501"), "{said}");
    assert!(!said.contains("recovered"), "{said}");
    server.post(lines(501..=510)).await;
    server.written(510).await;
    let (again, got, gaps) = server.read(&format!("after=400&boot={boot}")).await;
    assert_eq!(again, boot);
    assert_eq!(got, (401..=510).collect::<Vec<_>>());
    assert!(gaps.is_empty(), "{gaps:?}");
}

#[test]
fn a_retention_of_nothing_is_refused_in_one_line_before_the_dir_is_touched() {
    let dir = TempDir::new("retention0");
    let data = dir.path().join("data");
    for flags in [
        ["--retention-bytes", "0"],
        ["--retention-age", "0s"],
        ["--retention-bytes", "10"],
    ] {
        let out = vg()
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("would keep only the segment being written")
                || said.contains("no sealed history would be kept"),
            "{said}"
        );
        assert!(!data.exists(), "{flags:?}");
    }
    // Without a data dir there is nothing to retain: said, not ignored.
    let out = vg()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--retention-bytes",
            "5MiB",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data-dir"));
}

#[test]
fn a_second_server_on_the_same_data_dir_refuses_in_one_line() {
    let dir = TempDir::new("twice");
    let data = dir.path().join("data");
    let _first = Serve::start(&data, &[]);
    let said = refused(&data);
    assert!(said.contains("in use by another vg server"), "{said}");
}

/// `vg serve` on `data`, which must refuse to start: exit 1 and one line, returned.
fn refused(data: &Path) -> String {
    let (status, said) = exit_within_limit(
        vg().args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data),
    );
    assert_eq!(status.code(), Some(1), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    said
}

/// `vg demo` with `VG_DATA_DIR`: what it seeds and emits is there after a graceful stop, and the
/// next start continues the stream instead of making up its past again.
#[test]
fn vg_demo_keeps_its_stream_in_the_data_dir_across_a_restart() {
    let dir = TempDir::new("demo-data");
    let data = dir.path().join("data");
    let start = || {
        let mut child = vg()
            .args(["demo", "--no-tui", "--bind", "127.0.0.1:0"])
            .env("VG_DATA_DIR", &data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = line_reader(child.stderr.take().unwrap());
        let said = support::wait_line(&stderr, "history in");
        support::wait_line(&stderr, "serving synthetic logs");
        (child, said, stderr)
    };
    let stop = |child: &mut Child, stderr: &std::sync::mpsc::Receiver<String>| {
        let pid = child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        // Say how it ended (a code, or the signal that killed it) if it did not end well: a
        // SIGTERM taken before the handler is in place would show here as signal 15.
        let ended = wait_with_deadline(child, LIMIT);
        let rest: Vec<String> = stderr.try_iter().collect();
        assert!(
            ended.success(),
            "vg demo did not stop cleanly on SIGTERM: {ended:?}; it said: {rest:#?}"
        );
    };
    let (mut first, said, first_err) = start();
    assert!(said.contains("(empty)"), "{said}");
    stop(&mut first, &first_err);
    let (mut second, said, second_err) = start();
    // Seeded once (at least 50 entries), written in full, continued right after.
    let seqs = said
        .split("(seqs 1-")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(seqs >= 50, "{said}");
    assert!(
        said.contains(&format!("continuing at seq {}", seqs + 1)),
        "{said}"
    );
    stop(&mut second, &second_err);
}
