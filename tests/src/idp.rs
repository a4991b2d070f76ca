//! A test identity provider on loopback: OpenID metadata and JWKS over HTTP, its own RSA
//! keys, and a minter of Entra-like v2 access tokens. Keys can be rotated in while the
//! server under test runs; the number of JWKS downloads is counted.
//!
//! It also runs the authorization code flow of the dialog sign-in for real:
//! `/{tenant}/oauth2/v2.0/authorize` (checks the client, PKCE S256, `state`, `nonce`, then
//! signs in the person set with [`TestIdp::sign_in_as`] at once, or refuses consent) and
//! `/{tenant}/oauth2/v2.0/token` (client secret, single-use code, redirect URI, and the
//! PKCE `code_verifier` checked against the challenge).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;

pub const CLIENT_ID: &str = "1b2c3d4e-0000-4000-8000-1234567890ab";
/// The client secret the token endpoint expects.
pub const CLIENT_SECRET: &str = "secret-de-test~0123456789";
pub const TENANT: &str = "72f988bf-0000-4000-8000-00000000aaaa";
pub const OTHER_TENANT: &str = "72f988bf-0000-4000-8000-00000000bbbb";
/// The issuer template the server is configured with (`{tid}` replaced per token).
pub const ISSUER_TEMPLATE: &str = "https://login.test.invalid/{tid}/v2.0";

/// An RSA signing key with its id.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub encoding: EncodingKey,
    n: String,
    e: String,
}

impl TestKey {
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA", "use": "sig", "alg": "RS256",
            "kid": self.kid, "n": self.n, "e": self.e,
        })
    }
}

/// RSA generation is slow in debug builds: each test binary makes a few keys once.
fn key_pool() -> &'static Vec<(EncodingKey, String, String)> {
    static POOL: OnceLock<Vec<(EncodingKey, String, String)>> = OnceLock::new();
    POOL.get_or_init(|| {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        (0..3)
            .map(|_| {
                let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key");
                let der = key.to_pkcs1_der().expect("PKCS#1");
                let encoding = EncodingKey::from_rsa_der(der.as_bytes());
                let n = b64.encode(key.n().to_bytes_be());
                let e = b64.encode(key.e().to_bytes_be());
                (encoding, n, e)
            })
            .collect()
    })
}

/// Key number `i` (0, 1 or 2) of the pool, under the id `kid`.
pub fn key(i: usize, kid: &str) -> TestKey {
    let (encoding, n, e) = key_pool()[i].clone();
    TestKey {
        kid: kid.to_owned(),
        encoding,
        n,
        e,
    }
}

/// A code handed out by `/authorize`.
struct Grant {
    challenge: String,
    redirect_uri: String,
    nonce: String,
    claims: serde_json::Value,
    used: bool,
}

#[derive(Clone)]
struct Shared {
    keys: Arc<Mutex<Vec<TestKey>>>,
    jwks_fetches: Arc<AtomicUsize>,
    port: u16,
    grants: Arc<Mutex<HashMap<String, Grant>>>,
    /// Who `/authorize` signs in; `None`: the person refuses consent.
    next: Arc<Mutex<Option<serde_json::Value>>>,
    /// `/authorize` shows its consent page and waits (the person has not answered).
    hold: Arc<std::sync::atomic::AtomicBool>,
    /// Client certificates the token endpoint accepts: SHA-256 thumbprint → public key.
    client_keys: Arc<Mutex<HashMap<String, jsonwebtoken::DecodingKey>>>,
    /// Application tokens issued (client credentials grant).
    app_tokens: Arc<AtomicUsize>,
    /// The key set endpoint answers 503 (the provider is down).
    keys_down: Arc<std::sync::atomic::AtomicBool>,
    /// The HTTPS listener's port (known once it is bound).
    tls_port: Arc<std::sync::atomic::AtomicU16>,
}

pub struct TestIdp {
    pub port: u16,
    /// The same endpoints over HTTPS (azure_identity refuses an http authority).
    pub tls_port: u16,
    /// The certificate of the HTTPS listener (PEM), for `MEDIMAIL_EXTRA_CA_FILE`.
    pub cert_pem: String,
    shared: Shared,
    handle: axum_server::Handle<SocketAddr>,
    tls_handle: axum_server::Handle<SocketAddr>,
}

/// A loopback HTTPS listener with a fresh self-signed certificate for 127.0.0.1:
/// (listener, port, TLS configuration, certificate PEM).
pub fn tls_listener() -> (
    std::net::TcpListener,
    u16,
    axum_server::tls_rustls::RustlsConfig,
    String,
) {
    use rustls::pki_types::pem::PemObject;
    crate::install_crypto_provider();
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("cert");
    let cert_pem = made.cert.pem();
    let cert =
        rustls::pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("cert");
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(
        made.signing_key.serialize_pem().as_bytes(),
    )
    .expect("key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("TLS config");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (
        listener,
        port,
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
        cert_pem,
    )
}

impl TestIdp {
    /// Starts with one published key, `key-1`.
    pub async fn start() -> TestIdp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind idp");
        let port = listener.local_addr().expect("addr").port();
        let shared = Shared {
            keys: Arc::new(Mutex::new(vec![key(0, "key-1")])),
            jwks_fetches: Arc::new(AtomicUsize::new(0)),
            keys_down: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            port,
            grants: Arc::new(Mutex::new(HashMap::new())),
            next: Arc::new(Mutex::new(Some(valid_claims()))),
            hold: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            client_keys: Arc::new(Mutex::new(HashMap::new())),
            app_tokens: Arc::new(AtomicUsize::new(0)),
            tls_port: Arc::new(std::sync::atomic::AtomicU16::new(0)),
        };
        let app = Router::new()
            .route(
                "/common/v2.0/.well-known/openid-configuration",
                get(metadata),
            )
            .route("/common/discovery/v2.0/keys", get(jwks))
            .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .with_state(shared.clone());
        let handle: axum_server::Handle<SocketAddr> = axum_server::Handle::new();
        let server = axum_server::from_tcp(listener)
            .expect("idp server")
            .handle(handle.clone());
        tokio::spawn(server.serve(app.clone().into_make_service()));
        let (tls, tls_port, tls_config, cert_pem) = tls_listener();
        shared.tls_port.store(tls_port, Ordering::SeqCst);
        let tls_handle: axum_server::Handle<SocketAddr> = axum_server::Handle::new();
        let tls_server = axum_server::from_tcp_rustls(tls, tls_config)
            .expect("idp TLS server")
            .handle(tls_handle.clone());
        tokio::spawn(tls_server.serve(app.into_make_service()));
        TestIdp {
            port,
            tls_port,
            cert_pem,
            shared,
            handle,
            tls_handle,
        }
    }

    pub fn metadata_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/common/v2.0/.well-known/openid-configuration",
            self.port
        )
    }

    /// The environment a server needs to trust this provider for [`TENANT`].
    pub fn server_env(&self) -> Vec<(String, String)> {
        vec![
            ("MEDIMAIL_OIDC_METADATA_URL".into(), self.metadata_url()),
            ("MEDIMAIL_ISSUER_TEMPLATE".into(), ISSUER_TEMPLATE.into()),
            ("MEDIMAIL_ALLOWED_TENANTS".into(), TENANT.into()),
            ("MEDIMAIL_CLIENT_ID".into(), CLIENT_ID.into()),
        ]
    }

    /// The authority the dialog sign-in uses (`MEDIMAIL_AUTHORITY_URL`).
    pub fn authority_url(&self) -> String {
        format!("http://127.0.0.1:{}/{{tenant}}", self.port)
    }

    /// The next `/authorize` signs in a person with these access-token claims
    /// (`None`: the person refuses consent).
    pub fn sign_in_as(&self, claims: Option<serde_json::Value>) {
        *self.shared.next.lock().expect("next") = claims;
    }

    /// `/authorize` shows a consent page and waits for an answer that never comes
    /// (`true`), or answers at once (`false`, the default).
    pub fn hold_at_consent(&self, hold: bool) {
        self.shared.hold.store(hold, Ordering::SeqCst);
    }

    /// Registers a client certificate (its SHA-256 thumbprint, base64url, and its RSA
    /// public key as base64url modulus and exponent) for client assertions.
    pub fn trust_client_certificate(&self, thumbprint: &str, n: &str, e: &str) {
        let key = jsonwebtoken::DecodingKey::from_rsa_components(n, e).expect("RSA key");
        self.shared
            .client_keys
            .lock()
            .expect("client keys")
            .insert(thumbprint.to_owned(), key);
    }

    /// The HTTPS authority host for application tokens (`MEDIMAIL_GRAPH_AUTHORITY_HOST`).
    pub fn https_authority_host(&self) -> String {
        format!("https://127.0.0.1:{}", self.tls_port)
    }

    /// Application tokens issued so far (client credentials grant).
    pub fn app_tokens(&self) -> usize {
        self.shared.app_tokens.load(Ordering::SeqCst)
    }

    /// The public key of the current signing key, to verify what it signed.
    pub fn decoding_key(&self) -> jsonwebtoken::DecodingKey {
        let key = self.current_key();
        jsonwebtoken::DecodingKey::from_rsa_components(&key.n, &key.e).expect("RSA key")
    }

    /// Publishes another key (rotation).
    pub fn publish(&self, key: TestKey) {
        self.shared.keys.lock().expect("keys").push(key);
    }

    /// Makes the key set endpoint fail (503 after 300 ms), or work again.
    pub fn set_keys_down(&self, down: bool) {
        self.shared.keys_down.store(down, Ordering::SeqCst);
    }

    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The first published key.
    pub fn current_key(&self) -> TestKey {
        self.shared.keys.lock().expect("keys")[0].clone()
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.handle.shutdown();
        self.tls_handle.shutdown();
    }
}

async fn metadata(State(s): State<Shared>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "issuer": "https://login.test.invalid/{tenantid}/v2.0",
        "jwks_uri": format!("http://127.0.0.1:{}/common/discovery/v2.0/keys", s.port),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(s): State<Shared>) -> axum::response::Response {
    use axum::response::IntoResponse;
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if s.keys_down.load(Ordering::SeqCst) {
        // Slow and failing, as a provider in trouble: concurrent callers overlap.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let keys: Vec<_> = s
        .keys
        .lock()
        .expect("keys")
        .iter()
        .map(TestKey::jwk)
        .collect();
    axum::Json(serde_json::json!({ "keys": keys })).into_response()
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// The claims of a valid Office access token for [`TENANT`], valid for an hour.
pub fn valid_claims() -> serde_json::Value {
    let now = now();
    serde_json::json!({
        "aud": CLIENT_ID,
        "iss": ISSUER_TEMPLATE.replace("{tid}", TENANT),
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": "00000000-0000-0000-0000-00000000d0c7",
        "scp": "access_as_user",
        "azp": "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e",
        "name": "Mickaël POLLET",
        "preferred_username": "m.pollet@chu-exemple.fr",
        "ver": "2.0",
    })
}

/// Signs `claims` with `key` (RS256, its `kid` in the header).
pub fn sign(key: &TestKey, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign")
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `GET /{tenant}/oauth2/v2.0/authorize`.
async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let scopes = get("scope");
    let checks = [
        (get("client_id") == CLIENT_ID, "client_id"),
        (get("response_type") == "code", "response_type"),
        (
            get("code_challenge_method") == "S256",
            "code_challenge_method",
        ),
        (get("code_challenge").len() == 43, "code_challenge"),
        (!get("state").is_empty(), "state"),
        (!get("nonce").is_empty(), "nonce"),
        (scopes.split(' ').any(|s| s == "openid"), "scope openid"),
        (
            scopes.split(' ').any(|s| s.ends_with("/access_as_user")),
            "scope access_as_user",
        ),
        (get("redirect_uri").starts_with("https://"), "redirect_uri"),
    ];
    if let Some((_, what)) = checks.iter().find(|(ok, _)| !ok) {
        return (StatusCode::BAD_REQUEST, format!("bad request: {what}")).into_response();
    }
    if s.hold.load(Ordering::SeqCst) {
        return axum::response::Html(
            "<!DOCTYPE html><title>Autorisation</title><p>Autoriser Medimail ?</p>",
        )
        .into_response();
    }
    let redirect = url::Url::parse(&get("redirect_uri")).expect("redirect_uri");
    let mut back = redirect.clone();
    let next = s.next.lock().expect("next").clone();
    match next {
        None => {
            back.query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("error_description", "The user declined to consent.")
                .append_pair("state", &get("state"));
        }
        Some(claims) => {
            let code: String = (0..32)
                .map(|_| format!("{:02x}", rand::random::<u8>()))
                .collect();
            s.grants.lock().expect("grants").insert(
                code.clone(),
                Grant {
                    challenge: get("code_challenge"),
                    redirect_uri: get("redirect_uri"),
                    nonce: get("nonce"),
                    claims,
                    used: false,
                },
            );
            back.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &get("state"));
        }
    }
    Redirect::to(back.as_str()).into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token` (authorization code grant only).
async fn token(
    State(s): State<Shared>,
    axum::extract::Path(uri_tenant): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    use sha2::Digest;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    // The client: HTTP Basic (form-urlencoded id and secret, RFC 6749 §2.3.1) or the form.
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |v: &str| {
                url::form_urlencoded::parse(format!("v={v}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    if form.contains_key("client_assertion") {
        // A certificate credential: a JWT signed with a registered certificate's key,
        // for this token endpoint, from this client, not expired.
        if get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        {
            return oauth_error("invalid_client", "client_assertion_type");
        }
        let assertion = get("client_assertion");
        let thumbprint = jsonwebtoken::decode_header(&assertion)
            .ok()
            .and_then(|h| h.x5t_s256);
        let key = thumbprint.and_then(|t| s.client_keys.lock().expect("keys").get(&t).cloned());
        let Some(key) = key else {
            return oauth_error("invalid_client", "unknown client certificate");
        };
        let tenant = uri_tenant.clone();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        // Either listener: http (the dialog sign-in) or https (azure_identity).
        validation.set_audience(&[
            format!("http://127.0.0.1:{}/{tenant}/oauth2/v2.0/token", s.port),
            format!(
                "https://127.0.0.1:{}/{tenant}/oauth2/v2.0/token",
                s.tls_port.load(Ordering::SeqCst)
            ),
        ]);
        validation.set_issuer(&[CLIENT_ID]);
        let ok = jsonwebtoken::decode::<serde_json::Value>(&assertion, &key, &validation)
            .ok()
            .is_some_and(|d| d.claims["sub"] == CLIENT_ID);
        if !ok || get("client_id") != CLIENT_ID {
            return oauth_error("invalid_client", "client assertion refused");
        }
    } else {
        let (id, secret) = basic.unwrap_or_else(|| (get("client_id"), get("client_secret")));
        if id != CLIENT_ID || secret != CLIENT_SECRET {
            return oauth_error("invalid_client", "client authentication failed");
        }
    }
    if get("grant_type") == "client_credentials" {
        // An application token (azure_identity's client secret credential).
        let Some(audience) = get("scope").strip_suffix("/.default").map(str::to_owned) else {
            return oauth_error("invalid_scope", "scope must end with /.default");
        };
        s.app_tokens.fetch_add(1, Ordering::SeqCst);
        let now = now();
        let claims = serde_json::json!({
            "aud": audience,
            "iss": ISSUER_TEMPLATE.replace("{tid}", &uri_tenant),
            "tid": uri_tenant,
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "roles": ["Mail.Send"],
            "app_id": CLIENT_ID,
        });
        let key = s.keys.lock().expect("keys")[0].clone();
        return axum::Json(serde_json::json!({
            "token_type": "Bearer",
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": sign(&key, &claims),
        }))
        .into_response();
    }
    if get("grant_type") != "authorization_code" {
        return oauth_error("unsupported_grant_type", "authorization_code only");
    }
    let mut grants = s.grants.lock().expect("grants");
    let Some(grant) = grants.get_mut(&get("code")) else {
        return oauth_error("invalid_grant", "unknown code");
    };
    if grant.used {
        return oauth_error("invalid_grant", "the code was already redeemed");
    }
    grant.used = true;
    if grant.redirect_uri != get("redirect_uri") {
        return oauth_error("invalid_grant", "redirect_uri mismatch");
    }
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
    if computed != grant.challenge {
        return oauth_error("invalid_grant", "PKCE code_verifier does not match");
    }
    let key = s.keys.lock().expect("keys")[0].clone();
    let access = sign(&key, &grant.claims);
    let mut id_claims = grant.claims.clone();
    id_claims["aud"] = serde_json::json!(CLIENT_ID);
    id_claims["nonce"] = serde_json::json!(grant.nonce);
    if let Some(map) = id_claims.as_object_mut() {
        map.remove("scp");
    }
    let id_token = sign(&key, &id_claims);
    axum::Json(serde_json::json!({
        "token_type": "Bearer",
        "access_token": access,
        "id_token": id_token,
        "expires_in": 3600,
        "scope": "openid profile offline_access access_as_user",
    }))
    .into_response()
}

/// An RSA key and a self-signed certificate for it, as one PEM file; and what the
/// authority registers: (thumbprint, modulus, exponent).
pub fn client_certificate() -> (std::path::PathBuf, (String, String, String)) {
    use base64::Engine;
    use rsa::pkcs8::EncodePrivateKey;
    use rsa::traits::PublicKeyParts;
    use sha2::Digest;
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key");
    let pem = key
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .expect("PKCS#8")
        .to_string();
    let pair =
        rcgen::KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).expect("key pair");
    let cert = rcgen::CertificateParams::new(vec!["medimail-test".to_owned()])
        .expect("params")
        .self_signed(&pair)
        .expect("certificate");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let thumbprint = b64.encode(sha2::Sha256::digest(cert.der()));
    let file = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(file.path(), format!("{}{pem}", cert.pem())).expect("write");
    let (_, path) = file.keep().expect("keep");
    (
        path,
        (
            thumbprint,
            b64.encode(key.n().to_bytes_be()),
            b64.encode(key.e().to_bytes_be()),
        ),
    )
}
