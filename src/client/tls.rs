//! TLS for `wss://` (and `https://`, which becomes `wss://`): the certificates a server is checked
//! against, and a failed handshake told in one line that says what to do.
//!
//! The roots are Mozilla's list compiled in (webpki-roots: the same on every machine, a container
//! without a system store included), plus the CAs of `--ca-cert` for a server whose certificate a
//! private CA signed. Crypto is rustls with ring, set here rather than taken from a process-wide
//! default.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::{self, PemObject};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use url::Url;

/// A `--ca-cert` file that cannot be used, with the file and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--ca-cert {path}: {problem}")]
pub struct CaCertError {
    path: String,
    problem: String,
}

/// Reads the CA certificates (PEM, one or more) a server's certificate may also be signed by.
pub fn load_ca_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaCertError> {
    let bad = |problem: String| CaCertError {
        path: path.display().to_string(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| bad(format!("not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate in it (expected a PEM block -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    // Checked here so a file rustls cannot read as a CA is said at start, not at each connection.
    let mut roots = RootCertStore::empty();
    for cert in &certs {
        roots
            .add(cert.clone())
            .map_err(|e| bad(format!("a certificate that cannot be a CA ({e})")))?;
    }
    Ok(certs)
}

/// The client configuration for every connection of one source: Mozilla's roots and `extra`.
pub(crate) fn client_config(extra: &[CertificateDer<'static>]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Each was checked by `load_ca_certs`.
    let _ = roots.add_parsable_certificates(extra.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring's provider offers TLS 1.2 and 1.3: there is always a version to offer.
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// One line for a TLS failure while connecting to `base`, or `None` when `error` is not one.
pub(crate) fn explain(error: &io::Error, base: &Url) -> Option<String> {
    let tls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    let host = base.host_str().unwrap_or_default();
    Some(match tls {
        rustls::Error::InvalidCertificate(problem) => match problem {
            CertificateError::NotValidForNameContext { presented, .. } => {
                let names: Vec<String> = presented.iter().map(|n| san(n)).collect();
                if names.is_empty() {
                    format!("the certificate of {base} names no host, so it is not for {host}")
                } else {
                    format!(
                        "the certificate of {base} is for {}, not {host}: connect by a name it is for, or give the server a certificate for {host}",
                        names.join(", ")
                    )
                }
            }
            CertificateError::NotValidForName => {
                format!("the certificate of {base} is not for {host}")
            }
            CertificateError::UnknownIssuer => format!(
                "the certificate of {base} is not trusted (signed by an unknown CA): pass --ca-cert FILE (or set VG_CA_CERT) with the CA certificate that signed it"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the certificate of {base} has expired: the server needs a new one")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the certificate of {base} is not valid yet (check this machine's clock)")
            }
            other => format!("the certificate of {base} was refused: {other}"),
        },
        rustls::Error::InvalidMessage(_) => {
            format!("{base} does not speak TLS (a plain HTTP server?): use http:// (ws://) for it")
        }
        other => format!("TLS with {base} failed: {other}"),
    })
}

/// A name as webpki reports it (`DnsName("localhost")`, `IpAddress(127.0.0.1)`), bare.
fn san(presented: &str) -> String {
    let inner = presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(presented);
    inner.trim_matches('"').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_a_user_would_type_them() {
        assert_eq!(san("DnsName(\"localhost\")"), "localhost");
        assert_eq!(san("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(san("odd"), "odd");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_one_line_naming_it() {
        let dir = std::env::temp_dir().join(format!("vg-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let err = load_ca_certs(&file).unwrap_err().to_string();
        assert!(
            err.starts_with("--ca-cert ") && err.contains("ca.pem: no certificate in it"),
            "{err}"
        );
        let missing = load_ca_certs(&dir.join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("missing.pem: cannot read it"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
