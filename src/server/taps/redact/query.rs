//! Redacting query strings: pairs split on `&` and `;`, secret values replaced, and secrets nested in
//! a value (`redirect_uri=https%3A%2F%2Fapp%2Fcb%3Ftoken%3Dabc`, `next=/cb?code=abc`) found by
//! decoding the value and redacting what it holds, a few levels deep.

use std::borrow::Cow;

use super::{REDACTED, Redaction};

/// How many times a value is decoded to look for a query inside (a URL in a URL in a URL...).
const MAX_DEPTH: usize = 3;

/// The query string with every secret's value replaced; other pairs are kept exactly as written,
/// with the separator (`&` or `;`) that preceded them.
pub(super) fn redact_query(query: &str, redaction: &Redaction) -> String {
    redact_query_at(query, redaction, 0)
}

/// A field value that is a URL (no whitespace, a `?`) with the secrets in its query redacted.
pub(super) fn redact_in_text<'a>(text: &'a str, redaction: &Redaction) -> Cow<'a, str> {
    if text.contains('?') && !text.contains(char::is_whitespace) {
        redact_nested(text, redaction, 0, false)
    } else {
        Cow::Borrowed(text)
    }
}

fn redact_query_at(query: &str, redaction: &Redaction, depth: usize) -> String {
    let mut out = String::with_capacity(query.len());
    let mut separator = '&';
    let mut rest = query;
    loop {
        let (pair, next) = match rest.find(['&', ';']) {
            Some(at) => (&rest[..at], Some((&rest[at..=at], &rest[at + 1..]))),
            None => (rest, None),
        };
        if !pair.is_empty() {
            if !out.is_empty() {
                out.push(separator);
            }
            redact_pair(pair, redaction, depth, &mut out);
        }
        let Some((seen, tail)) = next else { break };
        separator = if seen == ";" { ';' } else { '&' };
        rest = tail;
    }
    out
}

fn redact_pair(pair: &str, redaction: &Redaction, depth: usize, out: &mut String) {
    let (raw_name, raw_value) = match pair.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (pair, None),
    };
    let secret = if raw_name.contains(['%', '+']) {
        redaction.is_secret(&decode(raw_name))
    } else {
        redaction.is_secret(raw_name)
    };
    if secret {
        out.push_str(raw_name);
        out.push('=');
        out.push_str(REDACTED);
        return;
    }
    if let Some(value) = raw_value.filter(|v| depth < MAX_DEPTH && v.contains(['%', '?', '='])) {
        let decoded = if value.contains(['%', '+']) {
            Cow::Owned(decode(value))
        } else {
            Cow::Borrowed(value)
        };
        if let Cow::Owned(redacted) = redact_nested(&decoded, redaction, depth + 1, true) {
            out.push_str(raw_name);
            out.push('=');
            out.extend(form_urlencoded::byte_serialize(redacted.as_bytes()));
            return;
        }
    }
    out.push_str(pair);
}

/// A decoded value with the secrets of the query it holds redacted: after its `?` (a URL), or the
/// whole of it when `bare` and it has an `=` (an encoded query). Owned only when something changed.
fn redact_nested<'a>(
    text: &'a str,
    redaction: &Redaction,
    depth: usize,
    bare: bool,
) -> Cow<'a, str> {
    let (head, query) = match text.split_once('?') {
        Some((head, query)) => (Some(head), query),
        None if bare && text.contains('=') => (None, text),
        // Encoded once more: decode again and look inside.
        None if text.contains('%') && depth < MAX_DEPTH => {
            return match redact_nested(&decode(text), redaction, depth + 1, bare) {
                Cow::Owned(redacted) => {
                    Cow::Owned(form_urlencoded::byte_serialize(redacted.as_bytes()).collect())
                }
                Cow::Borrowed(_) => Cow::Borrowed(text),
            };
        }
        None => return Cow::Borrowed(text),
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let redacted = redact_query_at(query, redaction, depth);
    if redacted == query {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + REDACTED.len());
    if let Some(head) = head {
        out.push_str(head);
        out.push('?');
    }
    out.push_str(&redacted);
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    Cow::Owned(out)
}

/// Percent- and `+`-decoded, as a form value.
fn decode(raw: &str) -> String {
    // A leading name keeps `=` in the value from splitting it; the value has no `&` (split on).
    let pair = format!("_={raw}");
    form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(query: &str) -> String {
        redact_query(query, &Redaction::default())
    }

    #[test]
    fn query_values_are_redacted_in_place() {
        assert_eq!(
            redact("page=2&token=abc&q=a%20b&%74oken=enc&api_key&sort=asc"),
            "page=2&token=[REDACTED]&q=a%20b&%74oken=[REDACTED]&api_key=[REDACTED]&sort=asc"
        );
        assert_eq!(redact(""), "");
        assert_eq!(redact("&&a=1&&sig=x&"), "a=1&sig=[REDACTED]");
    }

    #[test]
    fn semicolons_separate_too() {
        assert_eq!(
            redact("page=2;token=abc;sort=asc&otp=123456"),
            "page=2;token=[REDACTED];sort=asc&otp=[REDACTED]"
        );
    }

    #[test]
    fn secrets_nested_in_values() {
        // An encoded URL with a query of its own.
        let out =
            redact("redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Ftoken%3Dabc%26page%3D2&x=1");
        assert!(!out.contains("abc"), "{out}");
        assert_eq!(
            decode(out.split('&').next().unwrap().split_once('=').unwrap().1),
            "https://app.example/cb?token=[REDACTED]&page=2"
        );
        assert!(out.ends_with("&x=1"), "{out}");
        // A URL left unencoded in the value, and an encoded bare query.
        assert!(!redact("next=/cb?code=abc").contains("abc"));
        assert!(!redact("state=a%3D1%26nonce%3Dxyz").contains("xyz"));
        // Encoded twice.
        assert!(!redact("r=https%253A%252F%252Fa%252F%253Fpw%253Dhunter2").contains("hunter2"));
        // Nothing secret inside: kept byte for byte.
        let plain = "redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fpage%3D2&q=what%3F";
        assert_eq!(redact(plain), plain);
    }

    #[test]
    fn urls_in_field_values() {
        let redaction = Redaction::default();
        assert_eq!(
            redact_in_text("https://a/cb?page=1&access_token=abc#top", &redaction),
            "https://a/cb?page=1&access_token=[REDACTED]#top"
        );
        let prose = "asked what? token=abc";
        assert_eq!(redact_in_text(prose, &redaction), prose);
    }
}
