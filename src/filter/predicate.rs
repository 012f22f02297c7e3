//! Field predicates on `meta`: `status>=500`, `userId=user_123`, `path~^/api`, `method!=GET`.

use regex::Regex;
use serde_json::Value;

use super::FilterError;
use crate::model::Meta;

/// One comparison against a `meta` field, addressed by key or dotted path (`user.id`).
#[derive(Debug, Clone)]
pub struct Predicate {
    /// The key as written: a key that itself contains dots is looked up whole first.
    key: String,
    path: Vec<String>,
    op: Op,
    value: String,
    number: Option<f64>,
    regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Match,
    NotMatch,
}

/// Longest operators first so `>=` is not read as `>`.
const OPERATORS: &[(&str, Op)] = &[
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("!=", Op::Ne),
    ("!~", Op::NotMatch),
    ("==", Op::Eq),
    ("=", Op::Eq),
    ("~", Op::Match),
    (">", Op::Gt),
    ("<", Op::Lt),
];

const PREDICATE_FORMS: &str = "KEY=VALUE, KEY!=VALUE, KEY>N, KEY>=N, KEY<N, KEY<=N, KEY~REGEX or KEY!~REGEX (e.g. status>=500)";

impl Predicate {
    /// Parses `KEY OP VALUE`.
    pub fn parse(text: &str) -> Result<Predicate, FilterError> {
        let bad = |reason: String| FilterError::Predicate {
            value: text.to_owned(),
            reason,
        };
        let (at, symbol, op) = text
            .char_indices()
            .find_map(|(i, _)| {
                OPERATORS
                    .iter()
                    .find(|(symbol, _)| text[i..].starts_with(symbol))
                    .map(|(symbol, op)| (i, *symbol, *op))
            })
            .ok_or_else(|| bad(format!("no operator; use {PREDICATE_FORMS}")))?;
        let key = text[..at].trim();
        let value = text[at + symbol.len()..].trim().to_owned();
        if key.is_empty() {
            return Err(bad(format!(
                "no field name before '{symbol}'; use {PREDICATE_FORMS}"
            )));
        }
        let number = value.parse::<f64>().ok();
        if matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) && number.is_none() {
            return Err(bad(format!(
                "'{symbol}' compares numbers, and '{value}' is not one"
            )));
        }
        let regex = match op {
            Op::Match | Op::NotMatch => {
                Some(Regex::new(&value).map_err(|e| bad(format!("bad regex: {}", one_line(&e))))?)
            }
            _ => None,
        };
        Ok(Predicate {
            key: key.to_owned(),
            path: key.split('.').map(str::to_owned).collect(),
            op,
            value,
            number,
            regex,
        })
    }

    /// Whether `meta` satisfies the predicate. A missing field satisfies only `!=` and `!~`.
    pub fn matches(&self, meta: &Meta) -> bool {
        let Some(field) = self.lookup(meta) else {
            return matches!(self.op, Op::Ne | Op::NotMatch);
        };
        let field_number = match field {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        let text = || match field {
            Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
            other => std::borrow::Cow::Owned(other.to_string()),
        };
        let equal = || match (field_number, self.number) {
            (Some(a), Some(b)) => a == b,
            _ => text() == self.value,
        };
        let ordered = |test: fn(f64, f64) -> bool| match (field_number, self.number) {
            (Some(a), Some(b)) => test(a, b),
            _ => false,
        };
        match self.op {
            Op::Eq => equal(),
            Op::Ne => !equal(),
            Op::Gt => ordered(|a, b| a > b),
            Op::Ge => ordered(|a, b| a >= b),
            Op::Lt => ordered(|a, b| a < b),
            Op::Le => ordered(|a, b| a <= b),
            Op::Match => self.regex.as_ref().is_some_and(|r| r.is_match(&text())),
            Op::NotMatch => self.regex.as_ref().is_some_and(|r| !r.is_match(&text())),
        }
    }

    fn lookup<'m>(&self, meta: &'m Meta) -> Option<&'m Value> {
        // A key that itself contains dots ("fly.app") wins over a nested path.
        if let Some(v) = meta.get(&self.key) {
            return Some(v);
        }
        let (first, rest) = self.path.split_first()?;
        rest.iter().try_fold(meta.get(first)?, |v, key| v.get(key))
    }
}

/// Regex errors span several lines; a CLI error must be one.
pub(crate) fn one_line(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("invalid pattern")
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(value: Value) -> Meta {
        value.as_object().unwrap().clone().into()
    }

    #[test]
    fn comparisons() {
        let m = meta(
            json!({"statusCode":503,"userId":"user_123","path":"/api/users","method":"POST","code":"200","user":{"id":7}}),
        );
        let yes = [
            "statusCode>=500",
            "statusCode>500",
            "statusCode<600",
            "statusCode=503",
            "userId=user_123",
            "path~^/api",
            "method!=GET",
            "code=200",
            "code<=200",
            "user.id=7",
            "missing!=x",
            "path!~^/admin",
        ];
        let no = [
            "statusCode<500",
            "statusCode=200",
            "userId=user_999",
            "path~^/admin",
            "method!=POST",
            "missing=x",
            "missing>1",
            "user.id>7",
            "path>=3",
        ];
        for p in yes {
            assert!(Predicate::parse(p).unwrap().matches(&m), "{p} should match");
        }
        for p in no {
            assert!(
                !Predicate::parse(p).unwrap().matches(&m),
                "{p} should not match"
            );
        }
    }

    #[test]
    fn errors_quote_the_predicate_and_say_what_works() {
        let cases = [
            ("status", "no operator"),
            ("=5", "no field name"),
            ("status>=high", "compares numbers, and 'high' is not one"),
            ("path~(", "bad regex"),
        ];
        for (text, want) in cases {
            let err = Predicate::parse(text).unwrap_err().to_string();
            assert!(
                err.contains(&format!("'{text}'")) && err.contains(want),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
