//! Durable history in this process: real segment files in temp dirs, an emitter opened, dropped
//! (a graceful stop) and opened again, files damaged between starts the way crashes and bad disks
//! damage them, and what a viewer then receives through the gateway.

#![cfg(feature = "server")]

mod support;

use std::path::Path;
use std::time::Duration;

use support::{
    TempDir, TestApp, at, crash_image, emit_paced, fill, open_with, resume, segments, within,
    written,
};
use vg::server::{DiskConfig, DiskError, Emitter, Gateway, GatewayConfig};
use vg::wire::GapReason;
use vg::{Level, LogEntry};

fn open(dir: &Path) -> Emitter {
    open_with(DiskConfig::new(dir)).unwrap()
}

#[tokio::test]
async fn a_graceful_restart_continues_the_stream_with_the_same_boot_and_no_gap() {
    let dir = TempDir::new("disk-graceful");
    let emitter = open(dir.path());
    let boot = emitter.boot().to_owned();
    assert_eq!(fill(&emitter, 1000), 1000);
    drop(emitter);

    let emitter = open(dir.path());
    assert_eq!(emitter.boot(), boot, "the stream's identity changed");
    assert_eq!(emitter.log(Level::Info, "t", "after the restart"), 1001);
    written(&emitter, 1001);
    let (seqs, gaps) = resume(&emitter, &format!("after=400&boot={boot}")).await;
    assert_eq!(seqs, (401..=1001).collect::<Vec<_>>());
    assert!(gaps.is_empty(), "gaps after a graceful restart: {gaps:?}");
    // Entries read back from disk are the ones written.
    let back = emitter.history().forward(500, 500, 1);
    assert_eq!(back[0].message, "m500");
    assert_eq!(back[0].timestamp, at(500));
}

#[tokio::test]
async fn a_torn_last_record_is_cut_counted_and_the_rest_served() {
    let dir = TempDir::new("disk-torn");
    let emitter = open(dir.path());
    let boot = emitter.boot().to_owned();
    fill(&emitter, 100);
    drop(emitter);
    // The process died in the middle of writing seq 100: cut the file inside that record (the
    // last 25 bytes are the lease recorded at the graceful stop, then seq 100's record).
    let segment = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&segment).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 25 - 20).unwrap();
    drop(file);

    let emitter = open(dir.path());
    let stats = emitter.disk_stats().unwrap();
    assert!(stats.torn_bytes > 0, "{stats:?}");
    assert!(
        stats.recovery.iter().any(|n| n.contains("torn")),
        "{:?}",
        stats.recovery
    );
    assert_eq!(stats.newest_seq, Some(99));
    let (seqs, gaps) = resume(&emitter, &format!("after=50&boot={boot}")).await;
    assert_eq!(seqs, (51..=99).collect::<Vec<_>>());
    // Seq 100 and whatever the lease covered are reported lost at the restart, exactly once.
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let (reason, missed, from, to) = gaps[0];
    assert_eq!((reason, from), (GapReason::Restart, 100));
    assert_eq!(missed, to - from + 1);
    // The next seq is above everything the dead start could have given.
    let next = emitter.log(Level::Info, "t", "next");
    assert_eq!(next, to + 1);
}

#[tokio::test]
async fn a_flipped_byte_mid_segment_is_reported_skipped_and_the_rest_served() {
    let dir = TempDir::new("disk-flip");
    let emitter = open(dir.path());
    fill(&emitter, 200);
    drop(emitter);
    let segment = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&segment, &bytes).unwrap();

    let emitter = open(dir.path());
    let stats = emitter.disk_stats().unwrap();
    assert_eq!(stats.damaged_records, 1, "{stats:?}");
    let name = segment.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stats
            .recovery
            .iter()
            .any(|n| n.contains(&name) && n.contains("offset")),
        "{:?}",
        stats.recovery
    );
    let (seqs, gaps) = resume(&emitter, "after=0").await;
    assert_eq!(seqs.len(), 199, "all but the damaged record");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let (reason, missed, from, to) = gaps[0];
    assert_eq!(
        (reason, missed, from, to),
        (GapReason::Evicted, 1, from, from)
    );
    assert!(!seqs.contains(&from));
    assert_eq!(*seqs.last().unwrap(), 200);
}

#[test]
fn a_dir_from_a_newer_format_is_refused_with_a_clear_message() {
    let dir = TempDir::new("disk-newer");
    let emitter = open(dir.path());
    fill(&emitter, 3);
    drop(emitter);
    let segment = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[8] = 9;
    std::fs::write(&segment, &bytes).unwrap();
    let error = open_with(DiskConfig::new(dir.path())).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, DiskError::NewerFormat { version: 9, .. }));
    assert!(message.contains("newer vg"), "{message}");
    assert!(message.contains("upgrade vg"), "{message}");
}

#[test]
fn a_second_server_on_the_same_dir_is_refused_until_the_first_stops() {
    let dir = TempDir::new("disk-lock");
    let first = open(dir.path());
    let error = open_with(DiskConfig::new(dir.path())).unwrap_err();
    assert!(matches!(error, DiskError::Locked { .. }));
    assert!(error.to_string().contains("in use by another vg server"));
    drop(first);
    let second = open(dir.path());
    assert_eq!(second.log(Level::Info, "t", "mine now"), 1);
}

#[tokio::test]
async fn retention_by_size_evicts_whole_oldest_segments_and_a_resume_there_gets_a_counted_gap() {
    let dir = TempDir::new("disk-retain");
    let disk = DiskConfig::new(dir.path())
        .segment_bytes(8 * 1024)
        .retention(32 * 1024, Duration::from_secs(3600));
    let emitter = open_with(disk).unwrap();
    let boot = emitter.boot().to_owned();
    fill(&emitter, 3000);
    let stats = emitter.disk_stats().unwrap();
    // Never more than the limit plus the segment being written.
    assert!(stats.bytes <= 32 * 1024 + 8 * 1024 + 1024, "{stats:?}");
    let oldest = stats.oldest_seq.unwrap();
    assert!(oldest > 1, "nothing was evicted: {stats:?}");
    // The files go right after the catalog lets go of them.
    let deadline = std::time::Instant::now() + support::LIMIT;
    while segments(dir.path()).len() != emitter.disk_stats().unwrap().segments {
        assert!(std::time::Instant::now() < deadline, "evicted files stay");
        std::thread::sleep(Duration::from_millis(2));
    }
    let (seqs, gaps) = resume(&emitter, &format!("after=10&boot={boot}")).await;
    assert_eq!(gaps, [(GapReason::Evicted, oldest - 11, 11, oldest - 1)]);
    assert_eq!(seqs, (oldest..=3000).collect::<Vec<_>>());
}

#[test]
fn retention_by_age_deletes_segments_last_written_too_long_ago() {
    let dir = TempDir::new("disk-age");
    let disk = DiskConfig::new(dir.path())
        .segment_bytes(8 * 1024)
        .retention(1 << 30, Duration::ZERO);
    let emitter = open_with(disk).unwrap();
    fill(&emitter, 2000);
    // Every sealed segment is older than zero: only the one being written is left.
    let stats = emitter.disk_stats().unwrap();
    assert_eq!(stats.segments, 1, "{stats:?}");
    assert!(stats.oldest_seq.unwrap() > 1);
}

#[tokio::test]
async fn retention_by_age_keeps_what_is_younger_and_a_resume_into_what_went_gets_a_counted_gap() {
    let dir = TempDir::new("disk-age-gap");
    let disk = DiskConfig::new(dir.path())
        .segment_bytes(8 * 1024)
        .retention(1 << 30, Duration::from_secs(2));
    let emitter = open_with(disk).unwrap();
    let boot = emitter.boot().to_owned();
    fill(&emitter, 1000);
    // Everything written so far grows older than the limit; what comes next is younger.
    std::thread::sleep(Duration::from_millis(2500));
    let newest = emit_paced(
        &emitter,
        (1001..=2000).map(|i| LogEntry::new(Level::Info, "t", format!("m{i}"))),
    );
    let stats = emitter.disk_stats().unwrap();
    let oldest = stats.oldest_seq.unwrap();
    assert!(oldest > 1 && oldest <= 1001, "{stats:?}");
    assert!(stats.segments > 1, "the young segments stay: {stats:?}");
    let (seqs, gaps) = resume(&emitter, &format!("after=10&boot={boot}")).await;
    assert_eq!(gaps, [(GapReason::Evicted, oldest - 11, 11, oldest - 1)]);
    assert_eq!(seqs, (oldest..=newest).collect::<Vec<_>>());
}

#[tokio::test]
async fn since_and_until_windows_are_exact_across_segment_boundaries() {
    let dir = TempDir::new("disk-window");
    let disk = DiskConfig::new(dir.path()).segment_bytes(4 * 1024);
    let emitter = open_with(disk.clone()).unwrap();
    fill(&emitter, 600);
    drop(emitter);
    // Read back after a restart: everything comes from disk, across several segments.
    let emitter = open_with(disk).unwrap();
    assert!(emitter.disk_stats().unwrap().segments >= 5);
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default());
    let app = TestApp::with_router(emitter.clone(), gateway.clone(), gateway.router());
    within("windows", async {
        for first in (1..=560).step_by(7) {
            let last = first + 37;
            let target = format!(
                "/api/logs?since={}&until={}&limit=1000",
                at(first).timestamp(),
                at(last).timestamp()
            );
            let seqs = app.request("GET", &target, &[], b"").await.seqs();
            let expected: Vec<u64> = (first..=last).map(|s| u64::try_from(s).unwrap()).collect();
            assert_eq!(seqs, expected, "window {first}-{last}");
        }
    })
    .await;
}

#[tokio::test]
async fn two_crashes_in_a_row_are_one_counted_restart_gap_and_no_seq_is_given_twice() {
    let dir = TempDir::new("disk-crashes");
    let (first, second, third) = (
        dir.path().join("1"),
        dir.path().join("2"),
        dir.path().join("3"),
    );
    let running = open(&first);
    let boot = running.boot().to_owned();
    fill(&running, 100);
    crash_image(&first, &second);
    // The crashed server had stamped 5 more that never reached the disk.
    for i in 0..5 {
        running.log(Level::Info, "t", format!("lost {i}"));
    }
    drop(running);

    // Started on the image, it dies again before writing anything.
    let restarted = open(&second);
    assert_eq!(restarted.boot(), boot);
    crash_image(&second, &third);
    drop(restarted);

    let emitter = open(&third);
    let (seqs, gaps) = resume(&emitter, &format!("after=90&boot={boot}")).await;
    assert_eq!(seqs, (91..=100).collect::<Vec<_>>());
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let (reason, missed, from, to) = gaps[0];
    assert_eq!((reason, from, missed), (GapReason::Restart, 101, to - 100));
    // Above the five the first server stamped, and above anything the second could have.
    assert!(to >= 105);
    assert_eq!(emitter.log(Level::Info, "t", "next"), to + 1);
}

#[tokio::test]
async fn the_stats_endpoint_gives_the_disk_figures_to_token_holders_only() {
    let dir = TempDir::new("disk-stats");
    let emitter = open(dir.path());
    fill(&emitter, 300);
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default().token("s3cret"));
    let app = TestApp::with_router(emitter.clone(), gateway.clone(), gateway.router());
    let refused = app.request("GET", "/api/logs/stats", &[], b"").await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    let auth = [("Authorization", "Bearer s3cret")];
    let reply = app.request("GET", "/api/logs/stats", &auth, b"").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let stats = reply.json();
    let expected = emitter.disk_stats().unwrap();
    assert_eq!(stats["segments"], 1);
    assert_eq!(stats["bytes"], expected.bytes);
    assert!(expected.bytes > 300 * 30, "{expected:?}");
    assert_eq!(
        (stats["oldest_seq"].as_u64(), stats["newest_seq"].as_u64()),
        (Some(1), Some(300))
    );
    assert_eq!(stats["oldest_time"], serde_json::to_value(at(1)).unwrap());
    assert_eq!(stats["newest_time"], serde_json::to_value(at(300)).unwrap());
    assert_eq!(
        (stats["written"].as_u64(), stats["write_errors"].as_u64()),
        (Some(300), Some(0))
    );

    // Without a data dir there is nothing to report, and the reply says how to get it.
    let memory = support::TestApp::new(support::emitter_config(), GatewayConfig::default());
    let reply = memory.request("GET", "/api/logs/stats", &[], b"").await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("--data-dir"),
        "{}",
        reply.body
    );
}
