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
//! Rules whose filters are the same (differing in threshold, window, `group_by` or notifiers) are
//! one check: an entry costs a pass over the distinct checks, not over the rules, and the engine
//! keeps the matches per check, which each rule of the check then reads.
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

/// One distinct filter, as indices into the matcher's parts.
#[derive(Debug, PartialEq, Eq)]
struct Check {
    /// Its entry in `fields`.
    fields: usize,
    /// Its pattern, for a filter with a `grep`.
    pattern: Option<usize>,
    /// Its predicates (indices in `predicates`), sorted.
    predicates: Vec<usize>,
}

#[derive(Debug)]
pub(super) struct Matcher {
    /// One filter per distinct set of cheap fields, to run `matches_fields` on.
    fields: Vec<Filter>,
    /// The distinct `grep` patterns.
    patterns: Vec<Regex>,
    /// All of `patterns` in one set, pattern id = index in `patterns` (when there are two or more).
    set: Option<Set>,
    /// The distinct `where` predicates.
    predicates: Vec<Predicate>,
    /// The distinct filters.
    checks: Vec<Check>,
    /// Rule index -> its check.
    check_of: Vec<usize>,
    /// Per entry: which `fields` pass.
    fields_pass: Vec<bool>,
    /// Per entry: each predicate's result, `UNKNOWN` until a check needs it.
    predicate_state: Vec<u8>,
    /// Which patterns matched the current message.
    hits: PatternSet,
    /// Checks passing step 1 for the current entry, then those matching.
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
        let mut patterns: Vec<Regex> = Vec::new();
        let mut predicate_texts: Vec<&str> = Vec::new();
        let mut predicates = Vec::new();
        let mut checks: Vec<Check> = Vec::new();
        let mut check_of = Vec::with_capacity(rules.len());
        for rule in rules {
            let spec = &rule.spec.filter;
            let fields_at = field_specs
                .iter()
                .position(|s| same_fields(s, spec))
                .unwrap_or_else(|| {
                    field_specs.push(spec);
                    fields.push(rule.filter.clone());
                    fields.len() - 1
                });
            let pattern = rule.filter.pattern().map(|re| {
                patterns
                    .iter()
                    .position(|p| p.as_str() == re.as_str())
                    .unwrap_or_else(|| {
                        patterns.push(re.clone());
                        patterns.len() - 1
                    })
            });
            let mut own = Vec::new();
            // The rule's filter compiled its spec's texts, in order: shared by their text.
            for (text, predicate) in spec.predicates.iter().zip(rule.filter.predicates()) {
                let at = match predicate_texts.iter().position(|t| *t == text.as_str()) {
                    Some(at) => at,
                    None => {
                        predicate_texts.push(text);
                        predicates.push(predicate.clone());
                        predicates.len() - 1
                    }
                };
                own.push(at);
            }
            own.sort_unstable();
            own.dedup();
            let check = Check {
                fields: fields_at,
                pattern,
                predicates: own,
            };
            check_of.push(checks.iter().position(|c| *c == check).unwrap_or_else(|| {
                checks.push(check);
                checks.len() - 1
            }));
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
            hits: PatternSet::new(patterns.len()),
            patterns,
            set,
            predicate_state: vec![UNKNOWN; predicates.len()],
            predicates,
            checks,
            check_of,
            candidates: Vec::new(),
        }
    }

    /// How many distinct checks the rules make.
    pub(super) fn checks(&self) -> usize {
        self.checks.len()
    }

    /// The check of rule `rule`: the rule matches what [`Matcher::matches`] says its check does.
    pub(super) fn check_of(&self, rule: usize) -> usize {
        self.check_of[rule]
    }

    /// The indices of the checks (in order) whose filter matches `entry`.
    pub(super) fn matches(&mut self, entry: &LogEntry) -> &[usize] {
        for (pass, filter) in self.fields_pass.iter_mut().zip(&self.fields) {
            *pass = filter.matches_fields(entry);
        }
        self.candidates.clear();
        let mut need_regex = 0;
        for (i, check) in self.checks.iter().enumerate() {
            if self.fields_pass[check.fields] {
                self.candidates.push(i);
                need_regex += usize::from(check.pattern.is_some());
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
            predicates,
            predicate_state,
            checks,
            hits,
            candidates,
            ..
        } = self;
        candidates.retain(|&i| {
            let check = &checks[i];
            let regex_ok = match check.pattern {
                Some(id) if set.is_some() => hits.contains(PatternID::must(id)),
                Some(id) => patterns[id].is_match(&entry.message),
                None => true,
            };
            regex_ok
                && check.predicates.iter().all(|&p| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;
    use crate::server::alerts::rules::{RuleSpec, Rules};

    /// Rules of every kind, several sharing a filter (and so a check) with different thresholds.
    fn rules() -> Rules {
        let filters = [
            FilterSpec {
                level: Some("error".into()),
                ..FilterSpec::default()
            },
            FilterSpec {
                source: vec!["api*".into()],
                q: Some("timeout|refused".into()),
                ..FilterSpec::default()
            },
            FilterSpec {
                q: Some(r"took \d+ms".into()),
                ..FilterSpec::default()
            },
            FilterSpec {
                q: Some("^GET".into()),
                predicates: vec!["status>=500".into()],
                ..FilterSpec::default()
            },
            FilterSpec {
                level: Some("warn".into()),
                predicates: vec!["status>=500".into(), "path~^/api".into()],
                ..FilterSpec::default()
            },
        ];
        let specs = (0..15)
            .map(|i| {
                let mut rule = RuleSpec::new(format!("r{i}"), filters[i % 5].clone());
                rule.threshold = 1 + i as u64;
                rule
            })
            .collect();
        Rules::new(specs, Vec::new()).unwrap()
    }

    #[test]
    fn each_rule_matches_exactly_what_its_own_filter_does() {
        let rules = rules();
        let mut matcher = Matcher::new(&rules.rules);
        assert_eq!(matcher.checks(), 5, "rules with one filter share a check");
        let levels = [Level::Info, Level::Warn, Level::Error];
        let messages = ["GET /api took 12ms", "upstream timeout", "refused", "fine"];
        // Per rule: entries it matched, entries it did not.
        let mut seen = vec![(0, 0); rules.rules.len()];
        for (i, message) in messages.iter().cycle().take(48).enumerate() {
            let source = ["api-eu", "worker"][i % 2];
            let mut entry = LogEntry::new(levels[i % 3], source, *message);
            entry.meta.insert("status", [200, 503][(i / 4) % 2]);
            entry.meta.insert("path", ["/api/x", "/web"][(i / 8) % 2]);
            let checks = matcher.matches(&entry).to_vec();
            for (r, rule) in rules.rules.iter().enumerate() {
                let expected = rule.filter.matches(&entry);
                let got = checks.contains(&matcher.check_of(r));
                assert_eq!(got, expected, "rule {r} on {entry:?}");
                if got {
                    seen[r].0 += 1;
                } else {
                    seen[r].1 += 1;
                }
            }
        }
        // Not vacuous: every rule both matched and missed.
        assert!(
            seen.iter().all(|&(hit, miss)| hit > 0 && miss > 0),
            "{seen:?}"
        );
    }
}
