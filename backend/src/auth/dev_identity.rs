//! The development identity provider (`MEDIMAIL_DEV_IDENTITY`): so that the quick start
//! works in a plain browser, without Microsoft 365, the server mints Office-like tokens
//! for a mailbox and name the user picks, signed with an RSA key generated at start and
//! never written anywhere. In that mode the verifier trusts only that key.
//!
//! It is refused unless the server listens on loopback with a loopback public origin
//! (see `startup`), and a warning is logged at every start.

use std::collections::HashMap;

use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use std::sync::Arc;

use axum::extract::{FromRef, State};
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::DecodingKey;
use medimail_api::{DevIdentityRequest, DevIdentityToken, paths};
use sha2::{Digest, Sha256};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth::office::{AllowedTenants, OfficeVerifier, VerifierSettings};
use crate::auth::refusal::AuthRefusal;
use crate::error::{AppError, RequestRefusal};
use crate::openapi::refusals;
use crate::web::{Json, Multipart};

/// The tenant every development identity belongs to.
pub const TENANT: &str = "00000000-0000-4000-8000-00000000de00";
/// The audience of development tokens when no client id is configured.
pub const CLIENT_ID: &str = "00000000-0000-4000-8000-00000000de01";
const KID: &str = "medimail-development";
/// Development tokens live one hour, like Entra ID access tokens.
pub const TOKEN_LIFETIME_SECONDS: u64 = 3600;

pub struct DevIdentity {
    key: KeyPair,
    issuer_template: String,
    audience: String,
    /// `host[:port]` of the public origin: the only `Host` its routes answer.
    authority: String,
}

impl DevIdentity {
    /// Generates the signing key (RSA 2048).
    pub fn generate(origin: &str, client_id: Option<&str>) -> Result<Self, String> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| "cannot generate the development signing key".to_owned())?;
        Ok(Self {
            key,
            issuer_template: format!("{origin}{}/{{tid}}", paths::DEV_IDENTITY),
            audience: client_id.unwrap_or(CLIENT_ID).to_owned(),
            authority: origin
                .split_once("://")
                .map_or(origin, |(_, rest)| rest)
                .trim_end_matches('/')
                .to_ascii_lowercase(),
        })
    }

    /// The verifier that trusts only this provider's key.
    pub fn verifier(
        &self,
        refresh_interval: std::time::Duration,
        clock: crate::clock::Clock,
    ) -> OfficeVerifier {
        let settings = VerifierSettings {
            // Never fetched: the keys are static.
            metadata_url: url::Url::parse("http://127.0.0.1/unused").expect("a valid literal URL"),
            issuer_template: self.issuer_template.clone(),
            tenants: AllowedTenants::parse(TENANT),
            audiences: vec![self.audience.clone()],
            refresh_interval,
            client_apps: vec![self.audience.to_ascii_lowercase()],
            clock,
        };
        let public = DecodingKey::from_rsa_der(self.key.public_key().as_ref());
        OfficeVerifier::with_static_keys(settings, HashMap::from([(KID.to_owned(), public)]))
    }

    /// A token for `mailbox` / `name`, valid one hour from `now`. The object id is derived
    /// from the mailbox, so the same mailbox always finds the same account.
    pub fn mint(&self, mailbox: &str, name: &str, now: DateTime<Utc>) -> Result<String, String> {
        let mailbox = mailbox.trim().to_lowercase();
        let digest = Sha256::digest(format!("medimail-dev:{mailbox}").as_bytes());
        let oid = uuid::Builder::from_random_bytes(
            digest[..16]
                .try_into()
                .map_err(|_| "digest too short".to_owned())?,
        )
        .into_uuid()
        .to_string();
        self.mint_for(&oid, &mailbox, name, now)
    }

    /// A token for the object id `oid` naming `mailbox`: the same person after a change
    /// of address (the tests of the identity model use it).
    pub fn mint_for(
        &self,
        oid: &str,
        mailbox: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let mailbox = mailbox.trim().to_lowercase();
        let iat = now.timestamp();
        let claims = serde_json::json!({
            "iss": self.issuer_template.replace("{tid}", TENANT),
            "aud": self.audience,
            "azp": self.audience,
            "tid": TENANT,
            "oid": oid,
            "name": name.trim(),
            "preferred_username": mailbox,
            "scp": "access_as_user",
            "iat": iat,
            "nbf": iat,
            "exp": iat + TOKEN_LIFETIME_SECONDS as i64,
        });
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": KID});
        let signing_input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing failed".to_owned())?;
        Ok(format!("{signing_input}.{}", b64.encode(signature)))
    }
}

/// Checks what the user picked: a plausible address and a name, both bounded.
pub fn check_request(request: &DevIdentityRequest) -> Result<(), AppError> {
    let mailbox = request.mailbox.trim();
    let plausible = mailbox.len() <= 254
        && !mailbox.chars().any(|c| c.is_whitespace() || c.is_control())
        && mailbox.parse::<lettre::Address>().is_ok();
    if !plausible {
        return Err(AuthRefusal::DevMailboxInvalid.into());
    }
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(AuthRefusal::DevNameInvalid.into());
    }
    Ok(())
}

/// A caller of the development routes on this machine: the TCP peer is a loopback
/// address and `Host` is the public origin (a page elsewhere cannot reach them through
/// a browser on this machine, by DNS rebinding say).
pub struct LocalDeveloper;

impl<S> axum::extract::FromRequestParts<S> for LocalDeveloper
where
    S: Send + Sync,
    Option<Arc<DevIdentity>>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        let Some(dev) = Option::<Arc<DevIdentity>>::from_ref(state) else {
            return Err(AppError::NotFound);
        };
        let peer_local = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .is_some_and(|axum::extract::ConnectInfo(addr)| addr.ip().is_loopback());
        // HTTP/2 carries the host in the URI's authority, HTTP/1.1 in `Host`.
        let host = parts
            .uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| {
                parts
                    .headers
                    .get(axum::http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            });
        let host_ok = host.is_some_and(|h| h.eq_ignore_ascii_case(&dev.authority));
        if peer_local && host_ok {
            Ok(LocalDeveloper)
        } else {
            Err(AuthRefusal::DevNotLocal.into())
        }
    }
}

/// `GET /api/dev/identity` and `POST /api/dev/identity/token`; only mounted in dev mode.
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Option<Arc<DevIdentity>>: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(status))
        .routes(routes!(token))
        .routes(routes!(discard).layer(axum::extract::DefaultBodyLimit::max(
            medimail_api::limits::MAX_SEND_REQUEST_BYTES,
        )))
}

refusals! {
    TokenRefusals = [
        AuthRefusal::DevNotLocal,
        RequestRefusal::Unreadable,
        AuthRefusal::DevMailboxInvalid,
        AuthRefusal::DevNameInvalid,
    ];
    DiscardRefusals = [
        AuthRefusal::DevNotLocal,
        RequestRefusal::NotMultipart,
        RequestRefusal::TooLarge,
    ];
}

/// Development only: reads a multipart upload to the end and discards it — the baseline
/// the envelope bench compares sealing with.
pub const DISCARD: &str = "/api/dev/discard";

/// Development only: reads a multipart upload and drops it (the bench's baseline).
#[utoipa::path(
    post,
    path = DISCARD,
    tag = "development",
    request_body(content_type = "multipart/form-data", description = "Any parts."),
    responses((status = 200, description = "The bytes read.", body = u64), DiscardRefusals),
)]
async fn discard(
    _local: LocalDeveloper,
    Multipart(mut multipart): Multipart,
) -> Result<Json<u64>, AppError> {
    let mut bytes = 0u64;
    while let Some(mut field) = multipart.next_field().await.map_err(AppError::unreadable)? {
        while let Some(chunk) = field.chunk().await.map_err(AppError::unreadable)? {
            bytes += chunk.len() as u64;
        }
    }
    Ok(Json(bytes))
}

/// Development only: the development identity is on.
#[utoipa::path(
    get,
    path = paths::DEV_IDENTITY,
    tag = "development",
    responses((
        status = 200,
        description = "`{\"enabled\": true, \"tenant\": …}`.",
        body = Object,
        example = json!({"enabled": true, "tenant": TENANT}),
    )),
)]
async fn status(_local: LocalDeveloper) -> Json<serde_json::Value> {
    Json(serde_json::json!({"enabled": true, "tenant": TENANT}))
}

/// Development only: an Office-like token for the mailbox and name given.
#[utoipa::path(
    post,
    path = paths::DEV_IDENTITY_TOKEN,
    tag = "development",
    request_body = DevIdentityRequest,
    responses((status = 200, description = "The token.", body = DevIdentityToken), TokenRefusals),
)]
async fn token(
    _local: LocalDeveloper,
    State(dev): State<Option<Arc<DevIdentity>>>,
    Json(request): Json<DevIdentityRequest>,
) -> Result<Json<DevIdentityToken>, AppError> {
    let Some(dev) = dev else {
        return Err(AppError::NotFound);
    };
    check_request(&request)?;
    let access_token = dev
        .mint(&request.mailbox, &request.name, Utc::now())
        .map_err(AppError::Internal)?;
    Ok(Json(DevIdentityToken {
        access_token,
        expires_in: TOKEN_LIFETIME_SECONDS,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn its_tokens_verify_and_name_the_same_account_each_time() {
        let dev = DevIdentity::generate("https://localhost:3000", None).expect("key");
        let verifier = dev.verifier(
            std::time::Duration::from_secs(60),
            crate::clock::Clock::System,
        );
        let token = dev
            .mint("Marie.Curie@chu-dev.fr", "Marie CURIE", Utc::now())
            .expect("minted");
        let id = verifier.verify(&token).await.expect("verifies");
        assert_eq!(id.tenant_id, TENANT);
        assert_eq!(id.mailbox.as_deref(), Some("marie.curie@chu-dev.fr"));
        assert_eq!(id.name.as_deref(), Some("Marie CURIE"));
        let again = dev
            .mint("marie.curie@chu-dev.fr", "Marie CURIE", Utc::now())
            .expect("minted");
        assert_eq!(
            verifier.verify(&again).await.expect("ok").object_id,
            id.object_id
        );
        let other = dev
            .mint("pierre.dupond@chu-dev.fr", "P", Utc::now())
            .expect("minted");
        assert_ne!(
            verifier.verify(&other).await.expect("ok").object_id,
            id.object_id
        );
    }

    #[tokio::test]
    async fn trusts_only_its_own_key() {
        let dev = DevIdentity::generate("https://localhost:3000", None).expect("key");
        let stranger = DevIdentity::generate("https://localhost:3000", None).expect("key");
        let forged = stranger.mint("a@b.fr", "A", Utc::now()).expect("minted");
        let err = dev
            .verifier(
                std::time::Duration::from_secs(60),
                crate::clock::Clock::System,
            )
            .verify(&forged)
            .await
            .expect_err("another key with the same kid is refused");
        assert_eq!(err.code(), "token_invalid");
    }

    #[test]
    fn refuses_implausible_picks() {
        let ok = DevIdentityRequest {
            mailbox: "a.b@chu.fr".into(),
            name: "A B".into(),
        };
        assert!(check_request(&ok).is_ok());
        for (mailbox, name) in [
            ("pas une adresse", "A"),
            ("a@b.fr", ""),
            ("a@b.fr", "x\u{7}"),
        ] {
            let r = DevIdentityRequest {
                mailbox: mailbox.into(),
                name: name.into(),
            };
            assert!(check_request(&r).is_err(), "{mailbox:?} {name:?}");
        }
    }
}
