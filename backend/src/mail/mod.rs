//! Outbound mail. Every mail is first written to the `outbox` table (in the same
//! transaction as what caused it), then delivered by a background worker with retries
//! and exponential backoff: an SMTP outage or a server restart loses nothing.
//!
//! Transports: SMTP through lettre over rustls (`MEDIMAIL_SMTP_URL`), or, for
//! development, `.eml` files in `DATA_DIR/outbox` whose paths are logged.
//! Waiting mails are sealed with the outbox key (they may hold a one-time code) and
//! their content is erased once delivered.

pub mod graph;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::entity::outbox;
use crate::keys::Keys;

/// A mail to send: plain text, one recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// `Message-ID` (`<id@host>`), so that a reply's `In-Reply-To` names this mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// `Reply-To`: where a reply from a mail client goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: connection refused, timeout, 4xx answer…
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Will never work: 5xx answer, unusable address.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// Worth retrying, not before this wait (Microsoft Graph's `Retry-After`).
    #[error("temporary failure, retry after {1:?}: {0}")]
    RetryAfter(String, Duration),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Graph(Box<graph::Graph>),
    Files(PathBuf),
}

/// Sends mails and wakes the outbox worker.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// Longest wait between two attempts.
    pub retry_max: Duration,
    /// One per lane of the outbox worker (`worker::Lane`).
    wake: [Notify; 3],
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Graph(_) => "graph",
            Transport::Files(_) => "files",
        };
        write!(f, "Mailer({kind}, from {})", self.from)
    }
}

impl Mailer {
    /// From the configuration: SMTP when a URL is set, otherwise the file outbox.
    pub fn from_config(config: &crate::config::Config) -> Result<Self, String> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| format!("MEDIMAIL_MAIL_FROM is not a mail address ({e})"))?;
        let transport = match (&config.graph_sender, &config.smtp_url) {
            (Some(sender), _) => Transport::Graph(Box::new(graph_transport(config, sender)?)),
            (None, Some(url)) => Transport::Smtp(smtp_transport(url)?),
            (None, None) => Transport::Files(config.data_dir.join("outbox")),
        };
        Ok(Self {
            transport,
            from,
            retry_max: Duration::from_secs(config.mail_retry_max_seconds.max(1)),
            wake: [Notify::new(), Notify::new(), Notify::new()],
        })
    }

    /// A mailer writing `.eml` files into `dir` (tests, development).
    pub fn files(dir: PathBuf) -> Self {
        Self {
            transport: Transport::Files(dir),
            from: Mailbox::new(
                Some("Medimail".into()),
                "medimail@localhost"
                    .parse()
                    .expect("a valid literal address"),
            ),
            retry_max: Duration::from_secs(300),
            wake: [Notify::new(), Notify::new(), Notify::new()],
        }
    }

    /// A short description for the start-up log (no credentials).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::Graph(g) => g.describe(),
            Transport::Files(dir) => format!("files in {}", dir.display()),
        }
    }

    /// The folder of the file outbox, when mails go to files.
    pub fn file_dir(&self) -> Option<&std::path::Path> {
        match &self.transport {
            Transport::Files(dir) => Some(dir),
            Transport::Smtp(_) | Transport::Graph(_) => None,
        }
    }

    /// Tells the worker a mail is waiting (call after the transaction commits).
    pub fn wake(&self) {
        for lane in &self.wake {
            lane.notify_one();
        }
    }

    pub(crate) async fn woken(&self, lane: usize) {
        self.wake[lane % 3].notified().await;
    }

    /// Delivers one mail now.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        if let Transport::Graph(graph) = &self.transport {
            mail.to
                .parse::<Mailbox>()
                .map_err(|e| SendError::Permanent(format!("recipient address: {e}")))?;
            return graph.send(mail).await;
        }
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient address: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN);
        if let Some(id) = &mail.message_id {
            builder = builder.message_id(Some(id.clone()));
        }
        if let Some(reply_to) = mail
            .reply_to
            .as_deref()
            .and_then(|r| r.parse::<Mailbox>().ok())
        {
            builder = builder.reply_to(reply_to);
        }
        let message = builder
            .body(mail.text.clone())
            .map_err(|e| SendError::Permanent(format!("message: {e}")))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Temporary(e.to_string())
                }
            }),
            Transport::Graph(_) => Ok(()),
            Transport::Files(dir) => {
                let temporary = |e: std::io::Error| SendError::Temporary(e.to_string());
                tokio::fs::create_dir_all(dir).await.map_err(temporary)?;
                let name = format!(
                    "{}-{}.eml",
                    Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
                    uuid::Uuid::new_v4()
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(temporary)?;
                tracing::info!(path = %path.display(), "mail written to the development outbox");
                Ok(())
            }
        }
    }
}

/// The Microsoft Graph transport from the configuration.
fn graph_transport(config: &crate::config::Config, sender: &str) -> Result<graph::Graph, String> {
    let client_id = config
        .client_id
        .clone()
        .ok_or("MEDIMAIL_GRAPH_SENDER needs MEDIMAIL_CLIENT_ID")?;
    let secret = match (&config.client_certificate_file, &config.client_secret_file) {
        (Some(_), _) => String::new(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?,
        (None, None) => {
            return Err(
                "MEDIMAIL_GRAPH_SENDER needs MEDIMAIL_CLIENT_SECRET_FILE or \
                 MEDIMAIL_CLIENT_CERTIFICATE_FILE"
                    .into(),
            );
        }
    };
    let tenant = config.single_tenant().ok_or(
        "MEDIMAIL_GRAPH_SENDER needs exactly one tenant in MEDIMAIL_ALLOWED_TENANTS \
         (the organisation whose mailbox sends)",
    )?;
    graph::Graph::new(graph::GraphSettings {
        graph_url: config.graph_url.clone(),
        authority_host: config.graph_authority_host.clone(),
        tenant,
        client_id,
        secret: secret.trim().to_owned(),
        certificate: config.client_certificate_file.clone(),
        sender: sender.trim().to_owned(),
        http: crate::http_client::outgoing(config)?,
    })
}

/// `smtp://` (plain), `smtp://…?tls=starttls` (STARTTLS required), `smtps://` (TLS).
fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    // lettre spells "STARTTLS required" as `tls=required`.
    let url = url.replace("tls=starttls", "tls=required");
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map_err(|e| format!("MEDIMAIL_SMTP_URL is not usable: {e}"))?;
    Ok(builder.timeout(Some(Duration::from_secs(30))).build())
}

/// The one-time code mail (manual part 1 §1.2.2), the code also in the subject so that
/// the user can read it without leaving the pane.
pub fn one_time_code_mail(to: &str, code: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: format!("[{code}] - Votre code d'accès Medimail"),
        text: format!(
            "Bonjour,\r\n\
             vous avez demandé un code à usage unique pour accéder à votre compte Medimail.\r\n\
             Ce code est le : {code}\r\n\
             \r\n\
             Nous vous rappelons qu'il n'est valable que 10 minutes.\r\n\
             \r\n\
             L'équipe Medimail\r\n"
        ),
        ..Default::default()
    }
}

/// Told to a mailbox whose account is locked when a code is asked for it from the
/// webmail (the page itself never says whether an address has an account).
pub fn account_locked_mail(to: &str, until: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: "Votre compte Medimail est bloqué".to_owned(),
        text: format!(
            "Bonjour,\r\n\
             \r\n\
             un code d'accès Medimail a été demandé pour votre adresse, mais votre compte est \
             bloqué après 10 échecs d'authentification consécutifs.\r\n\
             Vous pourrez vous identifier à nouveau à partir de {until}.\r\n\
             \r\n\
             Si ces tentatives ne viennent pas de vous, prévenez votre responsable Medimail.\r\n\
             \r\n\
             L'équipe Medimail\r\n"
        ),
        ..Default::default()
    }
}

/// Told to the mailbox when its passphrase changes (reset, forgotten or changed).
pub fn passphrase_changed_mail(to: &str, when: &str, support: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: "Votre mot de passe Medimail a été modifié".to_owned(),
        text: format!(
            "Bonjour,\r\n\
             \r\n\
             le mot de passe de votre compte Medimail a été modifié le {when}. Toutes vos \
             sessions ouvertes ont été fermées.\r\n\
             \r\n\
             Si vous n'êtes pas à l'origine de ce changement, prévenez immédiatement votre \
             responsable Medimail ou le support : {support}\r\n\
             \r\n\
             L'équipe Medimail\r\n"
        ),
        ..Default::default()
    }
}

/// Writes `mail` to the outbox (inside the caller's transaction). Call
/// [`Mailer::wake`] once committed.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
    now: DateTime<Utc>,
    purpose: &str,
    account_id: Option<&str>,
    mail: &OutgoingMail,
) -> Result<String, sea_orm::DbErr> {
    let plain = serde_json::to_vec(mail).map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    enqueue_payload(db, keys, now, purpose, account_id, &mail.to, &plain).await
}

/// Writes a waiting delivery of `purpose` to the outbox, its `payload` sealed with the
/// outbox key: an [`OutgoingMail`] for the mailer, or what a [`Courier`] delivers.
pub async fn enqueue_payload<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
    now: DateTime<Utc>,
    purpose: &str,
    account_id: Option<&str>,
    recipient: &str,
    plain: &[u8],
) -> Result<String, sea_orm::DbErr> {
    let id = uuid::Uuid::new_v4().to_string();
    let payload = base64::engine::general_purpose::STANDARD.encode(keys.seal_outbox(&id, plain));
    outbox::ActiveModel {
        id: Set(id.clone()),
        purpose: Set(purpose.to_owned()),
        account_id: Set(account_id.map(str::to_owned)),
        recipient: Set(recipient.to_owned()),
        payload: Set(payload),
        status: Set(STATUS_PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The outbox purpose of the messages handed to other MSSanté operators: delivered by
/// the worker's [`Courier`], never by the mailer, and waiting while none is configured.
pub const OPERATOR_DELIVERY: &str = "mssante_delivery";

/// Delivers the [`OPERATOR_DELIVERY`] rows of the outbox in their own lane of the
/// worker, with the same claims, retries and backoff as the mails.
#[async_trait::async_trait]
pub trait Courier: Send + Sync {
    /// How long temporary failures are retried before the delivery counts as failed.
    fn retry_for(&self) -> Duration;
    /// Delivers one row's payload (opened).
    async fn deliver(&self, payload: &[u8]) -> Result<(), SendError>;
    /// What the outcome leaves (events, mails), in the transaction that settles the row:
    /// `Ok` delivered, `Err(reason)` failed for good. The payload is `None` when it
    /// could not be opened.
    async fn settled(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        payload: Option<&[u8]>,
        outcome: Result<(), &str>,
        now: DateTime<Utc>,
    ) -> Result<(), sea_orm::DbErr>;
}

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_SENT: &str = "sent";
pub const STATUS_REFUSED: &str = "refused";

/// Shared handle.
pub type SharedMailer = Arc<Mailer>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_mail_follows_the_manual() {
        let mail = one_time_code_mail("m.pollet@chu.fr", "030187");
        assert_eq!(mail.subject, "[030187] - Votre code d'accès Medimail");
        assert!(mail.text.starts_with("Bonjour,"));
        assert!(mail.text.contains("Ce code est le : 030187"));
        assert!(mail.text.contains("valable que 10 minutes"));
        assert!(mail.text.trim_end().ends_with("L'équipe Medimail"));
    }

    #[tokio::test]
    async fn the_file_outbox_writes_a_complete_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mailer = Mailer::files(dir.path().join("outbox"));
        mailer
            .send(&one_time_code_mail("m.pollet@chu.fr", "000042"))
            .await
            .expect("written");
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
            .expect("dir")
            .collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().expect("entry").path();
        let text = std::fs::read_to_string(path).expect("read");
        assert!(text.contains("To: m.pollet@chu.fr"), "{text}");
        // The subject is encoded (non-ASCII), the code stays readable in it.
        assert!(text.contains("Subject: "), "{text}");
        assert!(text.contains("000042"), "{text}");
    }

    // The pooled transport starts its pool task: it needs a Tokio runtime.
    #[tokio::test]
    async fn accepts_the_documented_smtp_url_forms() {
        install_provider();
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.chu.fr:587?tls=starttls",
            "smtps://medimail:secret@mail.chu.fr:465",
        ] {
            assert!(smtp_transport(url).is_ok(), "{url}");
        }
        assert!(smtp_transport("smtp://").is_err());
    }

    fn install_provider() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }

    #[tokio::test]
    async fn an_unusable_address_is_a_permanent_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mailer = Mailer::files(dir.path().to_path_buf());
        let err = mailer
            .send(&one_time_code_mail("not an address", "000042"))
            .await
            .expect_err("refused");
        assert!(matches!(err, SendError::Permanent(_)), "{err}");
    }
}
