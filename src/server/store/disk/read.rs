//! Reading entries back from the segments: by seq (forward and backward) and by time.
//!
//! Each read takes the catalog's lock only to find the segment and the index block it starts at,
//! then reads the file without it, so the writer is never held up by a reader. Reads stop at the
//! length the segment had when looked up: what the writer appends meanwhile is for the next read.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Catalog;
use super::format;
use super::segment::{self, Ended, ReadPlan};
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
        let mut out = Vec::new();
        let mut next = from;
        let mut replaced = 0;
        while out.len() < max && next <= to {
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
            let ended = segment::read(&snapshot, plan, &mut out, &mut damage);
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

    /// The first seq on disk that may be timestamped at or after `time`.
    pub(crate) fn seek_time(&self, time: DateTime<Utc>) -> Option<u64> {
        let micros = format::micros(&time);
        let state = self.lock();
        state.segments.iter().find_map(|s| s.seek_micros(micros))
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
