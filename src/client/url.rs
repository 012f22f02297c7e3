//! What the user types after `--url`, turned into the stream's WebSocket URL, or one line that says
//! what is wrong with it and what would work.

use url::Url;

use crate::wire::STREAM_PATH;

/// A `--url` that cannot name a log stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid URL '{url}': {reason}; use e.g. http://127.0.0.1:7007, https://logs.example.com or ws://host:port/path"
)]
pub struct ServerUrlError {
    url: String,
    reason: String,
}

/// Normalizes what the user typed into the stream's WebSocket URL: `http` becomes `ws`, `https`
/// becomes `wss`, a bare host gets `ws://` and `/api/logs/stream`; an explicit path is kept.
pub fn stream_url(input: &str) -> Result<Url, ServerUrlError> {
    let bad = |reason: &str| ServerUrlError {
        url: input.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = input.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("ws://{trimmed}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    let scheme = match url.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => return Err(bad(&format!("unsupported scheme '{other}'"))),
    };
    url.set_scheme(scheme)
        .map_err(|()| bad("cannot use this scheme"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(STREAM_PATH);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized() {
        let cases = [
            (
                "http://127.0.0.1:7007",
                "ws://127.0.0.1:7007/api/logs/stream",
            ),
            (
                "https://logs.example.com",
                "wss://logs.example.com/api/logs/stream",
            ),
            ("localhost:7007", "ws://localhost:7007/api/logs/stream"),
            ("myapp.fly.dev", "ws://myapp.fly.dev/api/logs/stream"),
            ("ws://host:1/custom/path", "ws://host:1/custom/path"),
            ("wss://host/", "wss://host/api/logs/stream"),
            ("http://host/x?app=a", "ws://host/x?app=a"),
        ];
        for (input, want) in cases {
            assert_eq!(stream_url(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn bad_urls_say_what_works() {
        for input in ["ftp://host", "http://", "::::"] {
            let err = stream_url(input).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid URL '{input}'")) && err.contains("use e.g."),
                "{err}"
            );
        }
    }
}
