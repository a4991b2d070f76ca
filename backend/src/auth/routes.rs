//! The identity routes: `GET /api/me`, and the strong authentication under `/api/auth`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use medimail_api::{CodeRequested, Me, SessionInfo, paths};

use crate::auth::office::OfficeUser;
use crate::auth::session::SignedIn;
use crate::auth::strong;
use crate::client::ClientAddress;
use crate::error::{AppError, parse_json};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ME, get(me))
        .route(paths::AUTH_PASSPHRASE, post(choose_passphrase))
        .route(paths::AUTH_CODE, post(request_code))
        .route(
            paths::AUTH_SESSION,
            post(open_session).get(session_state).delete(sign_out),
        )
}

/// Also registers the account on first sight (automatic registration).
async fn me(
    State(state): State<AppState>,
    OfficeUser(identity): OfficeUser,
) -> Result<Json<Me>, AppError> {
    let account = crate::auth::account::find_or_register(&state.db, &identity).await?;
    let now = state.clock.now();
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
    State(state): State<AppState>,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let chosen = parse_json(&body)?;
    strong::choose_passphrase(&state, &identity, client, chosen).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn request_code(
    State(state): State<AppState>,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
) -> Result<Json<CodeRequested>, AppError> {
    Ok(Json(strong::request_code(&state, &identity, client).await?))
}

async fn open_session(
    State(state): State<AppState>,
    OfficeUser(identity): OfficeUser,
    ClientAddress(client): ClientAddress,
    body: Bytes,
) -> Result<(StatusCode, Json<SessionInfo>), AppError> {
    let request = parse_json(&body)?;
    let info = strong::open_session(&state, &identity, client, request).await?;
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
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientAddress(client): ClientAddress,
) -> Result<StatusCode, AppError> {
    strong::sign_out(&state, &signed_in, client).await?;
    Ok(StatusCode::NO_CONTENT)
}
