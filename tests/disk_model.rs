//! A property test of durable history: any sequence of appends, seals (small segments, compressed
//! by the sealer in the background or waited for), graceful restarts and crashes (also in the
//! middle of sealing) leaves a data dir whose reads agree with a plain model of what it must
//! hold. A crash is a copy of the dir taken while its server runs: exactly what a `kill -9` at that
//! instant leaves behind. The reads checked: forward by seq (in order), backward, time windows
//! through the indexes (`seek_time`, `seek_until`), and that every seq stamped and not held is
//! reported as lost at a restart (`unwritten`), never silently absent.

#![cfg(feature = "server")]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use support::{TempDir, at, crash_image, emitter_config};
use vg::server::{DiskConfig, Emitter, Fsync, History};
use vg::{Level, LogEntry};

#[derive(Debug, Clone)]
enum Op {
    /// Emit this many entries and wait until they are written.
    Append(u16),
    /// Emit this many and crash at once: some may be written, some not.
    AppendThenCrash(u16),
    /// Drop every handle (the writer finishes) and open the dir again.
    Restart,
    /// Crash with everything emitted written.
    Crash,
    /// Wait until every full segment is compressed, so the reads after it go through sealed ones.
    Seal,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u16..400).prop_map(Op::Append),
        1 => (1u16..200).prop_map(Op::AppendThenCrash),
        1 => Just(Op::Restart),
        1 => Just(Op::Crash),
        2 => Just(Op::Seal),
    ]
}

/// Every durability mode: what a crash image holds does not depend on it (the image is a copy of
/// what the server wrote, flushed or not), but the writer's batching and syncing do.
fn fsync() -> impl Strategy<Value = Fsync> {
    prop_oneof![
        Just(Fsync::Never),
        Just(Fsync::Interval(Duration::from_millis(5))),
        Just(Fsync::Always),
    ]
}

fn open(dir: &Path, fsync: Fsync) -> Emitter {
    let disk = DiskConfig::new(dir).fsync(fsync).segment_bytes(4096);
    Emitter::open(emitter_config().history(8, usize::MAX).disk(disk)).unwrap()
}

fn wait_written(emitter: &Emitter, seq: u64) {
    let deadline = std::time::Instant::now() + support::LIMIT;
    while emitter.disk_stats().unwrap().newest_seq < Some(seq) {
        assert!(
            std::time::Instant::now() < deadline,
            "seq {seq} never written"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What the dir must hold: entries known written (seq -> message), entries that may or may not have
/// been written before a crash, and every seq ever stamped.
#[derive(Default)]
struct Model {
    written: BTreeMap<u64, String>,
    maybe: BTreeMap<u64, String>,
    newest_stamped: u64,
}

fn emit(emitter: &Emitter, model: &mut Model, count: u16, into_maybe: bool) -> u64 {
    let mut last = 0;
    for _ in 0..count {
        let n = model.written.len() + model.maybe.len();
        let message = format!("e{n}");
        // One second apart, in emit order, so a time window is a run of seqs.
        let mut entry = LogEntry::new(Level::Info, "t", message.clone());
        entry.timestamp = at(i64::try_from(n).unwrap());
        let seq = emitter.emit(entry);
        assert!(seq > model.newest_stamped, "seq {seq} given twice");
        model.newest_stamped = seq;
        if into_maybe {
            model.maybe.insert(seq, message);
        } else {
            model.written.insert(seq, message);
        }
        last = seq;
    }
    last
}

/// Reads everything the history holds, by seq, and checks it against the model.
fn check(emitter: &Emitter, model: &Model) -> Result<(), TestCaseError> {
    let history = emitter.history();
    let mut held = BTreeMap::new();
    let mut next = 1;
    loop {
        let chunk = history.forward(next, u64::MAX, 512);
        let Some(last) = chunk.last().and_then(|e| e.seq) else {
            break;
        };
        for entry in &chunk {
            let seq = entry.seq.unwrap();
            prop_assert!(seq >= next, "seq {} read after {}", seq, next - 1);
            next = seq + 1;
            held.insert(seq, (entry.message.clone(), entry.timestamp));
        }
        next = last + 1;
    }
    let times: BTreeMap<u64, DateTime<Utc>> = held.iter().map(|(s, (_, t))| (*s, *t)).collect();
    let held: BTreeMap<u64, String> = held.into_iter().map(|(s, (m, _))| (s, m)).collect();
    for (seq, message) in &model.written {
        prop_assert_eq!(
            held.get(seq),
            Some(message),
            "written seq {} not read back",
            seq
        );
    }
    for (seq, message) in &held {
        let known = model.written.get(seq).or_else(|| model.maybe.get(seq));
        prop_assert_eq!(
            known,
            Some(message),
            "seq {} holds what was never emitted",
            seq
        );
    }
    // Backward reads agree with forward ones.
    let newest: Vec<u64> = history
        .backward(u64::MAX, 50)
        .iter()
        .filter_map(|e| e.seq)
        .collect();
    let expected: Vec<u64> = held.keys().rev().take(50).copied().collect();
    prop_assert_eq!(newest, expected);
    check_windows(&*history, &times)?;
    // What was stamped and is not held was lost at a restart, and the history says so.
    let lost = history.unwritten(1, model.newest_stamped);
    for seq in model.written.keys().chain(model.maybe.keys()) {
        if !held.contains_key(seq) {
            prop_assert!(
                lost.iter().any(|(from, to)| (from..=to).contains(&seq)),
                "seq {} is neither held nor reported lost ({:?})",
                seq,
                lost
            );
        }
    }
    Ok(())
}

/// Time windows read as a viewer's `since`/`until` reads them, through the indexes, against the
/// held entries' own times: windows on entries, between them, and beyond either end.
fn check_windows(
    history: &dyn History,
    times: &BTreeMap<u64, DateTime<Utc>>,
) -> Result<(), TestCaseError> {
    let all: Vec<DateTime<Utc>> = times.values().copied().collect();
    let Some((&first, &last)) = all.first().zip(all.last()) else {
        return Ok(());
    };
    let half = chrono::Duration::milliseconds(500);
    let at_fraction = |f: usize| all[(all.len() - 1) * f / 4];
    let windows = [
        (first, last),
        (at_fraction(1), at_fraction(3)),
        (at_fraction(1) - half, at_fraction(2) + half),
        (at_fraction(2), at_fraction(2)),
        (first - half * 10, first),
        (last, last + half * 10),
    ];
    for (since, until) in windows {
        let from = history.seek_time(since).unwrap_or(1);
        let to = history.seek_until(until).unwrap_or(u64::MAX);
        let mut got = Vec::new();
        let mut next = from;
        while next <= to {
            let chunk = history.forward(next, to, 512);
            let Some(seq) = chunk.last().and_then(|e| e.seq) else {
                break;
            };
            got.extend(
                chunk
                    .iter()
                    .filter(|e| (since..=until).contains(&e.timestamp))
                    .filter_map(|e| e.seq),
            );
            next = seq + 1;
        }
        let want: Vec<u64> = times
            .iter()
            .filter(|(_, t)| (since..=until).contains(*t))
            .map(|(s, _)| *s)
            .collect();
        prop_assert_eq!(got, want, "window {} to {}", since, until);
    }
    Ok(())
}

fn run(ops: &[Op], fsync: Fsync) -> Result<(), TestCaseError> {
    let temp = TempDir::new("model");
    let mut starts = 0;
    let mut dir: PathBuf = temp.path().join(starts.to_string());
    let mut emitter = open(&dir, fsync);
    let boot = emitter.boot().to_owned();
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Append(count) => {
                let last = emit(&emitter, &mut model, *count, false);
                wait_written(&emitter, last);
            }
            Op::AppendThenCrash(_) | Op::Crash => {
                if let Op::AppendThenCrash(count) = op {
                    emit(&emitter, &mut model, *count, true);
                }
                starts += 1;
                let image = temp.path().join(starts.to_string());
                crash_image(&dir, &image);
                drop(std::mem::replace(&mut emitter, open(&image, fsync)));
                dir = image;
            }
            Op::Restart => {
                drop(emitter);
                emitter = open(&dir, fsync);
            }
            Op::Seal => support::sealed(&emitter),
        }
        prop_assert_eq!(emitter.boot(), boot.as_str());
        check(&emitter, &model)?;
    }
    // A seq stamped now is above every seq any earlier start stamped (`emit` checks).
    emit(&emitter, &mut model, 1, false);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_interleaving_of_appends_seals_restarts_and_crashes_reads_as_the_model(
        ops in proptest::collection::vec(op(), 1..10),
        fsync in fsync(),
    ) {
        run(&ops, fsync)?;
    }
}
