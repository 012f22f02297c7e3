//! Keeping secrets out of request logs: which query parameters are secrets, and their redaction.
//!
//! Names are compared after lower-casing and dropping everything but letters and digits, so
//! `access_token`, `Access-Token` and `accessToken` are one name. Some words are secrets wherever they
//! appear in a name (`token`, `secret`, `password`...); short ones only as the whole name (`key`,
//! `sig`, `code`), or `monkey` and `zipcode` would be hidden too, and `key` also as the last word of
//! a name (`access_key`, `client-key`, `accessKey`). Over-redacting is the safe mistake.

/// What a secret's value is replaced with.
pub(crate) const REDACTED: &str = "[REDACTED]";

const SECRET_PARTS: &[&str] = &[
    "token",
    "secret",
    "passw",
    "pwd",
    "signature",
    "apikey",
    "credential",
    "session",
    "jwt",
    "cookie",
    "privatekey",
    "authorization",
    "bearer",
];
const SECRET_NAMES: &[&str] = &["key", "sig", "code", "auth", "pass", "otp"];

/// Whether a query parameter (or header) name names a secret.
pub(crate) fn is_secret_name(name: &str) -> bool {
    // Runs for every query parameter of every logged request: squashed on the stack when it fits.
    // Only ASCII letters and digits are kept, so working on bytes is the same as on chars.
    let squash = |out: &mut [u8]| {
        let kept = name.bytes().filter(u8::is_ascii_alphanumeric);
        let mut len = 0;
        for (slot, byte) in out.iter_mut().zip(kept) {
            *slot = byte.to_ascii_lowercase();
            len += 1;
        }
        len
    };
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let squashed: &[u8] = if name.len() <= stack.len() {
        let len = squash(&mut stack);
        &stack[..len]
    } else {
        heap.resize(name.len(), 0);
        let len = squash(&mut heap);
        &heap[..len]
    };
    let Ok(squashed) = std::str::from_utf8(squashed) else {
        return true;
    };
    SECRET_PARTS.iter().any(|part| squashed.contains(part))
        || SECRET_NAMES.contains(&squashed)
        || ends_with_the_word_key(name)
}

/// `access_key`, `client-key`, `signing.key`, `accessKey`: `key` as a word of its own at the end.
fn ends_with_the_word_key(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some(split) = bytes.len().checked_sub(3) else {
        return false;
    };
    let (head, tail) = bytes.split_at(split);
    let Some(&before) = head.last() else {
        return false;
    };
    let separated = matches!(before, b'_' | b'-' | b'.');
    match tail {
        // `accessKey`, `ACCESS_KEY`; not `MONKEY`.
        [b'K', b'e', b'y'] => separated || before.is_ascii_lowercase() || before.is_ascii_digit(),
        [b'K', b'E', b'Y'] | [b'k', b'e', b'y'] => separated,
        _ => false,
    }
}

/// The query string with every secret's value replaced; other pairs are kept exactly as written.
pub(crate) fn redact_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        if !out.is_empty() {
            out.push('&');
        }
        let raw_name = pair.split_once('=').map_or(pair, |(name, _)| name);
        let secret = if raw_name.contains(['%', '+']) {
            let name: String = form_urlencoded::parse(raw_name.as_bytes())
                .map(|(k, _)| k)
                .collect();
            is_secret_name(&name)
        } else {
            is_secret_name(raw_name)
        };
        if secret {
            out.push_str(raw_name);
            out.push('=');
            out.push_str(REDACTED);
        } else {
            out.push_str(pair);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "token",
            "access_token",
            "accessToken",
            "X-Amz-Signature",
            "api_key",
            "apiKey",
            "password",
            "client_secret",
            "sessionid",
            "key",
            "sig",
            "code",
            "access_key",
            "client-key",
            "accessKey",
            "AWS_SECRET_ACCESS_KEY",
            "ACCESS_KEY",
            "bearer",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "page", "monkey", "zipcode", "user", "sort", "q", "hockey", "turkey",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
        // Longer than the stack buffer: still squashed and checked whole.
        let long = format!("{}_Access_Token", "x".repeat(100));
        assert!(is_secret_name(&long));
        assert!(!is_secret_name(&"page_".repeat(30)));
    }

    #[test]
    fn query_values_are_redacted_in_place() {
        assert_eq!(
            redact_query("page=2&token=abc&q=a%20b&%74oken=enc&api_key&sort=asc"),
            "page=2&token=[REDACTED]&q=a%20b&%74oken=[REDACTED]&api_key=[REDACTED]&sort=asc"
        );
        assert_eq!(redact_query(""), "");
        assert_eq!(redact_query("&&a=1&&sig=x&"), "a=1&sig=[REDACTED]");
    }
}
