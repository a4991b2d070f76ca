//! The signed-in user's credentials, in memory only: the Office token (renewed when it
//! expires — Entra ID tokens live about an hour, a Medimail session up to 12 hours) and
//! the Medimail session token.

use std::future::Future;

use leptos::prelude::*;

use crate::api::{ApiError, Credentials};

/// Where the Office token comes from, so that it can be asked for again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `Office.auth.getAccessToken` (inside Outlook).
    Office,
    /// The development identity provider, for this mailbox and name.
    Development { mailbox: String, name: String },
    /// The Office dialog (`/auth/dialog/start`), where single sign-on is unavailable.
    Dialog,
    /// The pane that frames « Paramètres du compte » (`framed`), asked for its token.
    #[cfg(feature = "webmail")]
    Pane,
}

/// Shared by every screen.
#[derive(Clone, Copy)]
pub struct Auth {
    pub credentials: RwSignal<Option<Credentials>>,
    pub source: StoredValue<Option<TokenSource>>,
    /// The webmail's session (outside Outlook), once signed in.
    pub webmail: RwSignal<Option<medimail_api::WebmailSession>>,
    /// While "Nouveau message" is open: whether it holds something the user wrote
    /// (asked before "Déconnexion" throws it away).
    pub draft: StoredValue<Option<std::rc::Rc<dyn Fn() -> bool>>, LocalStorage>,
}

impl Auth {
    pub fn new() -> Self {
        Self {
            credentials: RwSignal::new(None),
            source: StoredValue::new(None),
            webmail: RwSignal::new(None),
            draft: StoredValue::new_local(None),
        }
    }

    /// True unless a written draft is open and the user chooses to keep it: asks
    /// "Abandonner ce message ?" first.
    pub fn may_leave_draft(&self) -> bool {
        let dirty = self.draft.get_value().is_some_and(|d| d());
        !dirty || confirm_leaving()
    }

    /// Asks the token source for a new Office token and keeps it.
    async fn renew(&self) -> Result<(), ApiError> {
        let token = match self.source.get_value() {
            Some(TokenSource::Office) => crate::office::get_access_token()
                .await
                .map_err(|e| ApiError::new("office_token", e.message()))?,
            Some(TokenSource::Development { mailbox, name }) => {
                crate::api::dev_token(mailbox, name).await?.access_token
            }
            // A dialog needs the user's click: say so rather than open one unasked.
            Some(TokenSource::Dialog) => {
                return Err(ApiError::new(
                    "office_token",
                    "Votre identification Microsoft 365 a expiré : fermez et rouvrez le \
                     volet Medimail, puis identifiez-vous à nouveau.",
                ));
            }
            #[cfg(feature = "webmail")]
            Some(TokenSource::Pane) => crate::framed::renewed_by_pane().await?,
            None => return Err(ApiError::new("office_token", "Identifiez-vous à nouveau.")),
        };
        self.credentials.update(|c| {
            if let Some(c) = c {
                c.office_token = token;
            }
        });
        Ok(())
    }

    /// Runs `call` with the current credentials; if the server says the Office token
    /// expired, renews it once and runs `call` again.
    pub async fn call<T, F, Fut>(&self, call: F) -> Result<T, ApiError>
    where
        F: Fn(Credentials) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let Some(c) = self.credentials.get_untracked() else {
            return Err(ApiError::new("office_token", "Identifiez-vous à nouveau."));
        };
        match call(c).await {
            Err(e) if is_expired_token(&e) => {
                self.renew().await?;
                match self.credentials.get_untracked() {
                    Some(c) => call(c).await,
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self::new()
    }
}

/// The refusals a fresh Office token cures.
pub fn is_expired_token(e: &ApiError) -> bool {
    e.code == "token_expired"
}

/// "Abandonner ce message ?": the browser's own dialog (keyboard and screen reader ready).
pub fn confirm_leaving() -> bool {
    web_sys::window()
        .and_then(|w| {
            w.confirm_with_message(
                "Abandonner ce message ? Ce que vous avez écrit n'a pas été envoyé et sera perdu.",
            )
            .ok()
        })
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_expired_token_is_worth_renewing() {
        assert!(is_expired_token(&ApiError::new("token_expired", "x")));
        assert!(!is_expired_token(&ApiError::new("token_audience", "x")));
        assert!(!is_expired_token(&ApiError::new("session_expired", "x")));
    }
}
