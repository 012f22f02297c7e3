//! The reorder window: entries from several servers come out in timestamp order, each held at
//! most one window after it arrived.
//!
//! Release is driven by arrival times only, never by waiting to hear from every source: a server
//! that is silent (idle, or down) cannot hold the others back longer than the window. When an entry
//! has been held a full window, it goes out together with every held entry stamped before it, so
//! what comes out is in timestamp order unless an entry arrives later than the window allows (it
//! then goes out at once: holding it cannot put it back in order).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::model::LogEntry;

/// Held entries are ordered by timestamp, then by arrival (a counter), so equal timestamps keep
/// the order they came in.
type Key = (DateTime<Utc>, u64);

/// Entries waiting for their window to pass, bounded.
#[derive(Debug)]
pub(crate) struct Window {
    window: Duration,
    /// Most entries held; past it the earliest go out at once (a flood needs no reordering window
    /// to be in order within each server, and memory must stay bounded).
    capacity: usize,
    held: BTreeMap<Key, LogEntry>,
    /// Keys in arrival order with when they arrived; keys already released are skipped.
    arrivals: VecDeque<(Instant, Key)>,
    next: u64,
    /// The newest timestamp released: anything older arriving now is late.
    last_out: Option<DateTime<Utc>>,
}

impl Window {
    pub(crate) fn new(window: Duration, capacity: usize) -> Window {
        Window {
            window,
            capacity: capacity.max(1),
            held: BTreeMap::new(),
            arrivals: VecDeque::new(),
            next: 0,
            last_out: None,
        }
    }

    /// Takes one server's entries that arrived now, each without an instance tagged with the
    /// server's `label`, so the merged stream says where it came from.
    pub(crate) fn push_tagged(
        &mut self,
        entries: Vec<LogEntry>,
        label: &str,
        out: &mut Vec<LogEntry>,
    ) {
        let now = Instant::now();
        for mut entry in entries {
            if entry.instance.is_none() {
                entry.instance = Some(label.to_owned());
            }
            self.push(entry, now, out);
        }
    }

    /// Takes one entry that arrived at `now`. A late entry (older than one already out) and the
    /// earliest entries beyond the bound go straight to `out`.
    pub(crate) fn push(&mut self, entry: LogEntry, now: Instant, out: &mut Vec<LogEntry>) {
        if self.last_out.is_some_and(|last| entry.timestamp < last) {
            out.push(entry);
            return;
        }
        let key = (entry.timestamp, self.next);
        self.next += 1;
        self.held.insert(key, entry);
        self.arrivals.push_back((now, key));
        while self.held.len() > self.capacity {
            self.pop_first(out);
        }
    }

    /// Moves to `out`, in timestamp order, every entry held a full window by `now` and every entry
    /// stamped before one of those.
    pub(crate) fn release(&mut self, now: Instant, out: &mut Vec<LogEntry>) {
        while let Some(&(arrived, key)) = self.arrivals.front() {
            if !self.held.contains_key(&key) {
                self.arrivals.pop_front();
                continue;
            }
            if now.saturating_duration_since(arrived) < self.window {
                break;
            }
            while self.held.first_key_value().is_some_and(|(k, _)| *k <= key) {
                self.pop_first(out);
            }
            self.arrivals.pop_front();
        }
    }

    /// Moves everything held to `out`, in timestamp order.
    pub(crate) fn flush(&mut self, out: &mut Vec<LogEntry>) {
        while !self.held.is_empty() {
            self.pop_first(out);
        }
        self.arrivals.clear();
    }

    /// When the next held entry's window ends, if any is held.
    pub(crate) fn next_release(&mut self) -> Option<Instant> {
        while let Some(&(arrived, key)) = self.arrivals.front() {
            if self.held.contains_key(&key) {
                return Some(arrived + self.window);
            }
            self.arrivals.pop_front();
        }
        None
    }

    fn pop_first(&mut self, out: &mut Vec<LogEntry>) {
        if let Some((_, entry)) = self.held.pop_first() {
            self.last_out = Some(
                self.last_out
                    .map_or(entry.timestamp, |last| last.max(entry.timestamp)),
            );
            out.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    const WINDOW: Duration = Duration::from_millis(200);

    fn at(ms: i64, message: &str) -> LogEntry {
        let mut entry = LogEntry::new(Level::Info, "app", message);
        entry.timestamp = DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap();
        entry
    }

    fn messages(out: &[LogEntry]) -> Vec<&str> {
        out.iter().map(|e| e.message.as_str()).collect()
    }

    #[test]
    fn entries_inside_the_window_come_out_in_time_order() {
        let start = Instant::now();
        let mut window = Window::new(WINDOW, 100);
        let mut out = Vec::new();
        // Server b's entry stamped first arrives 50 ms after server a's later one.
        window.push(at(10, "a at 10"), start, &mut out);
        window.push(at(5, "b at 5"), start + Duration::from_millis(50), &mut out);
        window.push(
            at(12, "a at 12"),
            start + Duration::from_millis(60),
            &mut out,
        );
        window.release(start + Duration::from_millis(150), &mut out);
        assert!(out.is_empty(), "released before its window: {out:?}");
        window.release(start + WINDOW, &mut out);
        // "a at 10" has had its window; "b at 5" was stamped before it, so it goes first.
        assert_eq!(messages(&out), ["b at 5", "a at 10"]);
        window.release(start + Duration::from_millis(260), &mut out);
        assert_eq!(messages(&out), ["b at 5", "a at 10", "a at 12"]);
        assert_eq!(window.next_release(), None);
    }

    #[test]
    fn an_entry_later_than_the_window_goes_out_at_once() {
        let start = Instant::now();
        let mut window = Window::new(WINDOW, 100);
        let mut out = Vec::new();
        window.push(at(100, "a at 100"), start, &mut out);
        window.release(start + WINDOW, &mut out);
        window.push(at(20, "b at 20, late"), start + WINDOW, &mut out);
        assert_eq!(messages(&out), ["a at 100", "b at 20, late"]);
        // Not late: newer than everything out, so it waits its window.
        window.push(at(150, "b at 150"), start + WINDOW, &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_silent_source_holds_the_others_back_no_longer_than_the_window() {
        let start = Instant::now();
        let mut window = Window::new(WINDOW, 100);
        let mut out = Vec::new();
        // Only server a speaks; server b says nothing at all.
        for i in 0..5u32 {
            let arrived = start + Duration::from_millis(u64::from(i) * 100);
            window.push(at(i64::from(i) * 100, &format!("a {i}")), arrived, &mut out);
        }
        assert_eq!(window.next_release(), Some(start + WINDOW));
        window.release(start + WINDOW + Duration::from_millis(100), &mut out);
        assert_eq!(messages(&out), ["a 0", "a 1"]);
        window.release(start + Duration::from_secs(1), &mut out);
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn the_bound_lets_the_earliest_out_and_flush_empties_in_order() {
        let start = Instant::now();
        let mut window = Window::new(WINDOW, 3);
        let mut out = Vec::new();
        for ms in [30, 10, 40, 20] {
            window.push(at(ms, &format!("{ms}")), start, &mut out);
        }
        assert_eq!(messages(&out), ["10"]);
        window.flush(&mut out);
        assert_eq!(messages(&out), ["10", "20", "30", "40"]);
        assert_eq!(window.next_release(), None);
    }
}
