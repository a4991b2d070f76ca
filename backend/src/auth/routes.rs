//! The identity routes: `GET /api/me`, and the strong authentication under `/api/auth`.

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use chrono::{DateTime, Duration, Utc};
use medimail_api::{
    ChoosePassphrase, CodeQuery, CodeRequested, Me, OpenSession, SessionInfo, paths,
};
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::office::{OfficeUser, OfficeVerifier};
use crate::auth::openapi::{office_token, signed_in};
use crate::auth::passphrase::Hashing;
use crate::auth::passphrase::PassphraseRule;
use crate::auth::refusal::AuthRefusal;
use crate::auth::session::{Gate, SignedIn};
use crate::auth::strong::{self, Authenticator, CodeFor, Standing};
use crate::client::ClientAddress;
use crate::clock::Clock;
use crate::error::{AppError, RequestRefusal};
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::openapi::refusals;
use crate::web::{Json, Query};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Arc<Mailer>: FromRef<S>,
    Hashing: FromRef<S>,
    Arc<OfficeVerifier>: FromRef<S>,
    Clock: FromRef<S>,
    Gate: FromRef<S>,
    Option<Arc<crate::auth::psc::Psc>>: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(me))
        .routes(routes!(choose_passphrase))
        .routes(routes!(request_code))
        .routes(routes!(open_session, session_state, sign_out))
}

/// A time for the examples of the refusals that name one.
fn example_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

fn locked() -> AuthRefusal {
    let until = example_time();
    AuthRefusal::Locked {
        until,
        now: until - Duration::minutes(15),
    }
}

refusals! {
    MeRefusals = [office_token()];
    PassphraseRefusals = [
        office_token(),
        RequestRefusal::Unreadable,
        AuthRefusal::PassphraseRule(PassphraseRule::TooShort),
        AuthRefusal::PassphraseRule(PassphraseRule::TooLong),
        AuthRefusal::PassphraseRule(PassphraseRule::Mismatch),
        AuthRefusal::PassphraseRule(PassphraseRule::Common),
        AuthRefusal::PassphraseRule(PassphraseRule::TooSimple),
        AuthRefusal::PassphraseRule(PassphraseRule::ContainsMailbox),
        AuthRefusal::PassphraseAlreadySet,
        AuthRefusal::MailboxMissing,
        AuthRefusal::Busy,
    ];
    CodeRefusals = [
        office_token(),
        AuthRefusal::CodeTooSoon { wait: 42 },
        AuthRefusal::CodeRateLimited { until: example_time(), wait: 1800 },
        AuthRefusal::PassphraseRequired,
        AuthRefusal::MailboxMissing,
        locked(),
    ];
    OpenSessionRefusals = [
        office_token(),
        RequestRefusal::Unreadable,
        AuthRefusal::CredentialsIncorrect { left: 4 },
        AuthRefusal::CodeInvalidated,
        AuthRefusal::CodeExpired,
        AuthRefusal::CodeMissing,
        AuthRefusal::Busy,
        AuthRefusal::CodeFormat,
        AuthRefusal::PassphraseMissing,
        AuthRefusal::PassphraseTooLong,
        AuthRefusal::PassphraseRequired,
        locked(),
        crate::auth::card::CardRefusal::GrantInvalid,
        crate::auth::card::CardRefusal::GrantUsed,
        crate::auth::card::CardRefusal::IdentifierMismatch,
        crate::auth::card::CardRefusal::LinkedElsewhere,
    ];
    SignedInRefusals = [signed_in()];
}

crate::state_values! {
    /// The values the strong authentication works with, from the application state.
    struct Strong {
        db: DatabaseConnection,
        keys: Arc<Keys>,
        hashing: Hashing,
        mailer: Arc<Mailer>,
        clock: Clock,
    }
}

impl Strong {
    fn at_now(&self) -> Authenticator<'_> {
        Authenticator {
            db: &self.db,
            keys: &self.keys,
            hashing: &self.hashing,
            mailer: &self.mailer,
            now: self.clock.now(),
        }
    }
}

/// The caller's verified Office identity and where it stands.
///
/// Reads only: an identity reaches an account once it has proven a code mailed to
/// that account's mailbox (`POST /api/auth/session`), never by naming it.
#[utoipa::path(
    get,
    path = paths::ME,
    tag = "identity",
    security(("office_token" = [])),
    responses((status = 200, description = "Who the caller is.", body = Me), MeRefusals),
)]
async fn me(
    State(db): State<DatabaseConnection>,
    State(clock): State<Clock>,
    State(psc): State<Option<Arc<crate::auth::psc::Psc>>>,
    OfficeUser(identity): OfficeUser,
) -> Result<Json<Me>, AppError> {
    let standing = Standing::of(&db, &identity).await?;
    let now = clock.now();
    let locked = |account: &crate::account::entity::account::Model| {
        account
            .locked_until
            .filter(|until| *until > now)
            .map(|t| t.to_rfc3339())
    };
    // Only a linked identity learns its account's settings; a lock is said either way.
    let target = standing.target(&db).await?;
    let linked = standing.linked.as_ref();
    let me = Me {
        tenant_id: identity.tenant_id,
        object_id: identity.object_id,
        name: identity.name,
        mailbox: linked.map_or(standing.claimed.clone(), |a| a.mailbox.clone()),
        token_mailbox: standing.claimed.clone(),
        linked: linked.is_some(),
        account_id: linked.map(|a| a.id.clone()),
        needs_passphrase: target.as_ref().is_none_or(|t| t.passphrase_hash.is_none())
            && standing.chosen_passphrase().is_none(),
        locked_until: target.as_ref().and_then(locked),
        mssante_enabled: linked.is_some_and(|a| a.mssante_enabled),
        liste_rouge: linked.is_some_and(|a| a.liste_rouge),
        psc_available: psc.is_some(),
        psc_linked: match linked {
            Some(a) => crate::auth::card::has_card(&db, &a.id).await?,
            None => false,
        },
    };
    Ok(Json(me))
}

/// First use: chooses the passphrase (typed twice).
#[utoipa::path(
    post,
    path = paths::AUTH_PASSPHRASE,
    tag = "identity",
    security(("office_token" = [])),
    request_body = ChoosePassphrase,
    responses((status = 204, description = "Chosen."), PassphraseRefusals),
)]
async fn choose_passphrase(
    strong: Strong,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
    Json(chosen): Json<ChoosePassphrase>,
) -> Result<StatusCode, AppError> {
    strong::choose_passphrase(&strong.at_now(), &identity, client, chosen).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Demander un code": mails a one-time code to the caller's mailbox.
///
/// One a minute, ten an hour; the code is valid 10 minutes. `mailbox=token` mails it to
/// the mailbox the Office token names now, when it differs from the account's:
/// proving that code moves the account there.
#[utoipa::path(
    post,
    path = paths::AUTH_CODE,
    tag = "identity",
    params(CodeQuery),
    security(("office_token" = [])),
    responses((status = 200, description = "Mailed.", body = CodeRequested), CodeRefusals),
)]
async fn request_code(
    strong: Strong,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
    Query(query): Query<CodeQuery>,
) -> Result<Json<CodeRequested>, AppError> {
    let target = match query.mailbox.as_deref() {
        Some("token") => CodeFor::TokenMailbox,
        _ => CodeFor::Account,
    };
    Ok(Json(
        strong::request_code(&strong.at_now(), &identity, client, target).await?,
    ))
}

/// "Authentification": the one-time code and the passphrase open a session.
///
/// The answer carries the session token, given once: later calls send it as
/// `X-Medimail-Session` with the Office token. It is also set as the pane's cookie
/// (HttpOnly, partitioned), which a reopened pane sends instead, with the Office token
/// of the same identity.
#[utoipa::path(
    post,
    path = paths::AUTH_SESSION,
    tag = "identity",
    security(("office_token" = [])),
    request_body = OpenSession,
    responses(
        (status = 201, description = "The session, with its token.", body = SessionInfo),
        OpenSessionRefusals,
    ),
)]
async fn open_session(
    strong: Strong,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
    Json(request): Json<OpenSession>,
) -> Result<
    (
        StatusCode,
        [(HeaderName, HeaderValue); 1],
        Json<SessionInfo>,
    ),
    AppError,
> {
    let info = strong::open_session(&strong.at_now(), &identity, client, request).await?;
    Ok(crate::auth::session::pane_opened(info))
}

/// The session's state: when it ends (`session` left out).
#[utoipa::path(
    get,
    path = paths::AUTH_SESSION,
    tag = "identity",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses((status = 200, description = "The session.", body = SessionInfo), SignedInRefusals),
)]
async fn session_state(signed_in: SignedIn) -> Json<SessionInfo> {
    Json(crate::auth::session::info(&signed_in.session, None))
}

/// "Déconnexion": revokes the session, and every other session of the same identity;
/// the pane's cookie is ended.
#[utoipa::path(
    delete,
    path = paths::AUTH_SESSION,
    tag = "identity",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses((status = 204, description = "Revoked."), SignedInRefusals),
)]
async fn sign_out(
    strong: Strong,
    signed_in: SignedIn,
    ClientAddress(client): ClientAddress,
) -> Result<(StatusCode, [(HeaderName, HeaderValue); 1]), AppError> {
    strong::sign_out(&strong.at_now(), &signed_in, client).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, crate::auth::session::pane_cookie_cleared())],
    ))
}
