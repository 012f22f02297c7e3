//! [`Tls`]: the certificate and key [`serve`](super::serve) speaks HTTPS (and `wss://`) with, read
//! from PEM files and swapped in place by [`Tls::reload`].
//!
//! The swap is a certificate resolver holding the current pair behind a lock: each handshake takes
//! the pair in force when it starts, so a reload (on SIGHUP in `vg serve`) affects only connections
//! opened after it, and none already open is dropped. A reload that cannot read or use the files
//! keeps the pair in force and says why. Crypto is rustls with ring, chosen here rather than left to
//! a process-wide default, so an app with another provider in its tree gets no surprise.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// A certificate (chain) and private key for [`serve`](super::serve), from PEM files, reloadable.
///
/// Cheap to clone; clones share the pair in force, so an app keeps one to call
/// [`reload`](Tls::reload) (say on SIGHUP) and hands another to
/// [`GatewayConfig::tls`](super::GatewayConfig::tls).
#[derive(Clone)]
pub struct Tls {
    inner: Arc<Inner>,
}

struct Inner {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Arc<Current>,
    config: Arc<rustls::ServerConfig>,
}

/// Why a certificate or key file cannot be used: which file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct TlsError {
    path: PathBuf,
    problem: String,
}

impl TlsError {
    fn new(path: &Path, problem: impl Into<String>) -> TlsError {
        TlsError {
            path: path.to_owned(),
            problem: problem.into(),
        }
    }

    /// The file at fault.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Tls {
    /// Reads a certificate chain (the server's certificate first, then any intermediates) and its
    /// private key (PKCS#8, PKCS#1 or SEC1), both PEM. Fails, naming the file, when a file cannot be
    /// read, holds no certificate or key, or the key does not belong to the certificate.
    pub fn from_pem_files(
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Result<Tls, TlsError> {
        let (cert, key) = (cert.into(), key.into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pair = load(&cert, &key, &provider)?;
        let current = Arc::new(Current(RwLock::new(Arc::new(pair))));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(&cert, format!("no TLS version to offer: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        // The server speaks HTTP/1.1 only (WebSocket upgrades included).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            inner: Arc::new(Inner {
                cert,
                key,
                provider,
                current,
                config: Arc::new(config),
            }),
        })
    }

    /// Reads both files again and, if they can be used, serves the new pair to every connection
    /// opened from now on; connections already open keep theirs. On an error the pair in force
    /// stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let pair = load(&self.inner.cert, &self.inner.key, &self.inner.provider)?;
        *self
            .inner
            .current
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(pair);
        Ok(())
    }

    /// The certificate file.
    pub fn cert_path(&self) -> &Path {
        &self.inner.cert
    }

    /// The key file.
    pub fn key_path(&self) -> &Path {
        &self.inner.key
    }

    /// The rustls configuration the accept loop hands each handshake.
    pub(crate) fn server_config(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.inner.config)
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.inner.cert)
            .field("key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

/// The same handle (a clone), not merely the same files: a config compares equal to its clone.
impl PartialEq for Tls {
    fn eq(&self, other: &Tls) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Tls {}

/// The pair in force; what each handshake is given.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.0.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

/// Both files read, parsed and checked against each other.
fn load(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(cert, not_pem(&e)))?;
    if chain.is_empty() {
        let problem = if PrivateKeyDer::from_pem_slice(&cert_pem).is_ok() {
            "holds a private key, not a certificate (are --tls-cert and --tls-key swapped?)"
        } else {
            "no certificate in it (expected a PEM block -----BEGIN CERTIFICATE-----)"
        };
        return Err(TlsError::new(cert, problem));
    }
    let key_pem = read(key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::new(
            key,
            "no private key in it (expected a PEM block -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
        ),
        e => TlsError::new(key, not_pem(&e)),
    })?;
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| TlsError::new(key, format!("a private key rustls cannot use ({e})")))?;
    let pair = CertifiedKey::new(chain, signing);
    match pair.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(pair)
        }
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::new(
                key,
                format!(
                    "this key does not belong to the certificate in {} (their public keys differ)",
                    cert.display()
                ),
            ))
        }
        Err(e) => Err(TlsError::new(
            cert,
            format!("the first certificate cannot be read ({e})"),
        )),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::new(path, format!("cannot read it: {e}")))
}

fn not_pem(e: &pem::Error) -> String {
    format!("not valid PEM ({e})")
}
