//! Pro Santé Connect (issue 20, first step): the relying party's core. PSC is the national
//! OpenID Connect provider of health professionals (e-CPS or CPS card). This module
//! discovers the provider, starts the authorization code flow (PKCE S256, `state`,
//! `nonce`, `acr_values=eidas1`, scopes `openid scope_all`; the **oauth2** crate),
//! exchanges the code, verifies the ID token (signature by the JWKS key of its `kid`,
//! `iss`, `aud`, `exp`, `nonce`, `acr`) and reads the professional from userinfo
//! (`SubjectNameID`: `8` + RPPS or `0` + ADELI). What PSC publishes, with sources:
//! `docs/PRO-SANTE-CONNECT.md`. The sign-in routes, the linking to an account and the
//! buttons build on it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;

/// The production issuer (`MEDIMAIL_PSC_ISSUER`'s default).
pub use crate::config::DEFAULT_PSC_ISSUER as PRODUCTION_ISSUER;
/// The assurance levels accepted in the ID token's `acr`: `eidas1` is what is asked;
/// a card sign-in has been seen answering `eidas3`.
const ACCEPTED_ACR: [&str; 3] = ["eidas1", "eidas2", "eidas3"];
/// Where PSC sends the browser back.
pub const CALLBACK: &str = "/auth/psc/callback";
/// How long the discovery document and the keys are kept.
const KEPT: Duration = Duration::from_secs(3600);
/// An unknown `kid` refreshes the keys at most this often (key rotation, not a flood).
const REFRESH_AT_MOST: Duration = Duration::from_secs(60);

/// Why a PSC sign-in failed; each has a stable code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PscError {
    #[error("Pro Santé Connect cannot be reached: {0}")]
    Unreachable(String),
    #[error("the provider's discovery document does not name the configured issuer")]
    IssuerMismatch,
    #[error("the code was refused: {0}")]
    CodeRefused(String),
    #[error("the ID token is missing")]
    NoIdToken,
    #[error("the ID token is malformed: {0}")]
    Malformed(String),
    #[error("the ID token is signed by an unknown key")]
    UnknownKey,
    #[error("the ID token is refused: {0}")]
    Invalid(String),
    #[error("the ID token is for another application")]
    Audience,
    #[error("the ID token's nonce is not this sign-in's")]
    Nonce,
    #[error("the authentication level is too low (acr {0:?})")]
    Acr(Option<String>),
    #[error("userinfo has no national identifier")]
    NoIdentifier,
}

impl PscError {
    /// The stable code (audit, logs, the page's error).
    pub fn code(&self) -> &'static str {
        match self {
            PscError::Unreachable(_) => "psc_unreachable",
            PscError::IssuerMismatch => "psc_issuer_mismatch",
            PscError::CodeRefused(_) => "psc_code_refused",
            PscError::NoIdToken => "psc_no_id_token",
            PscError::Malformed(_) => "psc_token_malformed",
            PscError::UnknownKey => "psc_unknown_key",
            PscError::Invalid(_) => "psc_token_invalid",
            PscError::Audience => "psc_wrong_audience",
            PscError::Nonce => "psc_nonce_mismatch",
            PscError::Acr(_) => "psc_acr_too_low",
            PscError::NoIdentifier => "psc_no_identifier",
        }
    }

    /// What the professional reads (French).
    pub fn message(&self) -> String {
        match self {
            PscError::Unreachable(_) | PscError::IssuerMismatch => {
                "Pro Santé Connect ne répond pas pour le moment. Réessayez dans quelques \
                 minutes, ou identifiez-vous avec le code reçu par mail."
            }
            PscError::CodeRefused(_) => {
                "Pro Santé Connect a refusé cette connexion (lien déjà utilisé ou expiré). \
                 Recommencez depuis le bouton « carte CPx »."
            }
            PscError::NoIdToken
            | PscError::Malformed(_)
            | PscError::UnknownKey
            | PscError::Invalid(_)
            | PscError::Audience
            | PscError::Nonce => {
                "La réponse de Pro Santé Connect n'a pas pu être vérifiée : la connexion est \
                 refusée. Recommencez depuis le bouton « carte CPx »."
            }
            PscError::Acr(_) => {
                "Le niveau d'authentification de Pro Santé Connect est insuffisant : \
                 utilisez votre carte CPS ou l'application e-CPS."
            }
            PscError::NoIdentifier => {
                "Pro Santé Connect n'a pas transmis votre identifiant national (RPPS ou \
                 ADELI) : la connexion par carte est impossible avec cette identité."
            }
        }
        .to_owned()
    }
}

/// What the relying party is configured with.
#[derive(Clone)]
pub struct PscSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where PSC sends the browser back.
    pub redirect_uri: String,
    /// Outgoing HTTPS (no redirects followed).
    pub http: reqwest::Client,
}

/// The provider's discovery document (the fields used).
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

struct Discovered {
    metadata: Metadata,
    keys: HashMap<String, DecodingKey>,
    at: Instant,
}

/// A sign-in started: where to send the browser, and what the callback must get back
/// (kept by the caller, sealed, never shown).
#[derive(Clone, Debug)]
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// The professional PSC vouched for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Professional {
    /// `SubjectNameID` (the national identifier, `idNat_PS`).
    pub national_id: String,
    /// The RPPS number (`8` + 11 digits), or the ADELI number (`0` + 9 characters).
    pub rpps: Option<String>,
    pub adeli: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The profession codes of its practices (`SubjectRefPro.exercices[].codeProfession`).
    pub professions: Vec<String>,
    /// The ID token's `acr`.
    pub acr: String,
}

/// The relying party.
pub struct Psc {
    settings: PscSettings,
    discovered: tokio::sync::RwLock<Option<Discovered>>,
    last_refresh: std::sync::Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct IdClaims {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    acr: Option<String>,
}

impl Psc {
    /// From `MEDIMAIL_PSC_*`: `None` when no client id is set (no « carte CPx » button).
    pub fn from_config(config: &crate::config::Config) -> Result<Option<Psc>, String> {
        let Some(client_id) = config
            .psc_client_id
            .clone()
            .filter(|c| !c.trim().is_empty())
        else {
            return Ok(None);
        };
        let path = config.psc_client_secret_file.as_ref().ok_or(
            "MEDIMAIL_PSC_CLIENT_ID needs MEDIMAIL_PSC_CLIENT_SECRET_FILE (the client secret)",
        )?;
        let secret = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .trim()
            .to_owned();
        if secret.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        Ok(Some(Psc::new(PscSettings {
            issuer: config.psc_issuer.clone(),
            client_id,
            client_secret: secret,
            redirect_uri: format!("{}{}", config.origin(), CALLBACK),
            http: crate::http_client::outgoing_no_redirect(config)?,
        })))
    }

    /// The configured issuer (the `tenant_id` of the card links).
    pub fn issuer(&self) -> &str {
        self.settings.issuer.trim_end_matches('/')
    }

    pub fn new(settings: PscSettings) -> Psc {
        Psc {
            settings,
            discovered: tokio::sync::RwLock::new(None),
            last_refresh: std::sync::Mutex::new(None),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, PscError> {
        let answer = self
            .settings
            .http
            .get(url)
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| PscError::Unreachable(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(PscError::Unreachable(format!("{url}: {}", answer.status())));
        }
        answer
            .json()
            .await
            .map_err(|e| PscError::Unreachable(format!("{url}: {e}")))
    }

    /// Discovery (PSC's `wallet-openid-configuration`, else the standard document) and
    /// the keys, fetched again after [`KEPT`] or when `refresh`.
    async fn discover(&self, refresh: bool) -> Result<Metadata, PscError> {
        if !refresh
            && let Some(d) = self.discovered.read().await.as_ref()
            && d.at.elapsed() < KEPT
        {
            return Ok(d.metadata.clone());
        }
        let issuer = self.settings.issuer.trim_end_matches('/');
        let metadata: Metadata = match self
            .get_json(&format!("{issuer}/.well-known/wallet-openid-configuration"))
            .await
        {
            Ok(m) => m,
            Err(_) => {
                self.get_json(&format!("{issuer}/.well-known/openid-configuration"))
                    .await?
            }
        };
        if metadata.issuer.trim_end_matches('/') != issuer {
            return Err(PscError::IssuerMismatch);
        }
        let set: JwkSet = self.get_json(&metadata.jwks_uri).await?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect();
        *self.discovered.write().await = Some(Discovered {
            metadata: metadata.clone(),
            keys,
            at: Instant::now(),
        });
        Ok(metadata)
    }

    /// The key `kid`; an unknown one refreshes the keys once (rotation), at most every
    /// [`REFRESH_AT_MOST`].
    async fn key(&self, kid: &str) -> Result<DecodingKey, PscError> {
        if let Some(key) = self
            .discovered
            .read()
            .await
            .as_ref()
            .and_then(|d| d.keys.get(kid).cloned())
        {
            return Ok(key);
        }
        let may_refresh = {
            let mut last = self.last_refresh.lock().unwrap_or_else(|e| e.into_inner());
            let may = last.is_none_or(|t| t.elapsed() >= REFRESH_AT_MOST);
            if may {
                *last = Some(Instant::now());
            }
            may
        };
        if may_refresh {
            self.discover(true).await?;
        }
        self.discovered
            .read()
            .await
            .as_ref()
            .and_then(|d| d.keys.get(kid).cloned())
            .ok_or(PscError::UnknownKey)
    }

    fn client(&self, metadata: &Metadata) -> Result<super::dialog::DialogClient, PscError> {
        let bad = |e: oauth2::url::ParseError| PscError::Unreachable(format!("endpoint: {e}"));
        Ok(
            oauth2::Client::new(ClientId::new(self.settings.client_id.clone()))
                .set_client_secret(ClientSecret::new(self.settings.client_secret.clone()))
                // PSC's examples send the secret in the body (`client_secret_post`).
                .set_auth_type(oauth2::AuthType::RequestBody)
                .set_auth_uri(AuthUrl::new(metadata.authorization_endpoint.clone()).map_err(bad)?)
                .set_token_uri(TokenUrl::new(metadata.token_endpoint.clone()).map_err(bad)?)
                .set_redirect_uri(
                    RedirectUrl::new(self.settings.redirect_uri.clone()).map_err(bad)?,
                ),
        )
    }

    /// Starts a sign-in: the authorize URL, with a fresh `state`, `nonce` and PKCE pair.
    pub async fn start(&self) -> Result<Started, PscError> {
        let metadata = self.discover(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random().secret().clone();
        let (url, state) = self
            .client(&metadata)?
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("scope_all".into()))
            .add_extra_param("acr_values", "eidas1")
            .add_extra_param("nonce", nonce.clone())
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce,
            verifier: verifier.secret().clone(),
        })
    }

    /// Ends a sign-in: the code exchanged (with the PKCE verifier), the ID token verified
    /// against this sign-in's `nonce`, the professional read from userinfo.
    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Professional, PscError> {
        let metadata = self.discover(false).await?;
        let http = self.settings.http.clone();
        let tokens = self
            .client(&metadata)?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&|request| super::dialog::send(http.clone(), request))
            .await
            .map_err(|e| PscError::CodeRefused(e.to_string()))?;
        let id_token = tokens
            .extra_fields()
            .id_token
            .clone()
            .ok_or(PscError::NoIdToken)?;
        let acr = self.verify_id_token(&metadata, &id_token, nonce).await?;
        let info: serde_json::Value = {
            let answer = self
                .settings
                .http
                .get(&metadata.userinfo_endpoint)
                .bearer_auth(tokens.access_token().secret())
                .timeout(Duration::from_secs(15))
                .send()
                .await
                .map_err(|e| PscError::Unreachable(e.to_string()))?;
            if !answer.status().is_success() {
                return Err(PscError::Unreachable(format!(
                    "userinfo: {}",
                    answer.status()
                )));
            }
            answer
                .json()
                .await
                .map_err(|e| PscError::Unreachable(format!("userinfo: {e}")))?
        };
        professional(&info, acr)
    }

    /// The ID token's signature (by the key its `kid` names), `iss`, `aud`, `exp`, then
    /// `nonce` and `acr`; returns the `acr`.
    async fn verify_id_token(
        &self,
        metadata: &Metadata,
        token: &str,
        nonce: &str,
    ) -> Result<String, PscError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| PscError::Malformed(e.to_string()))?;
        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256
        ) {
            return Err(PscError::Malformed(format!("algorithm {:?}", header.alg)));
        }
        let kid = header
            .kid
            .ok_or_else(|| PscError::Malformed("no kid".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[metadata.issuer.as_str()]);
        validation.set_audience(&[self.settings.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let data =
            jsonwebtoken::decode::<IdClaims>(token, &key, &validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidAudience => PscError::Audience,
                    _ => PscError::Invalid(e.to_string()),
                }
            })?;
        if !data
            .claims
            .nonce
            .as_deref()
            .is_some_and(|n| crate::keys::secrets_equal(n, nonce))
        {
            return Err(PscError::Nonce);
        }
        match data.claims.acr {
            Some(acr) if ACCEPTED_ACR.contains(&acr.as_str()) => Ok(acr),
            other => Err(PscError::Acr(other)),
        }
    }
}

/// The professional of a userinfo answer.
pub fn professional(info: &serde_json::Value, acr: String) -> Result<Professional, PscError> {
    let national_id = info["SubjectNameID"]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .ok_or(PscError::NoIdentifier)?
        .to_owned();
    let rest = |prefix: char, len: usize| {
        national_id
            .strip_prefix(prefix)
            .filter(|r| r.len() == len && r.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(str::to_owned)
    };
    let text = |key: &str| {
        info[key]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut professions: Vec<String> = info["SubjectRefPro"]["exercices"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|e| e["codeProfession"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    professions.dedup();
    Ok(Professional {
        rpps: rest('8', 11).filter(|r| r.chars().all(|c| c.is_ascii_digit())),
        adeli: rest('0', 9),
        national_id,
        given_name: text("given_name"),
        family_name: text("family_name"),
        professions,
        acr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_national_identifier_gives_the_rpps_or_the_adeli() {
        let info = serde_json::json!({
            "SubjectNameID": "899700427885",
            "given_name": "KIT", "family_name": "DOC0042788",
            "SubjectRefPro": {"exercices": [{"codeProfession": "10"}]},
        });
        let p = professional(&info, "eidas1".into()).expect("professional");
        assert_eq!(p.rpps.as_deref(), Some("99700427885"));
        assert_eq!(p.adeli, None);
        assert_eq!(p.professions, vec!["10"]);
        assert_eq!(p.family_name.as_deref(), Some("DOC0042788"));
        let adeli = professional(
            &serde_json::json!({"SubjectNameID": "0751234567"}),
            "eidas1".into(),
        )
        .expect("adeli");
        assert_eq!(adeli.adeli.as_deref(), Some("751234567"));
        assert_eq!(adeli.rpps, None);
        let other = professional(
            &serde_json::json!({"SubjectNameID": "ANS20231122132732"}),
            "eidas1".into(),
        )
        .expect("test identity");
        assert_eq!((other.rpps, other.adeli), (None, None));
        assert_eq!(
            professional(&serde_json::json!({"sub": "x"}), "eidas1".into()),
            Err(PscError::NoIdentifier)
        );
    }
}
