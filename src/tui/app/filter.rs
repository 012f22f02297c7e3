//! What the log view shows: the rows of the scrollback, and the filters that decide which of them pass.
//!
//! Kept apart from the names (which the picker changes) so one function, [`ViewFilter::classify`],
//! answers "shown, and does it match the search?" for both an arriving row and a full rebuild: the
//! incremental index and a fresh pass can never disagree.

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::Value;

use super::{NameId, Names};
use crate::filter::Filter;
use crate::model::LogEntry;
use crate::wire::Gap;

/// One row of the scrollback.
#[derive(Debug, Clone)]
pub(crate) enum Row {
    /// An entry and its interned source, instance and region.
    Entry { entry: LogEntry, names: [NameId; 3] },
    /// Entries that will never arrive, shown where they were missed; `at` is when we learned of it.
    Gap { gap: Gap, at: DateTime<Utc> },
}

impl Row {
    pub(crate) fn entry(&self) -> Option<&LogEntry> {
        match self {
            Row::Entry { entry, .. } => Some(entry),
            Row::Gap { .. } => None,
        }
    }
}

/// `r`: only entries whose `meta` has this value under this key.
#[derive(Debug, Clone)]
pub(crate) struct RequestFilter {
    pub(crate) key: String,
    pub(crate) value: Value,
}

/// The filters that decide which rows the view shows, apart from the names.
#[derive(Debug)]
pub(crate) struct ViewFilter {
    pub(crate) levels: [bool; 6],
    /// From the command line, without a control: predicates and time range.
    pub(crate) fixed: Filter,
    pub(crate) request: Option<RequestFilter>,
}

impl ViewFilter {
    /// `None` hides the row; `Some(matched)` shows it and says whether it matches the search.
    /// Gap rows always show: a hole in the stream matters whatever the filter.
    pub(crate) fn classify(
        &self,
        row: &Row,
        names: &Names,
        search: Option<&Regex>,
        only_matches: bool,
    ) -> Option<bool> {
        let Row::Entry { entry, names: ids } = row else {
            return Some(false);
        };
        let shown = self.levels[entry.level.index()]
            && names.shows(*ids)
            && self.fixed.matches(entry)
            && self
                .request
                .as_ref()
                .is_none_or(|r| entry.meta.get(&r.key) == Some(&r.value));
        if !shown {
            return None;
        }
        let matched = search.is_some_and(|re| re.is_match(&entry.message));
        (matched || !only_matches || search.is_none()).then_some(matched)
    }
}
