//! `GET /api/me`: who the caller is, according to their verified Office token, and the
//! state of their Medimail account.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use medimail_api::Me;

use crate::auth::office::OfficeUser;
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/me", get(me))
}

/// Also registers the account on first sight (automatic registration).
async fn me(
    State(state): State<AppState>,
    OfficeUser(identity): OfficeUser,
) -> Result<Json<Me>, AppError> {
    let account = crate::auth::account::find_or_register(&state.db, &identity).await?;
    Ok(Json(Me {
        tenant_id: identity.tenant_id,
        object_id: identity.object_id,
        name: identity.name,
        mailbox: identity.mailbox,
        account_id: account.id,
        needs_passphrase: account.passphrase_hash.is_none(),
        locked_until: account.locked_until.map(|t| t.to_rfc3339()),
    }))
}
