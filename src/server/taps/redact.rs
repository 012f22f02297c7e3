//! Keeping secrets out of logs: which names are secrets, and what an app adds to that.
//!
//! Names are compared after lower-casing and dropping everything but letters and digits, so
//! `access_token`, `Access-Token` and `accessToken` are one name. Some words are secrets wherever they
//! appear in a name (`token`, `secret`, `password`, `verifier`...); short ones only as the whole name
//! (`key`, `sig`, `code`, `pin`, `pw`), or `monkey`, `zipcode` and `spinner` would be hidden too, and
//! `key` also as the last word of a name (`access_key`, `client-key`, `accessKey`). Over-redacting is
//! the safe mistake.
//!
//! The same names serve the request layer (query parameters) and the `tracing` bridge (field names);
//! [`Redaction`] is how an app adds its own names and its own rules for field values.

mod query;

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// What a secret's value is replaced with.
pub(crate) const REDACTED: &str = "[REDACTED]";

const SECRET_PARTS: &[&str] = &[
    "token",
    "secret",
    "passw",
    "passphrase",
    "passcode",
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
    // OAuth / OIDC / SAML: PKCE and OAuth 1 verifiers, client assertions, SAML responses.
    "verifier",
    "assertion",
    "samlresponse",
    // One-time codes and what signs a request.
    "mfacode",
    "verificationcode",
    "resetcode",
    "authcode",
    "ticket",
    "hmac",
    "nonce",
];
const SECRET_NAMES: &[&str] = &["key", "sig", "code", "auth", "pass", "otp", "pw", "pin"];

/// A rule for field values: gets the field's name and value, returns the value to log instead, or
/// `None` to keep it.
type FieldRule = dyn Fn(&str, &Value) -> Option<Value> + Send + Sync;

/// What counts as a secret, beyond vg's built-in names: an app's own names and its own rules for
/// field values. Given to [`RequestLogLayer::redaction`](crate::server::RequestLogLayer::redaction)
/// and [`TracingLayer::redaction`](crate::server::TracingLayer::redaction); cheap to clone.
///
/// ```
/// use vg::server::Redaction;
/// use serde_json::Value;
///
/// let redaction = Redaction::default()
///     .secret_name("customer_ref")
///     .field_rule(|name, value| {
///         // Card numbers, wherever they are logged: keep the last four digits.
///         let text = value.as_str()?;
///         (name.ends_with("card") && text.len() > 4)
///             .then(|| Value::from(format!("****{}", &text[text.len() - 4..])))
///     });
/// assert!(redaction.is_secret("customerRef"));
/// assert!(redaction.is_secret("access_token"));
/// assert!(!redaction.is_secret("page"));
/// ```
#[derive(Clone, Default)]
pub struct Redaction {
    names: Arc<[Box<str>]>,
    rules: Arc<[Arc<FieldRule>]>,
}

impl fmt::Debug for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redaction")
            .field("names", &self.names)
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl Redaction {
    /// Also treats this name as a secret: a query parameter or `tracing` field of that name is
    /// logged as `[REDACTED]`. Compared like the built-in names (case, `_`, `-` and `.` ignored), as
    /// the whole name.
    #[must_use]
    pub fn secret_name(self, name: &str) -> Redaction {
        let mut names = self.names.to_vec();
        names.push(squash(name).into_boxed_str());
        Redaction {
            names: names.into(),
            rules: self.rules,
        }
    }

    /// Adds a rule for `tracing` field values: called with each field's name and value (after the
    /// secret names were applied), it returns what to log instead, or `None` to keep the value.
    /// Rules run in the order they were added, each on the previous one's result.
    #[must_use]
    pub fn field_rule(
        self,
        rule: impl Fn(&str, &Value) -> Option<Value> + Send + Sync + 'static,
    ) -> Redaction {
        let mut rules = self.rules.to_vec();
        rules.push(Arc::new(rule));
        Redaction {
            names: self.names,
            rules: rules.into(),
        }
    }

    /// Whether this query parameter or field name names a secret (built in, or added).
    pub fn is_secret(&self, name: &str) -> bool {
        is_secret_name(name)
            || (!self.names.is_empty() && self.names.iter().any(|n| **n == *squash(name)))
    }

    /// The value a field is logged with: `[REDACTED]` for a secret name, URLs' secret query values
    /// redacted, then the app's rules.
    pub(crate) fn field(&self, name: &str, value: Value) -> Value {
        let mut value = if self.is_secret(name) {
            Value::from(REDACTED)
        } else {
            match value {
                Value::String(text) => {
                    Value::String(query::redact_in_text(&text, self).into_owned())
                }
                other => other,
            }
        };
        for rule in self.rules.iter() {
            if let Some(replaced) = rule(name, &value) {
                value = replaced;
            }
        }
        value
    }

    /// The query string with every secret's value replaced; other pairs are kept as written.
    pub(crate) fn query(&self, query: &str) -> String {
        query::redact_query(query, self)
    }
}

/// Lower-cased letters and digits only.
fn squash(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether a name is one of vg's built-in secret names.
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
            "code_verifier",
            "oauth_verifier",
            "client_assertion",
            "SAMLResponse",
            "passphrase",
            "passcode",
            "pw",
            "PIN",
            "otp",
            "mfa_code",
            "verification_code",
            "reset_code",
            "auth_code",
            "ticket",
            "hmac",
            "nonce",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "page", "monkey", "zipcode", "user", "sort", "q", "hockey", "turkey", "spinner",
            "pinned", "shipping",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
        // Longer than the stack buffer: still squashed and checked whole.
        let long = format!("{}_Access_Token", "x".repeat(100));
        assert!(is_secret_name(&long));
        assert!(!is_secret_name(&"page_".repeat(30)));
    }

    #[test]
    fn an_app_adds_names_and_rules() {
        let redaction = Redaction::default()
            .secret_name("Customer-Ref")
            .field_rule(|name, _| (name == "email").then(|| Value::from("[email]")));
        assert!(redaction.is_secret("customer_ref"));
        assert!(!Redaction::default().is_secret("customer_ref"));
        assert_eq!(redaction.field("customerRef", "c-1".into()), REDACTED);
        assert_eq!(redaction.field("email", "a@b.c".into()), "[email]");
        assert_eq!(redaction.field("user", "ann".into()), "ann");
        assert_eq!(redaction.field("pin", 1234.into()), REDACTED);
        assert_eq!(
            redaction.query("customer_ref=9&page=2"),
            "customer_ref=[REDACTED]&page=2"
        );
    }
}
