//! The web dashboard: a page and its assets, compiled into the binary and served by the gateway.
//!
//! The page is plain JavaScript modules and CSS (`assets/web/`), with no build step, so `cargo
//! install` needs nothing but Rust. Each file is compressed once (gzip) the first time a router is
//! built, and served with an `ETag`. The page (`PREFIX`) is revalidated on every load; the files it
//! loads live under `PREFIX/assets/<version>/`, where `<version>` is a digest of all of them, so they
//! can be cached for good: a new build has a new version and therefore new URLs.
//!
//! Log content is hostile, and this page shows it, so every response carries a Content-Security-Policy
//! that allows scripts, styles and connections only from the server's own origin, no inline script,
//! no plugins, no framing, and (where the browser knows it) Trusted Types with no policy at all, so
//! even a mistaken `innerHTML` in the page's own code throws instead of parsing a log line as HTML.
//!
//! The page finds the API relative to its own URL (`<meta name="vg-root">`), so it keeps working when
//! an app nests the gateway's router under a path of its own.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

/// The policy on every dashboard response. `connect-src 'self'` covers the page's own `ws:`/`wss:`
/// origin in current browsers (CSP level 3).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

/// The page's files: (name under `assets/<version>/`, MIME type, contents).
const FILES: &[(&str, &str, &[u8])] = &[
    ("app.js", JS, include_bytes!("../../../assets/web/app.js")),
    (
        "buffer.js",
        JS,
        include_bytes!("../../../assets/web/buffer.js"),
    ),
    (
        "filter.js",
        JS,
        include_bytes!("../../../assets/web/filter.js"),
    ),
    (
        "stream.js",
        JS,
        include_bytes!("../../../assets/web/stream.js"),
    ),
    ("view.js", JS, include_bytes!("../../../assets/web/view.js")),
    (
        "panels.js",
        JS,
        include_bytes!("../../../assets/web/panels.js"),
    ),
    (
        "style.css",
        CSS,
        include_bytes!("../../../assets/web/style.css"),
    ),
    (
        "icon.svg",
        SVG,
        include_bytes!("../../../assets/web/icon.svg"),
    ),
];
const INDEX: &str = include_str!("../../../assets/web/index.html");
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
const HTML: &str = "text/html; charset=utf-8";

/// One file ready to serve: plain and gzipped bodies and their shared tag.
#[derive(Debug)]
struct Asset {
    content_type: &'static str,
    plain: Bytes,
    gzip: Bytes,
    etag: HeaderValue,
}

impl Asset {
    fn new(content_type: &'static str, plain: Bytes) -> Asset {
        let gzip = Bytes::from(gzip(&plain));
        let etag = HeaderValue::from_str(&format!("\"{:016x}\"", fnv1a(&plain)))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Asset {
            content_type,
            plain,
            gzip,
            etag,
        }
    }

    /// The response to a `GET` with these request headers: 304 when the client's copy is current,
    /// else the body, gzipped when the client accepts it.
    fn respond(&self, request: &HeaderMap, cache_control: &'static str) -> Response {
        let fresh = request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == self.etag
            });
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else if accepts_gzip(request) {
            let mut response = self.gzip.clone().into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        } else {
            self.plain.clone().into_response()
        };
        let out = response.headers_mut();
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        out.insert(header::ETAG, self.etag.clone());
        out.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        secure(out);
        response
    }
}

/// Headers every dashboard response carries.
fn secure(out: &mut HeaderMap) {
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The compiled-in files, compressed once per process.
#[derive(Debug)]
struct Files {
    version: String,
    files: Vec<(&'static str, Asset)>,
}

fn files() -> &'static Files {
    static FILES_READY: OnceLock<Files> = OnceLock::new();
    FILES_READY.get_or_init(|| {
        let mut digest = 0xcbf2_9ce4_8422_2325u64;
        for (name, _, body) in FILES {
            digest ^= fnv1a(name.as_bytes()).rotate_left(7) ^ fnv1a(body);
            digest = digest.wrapping_mul(0x0100_0000_01b3);
        }
        Files {
            version: format!("{:012x}", digest & 0xffff_ffff_ffff),
            files: FILES
                .iter()
                .map(|(name, ty, body)| (*name, Asset::new(ty, Bytes::from_static(body))))
                .collect(),
        }
    })
}

/// Normalizes a configured prefix to `/`, or `/a/b/`: one leading and one trailing slash.
pub(crate) fn normalize_prefix(prefix: &str) -> String {
    let inner = prefix.trim_matches('/');
    if inner.is_empty() {
        "/".to_owned()
    } else {
        format!("/{inner}/")
    }
}

/// The dashboard's routes under `prefix` (normalized as by [`normalize_prefix`]).
pub(crate) fn router<S>(prefix: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let prefix = normalize_prefix(prefix);
    let files = files();
    // From the page's URL back to the router's root, where `/api/logs` is: one `..` per segment.
    let depth = prefix.matches('/').count() - 1;
    let root = if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    };
    let html = INDEX
        .replace("{{ROOT}}", &root)
        .replace("{{ASSETS}}", &format!("assets/{}/", files.version));
    let index = Arc::new(Asset::new(HTML, Bytes::from(html)));
    let page = get(move |headers: HeaderMap| {
        let index = Arc::clone(&index);
        // The page is small and names the current asset version: always revalidate it.
        async move { index.respond(&headers, "no-cache") }
    });
    let mut router = Router::new()
        .route(&prefix, page)
        .route(&format!("{prefix}assets/{{version}}/{{file}}"), get(asset));
    if prefix != "/" {
        // `/logs` → `/logs/`, relative so it holds under a nesting app's path too; the page's own
        // relative URLs need the slash.
        let bare = prefix.trim_end_matches('/').to_owned();
        let target = format!("{}/", bare.rsplit('/').next().unwrap_or_default());
        router = router.route(
            &bare,
            get(move || {
                let target = target.clone();
                async move {
                    let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
                    if let Ok(location) = HeaderValue::from_str(&target) {
                        response.headers_mut().insert(header::LOCATION, location);
                    }
                    response
                }
            }),
        );
    }
    router
}

async fn asset(Path((version, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let files = files();
    let Some((_, asset)) = files.files.iter().find(|(name, _)| *name == file) else {
        let mut response = (StatusCode::NOT_FOUND, "no such file\n").into_response();
        secure(response.headers_mut());
        return response;
    };
    // A page from an older build names an older version: serve what there is, but do not let it be
    // cached under that URL for good.
    let cache = if version == files.version {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    asset.respond(&headers, cache)
}

/// Whether `Accept-Encoding` admits gzip (`gzip` or `*`, without `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// A gzip member (RFC 1952) holding `data`: the deflate stream from miniz_oxide, framed here, since
/// the framing is twenty bytes and a gzip crate would add a dependency for them.
fn gzip(data: &[u8]) -> Vec<u8> {
    let deflated = miniz_oxide::deflate::compress_to_vec(data, 9);
    let mut out = Vec::with_capacity(deflated.len() + 18);
    // Magic, deflate, no flags, no mtime (reproducible), best compression, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    // ISIZE is the length modulo 2^32 by definition.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "RFC 1952 ISIZE is mod 2^32"
    )]
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE), bitwise: run once per file per process, on a few tens of kilobytes.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// FNV-1a: a stable digest for tags (not a security boundary; it only has to change with content).
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips_with_a_correct_trailer() {
        let data = b"hello hello hello, dashboard".repeat(50);
        let member = gzip(&data);
        assert_eq!(&member[..3], &[0x1f, 0x8b, 8]);
        let body = &member[10..member.len() - 8];
        let inflated = miniz_oxide::inflate::decompress_to_vec(body).unwrap();
        assert_eq!(inflated, data);
        let trailer = &member[member.len() - 8..];
        assert_eq!(trailer[..4], crc32(&data).to_le_bytes());
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926, "the standard check value");
        assert!(member.len() < data.len() / 4);
    }

    #[test]
    fn gzip_is_offered_only_when_accepted() {
        let accepts = |v: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            accepts_gzip(&headers)
        };
        assert!(accepts("gzip, deflate, br"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn prefixes_are_normalized() {
        assert_eq!(normalize_prefix("logs"), "/logs/");
        assert_eq!(normalize_prefix("/logs/"), "/logs/");
        assert_eq!(normalize_prefix("/ops/logs"), "/ops/logs/");
        assert_eq!(normalize_prefix(""), "/");
        assert_eq!(normalize_prefix("/"), "/");
    }

    #[test]
    fn the_page_names_no_other_origin_and_has_no_inline_script() {
        // The CSP would refuse both anyway; this keeps the page honest so nothing breaks silently.
        let lower = INDEX.to_ascii_lowercase();
        assert!(!lower.contains("http://") && !lower.contains("https://"));
        let mut rest = lower.as_str();
        while let Some(at) = rest.find("<script") {
            let tag_end = rest[at..].find('>').map_or(rest.len(), |i| at + i);
            assert!(rest[at..tag_end].contains(" src="), "inline script");
            rest = &rest[tag_end..];
        }
        for (name, _, body) in FILES {
            let text = String::from_utf8_lossy(body);
            assert!(!text.contains("innerHTML"), "{name} uses innerHTML");
            assert!(!text.contains("insertAdjacentHTML"), "{name}");
            assert!(!text.contains("eval("), "{name}");
        }
    }
}
