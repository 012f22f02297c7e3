//! Request bodies of the ecosystem's ingest formats (OTLP, Loki): read within the ingest limit, then
//! unwrapped from their `Content-Encoding` (gzip, deflate, Loki's snappy) within the same limit.
//!
//! The limit holds for the body as it arrives and again for the body once decompressed: a 4 KiB gzip
//! bomb must not make the server hold gigabytes. One knob (`max_ingest_bytes`) bounds both, so an
//! operator has one number to reason about.
//!
//! How many bodies are read and parsed at once is bounded too ([`slot`]): a parse holds the body
//! and what it expands into, so the bound on bodies in memory is a count of them, not a count of
//! connections.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::OwnedSemaphorePermit;

use super::state::Shared;

/// How a body is wrapped on the wire (`Content-Encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Identity,
    Gzip,
    /// HTTP's `deflate`: a zlib stream.
    Deflate,
    /// Snappy's block format, as Loki clients name it.
    Snappy,
}

/// Why a body could not be read; each becomes a status and one line of text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("request body larger than {0} bytes; send smaller batches")]
    TooLarge(usize),
    #[error("request body larger than {0} bytes once decompressed; send smaller batches")]
    TooLargeDecompressed(usize),
    #[error("unsupported Content-Encoding '{0}'; send gzip, deflate or none")]
    UnsupportedEncoding(String),
    #[error("unsupported Content-Type '{got}'; send {want}")]
    UnsupportedType { got: String, want: &'static str },
    #[error("{0}")]
    Bad(String),
    #[error("{0} ingest requests are being read already; retry in a moment")]
    Busy(usize),
}

impl BodyError {
    fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) | BodyError::TooLargeDecompressed(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            BodyError::UnsupportedEncoding(_) | BodyError::UnsupportedType { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            BodyError::Bad(_) => StatusCode::BAD_REQUEST,
            BodyError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        // One line of plain text: what OTLP and Loki clients print when a push fails.
        let mut response = (self.status(), format!("{self}\n")).into_response();
        if matches!(self, BodyError::Busy(_)) {
            retry_soon(&mut response);
        }
        response
    }
}

/// Marks a 503 as worth retrying in a second (OTLP exporters and Loki clients honour it).
pub(crate) fn retry_soon(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
}

/// A turn to read and parse one ingest body, among `max_concurrent_ingest`. A request waits for one
/// up to `ingest_wait` (a burst queues briefly instead of failing), then is refused with 503 and
/// `Retry-After`. Taken before the body is read, so bodies waiting their turn stay in the kernel's
/// socket buffers, not in the server's memory.
pub(crate) async fn slot(shared: &Shared) -> Result<OwnedSemaphorePermit, BodyError> {
    let wait = shared.config.ingest_wait;
    match tokio::time::timeout(wait, std::sync::Arc::clone(&shared.ingest).acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(BodyError::Busy(shared.config.max_concurrent_ingest)),
    }
}

/// The request's `Content-Type` without parameters, lower-cased (`""` when absent).
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The request's `Content-Encoding`.
pub(crate) fn encoding(headers: &HeaderMap) -> Result<Encoding, BodyError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(Encoding::Identity);
    };
    let text = value.to_str().unwrap_or("?").trim();
    match text.to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(Encoding::Identity),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        "deflate" => Ok(Encoding::Deflate),
        "snappy" => Ok(Encoding::Snappy),
        _ => Err(BodyError::UnsupportedEncoding(text.to_owned())),
    }
}

/// Reads the whole body, refusing more than `limit` bytes (by `Content-Length` before reading any).
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| BodyError::TooLarge(limit))
}

/// Undoes gzip or deflate; identity and snappy pass through (snappy is the protobuf decoder's
/// business, see [`unsnappy`], since Loki compresses protobuf with it whatever the header says).
pub(crate) fn inflate(bytes: Bytes, encoding: Encoding, limit: usize) -> Result<Bytes, BodyError> {
    let name = match encoding {
        Encoding::Identity | Encoding::Snappy => return Ok(bytes),
        Encoding::Gzip => "gzip",
        Encoding::Deflate => "deflate",
    };
    let reader: Box<dyn Read + '_> = match encoding {
        // Multi-member: concatenated gzip streams are one valid body.
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&bytes[..])),
        _ => Box::new(flate2::read::ZlibDecoder::new(&bytes[..])),
    };
    read_bounded(reader, limit, name).map(Bytes::from)
}

/// Decompresses a snappy block, refusing one that says it holds more than `limit` bytes.
pub(crate) fn unsnappy(bytes: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let bad = |e: snap::Error| BodyError::Bad(format!("body is not valid snappy ({e})"));
    // The block starts with its decompressed length, so a bomb is refused before any work.
    let len = snap::raw::decompress_len(bytes).map_err(bad)?;
    if len > limit {
        return Err(BodyError::TooLargeDecompressed(limit));
    }
    snap::raw::Decoder::new().decompress_vec(bytes).map_err(bad)
}

fn read_bounded(reader: impl Read, limit: usize, name: &str) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Bad(format!("body is not valid {name} ({e})")))?;
    if out.len() > limit {
        return Err(BodyError::TooLargeDecompressed(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        Bytes::from(encoder.finish().unwrap())
    }

    #[test]
    fn gzip_and_deflate_round_trip_within_the_limit() {
        assert_eq!(
            inflate(gzip(b"hello"), Encoding::Gzip, 5).unwrap(),
            &b"hello"[..]
        );
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(b"hi").unwrap();
        let zlib = Bytes::from(zlib.finish().unwrap());
        assert_eq!(inflate(zlib, Encoding::Deflate, 5).unwrap(), &b"hi"[..]);
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 4096);
        assert_eq!(
            inflate(bomb, Encoding::Gzip, 1000),
            Err(BodyError::TooLargeDecompressed(1000))
        );
        let snappy = snap::raw::Encoder::new()
            .compress_vec(&vec![0u8; 1 << 20])
            .unwrap();
        assert_eq!(
            unsnappy(&snappy, 1000),
            Err(BodyError::TooLargeDecompressed(1000))
        );
    }

    #[test]
    fn garbage_says_what_it_is_not() {
        let err = inflate(Bytes::from_static(b"plain"), Encoding::Gzip, 100).unwrap_err();
        assert!(
            err.to_string().starts_with("body is not valid gzip"),
            "{err}"
        );
        let err = unsnappy(b"\xff\xff\xff\xff\xff\xff", 100).unwrap_err();
        assert!(
            err.to_string().starts_with("body is not valid snappy"),
            "{err}"
        );
    }

    #[test]
    fn encodings_are_named_case_insensitively() {
        let mut headers = HeaderMap::new();
        assert_eq!(encoding(&headers), Ok(Encoding::Identity));
        headers.insert(header::CONTENT_ENCODING, "GZIP".parse().unwrap());
        assert_eq!(encoding(&headers), Ok(Encoding::Gzip));
        headers.insert(header::CONTENT_ENCODING, "br".parse().unwrap());
        assert_eq!(
            encoding(&headers).unwrap_err().to_string(),
            "unsupported Content-Encoding 'br'; send gzip, deflate or none"
        );
    }
}
