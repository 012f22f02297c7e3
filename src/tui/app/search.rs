//! The `/` search: the pattern being typed, the last pattern that compiled, and its error.
//!
//! Matches highlight as the user types, so every keystroke recompiles; a pattern that does not compile
//! (an unclosed group halfway through typing) shows its error but leaves the last good pattern in
//! force, so the screen does not flash empty between keystrokes. Enter will not confirm it, though:
//! the user fixes it or cancels, and never ends up searching for something they did not type.
//!
//! "Only matches" belongs to the search: it survives retyping the pattern (`ctrl-u`, then a new one)
//! but ends with the search, on `esc` or on `enter` with nothing typed.
//!
//! The [`Scope`] (message only, or message and `meta` values) is a preference, not part of one
//! search: it stays as set for the rest of the session.

use regex::Regex;
use tui_input::{Input, InputRequest};

use super::stored::Stored;
use crate::filter::regex_error_line;

/// What a search pattern is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Scope {
    /// The message only.
    #[default]
    Message,
    /// The message and every top-level `meta` value.
    Fields,
}

impl Scope {
    pub(crate) fn toggled(self) -> Scope {
        match self {
            Scope::Message => Scope::Fields,
            Scope::Fields => Scope::Message,
        }
    }

    /// How the status bar names it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Scope::Message => "message",
            Scope::Fields => "message + fields",
        }
    }

    /// Whether `regex` matches `entry` within this scope. Field values are matched as the row keeps
    /// them (a string unescaped, anything else as compact JSON, so `5\d\d` finds a status code and
    /// `"` need not be escaped): walking the stored pairs, with nothing parsed or re-serialized.
    pub(crate) fn hits(self, regex: &Regex, entry: &Stored) -> bool {
        regex.is_match(entry.message())
            || (self == Scope::Fields && entry.meta().iter().any(|(_, v)| regex.is_match(v.text())))
    }
}

/// The search state.
#[derive(Debug, Default)]
pub(crate) struct Search {
    pub(crate) input: Input,
    /// The pattern in force: the last one that compiled. `None` when there is no search.
    pub(crate) regex: Option<Regex>,
    /// Why the text being typed does not compile, in one line.
    pub(crate) error: Option<String>,
    /// Show only entries that match.
    pub(crate) only_matches: bool,
    /// How many shown entries match...
    pub(crate) matches: usize,
    /// ...if that has been counted since the pattern last changed.
    pub(crate) counted: bool,
    /// What the pattern is matched against.
    pub(crate) scope: Scope,
}

impl Search {
    /// A search starting from a pattern given on the command line.
    pub(crate) fn with_pattern(pattern: &str, only_matches: bool) -> Search {
        let mut search = Search {
            input: Input::new(pattern.to_owned()),
            only_matches,
            // Given before any entry arrived, and arrivals are counted as they come: the count is
            // exact from the start, so the view shows it rather than "enter counts matches".
            counted: true,
            ..Search::default()
        };
        search.compile();
        search
    }

    /// Applies one edit to the text; returns whether the pattern in force changed.
    pub(crate) fn edit(&mut self, request: InputRequest) -> bool {
        self.input.handle(request);
        self.compile()
    }

    fn compile(&mut self) -> bool {
        let text = self.input.value();
        if text.is_empty() {
            self.error = None;
            return self.regex.take().is_some();
        }
        match Regex::new(text) {
            Ok(regex) => {
                self.error = None;
                let changed = self.regex.as_ref().is_none_or(|r| r.as_str() != text);
                self.regex = Some(regex);
                changed
            }
            Err(e) => {
                self.error = Some(regex_error_line(&e));
                false
            }
        }
    }

    /// Enter: returns whether the text can be confirmed. A pattern that does not compile cannot:
    /// quietly falling back to the last good one (or to none) would leave the user searching for
    /// something other than what they typed. With no pattern at all the search ends, and "only
    /// matches" with it, so the flag cannot lie in wait for the next search.
    pub(crate) fn confirm(&mut self) -> bool {
        if self.error.is_some() {
            return false;
        }
        if self.regex.is_none() {
            self.clear();
        }
        true
    }

    /// Esc: no search at all. Returns whether a pattern was in force.
    pub(crate) fn clear(&mut self) -> bool {
        self.input.reset();
        self.error = None;
        self.only_matches = false;
        self.matches = 0;
        self.counted = false;
        self.regex.take().is_some()
    }

    /// Whether the pattern in force matches `entry`; `false` with no pattern.
    pub(crate) fn is_match(&self, entry: &Stored) -> bool {
        self.regex
            .as_ref()
            .is_some_and(|re| self.scope.hits(re, entry))
    }

    /// The pattern that filters rows, when showing only matches.
    pub(crate) fn filtering(&self) -> Option<&Regex> {
        self.regex.as_ref().filter(|_| self.only_matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(search: &mut Search, text: &str) -> Vec<bool> {
        text.chars()
            .map(|c| search.edit(InputRequest::InsertChar(c)))
            .collect()
    }

    #[test]
    fn an_invalid_pattern_keeps_the_last_good_one_until_fixed() {
        let mut search = Search::default();
        assert_eq!(typed(&mut search, "ab("), [true, true, false]);
        assert_eq!(search.regex.as_ref().unwrap().as_str(), "ab");
        let error = search.error.clone().unwrap();
        assert!(error.contains("unclosed group"), "{error}");
        assert!(!error.contains('\n'));
        assert_eq!(typed(&mut search, "c)"), [false, true]);
        assert_eq!(search.regex.as_ref().unwrap().as_str(), "ab(c)");
        assert_eq!(search.error, None);
    }

    #[test]
    fn an_invalid_pattern_cannot_be_confirmed_and_an_empty_one_ends_the_search() {
        let mut search = Search::default();
        typed(&mut search, "x[");
        assert!(!search.confirm());
        assert_eq!(search.input.value(), "x[");
        assert!(search.error.is_some());
        search.only_matches = true;
        search.edit(InputRequest::DeleteLine);
        assert!(search.confirm());
        assert!(!search.only_matches);
        typed(&mut search, "x");
        assert!(search.clear());
        assert!(search.regex.is_none() && search.input.value().is_empty());
        assert!(!search.clear());
    }

    #[test]
    fn fields_scope_matches_meta_values_but_not_keys() {
        let entry: crate::model::LogEntry = serde_json::from_str(
            r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"GET /users","meta":{"statusCode":503,"userId":"u_42","tags":["a\"b"]}}"#,
        )
        .unwrap();
        let (_, stored) = super::super::stored::tests::stored(entry);
        let hits = |pattern: &str, scope: Scope| scope.hits(&Regex::new(pattern).unwrap(), &stored);
        assert!(hits("users", Scope::Message) && hits("users", Scope::Fields));
        assert!(!hits("u_42", Scope::Message));
        assert!(hits("u_42", Scope::Fields), "a string value, unescaped");
        assert!(hits("^5\\d\\d$", Scope::Fields), "a number, as its JSON");
        assert!(
            hits(r#"a\\"b"#, Scope::Fields),
            "nested values as compact JSON"
        );
        assert!(!hits("statusCode", Scope::Fields), "keys are not values");
        let mut search = Search::with_pattern("u_4", false);
        assert!(!search.is_match(&stored));
        search.scope = search.scope.toggled();
        assert!(search.is_match(&stored));
        search.clear();
        assert_eq!(search.scope, Scope::Fields, "the scope outlives the search");
    }

    #[test]
    fn deleting_everything_ends_the_search() {
        let mut search = Search::with_pattern("a", true);
        assert!(search.filtering().is_some());
        assert!(search.edit(InputRequest::DeletePrevChar));
        assert!(search.regex.is_none() && search.filtering().is_none());
    }
}
