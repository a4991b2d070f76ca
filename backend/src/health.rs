//! `GET /api/health`: liveness and a database ping, for load balancers and operators.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use medimail_api::{Health, paths};

use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::HEALTH, get(health))
}

async fn health(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    state
        .db
        .ping()
        .await
        .map_err(AppError::DatabaseUnavailable)?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: crate::db::kind(&state.db),
    }))
}
