//! logfmt: `time=2026-02-05T18:13:38Z level=error msg="db down" retries=3`, as Go's log/slog text
//! handler, logrus's text formatter, go-kit and Heroku write.
//!
//! A line counts as logfmt only when every word is `key=value` and one key names the time, level
//! or message: prose with a stray `=` ("set x=1 and retry") stays a plain line. The pairs are then
//! mapped like a JSON object's fields (see `from_foreign`), so `msg` is the message, `level` the
//! level and the rest lands in `meta`, as strings (logfmt has no types).
//!
//! Hot path: every plain line is asked, so the first byte rules most of them out, and the parse is
//! one pass by hand (no regex).

use serde_json::{Map, Value};

/// Keys one of which a logfmt line must carry to be read as logfmt.
const KNOWN_KEYS: &[&str] = &[
    "time",
    "ts",
    "timestamp",
    "t",
    "level",
    "lvl",
    "severity",
    "msg",
    "message",
];

/// The pairs of a logfmt line, in order; `None` when the line is not logfmt. A repeated key keeps
/// its last value, as go-logfmt's decoders do.
pub(crate) fn pairs(line: &str) -> Option<Map<String, Value>> {
    // Cheap refusal first: logfmt starts with a key.
    let first = *line.as_bytes().first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut map = Map::new();
    let mut known = false;
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let key_len = rest.bytes().take_while(|&b| is_key_byte(b)).count();
        if key_len == 0 || rest.as_bytes().get(key_len) != Some(&b'=') {
            return None;
        }
        let key = &rest[..key_len];
        rest = &rest[key_len + 1..];
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let (value, after) = unquote(quoted)?;
            // A closing quote ends the value: `a="x"y` is not logfmt.
            if after.starts_with(|c: char| c != ' ' && c != '\t') {
                return None;
            }
            rest = after;
            value
        } else {
            let end = rest.find([' ', '\t']).unwrap_or(rest.len());
            let value = &rest[..end];
            // A bare value holds no quote or `=`: `a=b=c` and `a=x"y` are something else.
            if value.contains(['"', '=']) {
                return None;
            }
            rest = &rest[end..];
            value.to_owned()
        };
        known |= KNOWN_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k));
        map.insert(key.to_owned(), Value::String(value));
    }
    known.then_some(map)
}

/// Letters, digits and the punctuation loggers put in keys (`http.status`, `req-id`, `a/b`).
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/' | b':' | b'@')
}

/// The value of a quoted string whose opening quote is already taken, and what follows its closing
/// quote. Escapes are Go's `strconv.Quote` ones (`\"`, `\\`, `\n`, `\t`, `\r`, `\uXXXX`...); an
/// unknown escape is kept as written. `None` when the quote is never closed.
fn unquote(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let end = bytes.iter().position(|&b| b == b'"' || b == b'\\')?;
    if bytes[end] == b'"' {
        // No escapes: the common case, one copy.
        return Some((text[..end].to_owned(), &text[end + 1..]));
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[at + 1..])),
            '\\' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                            Some(decoded) if hex.len() == 4 => out.push(decoded),
                            _ => {
                                out.push_str("\\u");
                                out.push_str(&hex);
                            }
                        }
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(line: &str) -> Option<Vec<(String, String)>> {
        pairs(line).map(|m| {
            m.into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
                .collect()
        })
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pairs_bare_and_quoted() {
        assert_eq!(
            strings(r#"time=2026-02-05T18:13:38Z level=error msg="db down" retries=3 empty= q="""#),
            Some(owned(&[
                ("time", "2026-02-05T18:13:38Z"),
                ("level", "error"),
                ("msg", "db down"),
                ("retries", "3"),
                ("empty", ""),
                ("q", ""),
            ]))
        );
    }

    #[test]
    fn escapes_in_quoted_values() {
        assert_eq!(
            strings(r#"msg="said \"hi\"\n\tthen \\ left \u00e9 \x" k=v"#),
            Some(owned(&[
                ("msg", "said \"hi\"\n\tthen \\ left \u{e9} \\x"),
                ("k", "v"),
            ]))
        );
    }

    #[test]
    fn keys_with_punctuation_and_unicode_values() {
        assert_eq!(
            strings(r#"ts=1770315218 http.status=500 req-id=ab/c user="Zoë""#),
            Some(owned(&[
                ("ts", "1770315218"),
                ("http.status", "500"),
                ("req-id", "ab/c"),
                ("user", "Zoë"),
            ]))
        );
    }

    #[test]
    fn what_is_not_logfmt() {
        for line in [
            "set x=1 and retry",
            "a=1 b=2",
            r#"msg="never closed"#,
            r#"msg="x"y"#,
            "msg=a=b",
            r#"msg=x"y"#,
            "2026-02-05 level=error",
            "[level=error] x",
            "=x msg=y",
            "",
        ] {
            assert_eq!(strings(line), None, "{line}");
        }
    }
}
