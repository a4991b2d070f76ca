//! Medimail sessions, opened by code + passphrase ("Authentification"): a 256-bit random
//! token given once to the pane (kept in memory there), of which only the SHA-256 is
//! stored. A session is bound to the Office identity that opened it and to the account
//! that identity proved, ends after 30
//! minutes without use or 12 hours in all, and "Déconnexion" revokes it.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use sha2::{Digest, Sha256};

use crate::account::entity::account;
use crate::auth::entity::auth_session;
use crate::auth::office::{OfficeIdentity, OfficeUser, OfficeVerifier};
use crate::clock::Clock;
use crate::error::{AppError, Refusal};

pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);

/// A new token: 32 bytes from the OS CSPRNG, base64url without padding (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored: SHA-256 of the token, hexadecimal (the token has 256 bits of
/// entropy, so no salt or slow hash is needed).
pub fn token_hash(token: &str) -> String {
    crate::keys::hex(&Sha256::digest(token.as_bytes()))
}

/// Opens a session for `account_id`; returns the row and the token to give the client.
pub async fn open<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    identity: &OfficeIdentity,
    now: DateTime<Utc>,
    client: Option<String>,
) -> Result<(auth_session::Model, String), sea_orm::DbErr> {
    let token = new_token();
    let row = auth_session::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        account_id: Set(account_id.to_owned()),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + ABSOLUTE_TIMEOUT),
        revoked_at: Set(None),
        client: Set(client),
        tenant_id: Set(identity.tenant_id.clone()),
        subject: Set(identity.object_id.clone()),
    }
    .insert(db)
    .await?;
    Ok((row, token))
}

/// When the session ends if unused from now on.
pub fn ends_at(row: &auth_session::Model) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        row.expires_at,
        (row.last_seen_at + IDLE_TIMEOUT).min(row.expires_at),
    )
}

/// Why a session header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionError {
    Missing,
    Invalid,
    Expired,
}

impl Refusal for SessionError {
    fn status(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    fn code(&self) -> &'static str {
        match self {
            SessionError::Missing => "session_required",
            SessionError::Invalid => "session_invalid",
            SessionError::Expired => "session_expired",
        }
    }

    fn message(&self) -> String {
        match self {
            SessionError::Missing => {
                "Identifiez-vous à Medimail (code à usage unique et passephrase) pour continuer."
            }
            SessionError::Invalid => {
                "Votre session Medimail n'est plus valable. Identifiez-vous à nouveau."
            }
            SessionError::Expired => {
                "Votre session Medimail a expiré (30 minutes sans activité ou 12 heures au \
                 total). Identifiez-vous à nouveau."
            }
        }
        .to_owned()
    }
}

/// Finds and checks the session `token` for `identity`, and records its use.
pub async fn check<C: ConnectionTrait>(
    db: &C,
    identity: &OfficeIdentity,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<(account::Model, auth_session::Model), SessionError>, sea_orm::DbErr> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Err(SessionError::Invalid));
    }
    let Some(row) = auth_session::Entity::find()
        .filter(auth_session::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await?
    else {
        return Ok(Err(SessionError::Invalid));
    };
    if row.revoked_at.is_some() {
        return Ok(Err(SessionError::Invalid));
    }
    // Bound to the Office identity that opened it: someone else's token cannot carry it.
    if row.tenant_id != identity.tenant_id || row.subject != identity.object_id {
        return Ok(Err(SessionError::Invalid));
    }
    let Some(account) = account::Entity::find_by_id(&row.account_id).one(db).await? else {
        return Ok(Err(SessionError::Invalid));
    };
    let (absolute, idle) = ends_at(&row);
    if now >= absolute || now >= idle {
        return Ok(Err(SessionError::Expired));
    }
    // The idle time is kept to within 30 s: no write on every call (a database write
    // per request would cost more than the request itself).
    if now - row.last_seen_at < chrono::Duration::seconds(30) {
        return Ok(Ok((account, row)));
    }
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::LastSeenAt, Expr::value(now))
        .filter(auth_session::Column::Id.eq(&row.id))
        .exec(db)
        .await?;
    let row = auth_session::Model {
        last_seen_at: now,
        ..row
    };
    Ok(Ok((account, row)))
}

/// Revokes the session (no effect if it is already revoked).
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let r = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(Some(now)))
        .filter(auth_session::Column::Id.eq(session_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// A caller signed in to Medimail: verified Office token and a live session bound to it.
/// Every call that touches envelopes or the directory takes this extractor.
pub struct SignedIn {
    pub identity: OfficeIdentity,
    pub account: account::Model,
    pub session: auth_session::Model,
}

/// The `X-Medimail-Session` header value, if present and readable.
pub fn session_header(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(medimail_api::SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// What checking a caller needs: the Office token verifier, the sessions' database and
/// the clock. Every router whose handlers take [`SignedIn`] asks for it (`Gate:
/// FromRef<S>`); the application state provides it.
#[derive(Clone)]
pub struct Gate {
    pub db: DatabaseConnection,
    pub office: Arc<OfficeVerifier>,
    pub clock: Clock,
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    Gate: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let gate = Gate::from_ref(state);
        let OfficeUser(identity) = OfficeUser::verify(&gate.office, parts).await?;
        let token = session_header(parts).ok_or(SessionError::Missing)?;
        let (account, session) = check(&gate.db, &identity, token, gate.clock.now()).await??;
        Ok(SignedIn {
            identity,
            account,
            session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_are_stored_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&a)
                .expect("base64url")
                .len(),
            32
        );
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a));
        assert_eq!(h, token_hash(&a));
    }
}
