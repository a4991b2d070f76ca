//! A real SMTP server on loopback for the end-to-end tests: `fixtures/smtp_sink.py`
//! (aiosmtpd, installed from PyPI by `scripts/install-tools.sh --test`), which writes each
//! message it accepts to a folder with its time of receipt.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running SMTP server; stopped when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// One received mail.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub path: PathBuf,
    /// Unix time (seconds, microsecond precision) at which the server accepted it.
    pub received_at: f64,
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl ReceivedMail {
    /// The 6-digit code of a "Votre code d'accès Medimail" mail (from the subject,
    /// checked against the body).
    pub fn code(&self) -> String {
        assert!(
            self.subject.ends_with("] - Votre code d'accès Medimail"),
            "not a code mail: {}",
            self.subject
        );
        let code = self.subject[1..7].to_owned();
        assert!(
            self.text.contains(&format!("Ce code est le : {code}")),
            "{}",
            self.text
        );
        code
    }
}

impl SmtpSink {
    /// Starts the server on `port` (0: a free one) and waits until it listens.
    pub async fn start(port: u16) -> SmtpSink {
        let port = if port == 0 { crate::free_port() } else { port };
        let dir = tempfile::tempdir().expect("mail dir");
        let script = crate::workspace_root().join("tests/fixtures/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "python3 runs the SMTP sink (scripts/install-tools.sh --test installs aiosmtpd)",
            );
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP sink starts within 30 s")
            .expect("read");
        assert_eq!(ready.as_deref(), Some("ready"), "SMTP sink did not start");
        SmtpSink { child, port, dir }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far, in order of arrival.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        paths.into_iter().map(|p| parse(&p)).collect()
    }

    /// Waits until at least `count` mails have arrived; panics after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{} mail(s) received, {count} expected within {timeout:?}",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Stops the server (SIGTERM) and waits for it.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

fn parse(path: &PathBuf) -> ReceivedMail {
    let raw = std::fs::read(path).expect("read mail");
    let message = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("a mail message");
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let received_at = name
        .split_once('-')
        .and_then(|(_, t)| t.parse().ok())
        .unwrap_or(0.0);
    let to = message
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_owned();
    ReceivedMail {
        path: path.clone(),
        received_at,
        to,
        subject: message.subject().unwrap_or("").to_owned(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    }
}
