//! « Administration »'s HTTP API, for the managers of an organisation:
//! `GET /api/account/administration` (its accounts, a page at a time),
//! `PUT /api/account/administration/{id}` (eligible, stamps, unlock) and
//! `POST /api/account/administration/{id}/mssante` (« Activer » MSSanté for the account).
//! Every call first checks that the caller manages an organisation, with a session opened
//! by the strong authentication, and that the account is one of the organisation's.

use axum::extract::{FromRef, State};
use medimail_api::{
    AdministeredAccount, Administration, AdministrationChange, AdministrationQuery,
    MssanteActivation, paths,
};
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::account::administration::{self, AdministrationRefusal};
use crate::account::entity::organisation;
use crate::account::mssante::MssanteRefusal;
use crate::auth::openapi::signed_in;
use crate::auth::session::{Gate, SignedIn};
use crate::clock::Clock;
use crate::error::{AppError, RequestRefusal};
use crate::openapi::refusals;
use crate::web::{Json, Path, Query};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Gate: FromRef<S>,
    Clock: FromRef<S>,
    std::sync::Arc<crate::config::Config>: FromRef<S>,
    std::sync::Arc<crate::keys::Keys>: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(list))
        .routes(routes!(change))
        .routes(routes!(activate))
}

refusals! {
    ListRefusals = [
        signed_in(),
        AdministrationRefusal::NotAManager,
        AdministrationRefusal::StrongRequired,
    ];
    ChangeRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        AdministrationRefusal::NotAManager,
        AdministrationRefusal::StrongRequired,
        AdministrationRefusal::AccountUnknown,
        AdministrationRefusal::StampsInvalid,
    ];
    ActivateRefusals = [
        signed_in(),
        AdministrationRefusal::NotAManager,
        AdministrationRefusal::StrongRequired,
        AdministrationRefusal::AccountUnknown,
        MssanteRefusal::ConditionsUnmet,
        MssanteRefusal::NameMissing,
        MssanteRefusal::NotConfigured,
        MssanteRefusal::NoAddressLeft,
    ];
}

/// The organisation the caller manages, checked before any work.
async fn managed(
    db: &DatabaseConnection,
    signed_in: &SignedIn,
) -> Result<organisation::Model, AppError> {
    let strong = crate::account::mssante::is_strong(&signed_in.session);
    Ok(administration::managed(db, &signed_in.account, strong).await??)
}

/// « Administration »: the organisation the caller manages and one page of its accounts
/// (its mail domains' mailboxes), found by name or mailbox with `q`.
#[utoipa::path(
    get,
    path = paths::ACCOUNT_ADMINISTRATION,
    tag = "account",
    params(AdministrationQuery),
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The organisation and the page.", body = Administration),
        ListRefusals,
    ),
)]
async fn list(
    State(db): State<DatabaseConnection>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Query(query): Query<AdministrationQuery>,
) -> Result<Json<Administration>, AppError> {
    let organisation = managed(&db, &signed_in).await?;
    Ok(Json(
        administration::page(
            &db,
            &organisation,
            query.q.as_deref().unwrap_or(""),
            query.page.unwrap_or(1),
            clock.now(),
        )
        .await?,
    ))
}

/// A manager's change to one account of the organisation: « Compte éligible » (MSSanté),
/// « Timbres alloués » (`{"allocated": null}`: illimité), the end of its lock. Any field
/// refused, nothing is stored. Audited `account_administered` and `account_unlocked`.
#[utoipa::path(
    put,
    path = "/api/account/administration/{id}",
    tag = "account",
    params(("id" = String, Path, description = "The account's id.")),
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = AdministrationChange,
    responses(
        (status = 200, description = "The account as stored.", body = AdministeredAccount),
        ChangeRefusals,
    ),
)]
async fn change(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Json(wanted): Json<AdministrationChange>,
) -> Result<Json<AdministeredAccount>, AppError> {
    let organisation = managed(&db, &signed_in).await?;
    let target = administration::member(&db, &organisation, &id).await??;
    Ok(Json(
        administration::change(
            &db,
            &keys,
            &signed_in.account,
            &organisation,
            target,
            wanted,
            clock.now(),
        )
        .await??,
    ))
}

/// « Activer » MSSanté for one account of the organisation, by its manager: the account
/// eligible and its RPPS or ADELI filled (the manager's session is the strong
/// authentication). Already activated: its address. Audited `mssante_activated` with the
/// manager as the actor.
#[utoipa::path(
    post,
    path = "/api/account/administration/{id}/mssante",
    tag = "account",
    params(("id" = String, Path, description = "The account's id.")),
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "« Activation effectuée. »: the address.", body = MssanteActivation),
        ActivateRefusals,
    ),
)]
async fn activate(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    State(config): State<std::sync::Arc<crate::config::Config>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<MssanteActivation>, AppError> {
    let organisation = managed(&db, &signed_in).await?;
    let target = administration::member(&db, &organisation, &id).await??;
    let address = crate::account::mssante::activate_as(
        &db,
        &keys,
        &target,
        true,
        &signed_in.account.label(),
        config.mssante_domain.as_deref(),
        clock.now(),
    )
    .await??;
    Ok(Json(MssanteActivation { address }))
}
