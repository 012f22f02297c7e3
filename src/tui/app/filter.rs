//! What the log view shows: the rows of the scrollback, and the filters that decide which of them pass.
//!
//! Kept apart from the names (which the picker changes) so one function, [`ViewFilter::classify`],
//! answers "shown, and does it match the search?" for both an arriving row and a full rebuild: the
//! incremental index and a fresh pass can never disagree.

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::Value;

use super::Names;
use super::search::Scope;
use super::stored::{Pairs, Stored};
use crate::client::SourceGap;
use crate::filter::Filter;

/// One row of the scrollback.
#[derive(Debug, Clone)]
pub(crate) enum Row {
    /// An entry, stored compactly with its interned source, instance and region.
    Entry(Stored),
    /// Entries that will never arrive, shown where they were missed; `at` is the time of the entry
    /// before the hole (when we learned of it, if none is held), so the time column stays in order.
    /// Boxed: gaps are rare, and every row is as big as the biggest variant.
    Gap {
        gap: Box<SourceGap>,
        at: DateTime<Utc>,
    },
}

impl Row {
    pub(crate) fn entry(&self) -> Option<&Stored> {
        match self {
            Row::Entry(entry) => Some(entry),
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

impl RequestFilter {
    pub(crate) fn new(key: String, value: Value) -> RequestFilter {
        RequestFilter { key, value }
    }

    /// Whether `meta` holds the value under the key, at the top level. A string value (request ids
    /// are) is compared in place; nothing is parsed unless the key holds a number, object or array.
    pub(crate) fn matches(&self, meta: Pairs<'_>) -> bool {
        meta.get(&self.key).is_some_and(|v| v.equals(&self.value))
    }
}

/// The filters that decide which rows the view shows, apart from the names.
#[derive(Debug)]
pub(crate) struct ViewFilter {
    pub(crate) levels: [bool; 6],
    /// From the command line, without a control: predicates and time range. Checked once per entry on
    /// arrival (see [`Stored::passes_fixed`]), as it never changes.
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
        scope: Scope,
        only_matches: bool,
    ) -> Option<bool> {
        let Row::Entry(entry) = row else {
            return Some(false);
        };
        let shown = self.levels[entry.level().index()]
            && names.shows(entry.names())
            && entry.passes_fixed()
            && self
                .request
                .as_ref()
                .is_none_or(|r| r.matches(entry.meta()));
        if !shown {
            return None;
        }
        let matched = search.is_some_and(|re| scope.hits(re, entry));
        (matched || !only_matches || search.is_none()).then_some(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_matches_only_its_own_top_level_value() {
        let matches = |r: &RequestFilter, json: &str| {
            r.matches(Pairs::new(&super::super::stored::tests::pairs_of(json)))
        };
        let r = RequestFilter::new("requestId".into(), "req_1".into());
        assert!(matches(&r, r#"{"a":1,"requestId":"req_1"}"#));
        assert!(!matches(&r, r#"{"requestId":"req_12"}"#));
        assert!(!matches(
            &r,
            r#"{"inner":{"requestId":"req_1"},"requestId":"req_2"}"#
        ));
        assert!(!matches(&r, "{}"));
        let n = RequestFilter::new("id".into(), 12.into());
        assert!(matches(&n, r#"{"id":12}"#) && !matches(&n, r#"{"id":123}"#));
        let o = RequestFilter::new("id".into(), serde_json::json!({"a":1,"b":2}));
        assert!(matches(&o, r#"{"id":{"b":2,"a":1}}"#));
    }
}
