//! Mail through Microsoft 365: an application token from **azure_identity**
//! (client secret credential, or a client assertion signed with the application's
//! certificate — `MEDIMAIL_CLIENT_CERTIFICATE_FILE`; authority host configurable), then
//! Microsoft Graph
//! `POST /v1.0/users/{sender}/sendMail`. Codes and notifications then leave from the
//! hospital's own mailbox.
//!
//! Failures feed the outbox's retry logic: 429 and 503 with `Retry-After` wait at least
//! that long, other 5xx and network errors retry with the usual backoff; a 401 gets a
//! fresh token once (the credential is rebuilt, so its cache is dropped); 400, 403 and 404
//! are permanent refusals (recorded and logged for administrators by the worker).

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions,
};
use tokio::sync::Mutex;

use super::{OutgoingMail, SendError};

/// What the Graph transport needs from the configuration.
#[derive(Clone)]
pub struct GraphSettings {
    pub graph_url: String,
    pub authority_host: String,
    pub tenant: String,
    pub client_id: String,
    /// The client secret, unless `certificate` is set.
    pub secret: String,
    /// `MEDIMAIL_CLIENT_CERTIFICATE_FILE`: sign client assertions instead.
    pub certificate: Option<std::path::PathBuf>,
    pub sender: String,
    /// The outgoing HTTPS client (system roots, plus `MEDIMAIL_EXTRA_CA_FILE`).
    pub http: reqwest::Client,
}

pub struct Graph {
    settings: GraphSettings,
    credential: Mutex<Arc<dyn TokenCredential>>,
}

/// Signs a fresh client assertion for each token request.
struct CertificateAssertion {
    key: jsonwebtoken::EncodingKey,
    thumbprint: String,
    client_id: String,
    token_url: String,
}

impl std::fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(
        &self,
        _: Option<azure_core::http::ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        crate::app_credential::client_assertion(
            &self.key,
            &self.thumbprint,
            &self.client_id,
            &self.token_url,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|e| {
            azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!("client assertion: {e}"),
            )
        })
    }
}

fn credential(s: &GraphSettings) -> Result<Arc<dyn TokenCredential>, String> {
    let client_options = || {
        let mut cloud = azure_core::cloud::CustomConfiguration::default();
        cloud.authority_host = s.authority_host.clone();
        azure_core::http::ClientOptions {
            cloud: Some(Arc::new(cloud.into())),
            transport: Some(azure_core::http::Transport::new(Arc::new(s.http.clone()))),
            ..Default::default()
        }
    };
    let failed = |e: azure_core::Error| format!("Microsoft Graph credential: {e}");
    if let Some(path) = &s.certificate {
        let crate::app_credential::ClientAuth::Certificate { key, thumbprint } =
            crate::app_credential::certificate(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
        else {
            return Err("not a certificate".into());
        };
        let assertion = CertificateAssertion {
            key,
            thumbprint,
            client_id: s.client_id.clone(),
            token_url: format!(
                "{}/{}/oauth2/v2.0/token",
                s.authority_host.trim_end_matches('/'),
                s.tenant
            ),
        };
        let credential: Arc<dyn TokenCredential> = ClientAssertionCredential::new(
            s.tenant.clone(),
            s.client_id.clone(),
            assertion,
            Some(ClientAssertionCredentialOptions {
                client_options: client_options(),
            }),
        )
        .map_err(failed)?;
        return Ok(credential);
    }
    let credential: Arc<dyn TokenCredential> = ClientSecretCredential::new(
        &s.tenant,
        s.client_id.clone(),
        Secret::new(s.secret.clone()),
        Some(ClientSecretCredentialOptions {
            client_options: client_options(),
        }),
    )
    .map_err(failed)?;
    Ok(credential)
}

/// `Retry-After` in seconds (Graph sends seconds).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

impl Graph {
    pub fn new(settings: GraphSettings) -> Result<Self, String> {
        let first = credential(&settings)?;
        Ok(Self {
            settings,
            credential: Mutex::new(first),
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "Microsoft Graph ({}, from {})",
            self.settings.graph_url, self.settings.sender
        )
    }

    async fn token(&self) -> Result<String, SendError> {
        let credential = self.credential.lock().await.clone();
        let scope = format!("{}/.default", self.settings.graph_url.trim_end_matches('/'));
        credential
            .get_token(&[scope.as_str()], None)
            .await
            .map(|t| t.token.secret().to_owned())
            .map_err(|e| SendError::Temporary(format!("Microsoft Graph token: {e}")))
    }

    async fn post(&self, token: &str, mail: &OutgoingMail) -> Result<reqwest::Response, SendError> {
        let url = format!(
            "{}/v1.0/users/{}/sendMail",
            self.settings.graph_url.trim_end_matches('/'),
            url::form_urlencoded::byte_serialize(self.settings.sender.as_bytes())
                .collect::<String>()
        );
        let body = send_mail_body(mail);
        self.settings
            .http
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| SendError::Temporary(format!("Microsoft Graph: {e}")))
    }

    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let token = self.token().await?;
        let mut answer = self.post(&token, mail).await?;
        if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
            // The token may have been revoked or rotated: a fresh one, once.
            tracing::warn!("Microsoft Graph refused the application token; getting a new one");
            let fresh = credential(&self.settings).map_err(SendError::Temporary)?;
            *self.credential.lock().await = fresh;
            let token = self.token().await?;
            answer = self.post(&token, mail).await?;
        }
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let wait = retry_after(answer.headers());
        let detail = answer.text().await.unwrap_or_default();
        let detail: String = detail.chars().take(300).collect();
        let reason = format!("Microsoft Graph answered {status}: {detail}");
        match status.as_u16() {
            429 | 503 => Err(SendError::RetryAfter(
                reason,
                wait.unwrap_or(Duration::from_secs(30)),
            )),
            s if s >= 500 => Err(match wait {
                Some(w) => SendError::RetryAfter(reason, w),
                None => SendError::Temporary(reason),
            }),
            401 => Err(SendError::Temporary(reason)),
            _ => Err(SendError::Permanent(reason)),
        }
    }
}

/// The body of `sendMail` for `mail`. Its `Reply-To` is kept (`replyTo`), so that a reply
/// to a notification addresses the sender; its `Message-ID` is not (Graph documents
/// `internetMessageId` as settable on drafts only): a reply from a mail client is then
/// threaded by the link it quotes.
fn send_mail_body(mail: &OutgoingMail) -> serde_json::Value {
    let mut message = serde_json::json!({
        "subject": mail.subject,
        "body": { "contentType": "Text", "content": mail.text },
        "toRecipients": [ { "emailAddress": { "address": mail.to } } ],
    });
    if let Some(reply_to) = &mail.reply_to {
        message["replyTo"] = serde_json::json!([ { "emailAddress": { "address": reply_to } } ]);
    }
    serde_json::json!({ "message": message, "saveToSentItems": false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_to_of_a_notification_goes_to_graph() {
        let mut mail = OutgoingMail {
            to: "pierre@chu.fr".into(),
            subject: "[MEDIMAIL : Reception] CR".into(),
            text: "Bonjour".into(),
            ..Default::default()
        };
        let plain = send_mail_body(&mail);
        assert!(plain["message"].get("replyTo").is_none());
        assert_eq!(plain["saveToSentItems"], false);
        mail.reply_to = Some("marie@chu.fr".into());
        mail.message_id = Some("<REF.0@medimail.chu.fr>".into());
        let body = send_mail_body(&mail);
        assert_eq!(
            body["message"]["replyTo"][0]["emailAddress"]["address"],
            "marie@chu.fr"
        );
        assert_eq!(
            body["message"]["toRecipients"][0]["emailAddress"]["address"],
            "pierre@chu.fr"
        );
        assert!(body["message"].get("internetMessageId").is_none());
    }
}
