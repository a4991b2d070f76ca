//! `GET /api/health`: liveness and a database ping, for load balancers and operators.

use axum::extract::{FromRef, State};
use medimail_api::{Health, paths};
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AppError;
use crate::openapi::refusals;
use crate::web::Json;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
{
    OpenApiRouter::default().routes(routes!(health))
}

refusals! {
    HealthRefusals = [AppError::DatabaseUnavailable(sea_orm::DbErr::Custom(String::new()))];
}

/// Liveness and a database ping.
///
/// Public, for load balancers and operators.
#[utoipa::path(
    get,
    path = paths::HEALTH,
    tag = "health",
    responses(
        (status = 200, description = "The server and its database answer.", body = Health),
        HealthRefusals,
    ),
)]
async fn health(State(db): State<DatabaseConnection>) -> Result<Json<Health>, AppError> {
    db.ping().await.map_err(AppError::DatabaseUnavailable)?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: crate::db::kind(&db),
    }))
}
