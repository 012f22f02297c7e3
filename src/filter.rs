//! One filter, used everywhere: the server applies it before sending (pushdown), `vg logs` and the TUI
//! apply it again locally.
//!
//! [`FilterSpec`] is the filter as people write it (strings from CLI flags, URL query parameters or the
//! protocol's `filter` message) and is what travels on the wire. [`Filter`] is the same thing compiled
//! (regexes built, times resolved) and checked against every entry.

mod predicate;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};

pub use predicate::Predicate;
pub(crate) use predicate::one_line as regex_error_line;

#[cfg(feature = "cli")]
use crate::model::decode::{FlatLine, Guess, Head};
use crate::model::{Level, LogEntry, UnknownLevel};
use crate::timespec::{TimeError, parse_instant};

/// A filter as written by a person; every field is optional and the empty spec matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterSpec {
    /// Minimum level (`warn` means warn, error and fatal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Sources to include: exact names or `*` globs. Empty means all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<String>,
    /// Sources to leave out: exact names or `*` globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_source: Vec<String>,
    /// A regex the message must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Instances to include.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instance: Vec<String>,
    /// Regions to include.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub region: Vec<String>,
    /// Predicates on `meta`, all of which must hold.
    #[serde(rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub predicates: Vec<String>,
    /// Earliest timestamp: RFC 3339 or a duration ago (`10m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Latest timestamp: RFC 3339 or a duration ago.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A part of a filter that could not be understood. Each message quotes the value and says what works.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// `--level` / `level=`.
    #[error(transparent)]
    Level(#[from] UnknownLevel),
    /// The message regex.
    #[error("invalid regex '{value}': {reason}")]
    Regex {
        /// The pattern as given.
        value: String,
        /// What the regex engine objected to.
        reason: String,
    },
    /// `since` / `until`.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// `since` is after `until`: nothing could ever match.
    #[error(
        "empty time window: since '{since}' is after until '{until}'; swap them or widen the window"
    )]
    EmptyWindow {
        /// `since` as given.
        since: String,
        /// `until` as given.
        until: String,
    },
    /// A `where` predicate.
    #[error("invalid predicate '{value}': {reason}")]
    Predicate {
        /// The predicate as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl FilterSpec {
    /// Every problem of the spec, where [`FilterSpec::compile`] stops at the first: each part
    /// (level, regex, each predicate, the time window) compiled on its own. Empty when it compiles.
    pub fn problems(&self, now: DateTime<Utc>) -> Vec<FilterError> {
        let mut parts = vec![
            FilterSpec {
                level: self.level.clone(),
                ..FilterSpec::default()
            },
            FilterSpec {
                q: self.q.clone(),
                ..FilterSpec::default()
            },
            FilterSpec {
                since: self.since.clone(),
                until: self.until.clone(),
                ..FilterSpec::default()
            },
        ];
        parts.extend(self.predicates.iter().map(|p| FilterSpec {
            predicates: vec![p.clone()],
            ..FilterSpec::default()
        }));
        let mut problems: Vec<FilterError> =
            parts.iter().filter_map(|p| p.compile(now).err()).collect();
        if problems.is_empty()
            && let Err(e) = self.compile(now)
        {
            problems.push(e);
        }
        problems
    }

    /// Whether the spec filters nothing.
    pub fn is_empty(&self) -> bool {
        *self == FilterSpec::default()
    }

    /// Takes one query parameter if it belongs to the filter; returns false for other keys.
    /// Comma lists and repeated keys both add to list fields.
    pub fn set_param(&mut self, key: &str, value: &str) -> bool {
        let list = |field: &mut Vec<String>| {
            field.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        };
        let text =
            |field: &mut Option<String>| *field = Some(value.to_owned()).filter(|v| !v.is_empty());
        match key {
            "level" => text(&mut self.level),
            "source" => list(&mut self.source),
            "exclude_source" => list(&mut self.exclude_source),
            // `grep`, as the CLI flag is named, for a person typing a URL.
            "q" | "grep" => text(&mut self.q),
            "instance" => list(&mut self.instance),
            "region" => list(&mut self.region),
            // A predicate may contain a comma (a regex), so `where` is only ever repeated, never split.
            "where" if !value.is_empty() => self.predicates.push(value.to_owned()),
            "where" => {}
            "since" => text(&mut self.since),
            "until" => text(&mut self.until),
            _ => return false,
        }
        true
    }

    /// Appends the spec as URL query pairs.
    pub fn append_query(&self, query: &mut form_urlencoded::Serializer<'_, String>) {
        let mut one = |key: &str, value: &Option<String>| {
            if let Some(v) = value {
                query.append_pair(key, v);
            }
        };
        one("level", &self.level);
        one("q", &self.q);
        one("since", &self.since);
        one("until", &self.until);
        for (key, values) in [
            ("source", &self.source),
            ("exclude_source", &self.exclude_source),
            ("instance", &self.instance),
            ("region", &self.region),
            ("where", &self.predicates),
        ] {
            for v in values {
                query.append_pair(key, v);
            }
        }
    }

    /// Compiles the spec, resolving relative times against `now`.
    pub fn compile(&self, now: DateTime<Utc>) -> Result<Filter, FilterError> {
        let regex = |pattern: &String| {
            Regex::new(pattern).map_err(|e| FilterError::Regex {
                value: pattern.clone(),
                reason: regex_error_line(&e),
            })
        };
        let since = self
            .since
            .as_deref()
            .map(|t| parse_instant(t, now))
            .transpose()?;
        let until = self
            .until
            .as_deref()
            .map(|t| parse_instant(t, now))
            .transpose()?;
        if let (Some(from), Some(to)) = (since, until)
            && from > to
        {
            return Err(FilterError::EmptyWindow {
                since: self.since.clone().unwrap_or_default(),
                until: self.until.clone().unwrap_or_default(),
            });
        }
        Ok(Filter {
            min_level: self
                .level
                .as_deref()
                .map(Level::parse)
                .transpose()?
                .unwrap_or(Level::Trace),
            sources: self.source.iter().map(|s| Glob::new(s)).collect(),
            exclude_sources: self.exclude_source.iter().map(|s| Glob::new(s)).collect(),
            pattern: self.q.as_ref().map(regex).transpose()?,
            instances: self.instance.clone(),
            regions: self.region.clone(),
            since,
            until,
            predicates: self
                .predicates
                .iter()
                .map(|p| Predicate::parse(p))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A compiled filter, ready to test entries.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    min_level: Level,
    sources: Vec<Glob>,
    exclude_sources: Vec<Glob>,
    pattern: Option<Regex>,
    instances: Vec<String>,
    regions: Vec<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    predicates: Vec<Predicate>,
}

impl Filter {
    /// A filter that lets everything through.
    pub fn all() -> Filter {
        Filter {
            min_level: Level::Trace,
            ..Filter::default()
        }
    }

    /// Whether the entry passes. Cheap checks run first; the regex and predicates last.
    pub fn matches(&self, entry: &LogEntry) -> bool {
        self.matches_fields(entry)
            && self.matches_meta(entry)
            && self
                .pattern
                .as_ref()
                .is_none_or(|re| re.is_match(&entry.message))
    }

    /// Whether it lets every entry through (nothing asked for): a reader may then skip looking at
    /// entries at all.
    #[cfg(any(feature = "cli", feature = "server"))]
    pub(crate) fn passes_all(&self) -> bool {
        !self.narrows_head() && self.predicates.is_empty()
    }

    /// The cheap part of [`Filter::matches`]: level, source, instance, region and time. Alert rules
    /// run this for every rule before any regex, so most rules drop out for the price of a compare.
    pub(crate) fn matches_fields(&self, entry: &LogEntry) -> bool {
        self.fields_match(
            entry.level,
            &entry.source,
            entry.instance.as_deref(),
            entry.region.as_deref(),
            entry.timestamp,
        )
    }

    /// Whether the entry `head` was read from would certainly fail [`Filter::matches`]: a field or
    /// the message is refused (the `where` predicates, which need `meta`, are left to the full test).
    /// Lets a reader drop a line without decoding it.
    #[cfg(feature = "cli")]
    fn rejects_head(&self, head: &Head<'_>) -> bool {
        !self.fields_match(
            head.level,
            &head.source,
            head.instance.as_deref(),
            head.region.as_deref(),
            head.timestamp,
        ) || self
            .pattern
            .as_ref()
            .is_some_and(|re| !re.is_match(&head.message))
    }

    /// Whether a line guessed to be `guess` (see [`Guess`]) is likely to fail [`Filter::matches`]:
    /// worth the exact check of [`Filter::rejects_head`]. Instance and region are not guessed.
    #[cfg(feature = "cli")]
    fn rejects_guess(&self, guess: &Guess<'_>) -> bool {
        guess.level < self.min_level
            || !self.source_passes(guess.source)
            || !self.time_passes(guess.timestamp)
            || self
                .pattern
                .as_ref()
                .is_some_and(|re| !re.is_match(guess.message))
    }

    /// Whether a line read flat passes, for a filter that does not look into `meta` (see
    /// [`Filter::reads_meta`]): the same test as [`Filter::matches`] on the entry it decodes to.
    #[cfg(feature = "cli")]
    pub(crate) fn matches_flat(&self, line: &FlatLine<'_>) -> bool {
        debug_assert!(!self.reads_meta(), "a flat line's meta is not tested");
        self.fields_match(
            line.level,
            line.source,
            line.instance,
            line.region,
            line.timestamp,
        ) && self
            .pattern
            .as_ref()
            .is_none_or(|re| re.is_match(line.message))
    }

    /// Whether it has `where` predicates, which test `meta`.
    #[cfg(feature = "cli")]
    pub(crate) fn reads_meta(&self) -> bool {
        !self.predicates.is_empty()
    }

    /// Whether this line (without its line end) in vg's own format would certainly fail
    /// [`Filter::matches`], decided without building the entry: a reader drops such a line
    /// undecoded (`LineDecoder::push_unless`). A cheap guess runs first, and the exact read of the
    /// line only when the guess says "drop". `false` for a line in any other format.
    #[cfg(feature = "cli")]
    pub(crate) fn refuses_line(&self, line: &str) -> bool {
        self.narrows_head()
            && Guess::of(line).is_some_and(|g| self.rejects_guess(&g))
            && Head::of(line).is_some_and(|h| self.rejects_head(&h))
    }

    /// Whether [`Filter::rejects_head`] can ever say yes: anything but `where` narrows.
    #[cfg(any(feature = "cli", feature = "server"))]
    fn narrows_head(&self) -> bool {
        self.min_level > Level::Trace
            || !self.sources.is_empty()
            || !self.exclude_sources.is_empty()
            || self.pattern.is_some()
            || !self.instances.is_empty()
            || !self.regions.is_empty()
            || self.since.is_some()
            || self.until.is_some()
    }

    /// The cheap part of [`Filter::matches`] on fields given one by one (an entry not built).
    pub(crate) fn fields_match(
        &self,
        level: Level,
        source: &str,
        instance: Option<&str>,
        region: Option<&str>,
        timestamp: DateTime<Utc>,
    ) -> bool {
        level >= self.min_level
            && self.source_passes(source)
            && one_of(&self.instances, instance)
            && one_of(&self.regions, region)
            && self.time_passes(timestamp)
    }

    fn source_passes(&self, source: &str) -> bool {
        (self.sources.is_empty() || self.sources.iter().any(|g| g.matches(source)))
            && !self.exclude_sources.iter().any(|g| g.matches(source))
    }

    fn time_passes(&self, timestamp: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| timestamp >= since)
            && self.until.is_none_or(|until| timestamp <= until)
    }

    /// The `where` predicates, in the order the spec gave them (alert rules share equal ones).
    #[cfg(feature = "server")]
    pub(crate) fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }

    /// The rest of [`Filter::matches`] after [`Filter::fields_match`], for an entry not built (a
    /// backfill from disk writes it from its stored form): the regex on its message, then the
    /// `where` predicates on its meta, decoded by `meta` only if there are any (`None` fails).
    #[cfg(feature = "server")]
    pub(crate) fn matches_message_and_meta(
        &self,
        message: &str,
        meta: impl FnOnce() -> Option<crate::model::Meta>,
    ) -> bool {
        self.pattern.as_ref().is_none_or(|re| re.is_match(message))
            && (self.predicates.is_empty()
                || meta().is_some_and(|meta| self.predicates.iter().all(|p| p.matches(&meta))))
    }

    /// The `where` predicates of [`Filter::matches`].
    pub(crate) fn matches_meta(&self, entry: &LogEntry) -> bool {
        self.predicates.iter().all(|p| p.matches(&entry.meta))
    }

    /// The message regex, if any (alert rules run all of theirs in one pass).
    #[cfg_attr(
        not(feature = "server"),
        expect(dead_code, reason = "only alert rules (server) read it")
    )]
    pub(crate) fn pattern(&self) -> Option<&Regex> {
        self.pattern.as_ref()
    }

    /// The start of the time window, if any: where a reader of history can seek to.
    pub fn since(&self) -> Option<DateTime<Utc>> {
        self.since
    }

    /// The upper time bound, if any: a stream can end once it is in the past.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.until
    }

    /// The minimum level.
    pub fn min_level(&self) -> Level {
        self.min_level
    }
}

fn one_of(allowed: &[String], value: Option<&str>) -> bool {
    allowed.is_empty() || value.is_some_and(|v| allowed.iter().any(|a| a == v))
}

/// A name pattern, as `--source` and `--exclude-source` take them: exact, or with `*` matching any
/// run of characters (`api*`, `*-eu`, `a*i*u`). There is no escape: names do not hold `*`.
#[derive(Debug, Clone)]
pub struct Glob {
    parts: Vec<String>,
}

impl Glob {
    /// Compiles `pattern`; every pattern is valid.
    pub fn new(pattern: &str) -> Glob {
        Glob {
            parts: pattern.split('*').map(str::to_owned).collect(),
        }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let [first, middle @ .., last] = self.parts.as_slice() else {
            return self.parts.first().is_some_and(|p| p == text);
        };
        let Some(mut rest) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        for part in middle {
            match rest.find(part.as_str()) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(level: Level, source: &str, message: &str) -> LogEntry {
        let mut e = LogEntry::new(level, source, message);
        e.instance = Some("148e".into());
        e.region = Some("ord".into());
        e.meta = json!({"statusCode":503,"method":"GET"})
            .as_object()
            .unwrap()
            .clone()
            .into();
        e
    }

    fn compile(spec: FilterSpec) -> Filter {
        spec.compile(Utc::now()).unwrap()
    }

    #[test]
    fn refuses_only_lines_it_is_sure_the_filter_drops() {
        let line = |level: &str, message: &str| {
            format!(
                r#"{{"timestamp":"2026-02-05T18:00:00.000Z","level":"{level}","source":"api","message":"{message}"}}"#
            )
        };
        let warn = FilterSpec {
            level: Some("warn".into()),
            ..Default::default()
        }
        .compile(Utc::now())
        .unwrap();
        assert!(warn.refuses_line(&line("info", "m")));
        assert!(!warn.refuses_line(&line("error", "m")));
        // Not vg's own format (another logger, broken JSON): left to the full decoder.
        assert!(!warn.refuses_line(r#"{"time":1,"level":"info","msg":"m"}"#));
        assert!(!warn.refuses_line(&line("info", "m").replace('}', "")));
        assert!(!Filter::all().refuses_line(&line("trace", "m")));
        let grep = FilterSpec {
            q: Some(r#"say "hi"$"#.into()),
            ..Default::default()
        }
        .compile(Utc::now())
        .unwrap();
        // The guess stops at the escaped quote and misses; the exact read finds the match.
        assert!(!grep.refuses_line(&line("info", r#"say \"hi\""#)));
        assert!(grep.refuses_line(&line("info", r#"say \"bye\""#)));
    }

    #[test]
    fn empty_filter_matches_everything() {
        assert!(compile(FilterSpec::default()).matches(&entry(Level::Trace, "x", "")));
    }

    #[test]
    fn each_dimension_filters() {
        let e = entry(Level::Warn, "api-eu", "GET /users failed");
        let yes =
            |spec: FilterSpec| assert!(compile(spec.clone()).matches(&e), "{spec:?} should match");
        let no = |spec: FilterSpec| {
            assert!(
                !compile(spec.clone()).matches(&e),
                "{spec:?} should not match"
            )
        };
        let s = FilterSpec::default;
        yes(FilterSpec {
            level: Some("warn".into()),
            ..s()
        });
        no(FilterSpec {
            level: Some("error".into()),
            ..s()
        });
        yes(FilterSpec {
            source: vec!["db".into(), "api-*".into()],
            ..s()
        });
        yes(FilterSpec {
            source: vec!["*-eu".into()],
            ..s()
        });
        yes(FilterSpec {
            source: vec!["a*i*u".into()],
            ..s()
        });
        no(FilterSpec {
            source: vec!["api".into()],
            ..s()
        });
        no(FilterSpec {
            exclude_source: vec!["api*".into()],
            ..s()
        });
        yes(FilterSpec {
            q: Some("^GET .*failed$".into()),
            ..s()
        });
        no(FilterSpec {
            q: Some("POST".into()),
            ..s()
        });
        yes(FilterSpec {
            instance: vec!["148e".into()],
            region: vec!["ord".into(), "ams".into()],
            ..s()
        });
        no(FilterSpec {
            region: vec!["ams".into()],
            ..s()
        });
        yes(FilterSpec {
            predicates: vec!["statusCode>=500".into(), "method=GET".into()],
            ..s()
        });
        no(FilterSpec {
            predicates: vec!["statusCode>=500".into(), "method!=GET".into()],
            ..s()
        });
        yes(FilterSpec {
            since: Some("1m".into()),
            ..s()
        });
        no(FilterSpec {
            until: Some("1m".into()),
            ..s()
        });
    }

    #[test]
    fn errors_quote_the_bad_value() {
        let cases = [
            (
                FilterSpec {
                    level: Some("loud".into()),
                    ..Default::default()
                },
                "unknown level 'loud'",
            ),
            (
                FilterSpec {
                    q: Some("(unclosed".into()),
                    ..Default::default()
                },
                "invalid regex '(unclosed': ",
            ),
            (
                FilterSpec {
                    since: Some("yesterday".into()),
                    ..Default::default()
                },
                "invalid time 'yesterday'",
            ),
            (
                FilterSpec {
                    predicates: vec!["status".into()],
                    ..Default::default()
                },
                "invalid predicate 'status'",
            ),
            (
                FilterSpec {
                    since: Some("2030-01-01".into()),
                    until: Some("2020-01-01".into()),
                    ..Default::default()
                },
                "empty time window: since '2030-01-01' is after until '2020-01-01'",
            ),
        ];
        for (spec, want) in cases {
            let err = spec.compile(Utc::now()).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn query_round_trip_with_lists_and_repeats() {
        let mut spec = FilterSpec::default();
        for (k, v) in form_urlencoded::parse(
            b"level=warn&source=api,db&source=auth&exclude_source=noisy&q=time%20out&where=status%3E%3D500&where=path~a,b&since=10m&tail=5",
        ) {
            spec.set_param(&k, &v);
        }
        assert_eq!(spec.source, ["api", "db", "auth"]);
        assert_eq!(spec.predicates, ["status>=500", "path~a,b"]);
        assert_eq!(spec.q.as_deref(), Some("time out"));
        let mut query = form_urlencoded::Serializer::new(String::new());
        spec.append_query(&mut query);
        let mut back = FilterSpec::default();
        for (k, v) in form_urlencoded::parse(query.finish().as_bytes()) {
            back.set_param(&k, &v);
        }
        assert_eq!(back, spec);
        let mut typed = FilterSpec::default();
        assert!(
            typed.set_param("grep", "time out"),
            "grep is q's other name"
        );
        assert_eq!(typed.q.as_deref(), Some("time out"));
    }

    #[test]
    fn spec_serializes_as_the_protocol_filter_message_fields() {
        let spec = FilterSpec {
            level: Some("warn".into()),
            predicates: vec!["a=1".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&spec).unwrap(),
            r#"{"level":"warn","where":["a=1"]}"#
        );
    }
}
