//! `GET /api/health`: liveness and a database ping, for load balancers and operators.

use axum::Router;
use axum::extract::{FromRef, State};
use axum::routing::get;
use medimail_api::{Health, paths};
use sea_orm::DatabaseConnection;

use crate::error::AppError;
use crate::web::Json;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
{
    Router::new().route(paths::HEALTH, get(health))
}

async fn health(State(db): State<DatabaseConnection>) -> Result<Json<Health>, AppError> {
    db.ping().await.map_err(AppError::DatabaseUnavailable)?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: crate::db::kind(&db),
    }))
}
