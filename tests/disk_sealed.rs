//! Sealed segments: full segments compressed (zstd frames) with their own index, read back the same,
//! a start that reads only their indexes, damage found by reads and reported, windows exact at frame
//! and segment boundaries, and data dirs of formats 1 and 2 (entries as JSON) still read.

#![cfg(feature = "server")]

mod support;

use std::sync::Arc;

use support::{
    TempDir, TestApp, at, emit_paced, fill, is_sealed, open_with, resume, sealed, segments, within,
};
use vg::server::{DiskConfig, Gateway, GatewayConfig};
use vg::wire::GapReason;
use vg::{Level, LogEntry};

#[path = "../benches/support/entries.rs"]
mod entries;

/// Everything the history holds, by seq.
fn read_all(emitter: &vg::server::Emitter) -> Vec<Arc<LogEntry>> {
    let history = emitter.history();
    let mut all = Vec::new();
    let mut next = 1;
    loop {
        let chunk = history.forward(next, u64::MAX, 1000);
        let Some(last) = chunk.last().and_then(|e| e.seq) else {
            return all;
        };
        all.extend(chunk);
        next = last + 1;
    }
}

#[test]
fn sealed_segments_take_under_a_third_of_the_json_and_read_back_the_same() {
    let dir = TempDir::new("seal-ratio");
    let disk = DiskConfig::new(dir.path()).segment_bytes(512 * 1024);
    let emitter = open_with(disk.clone()).unwrap();
    // Request lines, job and query messages with request ids, paths, users and durations: about
    // 290 bytes of JSON each, as an HTTP service logs them.
    let originals: Vec<LogEntry> = (1..=20_000).map(entries::entry).collect();
    let json: usize = originals.iter().map(|e| e.to_json().len() + 1).sum();
    emit_paced(&emitter, originals.iter().cloned());
    drop(emitter);
    // The segment the last start wrote is sealed after this start; only the new one stays open.
    let emitter = open_with(disk).unwrap();
    sealed(&emitter);
    let files = segments(dir.path());
    let (open, sealed): (Vec<_>, Vec<_>) = files.iter().partition(|p| !is_sealed(p));
    assert_eq!(open.len(), 1, "only the segment being written stays open");
    assert!(sealed.len() >= 5, "{files:?}");
    let bytes: u64 = sealed
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let ratio = bytes as f64 / json as f64;
    assert!(ratio <= 0.3, "sealed: {ratio:.3}x the JSON");
    let stats = emitter.disk_stats().unwrap();
    assert_eq!(stats.entries, 20_000, "{stats:?}");
    assert_eq!(
        stats.bytes,
        bytes + std::fs::metadata(open[0]).unwrap().len()
    );

    let back = read_all(&emitter);
    assert_eq!(back.len(), originals.len());
    for (seq, (read, original)) in (1..).zip(back.iter().zip(&originals)) {
        let mut expected = original.clone();
        expected.seq = Some(seq);
        assert_eq!(**read, expected, "seq {seq}");
    }
}

#[tokio::test]
async fn a_start_reads_only_indexes_and_a_damaged_frame_is_reported_by_the_read_that_meets_it() {
    let dir = TempDir::new("seal-damage");
    let disk = DiskConfig::new(dir.path()).segment_bytes(64 * 1024);
    let emitter = open_with(disk.clone()).unwrap();
    let boot = emitter.boot().to_owned();
    fill(&emitter, 6000);
    sealed(&emitter);
    let before = emitter.disk_stats().unwrap();
    assert!(before.sealed >= 2, "{before:?}");
    drop(emitter);
    // The first frame of the first segment holds its first entries: hit its compressed bytes.
    let first = segments(dir.path()).remove(0);
    assert!(is_sealed(&first));
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[16 + 40] ^= 0x55;
    std::fs::write(&first, &bytes).unwrap();

    let emitter = open_with(disk).unwrap();
    let stats = emitter.disk_stats().unwrap();
    // The start did not read the frames: it found nothing wrong, and lists all it held.
    assert!(stats.recovery.is_empty(), "{:?}", stats.recovery);
    assert_eq!((stats.damaged_records, stats.damaged_frames), (0, 0));
    assert_eq!(stats.segments, before.segments + 1);
    assert_eq!(
        (stats.entries, stats.oldest_seq, stats.newest_seq),
        (6000, Some(1), Some(6000))
    );

    let (seqs, gaps) = resume(&emitter, &format!("after=0&boot={boot}")).await;
    let stats = emitter.disk_stats().unwrap();
    assert_eq!(stats.damaged_frames, 1, "{stats:?}");
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stats
            .damage
            .iter()
            .any(|n| n.contains(&name) && n.contains("offset 16")),
        "{:?}",
        stats.damage
    );
    // The frame's entries are one gap; everything after it is served.
    let resumed = *seqs.first().unwrap();
    assert!(
        resumed > 100,
        "a frame holds hundreds of entries: {resumed}"
    );
    assert_eq!(seqs, (resumed..=6000).collect::<Vec<_>>());
    assert_eq!(
        gaps,
        [(GapReason::Evicted, resumed - 1, 1, resumed - 1)],
        "one gap for the damaged frame"
    );
}

#[tokio::test]
async fn windows_are_exact_at_every_frame_and_segment_boundary_of_sealed_segments() {
    let dir = TempDir::new("seal-window");
    let disk = DiskConfig::new(dir.path()).segment_bytes(256 * 1024);
    let emitter = open_with(disk.clone()).unwrap();
    let count = 15_000;
    fill(&emitter, count);
    drop(emitter);
    let emitter = open_with(disk).unwrap();
    sealed(&emitter);
    // Every entry is read from a sealed segment (of a few frames each).
    let stats = emitter.disk_stats().unwrap();
    assert!(
        stats.sealed >= 2 && stats.sealed + 1 == stats.segments,
        "{stats:?}"
    );
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default());
    let app = TestApp::with_router(emitter.clone(), gateway.clone(), gateway.router());
    // Where frames and segments begin and end, from the sealed segments' indexes
    // (docs/storage.md): every one is tested below, besides entries all along.
    let edges = frame_edges(dir.path());
    assert!(edges.len() > 2 * stats.sealed, "{edges:?}");
    // A `since` seek lands exactly on the first entry at or after it, wherever that is in its
    // frame or segment (only record heads are read to find it, nothing decoded).
    let history = emitter.history();
    for s in (1..=count).step_by(11).chain(edges.iter().copied()) {
        let since = at(i64::try_from(s).unwrap());
        assert_eq!(history.seek_time(since), Some(s), "seek to {s}");
        // Between two entries' times: the later one.
        let between = since - chrono::Duration::milliseconds(500);
        assert_eq!(history.seek_time(between), Some(s), "seek before {s}");
    }
    within("windows", async {
        // A `since` at every few entries and at every edge starts exactly at that entry.
        let near = (1..=count).step_by(29).chain(edges.iter().copied());
        for first in near {
            let target = format!(
                "/api/logs?since={}&after=0&limit=1",
                at(i64::try_from(first).unwrap()).timestamp()
            );
            let seqs = app.request("GET", &target, &[], b"").await.seqs();
            assert_eq!(seqs, [first], "since {first}");
        }
        // The entries from `first` to `last` by their times, read as one window.
        let window = |first: u64, last: u64| {
            let target = format!(
                "/api/logs?since={}&until={}&limit=1000",
                at(i64::try_from(first).unwrap()).timestamp(),
                at(i64::try_from(last).unwrap()).timestamp()
            );
            let app = &app;
            async move { app.request("GET", &target, &[], b"").await.seqs() }
        };
        for first in (1..=count - 700).step_by(97) {
            let last = first + 650;
            let want: Vec<u64> = (first..=last).collect();
            assert_eq!(window(first, last).await, want, "window {first}-{last}");
        }
        // Windows that end on an edge, begin on one, or hold just the two sides of one.
        for &edge in &edges {
            for (first, last) in [
                (edge.saturating_sub(3).max(1), edge),
                (edge, (edge + 3).min(count)),
                (edge.saturating_sub(1).max(1), (edge + 1).min(count)),
            ] {
                let want: Vec<u64> = (first..=last).collect();
                assert_eq!(
                    window(first, last).await,
                    want,
                    "{first}-{last} at edge {edge}"
                );
            }
        }
    })
    .await;
}

/// The first and last seq of every sealed segment in `dir` and of each of its frames, read from
/// the index at the segment's end as docs/storage.md lays it out.
fn frame_edges(dir: &std::path::Path) -> Vec<u64> {
    let u64_at =
        |bytes: &[u8], at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let u32_at =
        |bytes: &[u8], at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut edges = std::collections::BTreeSet::new();
    for path in segments(dir).iter().filter(|p| is_sealed(p)) {
        let file = std::fs::read(path).unwrap();
        let trailer = file.len() - 16;
        assert_eq!(&file[trailer + 8..], b"VGSLINDX");
        let index = &file[trailer - u32_at(&file, trailer) as usize..trailer];
        let (first, last) = (u64_at(index, 0), u64_at(index, 8));
        edges.extend([first, last]);
        let lost = u32_at(index, 56) as usize;
        let frames = u32_at(index, 60) as usize;
        let listed = &index[64 + 16 * lost..];
        for frame in 0..frames {
            let starts = u64_at(listed, frame * 32);
            edges.extend([starts.saturating_sub(1), starts]);
        }
    }
    edges.into_iter().filter(|&seq| seq > 0).collect()
}

/// A segment as formats 1 and 2 wrote it: each entry as its JSON (record kind 1), then a lease
/// at the last seq, as a graceful stop leaves it.
fn json_segment(version: u8, entries: &[LogEntry]) -> Vec<u8> {
    let mut out = b"VGSEGMNT".to_vec();
    out.extend_from_slice(&[version, 0, 0, 0, 0, 0, 0, 0]);
    let mut record = |kind: u8, seq: u64, micros: i64, payload: &[u8]| {
        let mut body = vec![kind];
        body.extend_from_slice(&seq.to_le_bytes());
        body.extend_from_slice(&micros.to_le_bytes());
        body.extend_from_slice(payload);
        out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
        out.extend_from_slice(&body);
    };
    for (seq, entry) in (1..).zip(entries) {
        let micros = entry.timestamp.timestamp_micros();
        record(1, seq, micros, entry.to_json().as_bytes());
    }
    record(3, entries.len() as u64, 0, &[]);
    out
}

#[test]
fn data_dirs_of_formats_1_and_2_are_read_and_then_sealed() {
    for version in [1, 2] {
        let dir = TempDir::new(&format!("seal-v{version}"));
        let disk = DiskConfig::new(dir.path());
        drop(open_with(disk.clone()).unwrap());
        // Entries as those formats kept them: their JSON, written over the segment this start began.
        let originals: Vec<LogEntry> = (1..=500)
            .map(|i| {
                let mut entry = entries::entry(i);
                entry.timestamp = at(i64::try_from(i).unwrap());
                entry
            })
            .collect();
        let only = segments(dir.path()).pop().unwrap();
        std::fs::write(&only, json_segment(version, &originals)).unwrap();

        let emitter = open_with(disk).unwrap();
        sealed(&emitter);
        assert!(
            is_sealed(&only),
            "the old segment is compressed after the start"
        );
        assert_eq!(emitter.log(Level::Info, "t", "next"), 501);
        let back = read_all(&emitter);
        assert_eq!(back.len(), 501, "format {version}");
        for (seq, (read, original)) in (1..).zip(back.iter().zip(&originals)) {
            let mut expected = original.clone();
            expected.seq = Some(seq);
            assert_eq!(**read, expected, "format {version}, seq {seq}");
        }
        assert_eq!(back[500].message, "next");
    }
}

#[tokio::test]
async fn an_until_window_reads_no_segment_that_begins_after_it() {
    let dir = TempDir::new("seal-until");
    let disk = DiskConfig::new(dir.path()).segment_bytes(64 * 1024);
    let emitter = open_with(disk.clone()).unwrap();
    let boot = emitter.boot().to_owned();
    fill(&emitter, 6000);
    drop(emitter);
    let emitter = open_with(disk.clone()).unwrap();
    sealed(&emitter);
    drop(emitter);
    // Damage every frame of the newest sealed segment (all its entries are far past the window):
    // a read that reached it would find and count the damage.
    let files = segments(dir.path());
    let late = &files[files.len() - 2];
    assert!(is_sealed(late));
    let mut bytes = std::fs::read(late).unwrap();
    let end = bytes.len() - 4096;
    for byte in &mut bytes[16..end] {
        *byte ^= 0x5a;
    }
    std::fs::write(late, &bytes).unwrap();

    let emitter = open_with(disk).unwrap();
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default());
    let app = TestApp::with_router(emitter.clone(), gateway.clone(), gateway.router());
    let window = format!("since={}&until={}", at(10).timestamp(), at(200).timestamp());
    let expected: Vec<u64> = (10..=200).collect();
    within("until windows", async {
        for paging in ["", "&after=0"] {
            let target = format!("/api/logs?{window}&limit=1000{paging}");
            let seqs = app.request("GET", &target, &[], b"").await.seqs();
            assert_eq!(seqs, expected, "{target}");
        }
    })
    .await;
    let (seqs, gaps) = resume(&emitter, &format!("{window}&boot={boot}")).await;
    assert_eq!(seqs, expected);
    assert!(gaps.is_empty(), "{gaps:?}");
    assert_eq!(emitter.disk_stats().unwrap().damaged_frames, 0);
    // Reading everything does reach it.
    read_all(&emitter);
    assert!(emitter.disk_stats().unwrap().damaged_frames > 0);
}
