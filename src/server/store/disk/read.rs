//! Reading entries back from the segments: by seq (forward and backward) and by time.
//!
//! Each read takes the catalog's lock only to find the segment and the index block it starts at,
//! then reads the file without it, so the writer is never held up by a reader. Reads stop at the
//! length the segment had when looked up: what the writer appends meanwhile is for the next read.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Catalog;
use super::format;
use super::records::Records;
use super::segment::walk::{self, Ended, ReadPlan, Taken};
use crate::model::LogEntry;
use crate::server::store::Bounds;

impl Catalog {
    /// Up to `max` entries with `from <= seq <= to`, oldest first. With `contiguous`, the entries
    /// stop before the first hole (a forward [`Scan`](crate::server::store::Scan) reports holes).
    pub(crate) fn forward(
        &self,
        from: u64,
        to: u64,
        max: usize,
        contiguous: bool,
    ) -> Vec<Arc<LogEntry>> {
        self.read_forward(from, to, max, contiguous)
    }

    /// As [`Catalog::forward`], the entries as stored, not decoded (see `records`).
    pub(crate) fn forward_records(
        &self,
        from: u64,
        to: u64,
        max: usize,
        contiguous: bool,
    ) -> Records {
        self.read_forward(from, to, max, contiguous)
    }

    fn read_forward<T: Taken + Default>(
        &self,
        from: u64,
        to: u64,
        max: usize,
        contiguous: bool,
    ) -> T {
        let mut out = T::default();
        let mut next = from;
        let mut replaced = 0;
        while out.count() < max && next <= to {
            let snapshot = {
                let state = self.lock();
                let Some(segment) = state
                    .segments
                    .iter()
                    .find(|s| s.last_seq.is_some_and(|last| last >= next))
                else {
                    break;
                };
                if segment.first_seq.is_some_and(|first| first > to) {
                    break;
                }
                segment.snapshot(next)
            };
            let Some(snapshot) = snapshot else { break };
            let plan = ReadPlan {
                from: next,
                to,
                max,
                contiguous,
            };
            let mut damage = Vec::new();
            let ended = walk::read(&snapshot, plan, &mut out, &mut damage);
            if !damage.is_empty() {
                self.found_damage(snapshot.path(), &damage);
            }
            match ended {
                Ended::Stopped => break,
                // Sealed since the snapshot: the same seqs again from the new file (a segment is
                // sealed once, so this repeats at most once per segment).
                Ended::Replaced if replaced < 2 => replaced += 1,
                // Changed under the catalog by something other than the sealer: stop here.
                Ended::Replaced => break,
                Ended::Through => next = snapshot.last_seq + 1,
            }
        }
        out
    }

    /// Up to `max` entries with `seq < before`, newest first.
    pub(crate) fn backward(&self, before: u64, max: usize) -> Vec<Arc<LogEntry>> {
        let mut out = Vec::new();
        let mut below = before;
        while out.len() < max && below > 1 {
            // The newest seq on disk below `below`: holes between runs are skipped, not read.
            let top = {
                let state = self.lock();
                state
                    .segments
                    .iter()
                    .rev()
                    .find_map(|s| match (s.first_seq, s.last_seq) {
                        (Some(first), Some(last)) if first < below => Some(last.min(below - 1)),
                        _ => None,
                    })
            };
            let Some(top) = top else { break };
            let want = (max - out.len()) as u64;
            let low = top.saturating_sub(want - 1).max(1);
            let mut got = self.forward(low, top, usize::MAX, false);
            got.reverse();
            out.extend(got);
            below = low;
        }
        out.truncate(max);
        out
    }

    /// The seq of the first entry on disk timestamped at or after `time`, such that no entry
    /// before it is (timestamps need not grow with seq: see `Block::reach_micros`). The index finds
    /// the block; the block's record heads (no entry is decoded) find the entry, so a `since`
    /// window's first read decodes nothing it then throws away.
    pub(crate) fn seek_time(&self, time: DateTime<Utc>) -> Option<u64> {
        let micros = format::micros(&time);
        let (block, snapshot) = {
            let state = self.lock();
            let (segment, block) = state
                .segments
                .iter()
                .find_map(|s| s.seek_micros(micros).map(|b| (s, b.seq)))?;
            (block, segment.snapshot(block))
        };
        // A block that cannot be read now (sealed meanwhile, damaged) is read from its start.
        Some(
            snapshot
                .and_then(|s| walk::first_at_or_after(&s, micros))
                .unwrap_or(block),
        )
    }

    /// The seq before the first segment whose oldest entry is after `time`: an `until` window
    /// reads no further (see [`History::seek_until`](crate::server::store::History::seek_until)).
    pub(crate) fn seek_until(&self, time: DateTime<Utc>) -> Option<u64> {
        let micros = format::micros(&time);
        let state = self.lock();
        state
            .segments
            .iter()
            .filter(|s| s.entries > 0)
            .find(|s| s.min_micros > micros)
            .and_then(|s| s.first_seq)
            .map(|first| first - 1)
    }

    /// What the disk holds: oldest and newest seq, and the oldest entry's time.
    pub(crate) fn bounds(&self) -> Bounds {
        let state = self.lock();
        let oldest = state.segments.iter().find(|s| s.first_seq.is_some());
        Bounds {
            oldest: oldest.and_then(|s| s.first_seq),
            newest: state.segments.iter().rev().find_map(|s| s.last_seq),
            oldest_time: oldest.map(|s| format::time_of(s.first_micros)),
        }
    }

    /// The parts of `from..=to` lost at restarts.
    pub(crate) fn unwritten(&self, from: u64, to: u64) -> Vec<(u64, u64)> {
        let state = self.lock();
        state
            .unwritten
            .iter()
            .filter(|&&(a, b)| a <= to && b >= from)
            .map(|&(a, b)| (a.max(from), b.min(to)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use chrono::{DateTime, TimeZone, Utc};

    use crate::model::Level;
    use crate::server::store::disk::DiskConfig;
    use crate::server::{Emitter, EmitterConfig};
    use crate::{LogEntry, server::store::History};

    /// Timestamps out of seq order, as apps that stamp their own send them: seq `s` is at second
    /// `(s * 7919) % 1000`.
    fn second_of(seq: u64) -> i64 {
        i64::try_from(seq * 7919 % 1000).unwrap()
    }

    fn at(second: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_770_000_000 + second, 0).unwrap()
    }

    fn open(dir: &std::path::Path) -> Emitter {
        let disk = DiskConfig::new(dir).segment_bytes(32 * 1024);
        Emitter::open(
            EmitterConfig::default()
                .read_env(false)
                .history(16, usize::MAX)
                .disk(disk),
        )
        .unwrap()
    }

    fn wait(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A `since` seek lands on the first entry (by seq) timestamped at or after it, whatever the
    /// order of timestamps, in open segments and in sealed ones: nothing before it is in the window.
    #[test]
    fn a_since_seek_lands_on_the_first_entry_in_the_window_even_with_timestamps_out_of_order() {
        let dir = std::env::temp_dir().join(format!("vg-read-seek-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let count = 3000;
        let emitter = open(&dir);
        for seq in 1..=count {
            let mut entry = LogEntry::new(Level::Info, "t", format!("m{seq}"));
            entry.timestamp = at(second_of(seq));
            emitter.emit(entry);
        }
        wait("written", || {
            emitter.disk_stats().unwrap().newest_seq == Some(count)
        });
        let check = |history: &dyn History| {
            for second in [0, 1, 2, 500, 998, 999] {
                let expected = (1..=count).find(|&s| second_of(s) >= second);
                assert_eq!(history.seek_time(at(second)), expected, "since {second}");
            }
        };
        // The memory ring holds 16: the rest is read from open segments.
        check(&*emitter.history());
        drop(emitter);
        let emitter = open(&dir);
        wait("sealed", || {
            let stats = emitter.disk_stats().unwrap();
            stats.sealed + 1 == stats.segments
        });
        assert!(emitter.disk_stats().unwrap().sealed >= 2);
        check(&*emitter.history());
        drop(emitter);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
