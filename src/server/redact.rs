//! Keeping secrets out of request logs: which query parameters are secrets, and their redaction.
//!
//! Names are compared after lower-casing and dropping everything but letters and digits, so
//! `access_token`, `Access-Token` and `accessToken` are one name. Some words are secrets wherever they
//! appear in a name (`token`, `secret`, `password`...); short ones only as the whole name (`key`,
//! `sig`, `code`), or `monkey` and `zipcode` would be hidden too. Over-redacting is the safe mistake.

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
];
const SECRET_NAMES: &[&str] = &["key", "sig", "code", "auth", "pass", "otp"];

/// Whether a query parameter (or header) name names a secret.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let squashed: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_PARTS.iter().any(|part| squashed.contains(part))
        || SECRET_NAMES.contains(&squashed.as_str())
}

/// The query string with every secret's value replaced; other pairs are kept exactly as written.
pub(crate) fn redact_query(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let raw_name = pair.split_once('=').map_or(pair, |(name, _)| name);
            let name: String = form_urlencoded::parse(raw_name.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect();
            if is_secret_name(&name) {
                format!("{raw_name}={REDACTED}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
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
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["page", "monkey", "zipcode", "user", "sort", "q"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn query_values_are_redacted_in_place() {
        assert_eq!(
            redact_query("page=2&token=abc&q=a%20b&%74oken=enc&api_key&sort=asc"),
            "page=2&token=[REDACTED]&q=a%20b&%74oken=[REDACTED]&api_key=[REDACTED]&sort=asc"
        );
        assert_eq!(redact_query(""), "");
    }
}
