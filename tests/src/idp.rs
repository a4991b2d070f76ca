//! A test identity provider on loopback: OpenID metadata and JWKS over HTTP, its own RSA
//! keys, and a minter of Entra-like v2 access tokens. Keys can be rotated in while the
//! server under test runs; the number of JWKS downloads is counted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;

pub const CLIENT_ID: &str = "1b2c3d4e-0000-4000-8000-1234567890ab";
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
    fn jwk(&self) -> serde_json::Value {
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

#[derive(Clone)]
struct Shared {
    keys: Arc<Mutex<Vec<TestKey>>>,
    jwks_fetches: Arc<AtomicUsize>,
    port: u16,
}

pub struct TestIdp {
    pub port: u16,
    shared: Shared,
    handle: axum_server::Handle<SocketAddr>,
}

impl TestIdp {
    /// Starts with one published key, `key-1`.
    pub async fn start() -> TestIdp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind idp");
        let port = listener.local_addr().expect("addr").port();
        let shared = Shared {
            keys: Arc::new(Mutex::new(vec![key(0, "key-1")])),
            jwks_fetches: Arc::new(AtomicUsize::new(0)),
            port,
        };
        let app = Router::new()
            .route(
                "/common/v2.0/.well-known/openid-configuration",
                get(metadata),
            )
            .route("/common/discovery/v2.0/keys", get(jwks))
            .with_state(shared.clone());
        let handle: axum_server::Handle<SocketAddr> = axum_server::Handle::new();
        let server = axum_server::from_tcp(listener)
            .expect("idp server")
            .handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        TestIdp {
            port,
            shared,
            handle,
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

    /// Publishes another key (rotation).
    pub fn publish(&self, key: TestKey) {
        self.shared.keys.lock().expect("keys").push(key);
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
    }
}

async fn metadata(State(s): State<Shared>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "issuer": "https://login.test.invalid/{tenantid}/v2.0",
        "jwks_uri": format!("http://127.0.0.1:{}/common/discovery/v2.0/keys", s.port),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(s): State<Shared>) -> axum::Json<serde_json::Value> {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<_> = s
        .keys
        .lock()
        .expect("keys")
        .iter()
        .map(TestKey::jwk)
        .collect();
    axum::Json(serde_json::json!({ "keys": keys }))
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
