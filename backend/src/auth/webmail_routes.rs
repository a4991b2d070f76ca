//! The webmail's identity routes under `/api/webmail` (docs/ARCHITECTURE.md "Webmail"):
//! "Demander un code", "Connexion" (which sets the `__Host-` session cookie), the
//! session's state, "Déconnexion", the conditions of use, and the passphrase — chosen on a
//! first visit or after "J'ai oublié mon mot de passe", changed once signed in.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use medimail_api::{
    WebmailAcceptConditions, WebmailChangePassphrase, WebmailCodeRequest, WebmailCodeSent,
    WebmailConditions, WebmailPassphrase, WebmailSession, WebmailSignIn, paths,
};
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::account::entity::account;
use crate::auth::card::CardRefusal;
use crate::auth::entity::auth_session;
use crate::auth::openapi::signed_in;
use crate::auth::passphrase::{Hashing, PassphraseRule};
use crate::auth::psc_routes;
use crate::auth::refusal::AuthRefusal;
use crate::auth::session::{Gate, SessionError, SignedIn};
use crate::auth::strong::Authenticator;
use crate::auth::webmail::{self, WebmailRefusal};
use crate::auth::{conditions, otp};
use crate::client::ClientAddress;
use crate::clock::Clock;
use crate::config::{Config, WebmailMode};
use crate::error::{AppError, RequestRefusal};
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::openapi::refusals;
use crate::web::Json;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Arc<Mailer>: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Hashing: FromRef<S>,
    Clock: FromRef<S>,
    Gate: FromRef<S>,
    webmail::CodeRequests: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(request_code))
        .routes(routes!(open_session, session_state, sign_out))
        .routes(routes!(conditions_text, accept_conditions))
        .routes(routes!(choose_passphrase))
        .routes(routes!(change_passphrase))
}

fn cookie_refusals() -> Vec<AppError> {
    vec![
        SessionError::Missing.into(),
        SessionError::Invalid.into(),
        SessionError::Expired.into(),
        SessionError::Csrf.into(),
        SessionError::WebmailOff.into(),
    ]
}

fn new_passphrase_rules() -> Vec<AppError> {
    [
        PassphraseRule::TooShort,
        PassphraseRule::TooLong,
        PassphraseRule::Mismatch,
        PassphraseRule::Common,
        PassphraseRule::TooSimple,
        PassphraseRule::ContainsMailbox,
    ]
    .into_iter()
    .map(|r| AuthRefusal::PassphraseRule(r).into())
    .collect()
}

refusals! {
    CodeRefusals = [
        RequestRefusal::Unreadable,
        WebmailRefusal::MailboxInvalid,
        SessionError::WebmailOff,
    ];
    SignInRefusals = [
        RequestRefusal::Unreadable,
        WebmailRefusal::MailboxInvalid,
        WebmailRefusal::Failed,
        AuthRefusal::CodeFormat,
        AuthRefusal::PassphraseTooLong,
        AuthRefusal::Busy,
        SessionError::WebmailOff,
        CardRefusal::GrantInvalid,
        CardRefusal::GrantUsed,
        CardRefusal::IdentifierMismatch,
        CardRefusal::LinkedElsewhere,
    ];
    CookieRefusals = [cookie_refusals()];
    AcceptRefusals = [
        cookie_refusals(),
        RequestRefusal::Unreadable,
        WebmailRefusal::ConditionsOutdated,
    ];
    ChooseRefusals = [
        cookie_refusals(),
        RequestRefusal::Unreadable,
        WebmailRefusal::NotEnrolling,
        WebmailRefusal::ConditionsRequired,
        WebmailRefusal::ConditionsOutdated,
        new_passphrase_rules(),
        AuthRefusal::Busy,
    ];
    ChangeRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        WebmailRefusal::CurrentIncorrect,
        WebmailRefusal::Failed,
        new_passphrase_rules(),
        AuthRefusal::Busy,
    ];
}

crate::state_values! {
    /// What the webmail's sign-in works with, from the application state.
    struct Web {
        db: DatabaseConnection,
        keys: Arc<Keys>,
        hashing: Hashing,
        mailer: Arc<Mailer>,
        clock: Clock,
        config: Arc<Config>,
        code_requests: webmail::CodeRequests,
    }
}

impl Web {
    fn at_now(&self) -> Authenticator<'_> {
        Authenticator {
            db: &self.db,
            keys: &self.keys,
            hashing: &self.hashing,
            mailer: &self.mailer,
            now: self.clock.now(),
        }
    }

    fn mode(&self) -> Result<WebmailMode, AppError> {
        match self.config.webmail {
            WebmailMode::Off => Err(SessionError::WebmailOff.into()),
            mode => Ok(mode),
        }
    }

    async fn describe(
        &self,
        account: &account::Model,
        row: &auth_session::Model,
    ) -> Result<WebmailSession, AppError> {
        Ok(webmail::describe(&self.db, &self.keys, self.config.webmail, account, row).await?)
    }

    /// The account and session again, after a change.
    async fn reread(
        &self,
        row: &auth_session::Model,
    ) -> Result<(account::Model, auth_session::Model), AppError> {
        use sea_orm::EntityTrait;
        let row = auth_session::Entity::find_by_id(&row.id)
            .one(&self.db)
            .await?
            .ok_or(SessionError::Invalid)?;
        let account = account::Entity::find_by_id(&row.account_id)
            .one(&self.db)
            .await?
            .ok_or(SessionError::Invalid)?;
        Ok((account, row))
    }
}

/// The caller's webmail session from the cookie, whatever its stage (the CSRF token
/// checked on every state-changing request).
pub struct WebmailCaller {
    pub account: account::Model,
    pub session: auth_session::Model,
}

impl<S> FromRequestParts<S> for WebmailCaller
where
    S: Send + Sync,
    Gate: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let gate = Gate::from_ref(state);
        let (account, session) = crate::auth::session::webmail_session(&gate, parts).await?;
        Ok(WebmailCaller { account, session })
    }
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        medimail_api::SESSION_COOKIE
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// "Demander un code": mails a one-time code to the address, if it may use the webmail.
///
/// The answer is the same for every address, sent before any work on it: whether the
/// address has an account, is locked, or asked too often is never told (the mailbox
/// receives the code, or a notice that its account is locked). One code a minute and ten
/// an hour per account; the code is valid 10 minutes.
#[utoipa::path(
    post,
    path = paths::WEBMAIL_CODE,
    tag = "webmail",
    request_body = WebmailCodeRequest,
    responses(
        (status = 202, description = "Accepted (a code is mailed if the address may sign in).", body = WebmailCodeSent),
        CodeRefusals,
    ),
)]
async fn request_code(
    web: Web,
    ClientAddress(client): ClientAddress,
    Json(request): Json<WebmailCodeRequest>,
) -> Result<(StatusCode, Json<WebmailCodeSent>), AppError> {
    let mode = web.mode()?;
    let mailbox = webmail::mailbox_of(&request.mailbox)?;
    let requests = web.code_requests.clone();
    requests.spawn(async move {
        if let Err(e) = webmail::request_code(&web.at_now(), mode, &mailbox, client).await {
            tracing::warn!(error = %e, "webmail code request failed");
        }
        // Never the address: only that the work is over (the tests wait for it).
        tracing::info!("webmail code request done");
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(WebmailCodeSent {
            next_request_in_seconds: otp::MIN_INTERVAL.num_seconds() as u64,
            validity_minutes: otp::VALIDITY.num_minutes() as u32,
        }),
    ))
}

/// "Connexion": address, code and passphrase open the mailbox; address and code alone
/// open a session that chooses the passphrase (first visit, forgotten passphrase).
///
/// Sets the session cookie. One refusal, `authentication_failed`, for an unknown address,
/// a locked account, no code, a wrong code or a wrong passphrase.
#[utoipa::path(
    post,
    path = paths::WEBMAIL_SESSION,
    tag = "webmail",
    request_body = WebmailSignIn,
    responses(
        (status = 201, description = "Signed in; the cookie is set.", body = WebmailSession),
        SignInRefusals,
    ),
)]
async fn open_session(
    web: Web,
    headers: HeaderMap,
    ClientAddress(client): ClientAddress,
    Json(request): Json<WebmailSignIn>,
) -> Result<Response, AppError> {
    let mode = web.mode()?;
    let ctx = web.at_now();
    // A CPx card waiting to be linked (`/auth/psc/callback`): this sign-in links it.
    let card = match psc_routes::waiting_grant(&web.keys, &headers, ctx.now) {
        Ok(card) => card,
        Err(refusal) => return Ok(with_card_cleared(AppError::from(refusal).into_response())),
    };
    let linking = card.is_some();
    let opened = match webmail::open_session(&ctx, mode, request, client, card).await {
        Ok(opened) => opened,
        Err(e) if linking && e.body().code.starts_with("psc_") => {
            return Ok(with_card_cleared(e.into_response()));
        }
        Err(e) => return Err(e),
    };
    let described = web.describe(&opened.account, &opened.session).await?;
    let mut response = (StatusCode::CREATED, Json(described)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        crate::auth::session::webmail_cookie(&opened.token),
    );
    if linking {
        response = with_card_cleared(response);
    }
    Ok(response)
}

/// The waiting CPx card's cookie ended (linked, or refused for good).
fn with_card_cleared(mut response: Response) -> Response {
    response
        .headers_mut()
        .append(header::SET_COOKIE, psc_routes::grant_cookie_cleared());
    response
}

/// The webmail session: its stage, its CSRF token, when it ends, the previous sign-in.
#[utoipa::path(
    get,
    path = paths::WEBMAIL_SESSION,
    tag = "webmail",
    security(("webmail_session" = [])),
    responses((status = 200, description = "The session.", body = WebmailSession), CookieRefusals),
)]
async fn session_state(web: Web, caller: WebmailCaller) -> Result<Json<WebmailSession>, AppError> {
    Ok(Json(web.describe(&caller.account, &caller.session).await?))
}

/// "Déconnexion": revokes the session and clears the cookie.
#[utoipa::path(
    delete,
    path = paths::WEBMAIL_SESSION,
    tag = "webmail",
    security(("webmail_session" = [])),
    responses((status = 204, description = "Signed out."), CookieRefusals),
)]
async fn sign_out(
    web: Web,
    caller: WebmailCaller,
    ClientAddress(client): ClientAddress,
) -> Result<Response, AppError> {
    webmail::sign_out(&web.at_now(), &caller.account, &caller.session, client).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    Ok(response)
}

/// The conditions of use in force (manual part 5), in full, with their version.
#[utoipa::path(
    get,
    path = paths::WEBMAIL_CONDITIONS,
    tag = "webmail",
    responses((status = 200, description = "The conditions of use.", body = WebmailConditions)),
)]
async fn conditions_text() -> Json<WebmailConditions> {
    Json(WebmailConditions {
        version: conditions::VERSION.to_owned(),
        title: conditions::TITLE.to_owned(),
        text: conditions::TEXT.to_owned(),
    })
}

/// Accepts the conditions of use in force (recorded with the date and version in the
/// audit trail).
#[utoipa::path(
    post,
    path = paths::WEBMAIL_CONDITIONS,
    tag = "webmail",
    security(("webmail_session" = [])),
    request_body = WebmailAcceptConditions,
    responses((status = 200, description = "Accepted.", body = WebmailSession), AcceptRefusals),
)]
async fn accept_conditions(
    web: Web,
    caller: WebmailCaller,
    ClientAddress(client): ClientAddress,
    Json(request): Json<WebmailAcceptConditions>,
) -> Result<Json<WebmailSession>, AppError> {
    webmail::accept_conditions(
        &web.at_now(),
        &caller.account,
        &caller.session,
        &request.version,
        client,
    )
    .await?;
    let (account, row) = web.reread(&caller.session).await?;
    Ok(Json(web.describe(&account, &row).await?))
}

/// Chooses the passphrase in a session opened by a code alone (with the conditions when
/// they are asked). Every other session of the account ends; a replaced passphrase is
/// told to the mailbox by mail.
#[utoipa::path(
    post,
    path = paths::WEBMAIL_PASSPHRASE,
    tag = "webmail",
    security(("webmail_session" = [])),
    request_body = WebmailPassphrase,
    responses((status = 200, description = "Chosen; the mailbox is open.", body = WebmailSession), ChooseRefusals),
)]
async fn choose_passphrase(
    web: Web,
    caller: WebmailCaller,
    ClientAddress(client): ClientAddress,
    Json(request): Json<WebmailPassphrase>,
) -> Result<Json<WebmailSession>, AppError> {
    let support = web.config.support_link();
    webmail::choose_passphrase(
        &web.at_now(),
        &caller.account,
        &caller.session,
        request,
        client,
        &support,
    )
    .await?;
    let (account, row) = web.reread(&caller.session).await?;
    Ok(Json(web.describe(&account, &row).await?))
}

/// "Changer mon mot de passe" (the webmail, and the pane's « Paramètres du compte »): the
/// current passphrase and the new one twice. Every other session of the account ends;
/// the mailbox is told by mail.
#[utoipa::path(
    post,
    path = paths::WEBMAIL_PASSPHRASE_CHANGE,
    tag = "webmail",
    security(("webmail_session" = [])),
    request_body = WebmailChangePassphrase,
    responses((status = 204, description = "Changed."), ChangeRefusals),
)]
async fn change_passphrase(
    web: Web,
    signed_in: SignedIn,
    ClientAddress(client): ClientAddress,
    Json(request): Json<WebmailChangePassphrase>,
) -> Result<StatusCode, AppError> {
    let support = web.config.support_link();
    webmail::change_passphrase(&web.at_now(), &signed_in, request, client, &support).await?;
    Ok(StatusCode::NO_CONTENT)
}
