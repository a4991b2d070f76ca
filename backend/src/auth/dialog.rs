//! Sign-in where Office single sign-on is unavailable: the pane opens an Office
//! dialog on `/auth/dialog/start`, which redirects to the authority's authorize endpoint
//! (OAuth 2.0 authorization code with PKCE S256, `state` and `nonce`; the **oauth2**
//! crate). `/auth/dialog/callback` checks `state`, exchanges the code (confidential
//! client: `MEDIMAIL_CLIENT_SECRET_FILE`), verifies the access token with the same
//! verifier as the single sign-on path and the ID token's `nonce`, and answers a tiny page
//! that hands the result to the pane (`Office.context.ui.messageParent`).
//!
//! What the pane then uses as its Office credential is the authority's access token for
//! this API (`access_as_user`): the same token, verified the same way, as single sign-on
//! gives — so both paths end in the same account for the same `(tid, oid)`.
//!
//! Nothing is stored on the server: `state`, `nonce` and the PKCE verifier travel in a
//! short-lived cookie (10 minutes, HttpOnly, Secure, SameSite=Lax — the authority's
//! redirect is a cross-site top-level navigation), sealed with a key derived from the
//! master key, and cleared by the callback. A replayed code is refused by the authority.

use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::office::OfficeVerifier;
use crate::auth::refusal::DialogRefusal;
use crate::clock::Clock;
use crate::config::Config;
use crate::keys::Keys;

crate::state_values! {
    /// What the dialog sign-in works with: the configuration (authority, client id and
    /// credential files, public origin), the keys that seal its cookie, the clock, and the
    /// verifier of the tokens it receives.
    pub struct Dialog {
        pub db: sea_orm::DatabaseConnection,
        pub config: Arc<Config>,
        pub keys: Arc<Keys>,
        pub clock: Clock,
        pub office: Arc<OfficeVerifier>,
    }
}

pub const START: &str = "/auth/dialog/start";
pub const CALLBACK: &str = "/auth/dialog/callback";
pub const SCRIPT: &str = "/auth/dialog/done.js";
/// The cookie that carries the sealed sign-in (`__Host-`: Secure, Path=/, no Domain).
pub const COOKIE: &str = "__Host-medimail-dialog";
/// How long a dialog sign-in may take.
const LIFETIME_SECONDS: i64 = 600;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    sea_orm::DatabaseConnection: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Clock: FromRef<S>,
    Arc<OfficeVerifier>: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(start))
        .routes(routes!(callback))
        .routes(routes!(script))
}

/// The ID token, beside the access token.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

pub(crate) type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// An authorization-code client with its authorize and token endpoints (the dialog's,
/// Pro Santé Connect's).
pub(crate) type DialogClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What the cookie carries, sealed.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    expires: i64,
}

/// The message the dialog page posts to the pane.
#[derive(Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Outcome {
    Ok {
        office_token: String,
        expires_in: u64,
    },
    Error {
        code: &'static str,
        message: String,
    },
}

fn refused(refusal: DialogRefusal) -> Outcome {
    Outcome::Error {
        code: refusal.code(),
        message: refusal.message(),
    }
}

/// The client (and how it authenticates), or why the dialog sign-in is off.
fn client(
    state: &Dialog,
) -> Result<(DialogClient, String, crate::app_credential::ClientAuth), Outcome> {
    let config = &state.config;
    let off = || refused(DialogRefusal::Unavailable);
    let id = config.client_id.clone().ok_or_else(off)?;
    let auth = if let Some(path) = &config.client_certificate_file {
        crate::app_credential::certificate(path).map_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "cannot use the client certificate file");
            off()
        })?
    } else {
        let secret_file = config.client_secret_file.as_ref().ok_or_else(off)?;
        let secret = std::fs::read_to_string(secret_file).map_err(|e| {
            tracing::error!(path = %secret_file.display(), error = %e, "cannot read the client secret file");
            off()
        })?;
        crate::app_credential::ClientAuth::Secret(secret.trim().to_owned())
    };
    let authority = config.authority();
    let build = || -> Result<DialogClient, oauth2::url::ParseError> {
        let client = oauth2::Client::new(ClientId::new(id.clone()))
            .set_auth_uri(AuthUrl::new(format!("{authority}/oauth2/v2.0/authorize"))?)
            .set_token_uri(TokenUrl::new(format!("{authority}/oauth2/v2.0/token"))?)
            .set_redirect_uri(RedirectUrl::new(format!("{}{CALLBACK}", config.origin()))?);
        Ok(match &auth {
            crate::app_credential::ClientAuth::Secret(secret) => {
                client.set_client_secret(ClientSecret::new(secret.clone()))
            }
            // The assertion goes in the body, with the client id.
            crate::app_credential::ClientAuth::Certificate { .. } => {
                client.set_auth_type(oauth2::AuthType::RequestBody)
            }
        })
    };
    let client = build().map_err(|e| {
        tracing::error!(error = %e, "dialog sign-in URLs");
        off()
    })?;
    let audience = config
        .token_audiences()
        .into_iter()
        .find(|a| a.starts_with("api://"))
        .unwrap_or(id);
    Ok((client, audience, auth))
}

fn seal(state: &Dialog, pending: &Pending) -> String {
    let json = serde_json::to_vec(pending).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(state.keys.seal_outbox("dialog-sign-in", &json))
}

fn open(state: &Dialog, headers: &HeaderMap) -> Option<Pending> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })?;
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    let json = state.keys.open_outbox("dialog-sign-in", &sealed)?;
    serde_json::from_slice(&json).ok()
}

fn cookie(value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

/// Opens the sign-in where Office single sign-on is unavailable (in an Office dialog).
///
/// To the authority's authorize endpoint: PKCE S256, `state`, `nonce`, scopes `openid
/// profile offline_access api://…/access_as_user`; the pending sign-in travels sealed in
/// the cookie `__Host-medimail-dialog` (10 minutes, HttpOnly, Secure, SameSite=Lax).
#[utoipa::path(
    get,
    path = START,
    tag = "sign-in dialog",
    responses(
        (
            status = 303,
            description = "To the authority's authorize endpoint.",
            headers(
                ("Location" = String, description = "The authorize URL."),
                ("Set-Cookie" = String, description = "`__Host-medimail-dialog`, sealed."),
            ),
        ),
        (
            status = 200,
            description = "The dialog sign-in is not configured: the page of `/auth/dialog/callback` with `dialog_unavailable`.",
            content_type = "text/html",
            body = String,
        ),
    ),
)]
async fn start(state: Dialog) -> Response {
    let (client, audience, _) = match client(&state) {
        Ok(c) => c,
        Err(outcome) => return page(&state, outcome, None),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random().secret().clone();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(
            ["openid", "profile", "offline_access"]
                .into_iter()
                .map(|s| Scope::new(s.to_owned())),
        )
        .add_scope(Scope::new(format!("{audience}/access_as_user")))
        .add_extra_param("nonce", nonce.clone())
        .add_extra_param("response_mode", "query")
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending {
        state: csrf.secret().clone(),
        nonce,
        verifier: verifier.secret().clone(),
        expires: state.clock.now().timestamp() + LIFETIME_SECONDS,
    };
    let mut response = Redirect::to(url.as_str()).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&seal(&state, &pending), LIFETIME_SECONDS),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Sends one request of the oauth2 crate with the server's reqwest client.
/// oauth2's HTTP requests sent with reqwest (its own reqwest feature is another major
/// version).
pub(crate) async fn send(
    http: reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, std::io::Error> {
    let (parts, body) = request.into_parts();
    let answer = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(std::io::Error::other)?;
    let mut builder = axum::http::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        builder = builder.header(name, value);
    }
    let bytes = answer.bytes().await.map_err(std::io::Error::other)?;
    builder.body(bytes.to_vec()).map_err(std::io::Error::other)
}

/// The authority's redirect: checks `state`, exchanges the code, verifies the tokens.
///
/// Answers a page (`no-store`, strict CSP) whose `done.js` posts to the pane with
/// `Office.context.ui.messageParent` either `{"status":"ok","office_token","expires_in"}`
/// or `{"status":"error","code","message"}`. Codes: `dialog_state_mismatch`,
/// `dialog_expired`, `dialog_consent_refused`, `dialog_exchange_failed`,
/// `dialog_nonce_mismatch`, `dialog_failed`, `dialog_unavailable`, or the `token_*` code of
/// a refused token.
#[utoipa::path(
    get,
    path = CALLBACK,
    tag = "sign-in dialog",
    params(
        ("code" = Option<String>, Query, description = "The authorization code."),
        ("state" = Option<String>, Query, description = "The `state` sent to the authority."),
        ("error" = Option<String>, Query, description = "The authority's refusal, if any."),
    ),
    responses((
        status = 200,
        description = "The page that hands the outcome to the pane; clears the cookie.",
        content_type = "text/html",
        body = String,
    )),
)]
async fn callback(
    state: Dialog,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let outcome = finish(&state, &headers, query).await;
    if let Outcome::Error { code, .. } = &outcome {
        tracing::info!(code, "dialog sign-in refused");
        // A callback without its sealed cookie is anyone's request: logged, not audited.
        if *code != "dialog_expired"
            && let Err(e) = crate::audit::record(
                &state.db,
                &state.keys,
                "office",
                "dialog_sign_in_refused",
                serde_json::json!({ "code": code }),
            )
            .await
        {
            tracing::warn!(error = %e, "cannot audit a dialog sign-in refusal");
        }
    }
    page(&state, outcome, Some(cookie("", 0)))
}

async fn finish(state: &Dialog, headers: &HeaderMap, query: CallbackQuery) -> Outcome {
    let Some(pending) = open(state, headers) else {
        return refused(DialogRefusal::Expired);
    };
    if pending.expires < state.clock.now().timestamp() {
        return refused(DialogRefusal::TimedOut);
    }
    if !query
        .state
        .as_deref()
        .is_some_and(|s| crate::keys::secrets_equal(s, &pending.state))
    {
        return refused(DialogRefusal::StateMismatch);
    }
    if let Some(e) = query.error.as_deref() {
        return match e {
            "access_denied" | "consent_required" | "interaction_required" => {
                refused(DialogRefusal::ConsentRefused)
            }
            _ => refused(DialogRefusal::AuthorityFailed),
        };
    }
    let Some(code) = query.code else {
        return refused(DialogRefusal::NoCode);
    };
    let (client, _, auth) = match client(state) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .unwrap_or_default();
    let mut exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier));
    if let crate::app_credential::ClientAuth::Certificate { key, thumbprint } = &auth {
        let token_url = client.token_uri().url().as_str().to_owned();
        let id = client.client_id().as_str().to_owned();
        match crate::app_credential::client_assertion(
            key,
            thumbprint,
            &id,
            &token_url,
            state.clock.now().timestamp(),
        ) {
            Ok(assertion) => {
                exchange = exchange
                    .add_extra_param(
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    )
                    .add_extra_param("client_assertion", assertion);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot sign the client assertion");
                return refused(DialogRefusal::Misconfigured);
            }
        }
    }
    let exchanged = exchange
        .request_async(&|request| send(http.clone(), request))
        .await;
    let tokens = match exchanged {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "dialog sign-in: code exchange refused");
            return refused(DialogRefusal::ExchangeFailed);
        }
    };
    let access = tokens.access_token().secret().clone();
    let identity = match state.office.verify(&access).await {
        Ok(i) => i,
        Err(e) => return refused(DialogRefusal::Token(e)),
    };
    let Some(id_token) = tokens.extra_fields().id_token.as_deref() else {
        return refused(DialogRefusal::NoIdentity);
    };
    match state.office.verify_id_token(id_token, &pending.nonce).await {
        Ok(id) if id.tenant_id == identity.tenant_id && id.object_id == identity.object_id => {}
        Ok(_) | Err(_) => {
            return refused(DialogRefusal::NonceMismatch);
        }
    }
    let recorded = crate::audit::record(
        &state.db,
        &state.keys,
        identity.claimed_mailbox().as_deref().unwrap_or("office"),
        "dialog_sign_in",
        serde_json::json!({"tenant": identity.tenant_id, "subject": identity.object_id}),
    )
    .await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, "cannot audit a dialog sign-in");
        return refused(DialogRefusal::AuthorityFailed);
    }
    Outcome::Ok {
        office_token: access,
        expires_in: tokens.expires_in().map(|d| d.as_secs()).unwrap_or(3600),
    }
}

/// The page that ends the dialog: the outcome as JSON data, posted to the pane by
/// `done.js`; a French sentence for whoever reads it.
fn page(state: &Dialog, outcome: Outcome, set_cookie: Option<HeaderValue>) -> Response {
    let json = serde_json::to_string(&outcome).unwrap_or_default();
    let (title, text) = match &outcome {
        Outcome::Ok { .. } => (
            "Identification réussie",
            "Vous êtes identifié. Cette fenêtre va se fermer ; poursuivez dans le volet \
             Medimail."
                .to_owned(),
        ),
        Outcome::Error { message, .. } => ("Identification impossible", message.clone()),
    };
    let mut response = outcome_page(&state.config, &json, title, &text, None);
    if let Some(c) = set_cookie {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

/// A page that ends a sign-in in a window (the Office dialog, or the webmail's tab): the
/// outcome `json` for `done.js` to post to the pane, the French `title` and `text` for
/// whoever reads it, and a link back when `back` names one. `no-store`, strict CSP.
pub(crate) fn outcome_page(
    config: &Config,
    json: &str,
    title: &str,
    text: &str,
    back: Option<(&str, &str)>,
) -> Response {
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let escape = crate::taskpane::escape_html;
    let back = back
        .map(|(href, label)| {
            format!(
                "<p><a id=\"medimail-dialog-back\" href=\"{}\">{}</a></p>",
                escape(href),
                escape(label)
            )
        })
        .unwrap_or_default();
    let office_js = config.office_js_url.as_str();
    let html = format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Medimail — \
         {title}</title><script src=\"{office_js}\"></script></head><body><h1>{title}</h1>\
         <p id=\"medimail-dialog-text\">{}</p>{back}<script type=\"application/json\" \
         id=\"medimail-dialog-result\">{json}</script><script src=\"{SCRIPT}\"></script>\
         </body></html>",
        escape(text),
        title = escape(title),
    );
    let office_origin = config.office_js_url.origin().ascii_serialization();
    let mut response = (StatusCode::OK, html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&format!(
        "default-src 'none'; script-src 'self' {office_origin}; connect-src {office_origin}; \
         style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// The script of the callback page: posts the outcome to the pane once office.js is ready.
#[utoipa::path(
    get,
    path = SCRIPT,
    tag = "sign-in dialog",
    responses((status = 200, description = "The script.", content_type = "text/javascript", body = String)),
)]
async fn script() -> Response {
    const JS: &str = r#"(function () {
  var data = document.getElementById('medimail-dialog-result').textContent;
  function send() {
    try { Office.context.ui.messageParent(data); } catch (e) { /* opened outside Office */ }
  }
  if (window.Office && Office.onReady) { Office.onReady(send); } else { send(); }
})();
"#;
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        JS,
    )
        .into_response()
}
