//! Test operators of the MSSanté trust space for the end-to-end tests and benches: a test
//! IGC-Santé authority (rcgen) issuing our operator certificate and the operators'
//! server certificates, an authority nobody trusts, and another operator's SMTP server
//! (`fixtures/smtp_operator.py`, aiosmtpd) requiring STARTTLS and a client certificate.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A test authority, and certificates it signs.
pub struct Authority {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, format!("AC {name} de test"));
        let key = rcgen::KeyPair::generate().expect("key");
        Authority {
            issuer: rcgen::CertifiedIssuer::self_signed(ca, key).expect("authority"),
        }
    }

    /// Writes `<stem>.pem` (the certificate) and `<stem>-key.pem`.
    pub fn issue(
        &self,
        dir: &Path,
        stem: &str,
        common_name: &str,
        names: &[&str],
        usage: rcgen::ExtendedKeyUsagePurpose,
    ) -> (PathBuf, PathBuf) {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        let cert_path = dir.join(format!("{stem}.pem"));
        let key_path = dir.join(format!("{stem}-key.pem"));
        std::fs::write(&cert_path, cert.pem()).expect("cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("key");
        (cert_path, key_path)
    }

    pub fn write_root(&self, path: &Path) {
        std::fs::write(path, self.issuer.pem()).expect("root");
    }
}

/// A test operator's SMTP server.
pub struct Operator {
    _child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Operator {
    pub async fn start(
        server_cert: &(PathBuf, PathBuf),
        client_ca: &Path,
        reply: &str,
    ) -> Operator {
        let port = crate::free_port();
        let dir = tempfile::tempdir().expect("dir");
        let mut child = Command::new("python3")
            .arg(crate::workspace_root().join("tests/fixtures/smtp_operator.py"))
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(dir.path())
            .arg("--cert")
            .arg(&server_cert.0)
            .arg("--key")
            .arg(&server_cert.1)
            .arg("--client-ca")
            .arg(client_ca)
            .args(["--reply", reply])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the test operator (install-tools.sh --test installs aiosmtpd)");
        let stdout = child.stdout.take().expect("stdout");
        let ready = tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).lines().next_line(),
        )
        .await
        .expect("the test operator starts within 30 s")
        .expect("read");
        assert_eq!(ready.as_deref(), Some("ready"));
        Operator {
            _child: child,
            port,
            dir,
        }
    }

    /// The messages received, in order: (message, common name of the client certificate).
    pub fn received(&self) -> Vec<(Vec<u8>, String)> {
        let mut names: Vec<String> = crate::file_names_under(self.dir.path())
            .into_iter()
            .filter(|n| n.ends_with(".eml") && !n.starts_with('.'))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                let eml = std::fs::read(self.dir.path().join(n)).expect("eml");
                let peer =
                    std::fs::read_to_string(self.dir.path().join(n.replace(".eml", ".peer")))
                        .unwrap_or_default();
                (eml, peer)
            })
            .collect()
    }

    /// How many RCPT it refused (with `--reply`).
    pub fn refusals(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("refused"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

/// The trust space of a test: our operator certificate, the test operators' server
/// certificates, all from one test IGC-Santé authority; and an authority nobody trusts.
pub struct TrustSpace {
    pub dir: tempfile::TempDir,
    pub roots: PathBuf,
    pub relay: (PathBuf, PathBuf),
    pub operator: (PathBuf, PathBuf),
    pub stranger: (PathBuf, PathBuf),
}

pub fn trust_space() -> TrustSpace {
    let dir = tempfile::tempdir().expect("dir");
    let igc = Authority::new("IGC-Santé");
    let roots = dir.path().join("igc-sante-roots.pem");
    igc.write_root(&roots);
    let relay = igc.issue(
        dir.path(),
        "relay",
        "medimail.chu-dev.fr",
        &["medimail.chu-dev.fr"],
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    );
    let operator = igc.issue(
        dir.path(),
        "operator",
        "mss.autre-operateur.fr",
        &["localhost"],
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    );
    let unknown = Authority::new("inconnue");
    let stranger = unknown.issue(
        dir.path(),
        "stranger",
        "mss.inconnu.fr",
        &["localhost"],
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    );
    TrustSpace {
        dir,
        roots,
        relay,
        operator,
        stranger,
    }
}

impl TrustSpace {
    /// A server (development identity, `chu-dev.fr` hosted) delivering to the operators of
    /// `routes` (`domain`, port on `localhost`) with our operator certificate; retried
    /// every second or two, for an hour of the test clock.
    pub fn server_options(&self, routes: &[(&str, u16)]) -> crate::ServerOptions {
        let space = self;
        let routes: Vec<String> = routes
            .iter()
            .map(|(domain, port)| format!("{domain}=localhost:{port}"))
            .collect();
        let path = |p: &Path| p.display().to_string();
        crate::ServerOptions {
            env: vec![
                ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
                ("MEDIMAIL_HOSTED_DOMAINS".into(), "chu-dev.fr".into()),
                ("MEDIMAIL_MSSANTE_RELAY_CERT".into(), path(&space.relay.0)),
                ("MEDIMAIL_MSSANTE_RELAY_KEY".into(), path(&space.relay.1)),
                ("MEDIMAIL_MSSANTE_ROOTS".into(), path(&space.roots)),
                ("MEDIMAIL_MSSANTE_ROUTES".into(), routes.join(",")),
                ("MEDIMAIL_MSSANTE_RETRY_HOURS".into(), "1".into()),
                // Retries every second or two (real time); the retry period reads the test clock.
                ("MEDIMAIL_MAIL_RETRY_MAX_SECONDS".into(), "2".into()),
            ],
            test_clock: true,
            ..Default::default()
        }
    }
}
