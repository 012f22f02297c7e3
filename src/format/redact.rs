//! URLs shown in messages without the password they may carry.

/// `url` with the password of its user info (`user:PASSWORD@`) replaced by `***`, fit for
/// messages and logs. Works on the text, not a parse, so that a URL too broken to parse (a `#` or
/// `/` in the password, a port out of range) is masked too: everything between the scheme and the
/// last `@` before the path counts as user info, which hides too much rather than too little.
pub fn url_without_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|at| at + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.rfind('@') else {
        return url.to_owned();
    };
    let user = match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => rest[..at].to_owned(),
    };
    format!("{}{user}{}", &url[..scheme_end], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_hidden_even_when_the_url_does_not_parse() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://:hunter2@host:6379", "redis://:***@host:6379"),
            (
                "redis://app:hunter2@host:6379/1",
                "redis://app:***@host:6379/1",
            ),
            (
                "redis://:p#ss@127.0.0.1:6390",
                "redis://:***@127.0.0.1:6390",
            ),
            ("redis://u:pa/ss@h:99999", "redis://u:***@h:99999"),
            ("rediss://u:a@b@h", "rediss://u:***@h"),
            ("http://bob@host", "http://bob@host"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(url_without_password(url), shown, "{url}");
        }
    }
}
