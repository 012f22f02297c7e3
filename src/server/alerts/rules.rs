//! Alert rules as a program builds them ([`RuleSpec`], [`NotifierSpec`]) and as the engine runs them
//! ([`Rules`]): validated once, every problem reported at once, one line each.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;

use crate::filter::{Filter, FilterError, FilterSpec};

/// How long a rule waits after notifying before it notifies again, unless it says otherwise.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5 * 60);
/// The window a threshold is counted in, unless the rule says otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// One alert rule as written: which entries it counts and when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleSpec {
    /// Unique; shown in every notification.
    pub name: String,
    /// Which entries count: the same filter as `vg logs` (`since`/`until` are refused).
    pub filter: FilterSpec,
    /// Fire when at least this many entries match within `window` (at least 1).
    pub threshold: u64,
    /// The window the threshold is counted in.
    pub window: Duration,
    /// After notifying, how long to wait before notifying again; matches meanwhile are counted.
    pub cooldown: Duration,
    /// A `meta` key: each of its values is an alert of its own, with its own cooldown.
    pub group_by: Option<String>,
    /// Fire when no matching entry arrives for this long instead (threshold and window unused).
    pub absent_for: Option<Duration>,
    /// The notifiers told, by name.
    pub notify: Vec<String>,
}

impl RuleSpec {
    /// A rule firing on the first matching entry, with the default window and cooldown.
    pub fn new(name: impl Into<String>, filter: FilterSpec) -> RuleSpec {
        RuleSpec {
            name: name.into(),
            filter,
            threshold: 1,
            window: DEFAULT_WINDOW,
            cooldown: DEFAULT_COOLDOWN,
            group_by: None,
            absent_for: None,
            notify: Vec::new(),
        }
    }
}

/// The body a webhook is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum WebhookFormat {
    /// vg's own JSON (docs/alerts.md).
    #[default]
    Json,
    /// A Slack incoming webhook's `{"text": ...}`.
    Slack,
    /// A Discord webhook's `{"content": ...}`.
    Discord,
}

impl WebhookFormat {
    /// `json`, `slack` or `discord`.
    pub fn parse(text: &str) -> Option<WebhookFormat> {
        match text {
            "json" => Some(WebhookFormat::Json),
            "slack" => Some(WebhookFormat::Slack),
            "discord" => Some(WebhookFormat::Discord),
            _ => None,
        }
    }
}

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotifierSpec {
    /// What rules call it by.
    pub name: String,
    /// An `http://` or `https://` URL notifications are POSTed to.
    pub webhook: String,
    /// The body's shape.
    pub format: WebhookFormat,
}

impl NotifierSpec {
    /// A notifier POSTing vg's JSON to `webhook`.
    pub fn new(name: impl Into<String>, webhook: impl Into<String>) -> NotifierSpec {
        NotifierSpec {
            name: name.into(),
            webhook: webhook.into(),
            format: WebhookFormat::Json,
        }
    }

    /// The same, sending `format`'s body.
    #[must_use]
    pub fn format(mut self, format: WebhookFormat) -> NotifierSpec {
        self.format = format;
        self
    }
}

/// One thing wrong in a set of rules: where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The line in the rules file, when the rules came from one.
    pub line: Option<usize>,
    /// `rule "api errors"`, `notifier "ops"`, or `rule #2` for one without a name.
    pub item: String,
    /// The key at fault, when one is.
    pub key: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        f.write_str(&self.item)?;
        if let Some(key) = &self.key {
            write!(f, ", key '{key}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Rules that cannot be used: every problem found, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.problems))]
#[non_exhaustive]
pub struct RulesError {
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

fn lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) spec: RuleSpec,
    pub(crate) filter: Filter,
}

/// A validated set of rules and notifiers.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub(crate) rules: Vec<Rule>,
    pub(crate) notifiers: Vec<NotifierSpec>,
}

/// Where each item and key of a rules file is, so problems can name lines.
pub(crate) trait Lines {
    fn rule(&self, index: usize, key: Option<&str>) -> Option<usize>;
    fn notifier(&self, index: usize, key: Option<&str>) -> Option<usize>;
}

/// Rules built in code have no lines.
struct NoLines;

impl Lines for NoLines {
    fn rule(&self, _: usize, _: Option<&str>) -> Option<usize> {
        None
    }
    fn notifier(&self, _: usize, _: Option<&str>) -> Option<usize> {
        None
    }
}

impl Rules {
    /// Validates rules built in code: unique names, filters that compile, notifiers that exist.
    pub fn new(rules: Vec<RuleSpec>, notifiers: Vec<NotifierSpec>) -> Result<Rules, RulesError> {
        Rules::validate(rules, notifiers, &NoLines, Vec::new())
    }

    /// The rules' specs, in order.
    pub fn specs(&self) -> impl Iterator<Item = &RuleSpec> {
        self.rules.iter().map(|r| &r.spec)
    }

    /// The notifiers, in order.
    pub fn notifiers(&self) -> &[NotifierSpec] {
        &self.notifiers
    }

    pub(crate) fn validate(
        rules: Vec<RuleSpec>,
        notifiers: Vec<NotifierSpec>,
        at: &dyn Lines,
        mut problems: Vec<Problem>,
    ) -> Result<Rules, RulesError> {
        let mut notifier_names = HashSet::new();
        for (i, notifier) in notifiers.iter().enumerate() {
            let item = format!("notifier \"{}\"", notifier.name);
            let mut bad = |key: &str, message: String| {
                problems.push(Problem {
                    line: at.notifier(i, Some(key)),
                    item: item.clone(),
                    key: Some(key.to_owned()),
                    message,
                });
            };
            if notifier.name.trim().is_empty() {
                bad("name", "every notifier needs a name rules can use".into());
            } else if !notifier_names.insert(notifier.name.clone()) {
                bad(
                    "name",
                    "another notifier has this name; names must be unique".into(),
                );
            }
            if let Err(reason) = check_webhook(&notifier.webhook) {
                bad("webhook", reason);
            }
        }
        let mut names = HashSet::new();
        let mut compiled = Vec::new();
        for (i, spec) in rules.into_iter().enumerate() {
            let item = if spec.name.trim().is_empty() {
                format!("rule #{}", i + 1)
            } else {
                format!("rule \"{}\"", spec.name)
            };
            let mut bad = |key: &str, message: String| {
                problems.push(Problem {
                    line: at.rule(i, Some(key)),
                    item: item.clone(),
                    key: Some(key.to_owned()),
                    message,
                });
            };
            if spec.name.trim().is_empty() {
                bad(
                    "name",
                    "every rule needs a name (it is shown in every notification)".into(),
                );
            } else if !names.insert(spec.name.clone()) {
                bad(
                    "name",
                    "another rule has this name; names must be unique".into(),
                );
            }
            if spec.threshold == 0 {
                bad("threshold", "must be at least 1".into());
            }
            if spec.window.is_zero() {
                bad("window", "must be longer than 0s".into());
            }
            if spec.absent_for.is_some_and(|d| d.is_zero()) {
                bad("absent_for", "must be longer than 0s".into());
            }
            if spec.absent_for.is_some() && spec.threshold != 1 {
                bad(
                    "threshold",
                    "a rule with absent_for fires on silence; remove threshold (or absent_for)"
                        .into(),
                );
            }
            if spec.filter.since.is_some() || spec.filter.until.is_some() {
                bad(
                    "since",
                    "rules watch the live stream; since/until do not apply".into(),
                );
            }
            for name in &spec.notify {
                if !notifier_names.contains(name) && !notifiers.iter().any(|n| &n.name == name) {
                    bad(
                        "notify",
                        format!(
                            "no notifier is named \"{name}\"; add a [[notifier]] with name = \"{name}\" or fix the name"
                        ),
                    );
                }
            }
            match spec.filter.compile(Utc::now()) {
                Ok(filter) => compiled.push(Rule { spec, filter }),
                // Every problem of the rule's filter, not only the first.
                Err(_) => {
                    for e in spec.filter.problems(Utc::now()) {
                        let key = match &e {
                            FilterError::Level(_) => "level",
                            FilterError::Regex { .. } => "grep",
                            FilterError::Predicate { .. } => "where",
                            _ => "since",
                        };
                        bad(key, e.to_string());
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(Rules {
                rules: compiled,
                notifiers,
            })
        } else {
            problems.sort_by_key(|p| p.line);
            Err(RulesError { problems })
        }
    }
}

fn check_webhook(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Err("missing: set the http:// or https:// URL notifications are POSTed to".into());
    }
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(u) => Err(format!(
            "'{url}' is a {} URL; use an http:// or https:// webhook URL",
            u.scheme()
        )),
        Err(e) => Err(format!(
            "'{url}' is not a URL ({e}); use an http:// or https:// webhook URL"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_built_in_code_are_checked_like_a_file() {
        let mut dup = RuleSpec::new("a", FilterSpec::default());
        dup.notify = vec!["nobody".into()];
        // Three problems in one filter: each is said, not only the first.
        let bad_regex = RuleSpec::new(
            "b",
            FilterSpec {
                level: Some("loud".into()),
                q: Some("(".into()),
                predicates: vec!["statusCode>>5".into()],
                ..FilterSpec::default()
            },
        );
        let err = Rules::new(
            vec![RuleSpec::new("a", FilterSpec::default()), dup, bad_regex],
            vec![NotifierSpec::new("ops", "ftp://x")],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("rule \"a\", key 'name': another rule has this name"),
            "{text}"
        );
        assert!(
            text.contains("key 'notify': no notifier is named \"nobody\""),
            "{text}"
        );
        assert!(
            text.contains("rule \"b\", key 'grep': invalid regex '('"),
            "{text}"
        );
        assert!(text.contains("rule \"b\", key 'level':"), "{text}");
        assert!(text.contains("rule \"b\", key 'where':"), "{text}");
        assert!(
            text.contains("notifier \"ops\", key 'webhook': 'ftp://x' is a ftp URL"),
            "{text}"
        );
        assert_eq!(err.problems.len(), 6);
    }

    #[test]
    fn good_rules_in_code_are_accepted() {
        let mut rule = RuleSpec::new("errors", FilterSpec::default());
        rule.notify = vec!["ops".into()];
        let rules = Rules::new(
            vec![rule],
            vec![NotifierSpec::new("ops", "http://127.0.0.1:9/x")],
        )
        .unwrap();
        assert_eq!(rules.specs().count(), 1);
    }
}
