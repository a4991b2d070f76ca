//! Verification of the Office identity token (an Entra ID v2 access token obtained by the
//! task pane with `Office.auth.getAccessToken()`), before any other work on a request.
//!
//! Rules (Microsoft identity platform, "Validate tokens"; docs/ARCHITECTURE.md "Identity"):
//! RS256 only; `kid` in the JWKS named by the configured OpenID metadata (cached at most
//! 24 hours and refreshed in the background before; refreshed on an unknown `kid` at
//! most once a minute; a failed fetch backs off, and requests arriving meanwhile share
//! the one fetch in flight); `iss` equal to the issuer template for the token's `tid`, a
//! GUID and an allowed tenant; `aud` the application id or its id URI; `azp` (v2) or
//! `appid` (v1) an allowed client application; `scp` containing `access_as_user`;
//! `exp`/`nbf` with 5 minutes of leeway; `oid` and `tid` present.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use url::Url;

/// Tokens longer than this are refused unread (Entra access tokens are 1–3 KB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 5 * 60;
/// The scope the add-in's API exposes to the task pane.
pub const REQUIRED_SCOPE: &str = "access_as_user";
/// Signing keys older than this are no longer trusted without a fresh fetch…
pub const KEYS_MAX_AGE: chrono::Duration = chrono::Duration::hours(24);
/// …and the background refresh fetches them again once they are this old.
pub const KEYS_REFRESH_AFTER: chrono::Duration = chrono::Duration::hours(20);
/// A failed fetch waits 2 s before the next, doubling up to 5 minutes.
const BACKOFF_FIRST_SECONDS: i64 = 2;
const BACKOFF_MAX_SECONDS: i64 = 300;

/// The client applications Office uses to get a token for an add-in (Microsoft's list
/// of the ids to pre-authorise): Microsoft Office (every Office application endpoint),
/// Outlook on the web, Office on the web, Outlook desktop and mobile. The add-in's own
/// id (the Office dialog's sign-in) is added to them.
pub const OFFICE_CLIENT_APPS: &[&str] = &[
    "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "bc59ab01-8403-45c6-8796-ac3ef710b3e3",
    "93d53678-613d-4013-afc1-62e9e444a0a5",
    "57fb890c-0dab-4253-a5e0-7188c88b2bb4",
    "08e18876-6177-487e-b8b5-cf950c1e598c",
];

/// Who the token says the user is: `(tenant_id, object_id)` names the person; `name`
/// (`name` claim) is for the greeting; `mailbox` is `preferred_username`, else `upn`,
/// else `email`. The account registry takes it as the sign-in identity.
pub type OfficeIdentity = crate::account::registry::Identity;

/// Why a token was refused. Each maps to a stable code and a French message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("algorithm not allowed: {0}")]
    Algorithm(String),
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("wrong audience")]
    Audience,
    #[error("wrong issuer")]
    Issuer,
    #[error("tenant not allowed: {0}")]
    Tenant(String),
    #[error("scope access_as_user missing")]
    Scope,
    #[error("required claim missing: {0}")]
    Claims(String),
    /// The token was issued to a client application this server does not accept.
    #[error("client application not allowed: {0}")]
    ClientApp(String),
    /// The identity provider's keys could not be fetched: not the caller's fault.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_missing",
            TokenError::Malformed(_) | TokenError::Algorithm(_) | TokenError::Signature => {
                "token_invalid"
            }
            TokenError::UnknownKey => "token_unknown_key",
            TokenError::Expired => "token_expired",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::Audience => "token_audience",
            TokenError::Issuer => "token_issuer",
            TokenError::Tenant(_) => "token_tenant",
            TokenError::Scope => "token_scope",
            TokenError::Claims(_) => "token_claims",
            TokenError::ClientApp(_) => "token_client_app",
            TokenError::Unavailable(_) => "identity_provider_unavailable",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            TokenError::Missing => {
                "Votre identité Office est requise : ouvrez Medimail depuis Outlook et reconnectez-vous."
            }
            TokenError::Expired => {
                "Votre session Office a expiré : fermez et rouvrez le volet Medimail."
            }
            TokenError::NotYetValid => {
                "Votre jeton Office n'est pas encore valide : vérifiez l'heure de votre ordinateur."
            }
            TokenError::Tenant(_) => {
                "Votre organisation Microsoft 365 n'est pas autorisée à utiliser ce service Medimail. \
                 Contactez votre service informatique."
            }
            TokenError::Scope | TokenError::Audience | TokenError::Issuer => {
                "Votre jeton Office n'a pas été délivré pour Medimail : fermez et rouvrez le volet ; \
                 si le problème persiste, contactez votre service informatique."
            }
            TokenError::Unavailable(_) => {
                "Le service d'identité Microsoft ne répond pas : réessayez dans quelques instants."
            }
            TokenError::ClientApp(_) => {
                "Ce jeton a été délivré à une application qui n'est pas autorisée à utiliser \
                 Medimail : ouvrez Medimail depuis Outlook."
            }
            TokenError::Malformed(_)
            | TokenError::Algorithm(_)
            | TokenError::Signature
            | TokenError::UnknownKey
            | TokenError::Claims(_) => {
                "Votre identité Office n'a pas pu être vérifiée : fermez et rouvrez le volet Medimail."
            }
        }
    }
}

/// Which tenants may use this server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedTenants {
    Any,
    Only(Vec<String>),
}

impl AllowedTenants {
    /// `any`, or a comma-separated list of tenant ids; empty means none.
    pub fn parse(value: &str) -> Self {
        if value.trim().eq_ignore_ascii_case("any") {
            return AllowedTenants::Any;
        }
        AllowedTenants::Only(
            value
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
        )
    }

    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            AllowedTenants::Any => true,
            AllowedTenants::Only(list) => list.iter().any(|t| t.eq_ignore_ascii_case(tenant)),
        }
    }
}

/// Settings of the verifier, from the server configuration.
#[derive(Clone, Debug)]
pub struct VerifierSettings {
    pub metadata_url: Url,
    /// Expected `iss`, `{tid}` replaced by the token's tenant.
    pub issuer_template: String,
    pub tenants: AllowedTenants,
    /// Accepted `aud` values: the application id and its id URI.
    pub audiences: Vec<String>,
    /// An unknown `kid` refreshes the JWKS at most this often (60 s by default).
    pub refresh_interval: Duration,
    /// Accepted `azp`/`appid` values (lowercase client ids).
    pub client_apps: Vec<String>,
    /// The server's clock: the age of the keys and the back-off are measured on it.
    pub clock: crate::clock::Clock,
}

/// `MEDIMAIL_ALLOWED_CLIENT_APPS` (comma-separated client ids), else Office's client
/// applications; the add-in's own id is always added.
pub fn client_apps(configured: Option<&str>, own_id: Option<&str>) -> Vec<String> {
    let mut apps: Vec<String> = match configured.filter(|c| !c.trim().is_empty()) {
        Some(list) => list
            .split(',')
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| !a.is_empty())
            .collect(),
        None => OFFICE_CLIENT_APPS.iter().map(|a| (*a).to_owned()).collect(),
    };
    if let Some(id) = own_id {
        apps.push(id.to_ascii_lowercase());
    }
    apps
}

#[derive(Deserialize)]
struct Claims {
    nonce: Option<String>,
    iss: Option<String>,
    /// The client application (v2 tokens)…
    azp: Option<String>,
    /// …or (v1 tokens).
    appid: Option<String>,
    tid: Option<String>,
    oid: Option<String>,
    scp: Option<String>,
    name: Option<String>,
    preferred_username: Option<String>,
    upn: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    jwks_uri: String,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<DateTime<Utc>>,
    /// Failed fetches in a row, and when the next may be tried.
    failures: u32,
    retry_at: Option<DateTime<Utc>>,
}

impl KeyCache {
    fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.fetched_at.is_some_and(|at| now - at < KEYS_MAX_AGE)
    }
}

/// Verifies Office tokens; one per server, shared by every request.
pub struct OfficeVerifier {
    settings: VerifierSettings,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
    refreshing: Mutex<()>,
    /// True when the keys were given at construction (development identity): the
    /// metadata URL is then never fetched and no other key is ever trusted.
    static_keys: bool,
    /// Where refusals of correctly signed tokens are audited (the server's database and
    /// keys); `None` in tools and unit tests.
    audit: Option<(
        sea_orm::DatabaseConnection,
        std::sync::Arc<crate::keys::Keys>,
    )>,
}

impl OfficeVerifier {
    pub fn new(settings: VerifierSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            settings,
            http,
            cache: RwLock::new(KeyCache::default()),
            refreshing: Mutex::new(()),
            static_keys: false,
            audit: None,
        }
    }

    /// Audits into `db` the refusal of every token the identity provider did sign
    /// (expired, another tenant, another application…): those name a real identity.
    /// Tokens that are not even signed are only logged: anyone can make them, and a
    /// flood of them must not fill the trail.
    pub fn with_audit(
        mut self,
        db: sea_orm::DatabaseConnection,
        keys: std::sync::Arc<crate::keys::Keys>,
    ) -> Self {
        self.audit = Some((db, keys));
        self
    }

    async fn audit_refusal(&self, token: &str, error: &TokenError) {
        let signed = !matches!(
            error,
            TokenError::Missing
                | TokenError::Malformed(_)
                | TokenError::Algorithm(_)
                | TokenError::UnknownKey
                | TokenError::Signature
                | TokenError::Unavailable(_)
        );
        let Some((db, keys)) = self.audit.as_ref().filter(|_| signed) else {
            return;
        };
        let payload = token
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).ok()
            })
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .unwrap_or_default();
        let text = |k: &str| {
            payload[k]
                .as_str()
                .map(|v| v.chars().take(64).collect::<String>())
        };
        let detail = serde_json::json!({
            "code": error.code(),
            "tenant": text("tid"),
            "subject": text("oid"),
            "client_app": text("azp").or_else(|| text("appid")),
        });
        if let Err(e) = crate::audit::record(db, keys, "office", "token_refused", detail).await {
            tracing::warn!(error = %e, "cannot audit a token refusal");
        }
    }

    /// A verifier that trusts exactly `keys` (by `kid`) and fetches nothing.
    pub fn with_static_keys(
        settings: VerifierSettings,
        keys: HashMap<String, DecodingKey>,
    ) -> Self {
        let mut verifier = Self::new(settings);
        verifier.static_keys = true;
        verifier.cache = RwLock::new(KeyCache {
            keys,
            ..KeyCache::default()
        });
        verifier
    }

    /// Checks a token and returns the identity it carries.
    pub async fn verify(&self, token: &str) -> Result<OfficeIdentity, TokenError> {
        match self.verify_access(token).await {
            Ok(identity) => Ok(identity),
            Err(e) => {
                self.audit_refusal(token, &e).await;
                Err(e)
            }
        }
    }

    async fn verify_access(&self, token: &str) -> Result<OfficeIdentity, TokenError> {
        let (identity, claims) = self.check(token).await?;
        let client = claims
            .azp
            .as_deref()
            .or(claims.appid.as_deref())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !self.settings.client_apps.contains(&client) {
            return Err(TokenError::ClientApp(client));
        }
        let has_scope = claims
            .scp
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|s| s == REQUIRED_SCOPE));
        if !has_scope {
            return Err(TokenError::Scope);
        }
        Ok(identity)
    }

    /// Checks an ID token of the dialog sign-in: signature, audience, issuer, tenant as
    /// for an access token, and the `nonce` the sign-in sent.
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<OfficeIdentity, TokenError> {
        let (identity, claims) = self.check(token).await?;
        let matches = claims
            .nonce
            .as_deref()
            .is_some_and(|n| crate::keys::secrets_equal(n, nonce));
        if !matches {
            return Err(TokenError::Claims("nonce".into()));
        }
        Ok(identity)
    }

    /// Signature, time, audience, issuer and tenant.
    async fn check(&self, token: &str) -> Result<(OfficeIdentity, Claims), TokenError> {
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed(format!("{} bytes", token.len())));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Malformed("no kid".into()))?;
        let key = self.key(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_audience(&self.settings.audiences);
        validation.set_required_spec_claims(&["exp", "aud"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidAudience => TokenError::Audience,
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::MissingRequiredClaim(c) => TokenError::Claims(c.clone()),
            other => TokenError::Malformed(format!("{other:?}")),
        })?;
        let claims = data.claims;
        let tid = claims
            .tid
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| TokenError::Claims("tid".into()))?;
        let oid = claims
            .oid
            .clone()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| TokenError::Claims("oid".into()))?;
        // Entra tenant ids are GUIDs: anything else is not a tenant this server trusts.
        if uuid::Uuid::try_parse(&tid).is_err() || tid.len() != 36 {
            return Err(TokenError::Claims("tid".into()));
        }
        let tid = tid.to_ascii_lowercase();
        let expected_issuer = self.settings.issuer_template.replace("{tid}", &tid);
        if claims.iss.as_deref() != Some(expected_issuer.as_str()) {
            return Err(TokenError::Issuer);
        }
        if !self.settings.tenants.allows(&tid) {
            return Err(TokenError::Tenant(tid));
        }
        let identity = OfficeIdentity {
            tenant_id: tid,
            object_id: oid,
            name: claims.name.clone(),
            mailbox: claims
                .preferred_username
                .clone()
                .or(claims.upn.clone())
                .or(claims.email.clone()),
        };
        Ok((identity, claims))
    }

    /// The key for `kid`: from the cache while the keys are younger than 24 hours, else
    /// after a JWKS fetch — one at a time, the requests waiting for it sharing its
    /// outcome, and none while a failed fetch backs off.
    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let now = self.settings.clock.now();
        {
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid)
                && (self.static_keys || cache.fresh(now))
            {
                return Ok(key.clone());
            }
        }
        if self.static_keys {
            return Err(TokenError::UnknownKey);
        }
        let _guard = self.refreshing.lock().await;
        {
            // Whoever waited here finds what the fetch before it brought.
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid)
                && cache.fresh(now)
            {
                return Ok(key.clone());
            }
            if cache.retry_at.is_some_and(|at| now < at) {
                return Err(TokenError::Unavailable(
                    "the last fetch of the signing keys failed; waiting before the next".into(),
                ));
            }
            let recently = cache.fetched_at.is_some_and(|at| {
                (now - at).to_std().unwrap_or_default() < self.settings.refresh_interval
            });
            if cache.fresh(now) && recently {
                return Err(TokenError::UnknownKey);
            }
        }
        self.fetch_into_cache(now).await?;
        self.cache
            .read()
            .await
            .keys
            .get(kid)
            .cloned()
            .ok_or(TokenError::UnknownKey)
    }

    /// Fetches the keys into the cache (the caller holds `refreshing`); a failure sets
    /// the back-off.
    async fn fetch_into_cache(&self, now: DateTime<Utc>) -> Result<(), TokenError> {
        match self.fetch_keys().await {
            Ok(keys) => {
                let mut cache = self.cache.write().await;
                cache.keys = keys;
                cache.fetched_at = Some(now);
                cache.failures = 0;
                cache.retry_at = None;
                Ok(())
            }
            Err(e) => {
                let mut cache = self.cache.write().await;
                cache.failures = cache.failures.saturating_add(1);
                let wait = BACKOFF_FIRST_SECONDS
                    .saturating_mul(1 << cache.failures.min(10).saturating_sub(1))
                    .min(BACKOFF_MAX_SECONDS);
                cache.retry_at = Some(now + chrono::Duration::seconds(wait));
                tracing::warn!(error = %e, failures = cache.failures, retry_in_seconds = wait,
                    "cannot fetch the identity provider's signing keys");
                Err(e)
            }
        }
    }

    /// Fetches the keys again once they are 20 hours old (or were never fetched), unless
    /// a failed fetch is backing off.
    pub async fn refresh_if_due(&self) {
        if self.static_keys {
            return;
        }
        let now = self.settings.clock.now();
        let due = |cache: &KeyCache| {
            cache
                .fetched_at
                .is_none_or(|at| now - at >= KEYS_REFRESH_AFTER)
                && cache.retry_at.is_none_or(|at| now >= at)
        };
        if !due(&*self.cache.read().await) {
            return;
        }
        let _guard = self.refreshing.lock().await;
        if due(&*self.cache.read().await) {
            let _ = self.fetch_into_cache(now).await;
        }
    }

    /// Keeps the keys fresh: checks every 10 seconds whether a refresh is due.
    pub async fn run_refresher(self: std::sync::Arc<Self>) {
        loop {
            self.refresh_if_due().await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    }

    async fn fetch_keys(&self) -> Result<HashMap<String, DecodingKey>, TokenError> {
        let metadata: Metadata = self.get_json(self.settings.metadata_url.as_str()).await?;
        let jwks: JwkSet = self.get_json(&metadata.jwks_uri).await?;
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk))
            else {
                continue;
            };
            keys.insert(kid, key);
        }
        tracing::debug!(
            keys = keys.len(),
            "fetched the identity provider's signing keys"
        );
        Ok(keys)
    }

    /// GETs a JSON document from the identity provider; any failure means "unavailable".
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, TokenError> {
        let unavailable = |e: reqwest::Error| TokenError::Unavailable(e.to_string());
        self.http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)
    }
}

/// The verified Office identity of the caller: an extractor that refuses the request
/// (401, JSON error) before the handler runs when the bearer token does not verify.
pub struct OfficeUser(pub OfficeIdentity);

impl OfficeUser {
    /// Verifies the bearer token of the request with `verifier`.
    pub async fn verify(
        verifier: &OfficeVerifier,
        parts: &axum::http::request::Parts,
    ) -> Result<Self, crate::error::AppError> {
        let token = bearer_token(&parts.headers)?;
        Ok(OfficeUser(verifier.verify(token).await?))
    }
}

impl<S> axum::extract::FromRequestParts<S> for OfficeUser
where
    S: Send + Sync,
    std::sync::Arc<OfficeVerifier>: axum::extract::FromRef<S>,
{
    type Rejection = crate::error::AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let verifier: std::sync::Arc<OfficeVerifier> = axum::extract::FromRef::from_ref(state);
        OfficeUser::verify(&verifier, parts).await
    }
}

impl From<TokenError> for crate::error::AppError {
    fn from(e: TokenError) -> Self {
        let status = match e {
            TokenError::Unavailable(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
            _ => axum::http::StatusCode::UNAUTHORIZED,
        };
        crate::error::AppError::Unauthorized {
            status,
            body: Box::new(medimail_api::ErrorBody::new(e.code(), e.message())),
            reason: e.to_string(),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Result<&str, TokenError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(TokenError::Missing)?
        .to_str()
        .map_err(|_| TokenError::Malformed("non-ASCII authorization header".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| TokenError::Malformed("no scheme".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_allowed_tenants() {
        assert_eq!(AllowedTenants::parse("any"), AllowedTenants::Any);
        assert_eq!(AllowedTenants::parse(" ANY "), AllowedTenants::Any);
        let only = AllowedTenants::parse("AAA, bbb,,");
        assert!(only.allows("aaa") && only.allows("BBB"));
        assert!(!only.allows("ccc"));
        assert!(!AllowedTenants::parse("").allows("aaa"));
    }

    #[test]
    fn every_error_has_a_stable_code_and_a_french_message() {
        let all = [
            TokenError::Missing,
            TokenError::Malformed(String::new()),
            TokenError::Algorithm(String::new()),
            TokenError::UnknownKey,
            TokenError::Signature,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::Audience,
            TokenError::Issuer,
            TokenError::Tenant(String::new()),
            TokenError::Scope,
            TokenError::Claims(String::new()),
            TokenError::Unavailable(String::new()),
        ];
        for e in all {
            assert!(e.code().starts_with("token_") || e.code() == "identity_provider_unavailable");
            assert!(e.message().ends_with('.'), "{}", e.message());
        }
    }

    #[test]
    fn reads_only_bearer_authorization() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(bearer_token(&headers), Err(TokenError::Missing));
        headers.insert(
            "authorization",
            "Bearer abc.def.ghi".parse().expect("value"),
        );
        assert_eq!(bearer_token(&headers), Ok("abc.def.ghi"));
        headers.insert("authorization", "bearer   xyz ".parse().expect("value"));
        assert_eq!(bearer_token(&headers), Ok("xyz"));
        headers.insert("authorization", "Basic dXNlcg==".parse().expect("value"));
        assert_eq!(bearer_token(&headers), Err(TokenError::Missing));
        headers.insert("authorization", "Bearer".parse().expect("value"));
        assert!(matches!(
            bearer_token(&headers),
            Err(TokenError::Malformed(_))
        ));
    }
}
