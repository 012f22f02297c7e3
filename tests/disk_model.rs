//! A property test of durable history: any sequence of appends, seals (small segments, compressed
//! by the sealer in the background or waited for), graceful restarts and crashes (also in the
//! middle of sealing) leaves a data dir whose reads agree with a plain model of what it must
//! hold. A crash is a copy of the dir taken while its server runs: exactly what a `kill -9` at that
//! instant leaves behind.

#![cfg(feature = "server")]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use support::{TempDir, crash_image, emitter_config};
use vg::server::{DiskConfig, Emitter, Fsync};
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

fn config(dir: &Path) -> DiskConfig {
    DiskConfig::new(dir).fsync(Fsync::Never).segment_bytes(4096)
}

fn open(dir: &Path) -> Emitter {
    Emitter::open(emitter_config().history(8, usize::MAX).disk(config(dir))).unwrap()
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
        let message = format!("e{}", model.written.len() + model.maybe.len());
        let seq = emitter.emit(LogEntry::new(Level::Info, "t", message.clone()));
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
            held.insert(entry.seq.unwrap(), entry.message.clone());
        }
        next = last + 1;
    }
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
    Ok(())
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let temp = TempDir::new("model");
    let mut starts = 0;
    let mut dir: PathBuf = temp.path().join(starts.to_string());
    let mut emitter = open(&dir);
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
                drop(std::mem::replace(&mut emitter, open(&image)));
                dir = image;
            }
            Op::Restart => {
                drop(emitter);
                emitter = open(&dir);
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
        ops in proptest::collection::vec(op(), 1..10)
    ) {
        run(&ops)?;
    }
}
