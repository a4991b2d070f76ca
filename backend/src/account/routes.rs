//! The account's HTTP API: `PUT /api/account/visibility` ("Liste rouge" or visible to
//! every Medimail user). Signed-in callers only, on their own account.

use axum::extract::{FromRef, State};
use medimail_api::{DirectoryVisibility, paths};
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::openapi::signed_in;
use crate::auth::session::{Gate, SignedIn};
use crate::error::{AppError, RequestRefusal};
use crate::openapi::refusals;
use crate::web::Json;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Gate: FromRef<S>,
    std::sync::Arc<crate::keys::Keys>: FromRef<S>,
{
    OpenApiRouter::default().routes(routes!(set_visibility))
}

refusals! {
    VisibilityRefusals = [signed_in(), RequestRefusal::Unreadable];
}

/// "Visibilité dans l'annuaire": on the liste rouge or visible to every Medimail user.
///
/// Audited `account_settings_changed`; answers the stored value.
#[utoipa::path(
    put,
    path = paths::ACCOUNT_VISIBILITY,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = DirectoryVisibility,
    responses(
        (status = 200, description = "The stored value.", body = DirectoryVisibility),
        VisibilityRefusals,
    ),
)]
async fn set_visibility(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    signed_in: SignedIn,
    Json(wanted): Json<DirectoryVisibility>,
) -> Result<Json<DirectoryVisibility>, AppError> {
    let updated = crate::account::settings::set_liste_rouge(
        &db,
        &keys,
        signed_in.account,
        wanted.liste_rouge,
    )
    .await?;
    Ok(Json(DirectoryVisibility {
        liste_rouge: updated.liste_rouge,
    }))
}
