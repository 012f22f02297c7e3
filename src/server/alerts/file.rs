//! The rules file: TOML read through serde with the span of every key, so each problem (an unknown
//! key, a value of the wrong kind, a bad regex or duration, an unknown notifier, a duplicate name) is
//! one line naming its line, item and key, and all of them are reported at once.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use super::rules::{Lines, NotifierSpec, Problem, RuleSpec, Rules, RulesError, WebhookFormat};
use crate::timespec::parse_duration;

type RawTable = Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>;

/// The file's top level: anything else (`[[rules]]`, `[rule]`) is refused with its line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<RawTable>,
    #[serde(default)]
    notifier: Vec<RawTable>,
}

const RULE_KEYS: &[&str] = &[
    "name",
    "level",
    "source",
    "exclude_source",
    "grep",
    "where",
    "instance",
    "region",
    "threshold",
    "window",
    "cooldown",
    "group_by",
    "absent_for",
    "notify",
];
const NOTIFIER_KEYS: &[&str] = &["name", "webhook", "format"];

/// Line numbers of each item and its keys.
#[derive(Default)]
struct FileLines {
    rules: Vec<(usize, HashMap<String, usize>)>,
    notifiers: Vec<(usize, HashMap<String, usize>)>,
}

fn find(items: &[(usize, HashMap<String, usize>)], i: usize, key: Option<&str>) -> Option<usize> {
    let (line, keys) = items.get(i)?;
    Some(key.and_then(|k| keys.get(k).copied()).unwrap_or(*line))
}

impl Lines for FileLines {
    fn rule(&self, i: usize, key: Option<&str>) -> Option<usize> {
        find(&self.rules, i, key)
    }
    fn notifier(&self, i: usize, key: Option<&str>) -> Option<usize> {
        find(&self.notifiers, i, key)
    }
}

/// The 1-based line holding byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Rules from a file; `file` is a leaf above `rules`, so they are read here.
impl Rules {
    /// Reads a rules file's text (docs/alerts.md).
    pub fn from_toml(text: &str) -> Result<Rules, RulesError> {
        parse(text)
    }

    /// Reads a rules file; a file that cannot be read is one problem.
    pub fn from_file(path: &std::path::Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            problems: vec![Problem {
                line: None,
                item: path.display().to_string(),
                key: None,
                message: format!("cannot read the rules file: {e}"),
            }],
        })?;
        Rules::from_toml(&text)
    }
}

fn parse(text: &str) -> Result<Rules, RulesError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        RulesError {
            problems: vec![Problem {
                line: e.span().map(|s| line_of(text, s.start)),
                item: "the rules file".into(),
                key: None,
                message: format!("{message} (a rules file holds [[rule]] and [[notifier]] tables)"),
            }],
        }
    })?;
    let mut problems = Vec::new();
    let mut lines = FileLines::default();
    let mut rules = Vec::new();
    for (i, table) in raw.rule.into_iter().enumerate() {
        let mut reader = Reader::new(text, &table, RULE_KEYS, "rule", i, &mut problems);
        let mut spec = RuleSpec::new(
            reader.string("name").unwrap_or_default(),
            crate::filter::FilterSpec::default(),
        );
        reader.item = if spec.name.is_empty() {
            format!("rule #{}", i + 1)
        } else {
            format!("rule \"{}\"", spec.name)
        };
        spec.filter.level = reader.string("level");
        spec.filter.source = reader.list("source");
        spec.filter.exclude_source = reader.list("exclude_source");
        spec.filter.q = reader.string("grep");
        spec.filter.predicates = reader.list("where");
        spec.filter.instance = reader.list("instance");
        spec.filter.region = reader.list("region");
        if let Some(n) = reader.integer("threshold") {
            spec.threshold = n;
        }
        if let Some(d) = reader.duration("window") {
            spec.window = d;
        }
        if let Some(d) = reader.duration("cooldown") {
            spec.cooldown = d;
        }
        spec.group_by = reader.string("group_by");
        spec.absent_for = reader.duration("absent_for");
        spec.notify = reader.list("notify");
        lines.rules.push(reader.finish());
        rules.push(spec);
    }
    let mut notifiers = Vec::new();
    for (i, table) in raw.notifier.into_iter().enumerate() {
        let mut reader = Reader::new(text, &table, NOTIFIER_KEYS, "notifier", i, &mut problems);
        let name = reader.string("name").unwrap_or_default();
        reader.item = format!("notifier \"{name}\"");
        let webhook = reader.string("webhook").unwrap_or_default();
        let format = match reader.string("format") {
            None => WebhookFormat::Json,
            Some(f) => WebhookFormat::parse(&f).unwrap_or_else(|| {
                reader.bad(
                    "format",
                    format!("unknown format '{f}'; use json, slack or discord"),
                );
                WebhookFormat::Json
            }),
        };
        lines.notifiers.push(reader.finish());
        notifiers.push(NotifierSpec::new(name, webhook).format(format));
    }
    Rules::validate(rules, notifiers, &lines, problems)
}

/// Reads one table's keys into typed values, recording each problem with its line.
struct Reader<'a> {
    text: &'a str,
    table: &'a RawTable,
    item: String,
    line: usize,
    keys: HashMap<String, usize>,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Reader<'a> {
    fn new(
        text: &'a str,
        table: &'a RawTable,
        known: &[&str],
        kind: &str,
        index: usize,
        problems: &'a mut Vec<Problem>,
    ) -> Reader<'a> {
        let line = line_of(text, table.span().start);
        let keys: HashMap<String, usize> = table
            .get_ref()
            .keys()
            .map(|k| (k.get_ref().clone(), line_of(text, k.span().start)))
            .collect();
        let reader = Reader {
            text,
            table,
            item: format!("{kind} #{}", index + 1),
            line,
            keys,
            problems,
        };
        for key in table.get_ref().keys() {
            let name = key.get_ref();
            if !known.contains(&name.as_str()) {
                let message = format!("unknown key; a {kind} takes {}", known.join(", "));
                reader.problems.push(Problem {
                    line: Some(line_of(text, key.span().start)),
                    item: String::new(),
                    key: Some(name.clone()),
                    message,
                });
            }
        }
        reader
    }

    fn value(&self, key: &str) -> Option<&'a Spanned<toml::Value>> {
        self.table
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v)
    }

    fn bad(&mut self, key: &str, message: String) {
        self.problems.push(Problem {
            line: Some(self.keys.get(key).copied().unwrap_or(self.line)),
            item: self.item.clone(),
            key: Some(key.to_owned()),
            message,
        });
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.value(key)?.get_ref() {
            toml::Value::String(s) => Some(s.clone()),
            other => {
                let kind = other.type_str();
                self.bad(key, format!("expected a string in quotes, found {kind}"));
                None
            }
        }
    }

    fn list(&mut self, key: &str) -> Vec<String> {
        let Some(value) = self.value(key) else {
            return Vec::new();
        };
        match value.get_ref() {
            toml::Value::String(s) => vec![s.clone()],
            toml::Value::Array(items) => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect();
                strings.unwrap_or_else(|| {
                    self.bad(
                        key,
                        "expected a list of strings, like [\"a\", \"b\"]".into(),
                    );
                    Vec::new()
                })
            }
            other => {
                let kind = other.type_str();
                self.bad(
                    key,
                    format!("expected a string or a list of strings, found {kind}"),
                );
                Vec::new()
            }
        }
    }

    fn integer(&mut self, key: &str) -> Option<u64> {
        match self.value(key)?.get_ref() {
            toml::Value::Integer(n) if *n >= 1 => u64::try_from(*n).ok(),
            toml::Value::Integer(n) => {
                self.bad(
                    key,
                    format!("{n} is not allowed; use a whole number of at least 1"),
                );
                None
            }
            other => {
                let kind = other.type_str();
                self.bad(key, format!("expected a whole number, found {kind}"));
                None
            }
        }
    }

    fn duration(&mut self, key: &str) -> Option<std::time::Duration> {
        let text = self.string(key)?;
        match parse_duration(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.bad(key, e.to_string());
                None
            }
        }
    }

    /// The item's lines; unknown keys found earlier get the item's final name.
    fn finish(self) -> (usize, HashMap<String, usize>) {
        let _ = self.text;
        for problem in self.problems.iter_mut().filter(|p| p.item.is_empty()) {
            problem.item.clone_from(&self.item);
        }
        (self.line, self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rule]]
name = "api errors"          # unique; shown in every notification
level = "error"
source = ["api*"]
grep = "timeout|refused"
where = ["statusCode>=500"]
threshold = 5
window = "1m"
cooldown = "10m"
group_by = "path"
notify = ["ops"]

[[rule]]
name = "worker silent"
source = ["worker"]
absent_for = "2m"
notify = ["ops"]

[[notifier]]
name = "ops"
webhook = "https://hooks.example.com/x"
format = "json"
"#;

    #[test]
    fn the_documented_example_is_read_as_written() {
        let rules = Rules::from_toml(GOOD).unwrap();
        let specs: Vec<_> = rules.specs().collect();
        assert_eq!(specs.len(), 2);
        let api = specs[0];
        assert_eq!(api.name, "api errors");
        assert_eq!(api.threshold, 5);
        assert_eq!(api.window.as_secs(), 60);
        assert_eq!(api.cooldown.as_secs(), 600);
        assert_eq!(api.group_by.as_deref(), Some("path"));
        assert_eq!(api.filter.q.as_deref(), Some("timeout|refused"));
        assert_eq!(api.filter.predicates, ["statusCode>=500"]);
        let silent = specs[1];
        assert_eq!(silent.absent_for.map(|d| d.as_secs()), Some(120));
        assert_eq!(silent.cooldown, super::super::rules::DEFAULT_COOLDOWN);
        assert_eq!(rules.notifiers()[0].format, WebhookFormat::Json);
    }

    #[test]
    fn every_problem_is_one_line_naming_its_line_rule_and_key() {
        let text = r#"[[rule]]
name = "a"
levle = "error"
grep = "(unclosed"
window = "5 minutes"
notify = ["pager"]

[[rule]]
name = "a"
threshold = 0

[[notifier]]
name = "ops"
webhook = "https://hooks.example.com/x"
format = "teams"
"#;
        let err = Rules::from_toml(text).unwrap_err();
        let lines: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        let expected = [
            "line 3: rule \"a\", key 'levle': unknown key; a rule takes name, level,",
            "line 4: rule \"a\", key 'grep': invalid regex '(unclosed'",
            "line 5: rule \"a\", key 'window': invalid duration '5 minutes'",
            "line 6: rule \"a\", key 'notify': no notifier is named \"pager\"",
            "line 9: rule \"a\", key 'name': another rule has this name",
            "line 10: rule \"a\", key 'threshold': 0 is not allowed",
            "line 15: notifier \"ops\", key 'format': unknown format 'teams'",
        ];
        assert_eq!(lines.len(), expected.len(), "{lines:#?}");
        for (line, want) in lines.iter().zip(expected) {
            assert!(
                line.starts_with(want),
                "{line}\n  does not start with\n{want}"
            );
            assert!(!line.contains('\n'));
        }
    }

    #[test]
    fn a_file_that_is_not_toml_or_has_unknown_tables_says_where() {
        let err = Rules::from_toml("[[rules]]\nname = \"x\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("line 1: the rules file: unknown field `rules`"),
            "{text}"
        );
        let err = Rules::from_toml("[[rule]]\nname = \"x\nnotify = 1\n").unwrap_err();
        assert!(err.to_string().starts_with("line 2: "), "{err}");
    }

    #[test]
    fn wrong_kinds_of_values_are_named() {
        let err = Rules::from_toml(
            "[[rule]]\nname = \"x\"\nsource = 3\nthreshold = \"five\"\n[[notifier]]\nname = \"n\"\n",
        )
        .unwrap_err();
        let lines: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "line 3: rule \"x\", key 'source': expected a string or a list of strings, found integer",
                "line 4: rule \"x\", key 'threshold': expected a whole number, found string",
                "line 5: notifier \"n\", key 'webhook': missing: set the http:// or https:// URL notifications are POSTed to",
            ]
        );
    }
}
