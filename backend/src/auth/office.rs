//! Verification of the Office identity token (an Entra ID v2 access token obtained by the
//! task pane with `Office.auth.getAccessToken()`), before any other work on a request.
//!
//! Rules (Microsoft identity platform, "Validate tokens"; docs/ARCHITECTURE.md "Identity"):
//! RS256 only; `kid` in the JWKS named by the configured OpenID metadata (cached, refreshed
//! on an unknown `kid` at most once a minute); `iss` equal to the issuer template for the
//! token's `tid`, an allowed tenant; `aud` the application id or its id URI; `scp`
//! containing `access_as_user`; `exp`/`nbf` with 5 minutes of leeway; `oid` and `tid`
//! present.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
}

#[derive(Deserialize)]
struct Claims {
    nonce: Option<String>,
    iss: Option<String>,
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
    fetched_at: Option<Instant>,
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
            fetched_at: Some(Instant::now()),
        });
        verifier
    }

    /// Checks a token and returns the identity it carries.
    pub async fn verify(&self, token: &str) -> Result<OfficeIdentity, TokenError> {
        let (identity, claims) = self.check(token).await?;
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

    /// The key for `kid`: from the cache, or after a (rate-limited) JWKS refresh.
    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        if let Some(key) = self.cache.read().await.keys.get(kid) {
            return Ok(key.clone());
        }
        if self.static_keys {
            return Err(TokenError::UnknownKey);
        }
        // One refresh at a time; whoever waited re-checks the cache first.
        let _guard = self.refreshing.lock().await;
        {
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid) {
                return Ok(key.clone());
            }
            if cache
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.settings.refresh_interval)
            {
                return Err(TokenError::UnknownKey);
            }
        }
        let keys = self.fetch_keys().await?;
        let mut cache = self.cache.write().await;
        cache.keys = keys;
        cache.fetched_at = Some(Instant::now());
        cache.keys.get(kid).cloned().ok_or(TokenError::UnknownKey)
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
            body: medimail_api::ErrorBody::new(e.code(), e.message()),
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
