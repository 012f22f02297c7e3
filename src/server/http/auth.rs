//! Who may connect: the optional bearer token and the browser `Origin` rule.
//!
//! Two scopes: reading (viewers, history) and ingesting (POST, OTLP, Loki). Each needs its own token
//! when [`GatewayConfig`](super::GatewayConfig) sets one (`read_token`, `ingest_token`), otherwise the
//! shared `token`. [`Authorized`] proves the read scope, [`IngestAuthorized`] the ingest scope. Wrong
//! tokens are rate-limited per client address (`auth_limit`).
//!
//! The token is accepted in `Authorization: Bearer <token>` or, because browsers cannot set headers on
//! a WebSocket, as a subprotocol `vg.token.<token>` offered next to `vg.v1`. It is never read from the
//! URL, where it would end up in proxy and access logs. Comparison is constant-time in the token's
//! contents (only its length can be told apart by timing).
//!
//! A browser's `Origin` must be the page's own host (it names the same host and port as the `Host`
//! header) or be on the allowlist; otherwise a page on another site could read the logs with the
//! visitor's network position. A request without `Origin` is a program's or a page's own, and passes
//! on a server with a token (below for one without).
//!
//! "Same host" alone is not enough on a server without a token: by DNS rebinding, a hostile site can
//! point its own name at 127.0.0.1, and then its pages are "same origin" with a `Host` of its choosing.
//! So without a token, same-origin counts only when the `Host` is an IP address or `localhost`, names
//! no rebinding can forge; a tokenless server reached by DNS name lists its pages with `--allow-origin`.
//! A browser sends no `Origin` on a same-origin `GET`, and nothing else in such a request tells it
//! from a program's (`Sec-Fetch-Site` is only sent to https and localhost pages). So a tokenless server
//! applies the `Host` rule to every request without `Origin`: it answers requests addressed to an IP
//! address, `localhost`, or a name whose origin is on the allowlist. Programs reaching a tokenless
//! server by DNS name (a compose service name, say) list that name or use a token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::config::Scope;
use super::state::Shared;

/// The subprotocol a vg client offers; echoed back when offered.
pub(crate) const PROTOCOL: &str = "vg.v1";
/// The prefix of the subprotocol that carries the token.
pub(crate) const TOKEN_PROTOCOL_PREFIX: &str = "vg.token.";

/// Proof that a request passed the browser-origin and read-token checks. Every endpoint that reads
/// logs takes it as its first extractor, so a handler cannot forget the checks; its rejection is the
/// 403, 401 or 429.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authorized;

/// Proof that a request passed the browser-origin and ingest-token checks: what every endpoint that
/// accepts logs takes instead of [`Authorized`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct IngestAuthorized;

impl FromRequestParts<Arc<Shared>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Authorized, Response> {
        check(parts, shared, Scope::Read).map_or(Ok(Authorized), Err)
    }
}

impl FromRequestParts<Arc<Shared>> for IngestAuthorized {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<IngestAuthorized, Response> {
        check(parts, shared, Scope::Ingest).map_or(Ok(IngestAuthorized), Err)
    }
}

/// The checks for one scope, with the per-address limit on wrong tokens: the refusal, if refused. Without the peer's address
/// (a router served by something other than [`serve`](super::serve) that does not provide
/// `ConnectInfo`), wrong tokens are counted but nobody is limited: one client must not lock out all.
fn check(parts: &Parts, shared: &Shared, scope: Scope) -> Option<Response> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if let Some(left) = peer.and_then(|ip| shared.failed_auth.refused_for(ip)) {
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            "too many wrong tokens from this address; wait and retry with the right one\n",
        )
            .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(left.as_secs().max(1)),
        );
        return Some(response);
    }
    let (response, wrong_token) = refusal(shared, &parts.headers, scope)?;
    if wrong_token {
        match peer {
            Some(ip) => shared.failed_auth.failed(ip),
            None => shared.failed_auth.failed_unknown(),
        }
    }
    Some(response)
}

/// The browser-origin and token checks for one scope: the response refusing the request, if it must
/// be refused, and whether it was refused for offering a wrong token.
fn refusal(shared: &Shared, headers: &HeaderMap, scope: Scope) -> Option<(Response, bool)> {
    let token = shared.config.token_for(scope);
    let has_token = token.is_some();
    if !origin_ok(headers, &shared.config.allowed_origins, has_token) {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let body = match text(header::ORIGIN) {
            Some(origin) => format!(
                "origin {origin} is not allowed; allow it on the server (e.g. vg serve --allow-origin {origin})\n"
            ),
            // Addressed by a name DNS could rebind, on a server without a token (see `auth`).
            None => {
                let host = text(header::HOST).unwrap_or("?");
                format!(
                    "no token set, so only IP or localhost addresses are served (DNS rebinding); set a token or allow this name: vg serve --allow-origin http://{host}\n"
                )
            }
        };
        return Some(((StatusCode::FORBIDDEN, body).into_response(), false));
    }
    if let Some(token) = token
        && !token_ok(token, headers)
    {
        let text = match scope {
            Scope::Read => "a valid read token is required: send Authorization: Bearer <token>\n",
            Scope::Ingest => {
                "a valid ingest token is required: send Authorization: Bearer <token>\n"
            }
        };
        let mut response = (StatusCode::UNAUTHORIZED, text).into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"vg\""),
        );
        return Some((response, offers_a_token(headers)));
    }
    None
}

/// Whether the request offers a token at all (a wrong one counts against its address; none does not).
fn offers_a_token(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || offered_protocols(headers)
            .iter()
            .any(|p| p.starts_with(TOKEN_PROTOCOL_PREFIX))
}

/// Whether the request carries the expected token in either accepted form.
pub(crate) fn token_ok(expected: &str, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    let offered = offered_protocols(headers)
        .into_iter()
        .filter_map(|p| p.strip_prefix(TOKEN_PROTOCOL_PREFIX).map(str::to_owned));
    // Every candidate is compared (no early exit) so the number of attempts does not leak either.
    // An empty expected token matches nothing: misconfigured means closed, not open.
    let mut ok = false;
    for candidate in bearer.map(str::to_owned).chain(offered) {
        ok |= bool::from(candidate.as_bytes().ct_eq(expected.as_bytes()));
    }
    ok && !expected.is_empty()
}

/// The subprotocols the client offered, in order.
pub(crate) fn offered_protocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The subprotocol to answer with: `vg.v1` when offered. Never the token protocol, even when it is
/// all the client offered: the response's headers end up in proxy logs, and the token must not. (A
/// browser offering only the token then fails the handshake, which is why clients offer both.)
pub(crate) fn select_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    offered_protocols(headers)
        .iter()
        .any(|p| p == PROTOCOL)
        .then(|| HeaderValue::from_static(PROTOCOL))
}

/// Whether a browser `Origin` may use this endpoint. `has_token`: the server requires a token, which
/// a rebinding page cannot know.
pub(crate) fn origin_ok(headers: &HeaderMap, allowed: &[String], has_token: bool) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return has_token || host_trusted(headers, allowed);
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = normalize_origin(origin);
    if allowed
        .iter()
        .any(|a| a == "*" || normalize_origin(a) == origin)
    {
        return true;
    }
    let Some(host) = host(headers) else {
        return false;
    };
    names_host(&origin, &host) && (has_token || rebinding_proof(&host))
}

/// For a request without `Origin` on a tokenless server: whether its `Host` is one rebinding cannot
/// forge, or the authority of an allowed origin.
fn host_trusted(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(host) = host(headers) else {
        return false;
    };
    rebinding_proof(&host)
        || allowed.iter().any(|a| {
            let a = normalize_origin(a);
            a == "*" || names_host(&a, &host)
        })
}

/// The `Host` header, lower-cased.
fn host(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(host.to_ascii_lowercase())
}

/// Whether a normalized origin (`scheme://authority`) names this `Host`, default ports aside.
fn names_host(origin: &str, host: &str) -> bool {
    origin.split_once("://").is_some_and(|(scheme, authority)| {
        strip_default_port(scheme, authority) == strip_default_port(scheme, host)
    })
}

/// Whether a `Host` header names the machine in a way DNS cannot redirect: an IP address or localhost.
fn rebinding_proof(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    // Browsers resolve `localhost` and `*.localhost` themselves (RFC 6761), never through DNS.
    name == "localhost" || name.ends_with(".localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

fn strip_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = match scheme {
        "http" | "ws" => ":80",
        "https" | "wss" => ":443",
        _ => return authority,
    };
    authority.strip_suffix(default).unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn token_in_header_or_subprotocol() {
        let t = "s3cret-token";
        assert!(token_ok(
            t,
            &headers(&[("authorization", "Bearer s3cret-token")])
        ));
        assert!(token_ok(
            t,
            &headers(&[("authorization", "bearer  s3cret-token ")])
        ));
        assert!(token_ok(
            t,
            &headers(&[("sec-websocket-protocol", "vg.v1, vg.token.s3cret-token")])
        ));
        assert!(!token_ok(t, &headers(&[])));
        assert!(
            !token_ok("", &headers(&[("authorization", "Bearer ")])),
            "an empty token admits nobody"
        );
        assert!(!token_ok(
            t,
            &headers(&[("authorization", "Bearer s3cret-tokem")])
        ));
        assert!(!token_ok(
            t,
            &headers(&[("authorization", "Basic s3cret-token")])
        ));
        assert!(!token_ok(
            t,
            &headers(&[("authorization", "Bearer s3cret")])
        ));
        assert!(!token_ok(
            t,
            &headers(&[("sec-websocket-protocol", "vg.v1, s3cret-token")])
        ));
    }

    #[test]
    fn protocol_selection_echoes_something_offered() {
        let pick = |v: &str| select_protocol(&headers(&[("sec-websocket-protocol", v)]));
        assert_eq!(pick("vg.token.x, vg.v1").unwrap(), "vg.v1");
        assert_eq!(pick("vg.token.x"), None, "the token is never echoed");
        assert_eq!(pick("graphql-ws"), None);
        assert_eq!(select_protocol(&headers(&[])), None);
    }

    #[test]
    fn origins() {
        let allowed = vec!["https://Dash.Example.com/".to_owned()];
        let check = |pairs: &[(&'static str, &str)]| origin_ok(&headers(pairs), &allowed, true);
        assert!(check(&[("host", "127.0.0.1:7007")]), "no Origin: a program");
        assert!(check(&[
            ("host", "127.0.0.1:7007"),
            ("origin", "http://127.0.0.1:7007")
        ]));
        assert!(check(&[
            ("host", "logs.example.com"),
            ("origin", "https://logs.example.com")
        ]));
        assert!(check(&[
            ("host", "logs.example.com:443"),
            ("origin", "https://logs.example.com")
        ]));
        assert!(check(&[
            ("host", "x"),
            ("origin", "https://dash.example.com")
        ]));
        assert!(!check(&[
            ("host", "127.0.0.1:7007"),
            ("origin", "http://evil.example")
        ]));
        assert!(!check(&[
            ("host", "127.0.0.1:7007"),
            ("origin", "http://127.0.0.1:7008")
        ]));
        assert!(!check(&[("host", "127.0.0.1:7007"), ("origin", "null")]));
        assert!(
            !check(&[("origin", "http://127.0.0.1:7007")]),
            "no Host to compare"
        );
        assert!(origin_ok(
            &headers(&[("host", "a"), ("origin", "http://b")]),
            &["*".to_owned()],
            false
        ));
    }

    #[test]
    fn without_a_token_only_unforgeable_hosts_count_as_same_origin() {
        let check = |host: &str, origin: &str| {
            origin_ok(&headers(&[("host", host), ("origin", origin)]), &[], false)
        };
        assert!(check("127.0.0.1:7007", "http://127.0.0.1:7007"));
        assert!(check("localhost:7007", "http://localhost:7007"));
        assert!(check("[::1]:7007", "http://[::1]:7007"));
        assert!(
            !check(
                "rebind.evil.example:7007",
                "http://rebind.evil.example:7007"
            ),
            "DNS rebinding"
        );
        assert!(
            !check("logs.example.com", "https://logs.example.com"),
            "needs a token or --allow-origin"
        );
    }

    #[test]
    fn without_origin_a_tokenless_server_still_needs_an_unforgeable_host() {
        let allowed = vec!["http://logs.internal:7007".to_owned()];
        let check = |host: &str, has_token: bool| {
            origin_ok(&headers(&[("host", host)]), &allowed, has_token)
        };
        // A rebound page's same-origin GET carries no Origin: nothing but the Host tells it apart.
        assert!(!check("rebind.evil.example:7007", false), "DNS rebinding");
        assert!(
            check("rebind.evil.example:7007", true),
            "a token protects it"
        );
        assert!(check("127.0.0.1:7007", false));
        assert!(check("localhost:7007", false));
        assert!(check("app.localhost:7007", false));
        assert!(
            check("logs.internal:7007", false),
            "an allowed origin's host"
        );
        assert!(!origin_ok(&headers(&[]), &[], false), "no Host at all");
        assert!(origin_ok(
            &headers(&[("host", "x")]),
            &["*".to_owned()],
            false
        ));
    }
}
