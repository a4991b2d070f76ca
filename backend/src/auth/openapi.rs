//! What the sign-in extractors refuse, for the OpenAPI description of every endpoint
//! that takes them: [`OfficeUser`](super::office::OfficeUser) refuses a token with a
//! [`TokenError`], [`SignedIn`](super::session::SignedIn) also a session with a
//! [`SessionError`].

use super::office::TokenError;
use super::session::SessionError;
use crate::error::AppError;

/// Every refusal of the Office token: 401 `token_*`, 503 `identity_provider_unavailable`.
pub fn office_token() -> Vec<AppError> {
    let all = [
        TokenError::Missing,
        TokenError::Malformed(String::new()),
        TokenError::UnknownKey,
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::Audience,
        TokenError::Issuer,
        TokenError::Tenant(String::new()),
        TokenError::Scope,
        TokenError::Claims(String::new()),
        TokenError::ClientApp(String::new()),
        TokenError::Unavailable(String::new()),
    ];
    // A new variant stops the build here: add it to the list above.
    for error in &all {
        match error {
            TokenError::Missing
            | TokenError::Malformed(_)
            | TokenError::Algorithm(_)
            | TokenError::Signature
            | TokenError::UnknownKey
            | TokenError::Expired
            | TokenError::NotYetValid
            | TokenError::Audience
            | TokenError::Issuer
            | TokenError::Tenant(_)
            | TokenError::Scope
            | TokenError::Claims(_)
            | TokenError::ClientApp(_)
            | TokenError::Unavailable(_) => {}
        }
    }
    all.into_iter().map(AppError::from).collect()
}

/// Every refusal of a signed-in call: the Office token's, then 401 `session_*`, and the
/// webmail cookie's 403s.
pub fn signed_in() -> Vec<AppError> {
    let mut all = office_token();
    for error in [
        SessionError::Missing,
        SessionError::Invalid,
        SessionError::Expired,
        SessionError::Csrf,
        SessionError::Unfinished,
        SessionError::WebmailOff,
    ] {
        match error {
            SessionError::Missing
            | SessionError::Invalid
            | SessionError::Expired
            | SessionError::Csrf
            | SessionError::Unfinished
            | SessionError::WebmailOff => {}
        }
        all.push(error.into());
    }
    all
}
