//! What the user types after `--url`, turned into the stream's WebSocket URL, or one line that says
//! what is wrong with it and what would work.

use url::{Host, Url};

use crate::wire::STREAM_PATH;

/// The port `vg serve` and `vg demo` listen on unless told otherwise.
const DEFAULT_PORT: u16 = 7007;

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
        url: crate::format::url_without_password(input),
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
    if url.port() == Some(0) {
        return Err(bad(
            "port 0 is where a server asks for any free port, not one it listens on; use the port it printed",
        ));
    }
    // A bare `localhost` (no scheme, no port) is a vg server on this machine, on vg's port, not
    // something on port 80.
    let bare = !trimmed.contains("://");
    if bare && url.port().is_none() && is_loopback(&url) {
        let _ = url.set_port(Some(DEFAULT_PORT));
    }
    // Never sent (the stream's auth is a bearer token), and shown in every connection line.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "a user or password in the URL is not sent; pass the server's token with --token or VG_TOKEN",
        ));
    }
    // The stream lives under `/api/logs`, the path the server prints for sending and querying:
    // given that path, the stream is what a viewer means.
    if matches!(url.path(), "" | "/" | "/api/logs" | "/api/logs/") {
        url.set_path(STREAM_PATH);
    }
    Ok(url)
}

/// Whether a token sent to this stream URL would cross the network in clear text: plain `ws://` to
/// a host other than a loopback address or `localhost`. (`http://` was made `ws://` by
/// [`stream_url`].)
pub(crate) fn exposes_token(url: &Url) -> bool {
    url.scheme() == "ws" && !is_loopback(url)
}

/// Whether the URL names this machine: a loopback address, `localhost` or a name under it.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_clear_text_beyond_this_machine() {
        let exposed = |u: &str| exposes_token(&stream_url(u).unwrap());
        for remote in [
            "http://logs.example.com:7007",
            "ws://10.0.0.5:7007",
            "logs.internal:7007",
            "http://[2001:db8::1]:7007",
        ] {
            assert!(exposed(remote), "{remote}");
        }
        for safe in [
            "https://logs.example.com",
            "wss://10.0.0.5",
            "http://127.0.0.1:7007",
            "http://127.8.0.1:7007",
            "ws://localhost:7007",
            "http://app.localhost:7007",
            "http://[::1]:7007",
            "http://[::ffff:127.0.0.1]:7007",
        ] {
            assert!(!exposed(safe), "{safe}");
        }
    }

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
            ("localhost", "ws://localhost:7007/api/logs/stream"),
            ("127.0.0.1", "ws://127.0.0.1:7007/api/logs/stream"),
            ("http://localhost", "ws://localhost/api/logs/stream"),
            ("myapp.fly.dev", "ws://myapp.fly.dev/api/logs/stream"),
            ("ws://host:1/custom/path", "ws://host:1/custom/path"),
            ("wss://host/", "wss://host/api/logs/stream"),
            ("http://host/x?app=a", "ws://host/x?app=a"),
            (
                "http://host:7007/api/logs",
                "ws://host:7007/api/logs/stream",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(stream_url(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_being_echoed() {
        for input in [
            "http://bob:s3cret@host:7007",
            "https://:s3cret@host",
            "ws://bob@host",
        ] {
            let err = stream_url(input).unwrap_err().to_string();
            assert!(err.contains("--token"), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
        let err = stream_url("http://bob:s3#cret@host:99999")
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("s3#cret") && err.contains("bob:***@"),
            "{err}"
        );
    }

    #[test]
    fn bad_urls_say_what_works() {
        for input in ["ftp://host", "http://", "::::", "http://127.0.0.1:0"] {
            let err = stream_url(input).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid URL '{input}'")) && err.contains("use e.g."),
                "{err}"
            );
        }
    }
}
