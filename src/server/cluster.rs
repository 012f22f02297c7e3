//! Fan-out between instances through Redis: every instance publishes its entries to one Redis
//! Stream, so that the stream holds all of them in one order.
//!
//! The publisher is a [`Sink`](crate::server::Sink): `emit()` pays nothing for it. Entries wait in a
//! bounded buffer of the publisher's own while Redis is slow or down, and leave in order once each
//! when it answers again; what the buffer cannot hold is counted, never waited for. Each batch is
//! one script call that adds its entries (approximate `MAXLEN` retention) together with the newest
//! seq it carries, kept under a key of this stream identity's own: after a failure whose outcome is
//! unknown (a reply lost with the connection, a timeout) the publisher reads that seq back and skips
//! what Redis already has, so a retry never adds an entry twice.
//!
//! Each stream record has the fields `b` (the publishing emitter's boot, its stream identity), `i`
//! (its instance, or empty), `s` (the entry's seq in that boot) and `e` (the entry as JSON).

mod publisher;
pub(crate) mod reader;

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;

use publisher::{Publisher, Status};

use crate::server::store::Emitter;

/// How an instance reaches Redis and what it keeps there. Start from [`RedisConfig::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS.
    pub url: String,
    /// The Redis Stream every instance publishes to (`vg:logs` by default).
    pub stream: String,
    /// About how many entries the stream keeps (`XADD ... MAXLEN ~ N`): Redis trims whole nodes,
    /// so it may keep somewhat more.
    pub max_len: usize,
    /// When set, entries older than this (by Redis's clock) are trimmed too (`XTRIM MINID ~`),
    /// whichever bound is reached first.
    pub max_age: Option<Duration>,
    /// Most entries waiting for Redis while it is slow or down, besides the one batch being sent;
    /// the oldest are dropped (and counted) past that, so the newest are kept.
    pub buffer: usize,
    /// Most bytes those waiting entries may cost in memory (as history counts them): entries that
    /// history has evicted meanwhile are the buffer's alone. The oldest go first past either bound.
    pub buffer_bytes: usize,
    /// Most entries sent in one round trip.
    pub batch: usize,
    /// How long connecting, and waiting for one reply, may take before the attempt counts as failed.
    pub timeout: Duration,
    /// With `rediss://`: the certificate authority (PEM) Redis's certificate must chain to, in
    /// place of the built-in roots (a private CA, as managed and self-hosted Redis often use).
    pub ca_cert: Option<Vec<u8>>,
}

impl RedisConfig {
    /// Publishes to the stream `vg:logs` at `url`, with the default bounds.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            stream: DEFAULT_STREAM.to_owned(),
            max_len: 100_000,
            max_age: None,
            buffer: 100_000,
            buffer_bytes: 64 * 1024 * 1024,
            batch: 1000,
            timeout: Duration::from_secs(2),
            ca_cert: None,
        }
    }

    /// Publishes to this stream key instead (builder style).
    #[must_use]
    pub fn stream(mut self, key: impl Into<String>) -> Self {
        self.stream = key.into();
        self
    }

    /// Keeps about this many entries in the stream (builder style).
    #[must_use]
    pub fn max_len(mut self, entries: usize) -> Self {
        self.max_len = entries;
        self
    }

    /// Also trims entries older than `age` from the stream (builder style).
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Holds at most this many entries while Redis is down (builder style).
    #[must_use]
    pub fn buffer(mut self, entries: usize) -> Self {
        self.buffer = entries;
        self
    }

    /// Holds at most this many bytes of entries while Redis is down (builder style).
    #[must_use]
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// Trusts this certificate authority (PEM) for `rediss://` instead of the built-in roots
    /// (builder style).
    #[must_use]
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_cert = Some(pem.into());
        self
    }

    /// Gives up on a connection attempt or a reply after this long (builder style).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The stream key used when none is configured.
pub const DEFAULT_STREAM: &str = "vg:logs";

/// What went wrong starting the Redis publisher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The URL is not one the client can use.
    #[error(
        "invalid Redis URL {url:?}: {reason}; expected redis://HOST:PORT[/DB] or rediss://HOST:PORT[/DB]"
    )]
    Url {
        /// The URL as given, without its password.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A bound is zero or the stream key is empty.
    #[error("invalid Redis setting: {0}")]
    Setting(String),
    /// The publisher's thread could not be started.
    #[error("cannot start the Redis publisher: {0}")]
    Io(#[from] std::io::Error),
}

/// How publishing to Redis goes, as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RedisStats {
    /// `connecting` (no answer yet), `up` or `down`.
    pub state: &'static str,
    /// The stream key.
    pub stream: String,
    /// Entries in Redis from this instance (since it started).
    pub published: u64,
    /// Entries waiting to be published.
    pub buffered: u64,
    /// Entries dropped because the buffer was full while Redis was down or slow.
    pub overflow: u64,
    /// Entries already in Redis that a retry skipped (a reply lost after Redis took them).
    pub deduplicated: u64,
    /// Why the last attempt failed, while Redis is down.
    pub error: Option<String>,
}

/// An emitter's link to Redis: the publisher sink and its status. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cluster {
    status: Arc<Status>,
    config: RedisConfig,
    /// For the merged stream's readers, one connection per viewer.
    client: redis::Client,
}

impl Cluster {
    /// Starts publishing every entry `emitter` stamps from now on to the Redis stream (a sink named
    /// `redis`). Connecting happens in the background: Redis may be down now and come up later.
    pub fn start(emitter: &Emitter, config: RedisConfig) -> Result<Cluster, ClusterError> {
        let client = open_client(&config.url, config.ca_cert.as_deref())?;
        if config.stream.is_empty() {
            return Err(ClusterError::Setting(
                "the stream key is empty; give one with --redis-stream (default vg:logs)".into(),
            ));
        }
        if config.buffer == 0
            || config.buffer_bytes == 0
            || config.batch == 0
            || config.max_len == 0
        {
            return Err(ClusterError::Setting(
                "the buffer, the batch and the stream's length must be at least 1 (--redis-buffer, --redis-buffer-bytes, --redis-max-len)".into(),
            ));
        }
        if config.max_age.is_some_and(|age| age.as_millis() == 0) {
            return Err(ClusterError::Setting(
                "the stream's age limit must be at least 1 ms (--redis-max-age)".into(),
            ));
        }
        let status = Arc::new(Status::default());
        let publisher = Publisher::start(client.clone(), &config, emitter, Arc::clone(&status))?;
        emitter.add_sink("redis", publisher)?;
        Ok(Cluster {
            status,
            config,
            client,
        })
    }

    /// How publishing goes now.
    pub fn stats(&self) -> RedisStats {
        self.status.stats(&self.config.stream)
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }
}

/// The client for `url`, or why it cannot be one (the URL is repeated without its password).
fn open_client(url: &str, ca_cert: Option<&[u8]>) -> Result<redis::Client, ClusterError> {
    let shown = without_password(url);
    let info =
        redis::IntoConnectionInfo::into_connection_info(url).map_err(|e| ClusterError::Url {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
    let Some(pem) = ca_cert else {
        return redis::Client::open(info).map_err(|e| ClusterError::Url {
            url: shown,
            reason: e.to_string(),
        });
    };
    if !matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }) {
        return Err(ClusterError::Setting(format!(
            "a CA certificate is for TLS, and {shown} is not a rediss:// URL"
        )));
    }
    // The client would take a file without a certificate and fail every handshake later.
    let certificates_in_it = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_or(0, |certificates| certificates.len());
    if certificates_in_it == 0 {
        return Err(ClusterError::Setting(
            "the CA certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA's certificate, not its key".into(),
        ));
    }
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    };
    redis::Client::build_with_tls(info, certificates)
        .map_err(|e| ClusterError::Setting(format!("the CA certificate for {shown}: {e}")))
}

/// `url` with any password replaced by `***`, fit for messages and logs (also when it does not
/// parse: see [`crate::format::url_without_password`]).
pub fn without_password(url: &str) -> String {
    crate::format::url_without_password(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_say_what_is_expected_and_hide_the_password() {
        let err = open_client("http://user:hunter2@host:6379", None).unwrap_err();
        let said = err.to_string();
        assert!(said.contains("redis://HOST:PORT"), "{said}");
        assert!(!said.contains("hunter2"), "{said}");
        // Also when the URL does not parse at all (a `#` or `/` in the password, a bad port).
        for url in [
            "redis://:p#ss@127.0.0.1:6390",
            "redis://u:pa/ss@h:1",
            "redis://u:pw@h:99999",
        ] {
            let said = open_client(url, None).unwrap_err().to_string();
            assert!(!said.contains("ss@") && !said.contains(":pw@"), "{said}");
        }
        assert!(open_client("redis://127.0.0.1:6379/2", None).is_ok());
        assert!(open_client("rediss://cache.example.com:6380", None).is_ok());
    }

    #[test]
    fn empty_bounds_are_refused() {
        let emitter = Emitter::new(crate::server::EmitterConfig::default().read_env(false));
        let config = RedisConfig::new("redis://127.0.0.1:1").buffer(0);
        assert!(matches!(
            Cluster::start(&emitter, config),
            Err(ClusterError::Setting(_))
        ));
        let config = RedisConfig::new("redis://127.0.0.1:1").stream("");
        assert!(matches!(
            Cluster::start(&emitter, config),
            Err(ClusterError::Setting(_))
        ));
    }
}
