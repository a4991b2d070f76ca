//! TLS material: loading the operator's certificate, or generating a development one.
//!
//! The development pair is a self-signed certificate made with rcgen on first start, in
//! `DATA_DIR/tls/`, for `localhost`, the loopback addresses and the public origin's host.
//! It is regenerated when that host list changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS material could not be loaded or made; names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot {what}: {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Certificate(String),
}

/// The certificate and key files in use, and whether they were generated just now.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub generated: bool,
}

/// Makes sure a development certificate exists in `data_dir/tls/` for `hosts` and
/// returns its paths.
pub fn ensure_development_certificate(
    data_dir: &Path,
    hosts: &[String],
) -> Result<TlsFiles, TlsError> {
    let dir = data_dir.join("tls");
    let cert = dir.join("dev-cert.pem");
    let key = dir.join("dev-key.pem");
    let hosts_file = dir.join("dev-hosts.txt");
    let wanted = hosts.join("\n");
    let current = std::fs::read_to_string(&hosts_file).ok();
    if cert.exists() && key.exists() && current.as_deref() == Some(wanted.as_str()) {
        return Ok(TlsFiles {
            cert,
            key,
            generated: false,
        });
    }
    let io = |path: &Path, e: std::io::Error| TlsError::Io {
        what: "write the development certificate",
        path: path.to_owned(),
        source: e,
    };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let made = rcgen::generate_simple_self_signed(hosts.to_vec())
        .map_err(|e| TlsError::Certificate(format!("cannot generate a certificate: {e}")))?;
    std::fs::write(&cert, made.cert.pem()).map_err(|e| io(&cert, e))?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes()).map_err(|e| io(&key, e))?;
    std::fs::write(&hosts_file, wanted).map_err(|e| io(&hosts_file, e))?;
    Ok(TlsFiles {
        cert,
        key,
        generated: true,
    })
}

/// Writes a file readable by its owner only (the private key).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

/// Reads and checks a certificate chain and its key, and builds the rustls configuration
/// (HTTP/2 and HTTP/1.1 offered by ALPN). Every failure names the file concerned.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let (chain, private_key) = read_pair(cert, key)?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| mismatch(cert, key, e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn mismatch(cert: &Path, key: &Path, e: rustls::Error) -> TlsError {
    TlsError::Certificate(format!(
        "the TLS key {} does not fit the certificate {}: {e}",
        key.display(),
        cert.display()
    ))
}

/// The SMTP gateway's TLS: the certificate and key, and, with `client_roots` (PEM), the
/// client certificates it accepts (mutual TLS with the MSSanté trust space's peers). A
/// client without a certificate is still served (the relays); one presenting a
/// certificate that does not chain to those roots fails the handshake.
pub fn smtp_config(
    cert: &Path,
    key: &Path,
    client_roots: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let (chain, private_key) = read_pair(cert, key)?;
    let builder = ServerConfig::builder();
    let config = match client_roots {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let roots = read_roots(path, "read the SMTP client certificate roots")?;
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Certificate(format!("{}: {e}", path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = config
        .with_single_cert(chain, private_key)
        .map_err(|e| mismatch(cert, key, e))?;
    Ok(Arc::new(config))
}

/// The client configuration for delivering to the other MSSanté operators: their server
/// certificates must chain to `roots` (IGC-Santé), and ours (`cert`, `key`: the chain
/// and its key, PEM) is presented. TLS 1.2 or 1.3.
pub fn mssante_client_config(
    cert: &Path,
    key: &Path,
    roots: &Path,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let (chain, private_key) = read_pair(cert, key)?;
    let roots = read_roots(roots, "read the MSSanté operators' roots")?;
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, private_key)
        .map_err(|e| mismatch(cert, key, e))?;
    Ok(Arc::new(config))
}

/// A store of the roots in `path` (PEM); refused when it holds none.
fn read_roots(path: &Path, what: &'static str) -> Result<rustls::RootCertStore, TlsError> {
    let pem = std::fs::read(path).map_err(|e| TlsError::Io {
        what,
        path: path.to_owned(),
        source: e,
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(&pem) {
        let der = der.map_err(|e| {
            TlsError::Certificate(format!("{} is not valid PEM: {e}", path.display()))
        })?;
        roots.add(der).map_err(|e| {
            TlsError::Certificate(format!("{}: a root is refused: {e}", path.display()))
        })?;
    }
    if roots.is_empty() {
        return Err(TlsError::Certificate(format!(
            "{} holds no certificate",
            path.display()
        )));
    }
    Ok(roots)
}

/// Reads a certificate chain and its key (PEM); every failure names the file.
fn read_pair(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let read = |path: &Path, what: &'static str| {
        std::fs::read(path).map_err(|e| TlsError::Io {
            what,
            path: path.to_owned(),
            source: e,
        })
    };
    let cert_pem = read(cert, "read the TLS certificate")?;
    let key_pem = read(key, "read the TLS private key")?;

    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            TlsError::Certificate(format!(
                "the TLS certificate file {} is not valid PEM: {e}",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate(format!(
            "the TLS certificate file {} holds no certificate",
            cert.display()
        )));
    }
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        TlsError::Certificate(format!(
            "the TLS key file {} holds no usable private key: {e}",
            key.display()
        ))
    })?;

    Ok((chain, private_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into()]
    }

    #[test]
    fn generates_once_then_reuses_the_development_pair() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().expect("temp dir");
        let first = ensure_development_certificate(dir.path(), &hosts()).expect("generated");
        assert!(first.generated);
        server_config(&first.cert, &first.key).expect("the generated pair loads");
        let second = ensure_development_certificate(dir.path(), &hosts()).expect("reused");
        assert!(!second.generated);

        let mut more = hosts();
        more.push("medimail.test".into());
        let third = ensure_development_certificate(dir.path(), &more).expect("regenerated");
        assert!(third.generated, "a new host list makes a new certificate");
    }

    #[cfg(unix)]
    #[test]
    fn the_private_key_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let files = ensure_development_certificate(dir.path(), &hosts()).expect("generated");
        let mode = std::fs::metadata(&files.key)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key mode {mode:o}");
    }

    #[test]
    fn names_the_missing_certificate_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nowhere.pem");
        let err = server_config(&missing, &missing).expect_err("missing file");
        assert!(err.to_string().contains("nowhere.pem"), "{err}");
    }

    #[test]
    fn refuses_a_certificate_file_that_is_not_pem() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().expect("temp dir");
        let files = ensure_development_certificate(dir.path(), &hosts()).expect("generated");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "ceci n'est pas un certificat").expect("write");
        let err = server_config(&junk, &files.key).expect_err("junk refused");
        assert!(err.to_string().contains("junk.pem"), "{err}");
        // A key that belongs to another certificate is refused too.
        let other = tempfile::tempdir().expect("temp dir");
        let other_files = ensure_development_certificate(other.path(), &hosts()).expect("other");
        let err = server_config(&files.cert, &other_files.key).expect_err("mismatch");
        assert!(err.to_string().contains("does not fit"), "{err}");
    }
}
