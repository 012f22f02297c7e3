//! Which rules an entry matches, for the price of a few compares per distinct filter and at most
//! one regex pass per entry, whatever the number of rules.
//!
//! A rule matches what its filter matches (`Filter::matches`), checked in three steps so the
//! costly ones run only for rules still in play:
//!
//! 1. the cheap fields (level, source globs, instance, region): rules that write them alike share
//!    one check, so fifty rules over a handful of levels and sources cost a handful of checks;
//! 2. the `grep` regexes of the rules left: when two or more need one, every distinct pattern runs
//!    as one set in one pass over the message; a single one runs alone;
//! 3. the `where` predicates on `meta`, last; each distinct predicate runs at most once per entry
//!    however many rules carry it (a `meta` lookup by key is a scan).
//!
//! The scratch lists and the set's match slots are kept between entries: no allocation per entry.

use regex::Regex;
use regex_automata::meta::{self, Regex as Set};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternID, PatternSet};

use crate::filter::{Filter, FilterSpec, Predicate};
use crate::model::LogEntry;
use crate::server::alerts::rules::Rule;

/// A predicate not yet run on the current entry.
const UNKNOWN: u8 = 0;
const HOLDS: u8 = 1;
const FAILS: u8 = 2;

#[derive(Debug)]
pub(super) struct Matcher {
    /// One filter per distinct set of cheap fields, to run `matches_fields` on.
    fields: Vec<Filter>,
    /// Rule index -> its entry in `fields`.
    fields_of: Vec<usize>,
    /// The distinct `grep` patterns.
    patterns: Vec<Regex>,
    /// All of `patterns` in one set, pattern id = index in `patterns` (when there are two or more).
    set: Option<Set>,
    /// Rule index -> its pattern, for rules with a `grep`.
    pattern_of: Vec<Option<usize>>,
    /// The distinct `where` predicates.
    predicates: Vec<Predicate>,
    /// Rule index -> its predicates (indices in `predicates`).
    predicates_of: Vec<Vec<usize>>,
    /// Per entry: which `fields` pass.
    fields_pass: Vec<bool>,
    /// Per entry: each predicate's result, `UNKNOWN` until a rule needs it.
    predicate_state: Vec<u8>,
    /// Which patterns matched the current message.
    hits: PatternSet,
    /// Rules passing step 1 for the current entry, then those matching.
    candidates: Vec<usize>,
}

/// What makes two rules' cheap checks the same check.
fn same_fields(a: &FilterSpec, b: &FilterSpec) -> bool {
    a.level == b.level
        && a.source == b.source
        && a.exclude_source == b.exclude_source
        && a.instance == b.instance
        && a.region == b.region
        && a.since == b.since
        && a.until == b.until
}

impl Matcher {
    pub(super) fn new(rules: &[Rule]) -> Matcher {
        let mut field_specs: Vec<&FilterSpec> = Vec::new();
        let mut fields = Vec::new();
        let mut fields_of = Vec::with_capacity(rules.len());
        let mut patterns: Vec<Regex> = Vec::new();
        let mut pattern_of = Vec::with_capacity(rules.len());
        let mut predicate_texts: Vec<&str> = Vec::new();
        let mut predicates = Vec::new();
        let mut predicates_of = Vec::with_capacity(rules.len());
        for rule in rules {
            let spec = &rule.spec.filter;
            let at = field_specs
                .iter()
                .position(|s| same_fields(s, spec))
                .unwrap_or_else(|| {
                    field_specs.push(spec);
                    fields.push(rule.filter.clone());
                    fields.len() - 1
                });
            fields_of.push(at);
            pattern_of.push(rule.filter.pattern().map(|re| {
                patterns
                    .iter()
                    .position(|p| p.as_str() == re.as_str())
                    .unwrap_or_else(|| {
                        patterns.push(re.clone());
                        patterns.len() - 1
                    })
            }));
            let mut own = Vec::new();
            for text in &spec.predicates {
                let at = match predicate_texts.iter().position(|t| *t == text.as_str()) {
                    Some(at) => at,
                    // The rule's filter compiled this very text, so it parses.
                    None => match Predicate::parse(text) {
                        Ok(p) => {
                            predicate_texts.push(text);
                            predicates.push(p);
                            predicates.len() - 1
                        }
                        Err(_) => continue,
                    },
                };
                own.push(at);
            }
            predicates_of.push(own);
        }
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
                    .build_many(&patterns.iter().map(Regex::as_str).collect::<Vec<_>>())
                    .ok()
            })
            .flatten();
        Matcher {
            fields_pass: vec![false; fields.len()],
            fields,
            fields_of,
            hits: PatternSet::new(patterns.len()),
            patterns,
            set,
            pattern_of,
            predicate_state: vec![UNKNOWN; predicates.len()],
            predicates,
            predicates_of,
            candidates: Vec::new(),
        }
    }

    /// The indices of the rules (in order) whose filter matches `entry`.
    pub(super) fn matches(&mut self, entry: &LogEntry) -> &[usize] {
        for (pass, filter) in self.fields_pass.iter_mut().zip(&self.fields) {
            *pass = filter.matches_fields(entry);
        }
        self.candidates.clear();
        let mut need_regex = 0;
        for (i, &fields) in self.fields_of.iter().enumerate() {
            if self.fields_pass[fields] {
                self.candidates.push(i);
                need_regex += usize::from(self.pattern_of[i].is_some());
            }
        }
        if self.candidates.is_empty() {
            return &self.candidates;
        }
        let set = self.set.as_ref().filter(|_| need_regex >= 2);
        if let Some(set) = set {
            self.hits.clear();
            set.which_overlapping_matches(&Input::new(&entry.message), &mut self.hits);
        }
        self.predicate_state.fill(UNKNOWN);
        let Matcher {
            patterns,
            pattern_of,
            predicates,
            predicates_of,
            predicate_state,
            hits,
            candidates,
            ..
        } = self;
        candidates.retain(|&i| {
            let regex_ok = match pattern_of[i] {
                Some(id) if set.is_some() => hits.contains(PatternID::must(id)),
                Some(id) => patterns[id].is_match(&entry.message),
                None => true,
            };
            regex_ok
                && predicates_of[i].iter().all(|&p| {
                    if predicate_state[p] == UNKNOWN {
                        predicate_state[p] = if predicates[p].matches(&entry.meta) {
                            HOLDS
                        } else {
                            FAILS
                        };
                    }
                    predicate_state[p] == HOLDS
                })
        });
        &self.candidates
    }
}
