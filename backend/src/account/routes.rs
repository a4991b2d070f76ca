//! The account's HTTP API: `PUT /api/account/visibility` ("Liste rouge" or visible to
//! every Medimail user) and `GET /api/account/mssante` (the conditions of the MSSanté
//! activation) and `GET /api/account/activity` (the stamps). Signed-in callers only, on
//! their own account.

use axum::extract::{FromRef, State};
use medimail_api::{AccountActivity, DirectoryVisibility, MssanteStatus, paths};
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
    OpenApiRouter::default()
        .routes(routes!(set_visibility))
        .routes(routes!(mssante_status))
        .routes(routes!(activity))
}

refusals! {
    VisibilityRefusals = [signed_in(), RequestRefusal::Unreadable];
    StatusRefusals = [signed_in()];
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

/// « MSSanté »: the three conditions of the activation (« compte personnel Medimail
/// éligible », « numéro RPPS ou ADELI », « authentification forte par carte CPS ou OTP »),
/// each with its state for the caller's account and this session.
#[utoipa::path(
    get,
    path = paths::ACCOUNT_MSSANTE,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The conditions and their state.", body = MssanteStatus),
        StatusRefusals,
    ),
)]
async fn mssante_status(signed_in: SignedIn) -> Json<MssanteStatus> {
    Json(crate::account::mssante::status(
        &signed_in.account,
        &signed_in.session,
    ))
}

/// « Activité »: « Timbres alloués à votre compte » (`null`: illimité) and « Timbres
/// utilisés », one per envelope sent.
#[utoipa::path(
    get,
    path = paths::ACCOUNT_ACTIVITY,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The account's stamps.", body = AccountActivity),
        StatusRefusals,
    ),
)]
async fn activity(signed_in: SignedIn) -> Json<AccountActivity> {
    let account = &signed_in.account;
    Json(AccountActivity {
        allocated: account
            .stamps_allocated
            .map(|n| u64::try_from(n).unwrap_or(0)),
        used: u64::try_from(account.stamps_used).unwrap_or(0),
    })
}
