//! A test Pro Santé Connect on loopback, shaped like the real one (`docs/PRO-SANTE-CONNECT.md`):
//! the discovery document at `…/.well-known/wallet-openid-configuration`, the authorize
//! endpoint on another path than the issuer's, PKCE S256, `acr_values`, a single-use code,
//! the secret in the body, a signed ID token (`nonce`, `acr`) and a JSON userinfo with
//! `SubjectNameID`. What it answers can be bent to test each refusal: another `acr`,
//! `aud` or `nonce`, a key it does not publish, a key rotation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use sha2::Digest;

use crate::idp::{TestKey, key, sign};

pub const CLIENT_ID: &str = "medimail-test";
pub const CLIENT_SECRET: &str = "secret-psc-de-test";
const REALM: &str = "/auth/realms/esante-wallet";

/// What the next sign-in's tokens say (each field overrides the honest value).
#[derive(Clone, Debug, Default)]
pub struct Bend {
    pub acr: Option<Option<String>>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    /// Sign with this key instead of the published one.
    pub key: Option<usize>,
}

#[derive(Clone)]
struct Shared {
    base: String,
    published: Arc<Mutex<Vec<TestKey>>>,
    codes: Arc<Mutex<HashMap<String, Pending>>>,
    tokens: Arc<Mutex<HashMap<String, String>>>,
    subject: Arc<Mutex<String>>,
    bend: Arc<Mutex<Bend>>,
}

#[derive(Clone)]
struct Pending {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

pub struct TestPsc {
    pub port: u16,
    shared: Shared,
    handle: axum_server::Handle<SocketAddr>,
}

impl TestPsc {
    pub async fn start() -> TestPsc {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shared = Shared {
            base: format!("http://127.0.0.1:{port}"),
            published: Arc::new(Mutex::new(vec![key(0, "psc-1")])),
            codes: Default::default(),
            tokens: Default::default(),
            subject: Arc::new(Mutex::new("899700427885".to_owned())),
            bend: Default::default(),
        };
        let app = Router::new()
            .route(
                &format!("{REALM}/.well-known/wallet-openid-configuration"),
                get(discovery),
            )
            .route(
                &format!("{REALM}/protocol/openid-connect/certs"),
                get(certs),
            )
            .route(
                &format!("{REALM}/protocol/openid-connect/token"),
                post(token),
            )
            .route(
                &format!("{REALM}/protocol/openid-connect/userinfo"),
                get(userinfo),
            )
            .route("/wallet/auth", get(authorize))
            .with_state(shared.clone());
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp(listener)
            .expect("listener")
            .handle(handle.clone());
        tokio::spawn(async move { server.serve(app.into_make_service()).await });
        TestPsc {
            port,
            shared,
            handle,
        }
    }

    pub fn issuer(&self) -> String {
        format!("{}{REALM}", self.shared.base)
    }

    /// Who signs in next (`SubjectNameID`).
    pub fn sign_in_as(&self, national_id: &str) {
        *self.shared.subject.lock().expect("subject") = national_id.to_owned();
    }

    /// Bends the next tokens.
    pub fn bend(&self, bend: Bend) {
        *self.shared.bend.lock().expect("bend") = bend;
    }

    /// Publishes `key` in place of the current one (a rotation).
    pub fn rotate_to(&self, key: TestKey) {
        *self.shared.published.lock().expect("keys") = vec![key];
    }

    /// Follows the authorize URL as a browser would and returns (code, state) of the
    /// redirect back.
    pub async fn authorize(&self, url: &str) -> (String, String) {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let answer = http.get(url).send().await.expect("authorize");
        assert_eq!(answer.status().as_u16(), 303, "{:?}", answer.text().await);
        let location = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .expect("location")
            .to_owned();
        let back = url::Url::parse(&location).expect("redirect");
        let get = |k: &str| {
            back.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        (get("code"), get("state"))
    }
}

impl Drop for TestPsc {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn discovery(State(s): State<Shared>) -> Response {
    let issuer = format!("{}{REALM}", s.base);
    axum::Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/wallet/auth", s.base),
        "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
        "userinfo_endpoint": format!("{issuer}/protocol/openid-connect/userinfo"),
        "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
        "end_session_endpoint": format!("{issuer}/protocol/openid-connect/logout"),
        "code_challenge_methods_supported": ["plain", "S256"],
        "acr_values_supported": ["eidas1"],
    }))
    .into_response()
}

async fn certs(State(s): State<Shared>) -> Response {
    let keys: Vec<serde_json::Value> = s
        .published
        .lock()
        .expect("keys")
        .iter()
        .map(TestKey::jwk)
        .collect();
    axum::Json(serde_json::json!({ "keys": keys })).into_response()
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn oauth_error(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({"error": error})),
    )
        .into_response()
}

async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let scopes: Vec<String> = get("scope").split(' ').map(str::to_owned).collect();
    if get("client_id") != CLIENT_ID
        || get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("acr_values") != "eidas1"
        || !scopes.iter().any(|s| s == "openid")
        || !scopes.iter().any(|s| s == "scope_all")
        || get("state").is_empty()
        || get("nonce").is_empty()
    {
        return oauth_error("invalid_request");
    }
    let code = random_token();
    s.codes.lock().expect("codes").insert(
        code.clone(),
        Pending {
            challenge: get("code_challenge"),
            nonce: get("nonce"),
            redirect_uri: get("redirect_uri"),
        },
    );
    let mut back = url::Url::parse(&get("redirect_uri")).expect("redirect_uri");
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    Redirect::to(back.as_str()).into_response()
}

async fn token(State(s): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return oauth_error("invalid_client");
    }
    // Single use: a replayed code is refused.
    let Some(pending) = s.codes.lock().expect("codes").remove(&get("code")) else {
        return oauth_error("invalid_grant");
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let challenge = b64.encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
    if get("grant_type") != "authorization_code"
        || challenge != pending.challenge
        || get("redirect_uri") != pending.redirect_uri
    {
        return oauth_error("invalid_grant");
    }
    let bend = s.bend.lock().expect("bend").clone();
    let subject = s.subject.lock().expect("subject").clone();
    let now = crate::idp::now();
    let claims = serde_json::json!({
        "iss": format!("{}{REALM}", s.base),
        "sub": format!("f:0000:{subject}"),
        "aud": bend.audience.unwrap_or_else(|| CLIENT_ID.to_owned()),
        "iat": now,
        "exp": now + 300,
        "nonce": bend.nonce.unwrap_or(pending.nonce),
        "acr": bend.acr.unwrap_or_else(|| Some("eidas1".to_owned())),
        "preferred_username": subject,
    });
    let signing = match bend.key {
        Some(i) => key(i, "psc-unpublished"),
        None => s.published.lock().expect("keys")[0].clone(),
    };
    let access = random_token();
    s.tokens
        .lock()
        .expect("tokens")
        .insert(access.clone(), subject);
    axum::Json(serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 120,
        "id_token": sign(&signing, &claims),
    }))
    .into_response()
}

async fn userinfo(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(subject) = s.tokens.lock().expect("tokens").get(token).cloned() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    axum::Json(serde_json::json!({
        "sub": format!("f:0000:{subject}"),
        "SubjectNameID": subject,
        "given_name": "KIT",
        "family_name": "DOC0042788",
        "SubjectRefPro": {"codeCivilite": "M", "exercices": [{"codeProfession": "10", "codeCategorieProfessionnelle": "C"}]},
        "authMode": "CARD",
    }))
    .into_response()
}
