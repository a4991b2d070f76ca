//! Medimail sessions, opened by code + passphrase ("Authentification"): a 256-bit random
//! token given once to the pane (kept in memory there, and in the pane's partitioned
//! HttpOnly cookie so that a reopened pane finds it again), of which only the SHA-256 is
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
use crate::config::WebmailMode;
use crate::error::{AppError, Refusal};

pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// The `tenant_id` of sessions and codes of the webmail, whose identity is the mailbox
/// itself (`subject`).
pub const WEBMAIL: &str = "webmail";
/// A session that opens the mailbox…
pub const FULL: &str = "full";
/// …and one opened by a code alone, which may only choose the passphrase.
pub const ENROL: &str = "enrol";
/// How long an `enrol` session lasts: the time to read the conditions and choose.
pub const ENROL_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// A session opened by a one-time code (with the passphrase)…
pub const BY_CODE: &str = "otp";
/// …or by the CPx card through Pro Santé Connect. Both are the strong authentication the
/// manual asks for (« Authentification forte par carte CPS ou OTP »).
pub const BY_CARD: &str = "psc";

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

/// The CSRF token of the webmail session whose token hashes to `token_hash`: what the
/// page sends as `X-Medimail-Csrf` (a cross-site page can neither read it nor set the
/// header).
pub fn csrf(keys: &crate::keys::Keys, token_hash: &str) -> String {
    keys.code_mac(format!("medimail-csrf:{token_hash}").as_bytes())
}

/// Opens a session for `account_id` with `scope` ([`FULL`] or [`ENROL`]) after a code;
/// returns the row and the token to give the client.
pub async fn open<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    identity: &OfficeIdentity,
    now: DateTime<Utc>,
    client: Option<String>,
    scope: &str,
) -> Result<(auth_session::Model, String), sea_orm::DbErr> {
    open_by(db, account_id, identity, now, client, scope, BY_CODE).await
}

/// [`open`], the strong authentication done by `method` ([`BY_CODE`] or [`BY_CARD`]).
pub async fn open_by<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    identity: &OfficeIdentity,
    now: DateTime<Utc>,
    client: Option<String>,
    scope: &str,
    method: &str,
) -> Result<(auth_session::Model, String), sea_orm::DbErr> {
    let token = new_token();
    let lasts = if scope == ENROL {
        ENROL_TIMEOUT
    } else {
        ABSOLUTE_TIMEOUT
    };
    let row = auth_session::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        account_id: Set(account_id.to_owned()),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + lasts),
        revoked_at: Set(None),
        client: Set(client),
        tenant_id: Set(identity.tenant_id.clone()),
        subject: Set(identity.object_id.clone()),
        scope: Set(scope.to_owned()),
        method: Set(method.to_owned()),
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

/// What the pane is told of its session: when it ends, and its token when it was just
/// opened.
pub fn info(row: &auth_session::Model, token: Option<String>) -> medimail_api::SessionInfo {
    let (absolute, idle) = ends_at(row);
    medimail_api::SessionInfo {
        session: token,
        expires_at: absolute.to_rfc3339(),
        idle_expires_at: idle.to_rfc3339(),
    }
}

/// The answer that opens a pane's session (by code or by card): 201, the session, and the
/// pane's cookie, kept as long as the session can last (it was opened just now).
pub fn pane_opened(
    info: medimail_api::SessionInfo,
) -> (
    StatusCode,
    [(axum::http::HeaderName, axum::http::HeaderValue); 1],
    crate::web::Json<medimail_api::SessionInfo>,
) {
    let cookie = pane_cookie_header(
        info.session.as_deref().unwrap_or_default(),
        ABSOLUTE_TIMEOUT,
    );
    (
        StatusCode::CREATED,
        [(axum::http::header::SET_COOKIE, cookie)],
        crate::web::Json(info),
    )
}

/// Why a session (header or webmail cookie) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionError {
    Missing,
    Invalid,
    Expired,
    /// A state-changing webmail request without the session's CSRF token.
    Csrf,
    /// A webmail session that has not chosen its passphrase or accepted the conditions.
    Unfinished,
    /// `MEDIMAIL_WEBMAIL=off`.
    WebmailOff,
}

impl Refusal for SessionError {
    fn status(&self) -> StatusCode {
        match self {
            SessionError::Csrf | SessionError::Unfinished | SessionError::WebmailOff => {
                StatusCode::FORBIDDEN
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SessionError::Missing => "session_required",
            SessionError::Invalid => "session_invalid",
            SessionError::Expired => "session_expired",
            SessionError::Csrf => "csrf_refused",
            SessionError::Unfinished => "identification_unfinished",
            SessionError::WebmailOff => "webmail_off",
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
            SessionError::Csrf => {
                "Cette demande ne vient pas de la page Medimail : elle est refusée. Rechargez \
                 la page, puis réessayez."
            }
            SessionError::Unfinished => {
                "Terminez d'abord votre identification : acceptez les conditions \
                 d'utilisation et choisissez votre mot de passe."
            }
            SessionError::WebmailOff => {
                "La messagerie Medimail dans le navigateur n'est pas ouverte sur ce serveur : \
                 utilisez Medimail depuis Outlook."
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
    // Bound to the Office identity that opened it: someone else's token cannot carry it.
    check_bound(db, token, now, |row| {
        row.tenant_id == identity.tenant_id && row.subject == identity.object_id
    })
    .await
}

/// Finds and checks the session `token` when `bound` accepts its row, and records its use.
pub async fn check_bound<C: ConnectionTrait>(
    db: &C,
    token: &str,
    now: DateTime<Utc>,
    bound: impl Fn(&auth_session::Model) -> bool,
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
    if !bound(&row) {
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

/// Revokes every live session of `identity` ("Déconnexion" in one pane ends the
/// others: Outlook on the web, the desktop Outlook, another computer); how many.
pub async fn revoke_identity<C: ConnectionTrait>(
    db: &C,
    identity: &OfficeIdentity,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let r = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(Some(now)))
        .filter(auth_session::Column::TenantId.eq(&identity.tenant_id))
        .filter(auth_session::Column::Subject.eq(&identity.object_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// The pane's cookie for `token`, kept until the session's absolute end.
/// `SameSite=None; Partitioned`: Outlook on the web shows the pane in a third-party
/// frame, where browsers that block third-party cookies still keep a partitioned one
/// (keyed to Outlook's site, so no other site's frame sees it).
pub fn pane_cookie_header(token: &str, lasts: Duration) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!(
        "{}={token}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=None; Partitioned",
        medimail_api::PANE_SESSION_COOKIE,
        lasts.num_seconds().max(0)
    ))
    .unwrap_or_else(|_| axum::http::HeaderValue::from_static(""))
}

/// The webmail's cookie that carries `token` (a browser session cookie: it ends with the
/// browser, and the server ends it after 30 minutes idle or 12 hours).
pub fn webmail_cookie(token: &str) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!(
        "{}={token}; Path=/; Secure; HttpOnly; SameSite=Strict",
        medimail_api::SESSION_COOKIE
    ))
    .unwrap_or_else(|_| axum::http::HeaderValue::from_static(""))
}

/// Ends the pane's cookie ("Déconnexion").
pub fn pane_cookie_cleared() -> axum::http::HeaderValue {
    pane_cookie_header("", Duration::zero())
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

/// How a caller reached Medimail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The pane inside Outlook: Office token and `X-Medimail-Session`.
    Office,
    /// The webmail: the session cookie (and the CSRF header on every change).
    Webmail,
}

/// A caller signed in to Medimail: verified Office token and a live session bound to it,
/// or a webmail session cookie (whose identity is the mailbox). Every call that touches
/// envelopes or the directory takes this extractor.
pub struct SignedIn {
    pub identity: OfficeIdentity,
    pub account: account::Model,
    pub session: auth_session::Model,
    pub via: Via,
    /// `MEDIMAIL_WEBMAIL` (what a webmail session may do).
    pub webmail: WebmailMode,
}

/// The webmail session cookie's value, if the request carries one.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(parts, medimail_api::SESSION_COOKIE)
}

/// The pane's session cookie ([`medimail_api::PANE_SESSION_COOKIE`]), if the request
/// carries one: what a reopened pane, which no longer holds the token in memory, sends.
pub fn pane_cookie(parts: &Parts) -> Option<String> {
    cookie(parts, medimail_api::PANE_SESSION_COOKIE)
}

/// The cookie `name`'s value, if the request carries one.
fn cookie(parts: &Parts, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .find_map(|pair| pair.strip_prefix(prefix.as_str()))
        .map(str::to_owned)
}

/// A webmail session from the cookie, any scope. State-changing methods must carry its
/// CSRF token. Returns the account, the session and the token's hash.
pub async fn webmail_session(
    gate: &Gate,
    parts: &Parts,
) -> Result<(account::Model, auth_session::Model), AppError> {
    if gate.webmail == WebmailMode::Off {
        return Err(SessionError::WebmailOff.into());
    }
    let token = session_cookie(parts).ok_or(SessionError::Missing)?;
    let (account, session) = check_bound(&gate.db, &token, gate.clock.now(), |row| {
        row.tenant_id == WEBMAIL
    })
    .await??;
    let safe = matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if !safe {
        let sent = parts
            .headers
            .get(medimail_api::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !crate::keys::secrets_equal(sent, &csrf(&gate.keys, &session.token_hash)) {
            return Err(SessionError::Csrf.into());
        }
    }
    Ok((account, session))
}

/// The identity a webmail session stands for: the mailbox itself.
pub fn webmail_identity(account: &account::Model, session: &auth_session::Model) -> OfficeIdentity {
    OfficeIdentity {
        tenant_id: WEBMAIL.to_owned(),
        object_id: session.subject.clone(),
        name: account.display_name.clone(),
        mailbox: account.mailbox.clone(),
    }
}

/// True when the webmail session may open the mailbox: a passphrase chosen in it (or
/// proven with it) and the conditions of use in force accepted.
pub fn webmail_open(account: &account::Model, session: &auth_session::Model) -> bool {
    session.scope == FULL
        && account.conditions_version.as_deref() == Some(crate::auth::conditions::VERSION)
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
    /// The CSRF tokens of webmail sessions derive from the server keys.
    pub keys: Arc<crate::keys::Keys>,
    pub webmail: WebmailMode,
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    Gate: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let gate = Gate::from_ref(state);
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
            && session_cookie(parts).is_some()
        {
            let (account, session) = webmail_session(&gate, parts).await?;
            if !webmail_open(&account, &session) {
                return Err(SessionError::Unfinished.into());
            }
            return Ok(SignedIn {
                identity: webmail_identity(&account, &session),
                account,
                session,
                via: Via::Webmail,
                webmail: gate.webmail,
            });
        }
        let OfficeUser(identity) = OfficeUser::verify(&gate.office, parts).await?;
        // The token in memory, or, in a reopened pane, the pane's cookie: either way it
        // must belong to the identity of the verified Office token (a cross-site page
        // cannot send that token, so the cookie alone opens nothing).
        let token = session_header(parts)
            .map(str::to_owned)
            .or_else(|| pane_cookie(parts))
            .ok_or(SessionError::Missing)?;
        let (account, session) = check(&gate.db, &identity, &token, gate.clock.now()).await??;
        Ok(SignedIn {
            identity,
            account,
            session,
            via: Via::Office,
            webmail: gate.webmail,
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
