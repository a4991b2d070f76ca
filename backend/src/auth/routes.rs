//! `GET /api/me`: who the caller is, according to their verified Office token.

use axum::routing::get;
use axum::{Json, Router};
use medimail_api::Me;

use crate::auth::office::OfficeUser;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/me", get(me))
}

async fn me(OfficeUser(identity): OfficeUser) -> Json<Me> {
    Json(Me {
        tenant_id: identity.tenant_id,
        object_id: identity.object_id,
        name: identity.name,
        mailbox: identity.mailbox,
    })
}
