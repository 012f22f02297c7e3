//! The `group_by` values of a batch's entries, found once per entry and key however many rules
//! group by that key, and however often a rule asks (each match, then again to finish the batch).
//! A `meta` lookup is a scan comparing keys, which was the sink's costliest step per match.

use std::borrow::Cow;

use crate::model::LogEntry;
use crate::server::alerts::rules::Rule;

/// Not looked up yet in this batch.
const UNSEEN: u32 = u32::MAX;
/// The entry has no such key.
const ABSENT: u32 = u32::MAX - 1;

#[derive(Debug)]
pub(super) struct GroupKeys {
    /// The distinct `group_by` keys.
    keys: Vec<String>,
    /// Rule index -> its key's index in `keys`.
    of_rule: Vec<Option<usize>>,
    /// Per key, per entry of the batch: the key's position in the entry's `meta`, `ABSENT` or
    /// `UNSEEN`. Kept between batches, so none allocates once the longest batch was seen.
    found: Vec<Vec<u32>>,
}

/// One key's lookups over the batch, for one rule to read.
pub(super) struct Column<'a> {
    key: &'a str,
    found: &'a mut [u32],
}

impl GroupKeys {
    pub(super) fn new(rules: &[Rule]) -> GroupKeys {
        let mut keys: Vec<String> = Vec::new();
        let of_rule = rules
            .iter()
            .map(|rule| {
                let key = rule.spec.group_by.as_deref()?;
                Some(keys.iter().position(|k| k == key).unwrap_or_else(|| {
                    keys.push(key.to_owned());
                    keys.len() - 1
                }))
            })
            .collect();
        GroupKeys {
            found: vec![Vec::new(); keys.len()],
            keys,
            of_rule,
        }
    }

    /// Forgets the last batch's lookups, for a batch of `len` entries.
    pub(super) fn start(&mut self, len: usize) {
        for found in &mut self.found {
            found.clear();
            found.resize(len, UNSEEN);
        }
    }

    /// The lookups for rule `rule`'s key, `None` for a rule without `group_by`.
    pub(super) fn column(&mut self, rule: usize) -> Option<Column<'_>> {
        let at = self.of_rule[rule]?;
        Some(Column {
            key: &self.keys[at],
            found: &mut self.found[at],
        })
    }
}

impl Column<'_> {
    /// The group of the batch's entry at position `at`: text as is (borrowed), other JSON as JSON
    /// text, `None` when the entry has no such key.
    pub(super) fn value<'e>(&mut self, entry: &'e LogEntry, at: usize) -> Option<Cow<'e, str>> {
        let found = &mut self.found[at];
        if *found == UNSEEN {
            *found = entry
                .meta
                .iter()
                .position(|(k, _)| k == self.key)
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(ABSENT);
        }
        if *found == ABSENT {
            return None;
        }
        let (_, value) = entry.meta.iter().nth(*found as usize)?;
        Some(match value {
            serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_string()),
        })
    }
}
