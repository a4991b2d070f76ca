//! The « carte CPx » routes (issue 20): `GET /auth/psc/start` sends the browser to Pro
//! Santé Connect (the pending sign-in sealed in an HttpOnly cookie, as the dialog does),
//! `GET /auth/psc/callback` verifies the card (`auth::psc`) and then:
//!
//! - in the webmail, a linked card opens the session (the `__Host-` cookie) and goes to
//!   the mailbox; a card not linked yet waits, sealed in a cookie, for the webmail's own
//!   sign-in with a code (`/#/carte-cpx`), which links it;
//! - in the pane's Office dialog (`?pour=volet`), the page hands the sealed grant to the
//!   pane (`messageParent`, origin-checked there), which opens its session with
//!   `POST /api/auth/psc` — or, for a card not linked yet, sends the grant with its code.
//!
//! `GET /api/auth/psc` tells whether the card sign-in is offered; `DELETE
//! /api/account/psc` is « Dissocier ma carte ».

use std::sync::Arc;

use axum::extract::{FromRef, Query};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use medimail_api::{PscSignIn, PscStatus, SessionInfo, paths};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::card::{self, CardRefusal, Grant};
use crate::auth::office::{OfficeUser, OfficeVerifier};
use crate::auth::openapi::{office_token, signed_in};
use crate::auth::psc::Psc;
use crate::auth::session::{self, Gate, SignedIn};
use crate::auth::strong::{self, Standing};
use crate::auth::webmail;
use crate::client::ClientAddress;
use crate::clock::Clock;
use crate::config::{Config, WebmailMode};
use crate::error::{AppError, RequestRefusal};
use crate::keys::Keys;
use crate::openapi::refusals;
use crate::web::Json;

/// The pending sign-in (start → callback), sealed; SameSite=Lax: PSC's redirect is a
/// cross-site top-level navigation.
const PENDING_COOKIE: &str = "__Host-medimail-psc";
/// A verified card waiting for the webmail's sign-in to link it; SameSite=Strict (only
/// the webmail's own requests carry it).
pub const GRANT_COOKIE: &str = "__Host-medimail-psc-grant";
const PENDING_SECONDS: i64 = 600;
/// Where the webmail shows « votre carte n'est pas encore liée ».
const WEBMAIL_LINK_PAGE: &str = "/#/carte-cpx";

crate::state_values! {
    /// What the card routes work with.
    pub struct Card {
        pub db: DatabaseConnection,
        pub config: Arc<Config>,
        pub keys: Arc<Keys>,
        pub clock: Clock,
        pub psc: Option<Arc<Psc>>,
    }
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Clock: FromRef<S>,
    Option<Arc<Psc>>: FromRef<S>,
    Arc<OfficeVerifier>: FromRef<S>,
    Gate: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(start))
        .routes(routes!(callback))
        .routes(routes!(status, pane_sign_in))
        .routes(routes!(unlink))
}

refusals! {
    PaneRefusals = [
        office_token(),
        RequestRefusal::Unreadable,
        CardRefusal::Unavailable,
        CardRefusal::GrantInvalid,
        CardRefusal::GrantUsed,
        CardRefusal::NotLinked,
        CardRefusal::OtherAccount,
        CardRefusal::OfficeUnlinked,
    ];
    UnlinkRefusals = [signed_in()];
}

#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    expires: i64,
    /// Started in the pane's Office dialog.
    pane: bool,
}

/// What the dialog page posts to the pane.
#[derive(Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Outcome {
    Ok { grant: String },
    Error { code: &'static str, message: String },
}

fn sealed(keys: &Keys, context: &str, json: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(keys.seal_outbox(context, json))
}

fn cookie_header(name: &str, value: &str, max_age: i64, same_site: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite={same_site}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
        })
}

/// The card waiting in the webmail's cookie, if any (a stale or altered one is refused,
/// so that nobody believes a card was linked when it was not).
pub fn waiting_grant(
    keys: &Keys,
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Grant>, CardRefusal> {
    cookie_value(headers, GRANT_COOKIE)
        .filter(|v| !v.is_empty())
        .map(|v| Grant::open(keys, &v, now))
        .transpose()
}

/// Ends the webmail's waiting card.
pub fn grant_cookie_cleared() -> HeaderValue {
    cookie_header(GRANT_COOKIE, "", 0, "Strict")
}

/// The page that ends a card sign-in in a window: the outcome for the pane's dialog, a
/// French sentence and, outside Outlook, the way back to « Identifiez-vous ».
fn page(config: &Config, outcome: Outcome) -> Response {
    let json = serde_json::to_string(&outcome).unwrap_or_default();
    let (title, text) = match &outcome {
        Outcome::Ok { .. } => (
            "Carte CPx vérifiée",
            "Votre carte est vérifiée. Cette fenêtre va se fermer ; poursuivez dans le volet \
             Medimail."
                .to_owned(),
        ),
        Outcome::Error { message, .. } => ("Identification impossible", message.clone()),
    };
    let back =
        matches!(outcome, Outcome::Error { .. }).then_some(("/", "Retour à l'identification"));
    crate::auth::dialog::outcome_page(config, &json, title, &text, back)
}

fn refused(code: &'static str, message: String) -> Outcome {
    Outcome::Error { code, message }
}

#[derive(Deserialize, utoipa::IntoParams)]
struct StartQuery {
    /// `volet`: started in the pane's Office dialog.
    pour: Option<String>,
}

/// « Authentification forte à l'aide de votre carte de la famille CPx »: to Pro Santé
/// Connect (PKCE S256, `state`, `nonce`, `acr_values=eidas1`, scopes `openid
/// scope_all`); the pending sign-in travels sealed in `__Host-medimail-psc` (10 minutes).
#[utoipa::path(
    get,
    path = paths::PSC_START,
    tag = "carte CPx",
    params(StartQuery),
    responses(
        (status = 303, description = "To Pro Santé Connect."),
        (status = 200, description = "Not offered, or Pro Santé Connect unreachable: a page that says so (`psc_unavailable`, `psc_unreachable`).", content_type = "text/html", body = String),
    ),
)]
async fn start(card: Card, Query(query): Query<StartQuery>) -> Response {
    let pane = query.pour.as_deref() == Some("volet");
    let Some(psc) = &card.psc else {
        let r = CardRefusal::Unavailable;
        use crate::error::Refusal;
        return page(&card.config, refused(r.code(), r.message()));
    };
    let started = match psc.start().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "card sign-in cannot start");
            return page(&card.config, refused(e.code(), e.message()));
        }
    };
    let pending = Pending {
        state: started.state,
        nonce: started.nonce,
        verifier: started.verifier,
        expires: card.clock.now().timestamp() + PENDING_SECONDS,
        pane,
    };
    let json = serde_json::to_vec(&pending).unwrap_or_default();
    let value = sealed(&card.keys, "psc-sign-in", &json);
    let mut response = Redirect::to(&started.url).into_response();
    let h = response.headers_mut();
    h.insert(
        SET_COOKIE,
        cookie_header(PENDING_COOKIE, &value, PENDING_SECONDS, "Lax"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Pro Santé Connect's redirect: the pending sign-in checked (`state`, 10 minutes), the
/// code exchanged, the ID token and userinfo verified. Then, in the webmail, a linked
/// card opens the session (303 to `/`), a card not linked yet waits in
/// `__Host-medimail-psc-grant` (303 to `/#/carte-cpx`); in the pane's dialog, the page
/// posts `{"status":"ok","grant"}`. A refusal is a page with its code (`psc_*`).
#[utoipa::path(
    get,
    path = paths::PSC_CALLBACK,
    tag = "carte CPx",
    params(
        ("code" = Option<String>, Query, description = "The authorization code."),
        ("state" = Option<String>, Query, description = "The `state` sent to Pro Santé Connect."),
        ("error" = Option<String>, Query, description = "Pro Santé Connect's refusal, if any."),
    ),
    responses(
        (status = 303, description = "Webmail: to the mailbox, or to the card's linking."),
        (status = 200, description = "The pane's dialog page, or a refusal.", content_type = "text/html", body = String),
    ),
)]
async fn callback(
    card: Card,
    headers: HeaderMap,
    ClientAddress(client): ClientAddress,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let pending = cookie_value(&headers, PENDING_COOKIE)
        .and_then(|v| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v)
                .ok()
        })
        .and_then(|sealed| card.keys.open_outbox("psc-sign-in", &sealed))
        .and_then(|json| serde_json::from_slice::<Pending>(&json).ok());
    let mut response = match verify(&card, pending.as_ref(), query).await {
        Err((code, message)) => {
            tracing::info!(code, "card sign-in refused");
            // Without its sealed cookie the callback is anyone's request: logged only.
            if pending.is_some()
                && let Err(e) = crate::audit::record(
                    &card.db,
                    &card.keys,
                    "psc",
                    "psc_sign_in_refused",
                    serde_json::json!({"code": code, "client": client}),
                )
                .await
            {
                tracing::warn!(error = %e, "cannot audit a card sign-in refusal");
            }
            page(&card.config, refused(code, message))
        }
        Ok(grant) if pending.as_ref().is_some_and(|p| p.pane) => page(
            &card.config,
            Outcome::Ok {
                grant: grant.seal(&card.keys),
            },
        ),
        Ok(grant) => match webmail_sign_in(&card, grant, client).await {
            Ok(r) => r,
            Err(e) => {
                let body = e.body();
                tracing::info!(code = %body.code, "card sign-in to the webmail refused");
                let code: &'static str = match body.code.as_str() {
                    "psc_webmail_closed" => "psc_webmail_closed",
                    "account_locked" => "account_locked",
                    _ => "psc_failed",
                };
                page(&card.config, refused(code, body.message))
            }
        },
    };
    response
        .headers_mut()
        .append(SET_COOKIE, cookie_header(PENDING_COOKIE, "", 0, "Lax"));
    response
}

/// The pending sign-in and PSC's answer checked: the verified card.
async fn verify(
    card: &Card,
    pending: Option<&Pending>,
    query: CallbackQuery,
) -> Result<Grant, (&'static str, String)> {
    use crate::error::Refusal;
    let expired = || {
        (
            "psc_expired",
            "La connexion par carte a expiré ou a été ouverte dans un autre navigateur : \
             recommencez depuis le bouton « carte CPx »."
                .to_owned(),
        )
    };
    let pending = pending.ok_or_else(expired)?;
    let now = card.clock.now();
    if pending.expires < now.timestamp() {
        return Err(expired());
    }
    if !query
        .state
        .as_deref()
        .is_some_and(|s| crate::keys::secrets_equal(s, &pending.state))
    {
        return Err((
            "psc_state_mismatch",
            "Cette réponse ne correspond pas à la connexion par carte en cours : elle est \
             refusée. Recommencez depuis le bouton « carte CPx »."
                .to_owned(),
        ));
    }
    if let Some(error) = query.error.as_deref() {
        return Err(match error {
            "access_denied" => (
                "psc_cancelled",
                "La connexion par carte CPx a été annulée.".to_owned(),
            ),
            _ => (
                "psc_refused",
                "Pro Santé Connect n'a pas pu vous identifier. Réessayez, ou identifiez-vous \
                 avec le code reçu par mail."
                    .to_owned(),
            ),
        });
    }
    let Some(psc) = &card.psc else {
        let r = CardRefusal::Unavailable;
        return Err((r.code(), r.message()));
    };
    let code = query.code.ok_or_else(expired)?;
    let professional = psc
        .finish(&code, &pending.verifier, &pending.nonce)
        .await
        .map_err(|e| (e.code(), e.message()))?;
    Ok(Grant::new(psc.issuer(), &professional, now))
}

/// The webmail's card sign-in: a linked card opens the mailbox; one not linked yet waits
/// for the sign-in with a code.
async fn webmail_sign_in(
    card: &Card,
    grant: Grant,
    client: Option<String>,
) -> Result<Response, AppError> {
    let mode = card.config.webmail;
    if mode == WebmailMode::Off {
        return Err(CardRefusal::WebmailClosed.into());
    }
    let now = card.clock.now();
    let Some(account) = card::linked_account(&card.db, &grant).await? else {
        let mut response = Redirect::to(WEBMAIL_LINK_PAGE).into_response();
        response.headers_mut().insert(
            SET_COOKIE,
            cookie_header(
                GRANT_COOKIE,
                &grant.seal(&card.keys),
                card::GRANT_SECONDS,
                "Strict",
            ),
        );
        return Ok(response);
    };
    let mailbox = account.label();
    let identity = webmail::identity_of(&mailbox);
    let refuse = async |reason: &str, error: AppError| -> Result<Response, AppError> {
        let mut detail = grant.audited();
        detail["reason"] = reason.into();
        detail["account"] = account.id.clone().into();
        detail["client"] = client.clone().into();
        crate::audit::record(
            &card.db,
            &card.keys,
            &mailbox,
            "psc_sign_in_refused",
            detail,
        )
        .await?;
        Err(error)
    };
    if !webmail::may_sign_in(mode, &account) {
        return refuse("webmail_closed", CardRefusal::WebmailClosed.into()).await;
    }
    if let Err(locked) = strong::check_not_locked(&account, now) {
        return refuse("locked", locked).await;
    }
    let txn = crate::db::begin_write(&card.db).await?;
    let (_, token) =
        open_card_session(&txn, card, &account, &identity, &grant, &client, "webmail").await?;
    txn.commit().await?;
    crate::metrics::sign_in();
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, session::webmail_cookie(&token));
    Ok(response)
}

/// Opens a full session of `account` for `identity` by the card of `grant`, and audits
/// it, in `txn` (the webmail's or the pane's).
async fn open_card_session(
    txn: &sea_orm::DatabaseTransaction,
    card: &Card,
    account: &crate::account::entity::account::Model,
    identity: &crate::auth::office::OfficeIdentity,
    grant: &Grant,
    client: &Option<String>,
    via: &str,
) -> Result<(crate::auth::entity::auth_session::Model, String), AppError> {
    let (row, token) = session::open_by(
        txn,
        &account.id,
        identity,
        card.clock.now(),
        client.clone(),
        session::FULL,
        session::BY_CARD,
    )
    .await?;
    let mut detail = grant.audited();
    detail["account"] = account.id.clone().into();
    detail["session"] = row.id.clone().into();
    detail["via"] = via.into();
    detail["method"] = session::BY_CARD.into();
    detail["tenant"] = identity.tenant_id.clone().into();
    detail["subject"] = identity.object_id.clone().into();
    detail["client"] = client.clone().into();
    crate::audit::append(txn, &card.keys, &account.label(), "sign_in", detail).await?;
    Ok((row, token))
}

/// Whether the « carte CPx » sign-in is offered (`MEDIMAIL_PSC_CLIENT_ID`).
#[utoipa::path(
    get,
    path = paths::AUTH_PSC,
    tag = "carte CPx",
    responses((status = 200, description = "Offered or not.", body = PscStatus)),
)]
async fn status(card: Card) -> Json<PscStatus> {
    Json(PscStatus {
        available: card.psc.is_some(),
    })
}

/// In Outlook: the card's grant (from the dialog) opens a session for this Office
/// identity, when the card is linked to the account this identity is linked to. A card
/// not linked yet answers `psc_not_linked`: the grant then goes with the code
/// (`POST /api/auth/session`, `psc_grant`), which links it. A grant is good once.
#[utoipa::path(
    post,
    path = paths::AUTH_PSC,
    tag = "carte CPx",
    security(("office_token" = [])),
    request_body = PscSignIn,
    responses(
        (status = 201, description = "The session, with its token.", body = SessionInfo),
        PaneRefusals,
    ),
)]
async fn pane_sign_in(
    card: Card,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
    Json(request): Json<PscSignIn>,
) -> Result<
    (
        StatusCode,
        [(HeaderName, HeaderValue); 1],
        Json<SessionInfo>,
    ),
    AppError,
> {
    let now = card.clock.now();
    if card.psc.is_none() {
        return Err(CardRefusal::Unavailable.into());
    }
    let grant = Grant::open(&card.keys, &request.grant, now)?;
    // A refusal is audited (the card, the Office identity), then answered.
    let refuse = async |error: CardRefusal| -> AppError {
        use crate::error::Refusal;
        let mut detail = grant.audited();
        detail["reason"] = error.code().into();
        detail["tenant"] = identity.tenant_id.clone().into();
        detail["subject"] = identity.object_id.clone().into();
        detail["client"] = client.clone().into();
        match crate::audit::record(&card.db, &card.keys, "psc", "psc_sign_in_refused", detail).await
        {
            Ok(_) => error.into(),
            Err(e) => e.into(),
        }
    };
    let Some(account) = card::linked_account(&card.db, &grant).await? else {
        return Err(refuse(CardRefusal::NotLinked).await);
    };
    let standing = Standing::of(&card.db, &identity).await?;
    match &standing.linked {
        Some(own) if own.id == account.id => {}
        Some(_) => return Err(refuse(CardRefusal::OtherAccount).await),
        None => return Err(refuse(CardRefusal::OfficeUnlinked).await),
    }
    strong::check_not_locked(&account, now)?;
    let txn = crate::db::begin_write(&card.db).await?;
    if !card::spend(&txn, &grant, now).await? {
        txn.rollback().await?;
        return Err(refuse(CardRefusal::GrantUsed).await);
    }
    let (row, token) =
        open_card_session(&txn, &card, &account, &identity, &grant, &client, "pane").await?;
    txn.commit().await?;
    crate::metrics::sign_in();
    Ok(session::pane_opened(session::info(&row, Some(token))))
}

/// « Dissocier ma carte »: the CPx card no longer signs in to this account (audited).
#[utoipa::path(
    delete,
    path = paths::ACCOUNT_PSC,
    tag = "carte CPx",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses((status = 204, description = "No card is linked any more."), UnlinkRefusals),
)]
async fn unlink(
    card: Card,
    signed_in: SignedIn,
    ClientAddress(client): ClientAddress,
) -> Result<StatusCode, AppError> {
    let txn = crate::db::begin_write(&card.db).await?;
    card::unlink_in(&txn, &card.keys, &signed_in.account, &client).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
