//! The account's HTTP API: `PUT /api/account/visibility` ("Liste rouge" or visible to
//! every Medimail user). Signed-in callers only, on their own account.

use axum::Router;
use axum::extract::{FromRef, State};
use axum::routing::put;
use medimail_api::{DirectoryVisibility, paths};
use sea_orm::DatabaseConnection;

use crate::auth::session::{Gate, SignedIn};
use crate::error::AppError;
use crate::web::Json;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Gate: FromRef<S>,
{
    Router::new().route(paths::ACCOUNT_VISIBILITY, put(set_visibility))
}

async fn set_visibility(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
    Json(wanted): Json<DirectoryVisibility>,
) -> Result<Json<DirectoryVisibility>, AppError> {
    let updated =
        crate::account::settings::set_liste_rouge(&db, signed_in.account, wanted.liste_rouge)
            .await?;
    Ok(Json(DirectoryVisibility {
        liste_rouge: updated.liste_rouge,
    }))
}
