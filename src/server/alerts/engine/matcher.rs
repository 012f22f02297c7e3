//! Which rules an entry matches, for the price of a few compares per rule and at most one regex
//! pass per entry, whatever the number of rules.
//!
//! A rule matches what its filter matches (`Filter::matches`), checked in three steps so the
//! costly ones run only for rules still in play:
//!
//! 1. the cheap fields (level, source globs, instance, region) of every rule; most rules drop out;
//! 2. the `grep` regexes of the rules left: when two or more need one, all rules' regexes run as
//!    one set in one pass over the message; a single one runs alone;
//! 3. the `where` predicates on `meta`, last.
//!
//! The scratch lists and the set's match slots are kept between entries: no allocation per entry.

use regex_automata::meta::{self, Regex as Set};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternID, PatternSet};

use super::RuleState;
use crate::model::LogEntry;
use crate::server::alerts::rules::Rule;

#[derive(Debug)]
pub(super) struct Matcher {
    /// Every rule's `grep` in one set, pattern id = position in `pattern_of`'s `Some`s.
    set: Option<Set>,
    /// Rule index -> its pattern id in `set`, for rules with a `grep`.
    pattern_of: Vec<Option<usize>>,
    /// Which patterns matched the current message.
    hits: PatternSet,
    /// Rules passing step 1 for the current entry, then those matching.
    candidates: Vec<usize>,
}

impl Matcher {
    pub(super) fn new<'a>(rules: impl Iterator<Item = &'a Rule>) -> Matcher {
        let mut patterns = Vec::new();
        let pattern_of = rules
            .map(|rule| {
                rule.filter.pattern().map(|re| {
                    patterns.push(re.as_str());
                    patterns.len() - 1
                })
            })
            .collect();
        // The same settings as `regex::RegexSet`, so each pattern matches what its own `Regex`
        // does. A set too large to build leaves each rule to run its own regex.
        let set = (patterns.len() >= 2)
            .then(|| {
                meta::Builder::new()
                    .configure(
                        meta::Config::new()
                            .match_kind(MatchKind::All)
                            .utf8_empty(true)
                            .which_captures(WhichCaptures::None)
                            .nfa_size_limit(Some(10 * (1 << 20)))
                            .hybrid_cache_capacity(2 * (1 << 20)),
                    )
                    .syntax(syntax::Config::new().utf8(true))
                    .build_many(&patterns)
                    .ok()
            })
            .flatten();
        Matcher {
            hits: PatternSet::new(patterns.len()),
            set,
            pattern_of,
            candidates: Vec::new(),
        }
    }

    /// The indices of the rules (in order) whose filter matches `entry`.
    pub(super) fn matches(&mut self, rules: &[RuleState], entry: &LogEntry) -> &[usize] {
        self.candidates.clear();
        let mut need_regex = 0;
        for (i, state) in rules.iter().enumerate() {
            if state.rule.filter.matches_fields(entry) {
                self.candidates.push(i);
                need_regex += usize::from(self.pattern_of[i].is_some());
            }
        }
        let set = self.set.as_ref().filter(|_| need_regex >= 2);
        if let Some(set) = set {
            self.hits.clear();
            set.which_overlapping_matches(&Input::new(&entry.message), &mut self.hits);
        }
        let (pattern_of, hits) = (&self.pattern_of, &self.hits);
        self.candidates.retain(|&i| {
            let filter = &rules[i].rule.filter;
            let regex_ok = match (pattern_of[i], filter.pattern()) {
                (Some(id), _) if set.is_some() => hits.contains(PatternID::must(id)),
                (_, Some(re)) => re.is_match(&entry.message),
                (_, None) => true,
            };
            regex_ok && filter.matches_meta(entry)
        });
        &self.candidates
    }
}
