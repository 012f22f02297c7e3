//! Entries that reach the merge twice. Two `--url`s naming instances of one Redis-merged stream
//! each serve every instance's entries, so without this every entry would be shown twice.
//!
//! An entry is the same one when its instance (as the app named it: the merge's own `host:port`
//! tags are not names), seq, time, source and message are. Entries without a seq or a named
//! instance are never taken for one another. The newest [`REMEMBERED`] are kept: two connections
//! further apart than that show the rest twice rather than hold memory without bound.

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::model::LogEntry;

/// How many entries are remembered (about 1.5 MiB).
pub(crate) const REMEMBERED: usize = 65_536;

#[derive(Debug, Default)]
pub(crate) struct Seen {
    keys: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Seen {
    /// Drops from `entries` those already seen from any server, and remembers the rest.
    pub(crate) fn keep_new(&mut self, entries: &mut Vec<LogEntry>) {
        entries.retain(|entry| self.first_time(entry));
    }

    fn first_time(&mut self, entry: &LogEntry) -> bool {
        let (Some(instance), Some(seq)) = (&entry.instance, entry.seq) else {
            return true;
        };
        let mut hasher = DefaultHasher::new();
        (
            instance,
            seq,
            entry.timestamp,
            &entry.source,
            &entry.message,
        )
            .hash(&mut hasher);
        let key = hasher.finish();
        if !self.keys.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.keys.remove(&oldest);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn entry(instance: Option<&str>, seq: Option<u64>, message: &str) -> LogEntry {
        let mut entry = LogEntry::new(Level::Info, "api", message);
        entry.timestamp = chrono::DateTime::from_timestamp(1_764_770_000, 0).unwrap();
        entry.instance = instance.map(str::to_owned);
        entry.seq = seq;
        entry
    }

    #[test]
    fn an_entry_from_a_second_server_is_dropped_and_look_alikes_are_not() {
        let mut seen = Seen::default();
        let mut first = vec![
            entry(Some("web-1"), Some(1), "a"),
            entry(Some("web-2"), Some(1), "a"),
        ];
        seen.keep_new(&mut first);
        assert_eq!(first.len(), 2, "same seq and text, another instance");
        let mut again = vec![
            entry(Some("web-1"), Some(1), "a"),
            // The same instance after a restart: seqs start again, the text differs.
            entry(Some("web-1"), Some(1), "b"),
            // No seq or no named instance: nothing to tell a repeat by.
            entry(None, Some(1), "a"),
            entry(Some("web-1"), None, "a"),
        ];
        seen.keep_new(&mut again);
        let messages: Vec<_> = again
            .iter()
            .map(|e| (e.instance.clone(), e.seq, e.message.clone()))
            .collect();
        assert_eq!(
            messages,
            [
                (Some("web-1".into()), Some(1), "b".into()),
                (None, Some(1), "a".into()),
                (Some("web-1".into()), None, "a".into()),
            ]
        );
    }

    #[test]
    fn it_remembers_a_bounded_number() {
        let mut seen = Seen::default();
        let mut all: Vec<_> = (0..REMEMBERED as u64 + 10)
            .map(|s| entry(Some("a"), Some(s), "m"))
            .collect();
        seen.keep_new(&mut all);
        assert_eq!(seen.keys.len(), REMEMBERED);
        // The oldest are forgotten (shown again), the newest are not.
        let mut oldest = vec![entry(Some("a"), Some(0), "m")];
        seen.keep_new(&mut oldest);
        assert_eq!(oldest.len(), 1);
        let mut newest = vec![entry(Some("a"), Some(REMEMBERED as u64 + 9), "m")];
        seen.keep_new(&mut newest);
        assert!(newest.is_empty());
    }
}
