//! The identity routes: `GET /api/me`, and the strong authentication under `/api/auth`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use medimail_api::{ChoosePassphrase, CodeRequested, Me, OpenSession, SessionInfo, paths};
use sea_orm::DatabaseConnection;

use crate::auth::office::{OfficeUser, OfficeVerifier};
use crate::auth::session::{Gate, SignedIn};
use crate::auth::strong::{self, Authenticator};
use crate::client::ClientAddress;
use crate::clock::Clock;
use crate::error::AppError;
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::web::Json;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Arc<Mailer>: FromRef<S>,
    Arc<OfficeVerifier>: FromRef<S>,
    Clock: FromRef<S>,
    Gate: FromRef<S>,
{
    Router::new()
        .route(paths::ME, get(me))
        .route(paths::AUTH_PASSPHRASE, post(choose_passphrase))
        .route(paths::AUTH_CODE, post(request_code))
        .route(
            paths::AUTH_SESSION,
            post(open_session).get(session_state).delete(sign_out),
        )
}

/// The values the strong authentication works with, from the application state.
#[derive(Clone)]
struct Strong {
    db: DatabaseConnection,
    keys: Arc<Keys>,
    mailer: Arc<Mailer>,
    clock: Clock,
}

impl Strong {
    fn at_now(&self) -> Authenticator<'_> {
        Authenticator {
            db: &self.db,
            keys: &self.keys,
            mailer: &self.mailer,
            now: self.clock.now(),
        }
    }
}

impl<S> axum::extract::FromRequestParts<S> for Strong
where
    S: Send + Sync,
    DatabaseConnection: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Arc<Mailer>: FromRef<S>,
    Clock: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Strong {
            db: FromRef::from_ref(state),
            keys: FromRef::from_ref(state),
            mailer: FromRef::from_ref(state),
            clock: FromRef::from_ref(state),
        })
    }
}

/// Also registers the account on first sight (automatic registration).
async fn me(
    State(db): State<DatabaseConnection>,
    State(clock): State<Clock>,
    OfficeUser(identity): OfficeUser,
) -> Result<Json<Me>, AppError> {
    let account = crate::account::registry::find_or_register(&db, &identity).await?;
    let now = clock.now();
    Ok(Json(Me {
        tenant_id: identity.tenant_id,
        object_id: identity.object_id,
        name: identity.name,
        mailbox: identity.mailbox,
        account_id: account.id,
        needs_passphrase: account.passphrase_hash.is_none(),
        locked_until: account
            .locked_until
            .filter(|until| *until > now)
            .map(|t| t.to_rfc3339()),
        mssante_enabled: account.mssante_enabled,
        liste_rouge: account.liste_rouge,
    }))
}

async fn choose_passphrase(
    strong: Strong,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
    Json(chosen): Json<ChoosePassphrase>,
) -> Result<StatusCode, AppError> {
    strong::choose_passphrase(&strong.at_now(), &identity, client, chosen).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn request_code(
    strong: Strong,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
) -> Result<Json<CodeRequested>, AppError> {
    Ok(Json(
        strong::request_code(&strong.at_now(), &identity, client).await?,
    ))
}

async fn open_session(
    strong: Strong,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
    Json(request): Json<OpenSession>,
) -> Result<(StatusCode, Json<SessionInfo>), AppError> {
    let info = strong::open_session(&strong.at_now(), &identity, client, request).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn session_state(signed_in: SignedIn) -> Json<SessionInfo> {
    let (absolute, idle) = crate::auth::session::ends_at(&signed_in.session);
    Json(SessionInfo {
        session: None,
        expires_at: absolute.to_rfc3339(),
        idle_expires_at: idle.to_rfc3339(),
    })
}

async fn sign_out(
    strong: Strong,
    signed_in: SignedIn,
    ClientAddress(client): ClientAddress,
) -> Result<StatusCode, AppError> {
    strong::sign_out(&strong.at_now(), &signed_in, client).await?;
    Ok(StatusCode::NO_CONTENT)
}
