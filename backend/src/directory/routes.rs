//! The directory's HTTP API: `GET /api/directory/search` and the favorites
//! (`/api/directory/favorites`). Signed-in callers only; the national directory only for
//! accounts with MSSanté activated (manual part 2 §4).

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use medimail_api::directory::MAX_FIELD_CHARS;
use medimail_api::{
    DirectoryContact, DirectoryResults, DirectorySearchQuery, FavoriteRequest, FavoritesQuery,
    annuaire, paths,
};
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::favorites;
use super::refusal::DirectoryRefusal;
use super::search::{self, Criteria, SearchError};
use crate::account::entity::account;
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
    Clock: FromRef<S>,
    Gate: FromRef<S>,
    std::sync::Arc<crate::keys::Keys>: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(search_route))
        .routes(routes!(list_favorites, add_favorite))
        .routes(routes!(remove_favorite))
}

refusals! {
    SearchRefusals = [
        signed_in(),
        RequestRefusal::BadQuery,
        DirectoryRefusal::CriteriaTooShort,
        DirectoryRefusal::CriteriaInvalid("nom"),
        DirectoryRefusal::Unknown,
        DirectoryRefusal::MssanteNotEnabled,
        DirectoryRefusal::RateLimited { wait: 20 },
    ];
    ListFavoritesRefusals = [
        signed_in(),
        RequestRefusal::BadQuery,
        DirectoryRefusal::Unknown,
        DirectoryRefusal::MssanteNotEnabled,
    ];
    AddFavoriteRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        DirectoryRefusal::Unknown,
        DirectoryRefusal::MssanteNotEnabled,
        DirectoryRefusal::ContactUnknown,
        DirectoryRefusal::FavoritesFull,
    ];
    RemoveFavoriteRefusals = [signed_in()];
}

/// The directory asked for, if the caller may search it.
fn allowed(which: Option<&str>, account: &account::Model) -> Result<&'static str, AppError> {
    match which.unwrap_or(annuaire::MEDIMAIL) {
        annuaire::MEDIMAIL => Ok(annuaire::MEDIMAIL),
        annuaire::MSSANTE if account.mssante_enabled => Ok(annuaire::MSSANTE),
        annuaire::MSSANTE => Err(DirectoryRefusal::MssanteNotEnabled.into()),
        _ => Err(DirectoryRefusal::Unknown.into()),
    }
}

/// The criteria of a query, each checked (length, no control characters) and trimmed.
fn criteria(q: DirectorySearchQuery) -> Result<Criteria, AppError> {
    let take = |v: Option<String>, field: &'static str| -> Result<String, AppError> {
        let v = v.unwrap_or_default();
        if v.chars().count() > MAX_FIELD_CHARS || v.chars().any(char::is_control) {
            return Err(DirectoryRefusal::CriteriaInvalid(field).into());
        }
        Ok(v.trim().to_owned())
    };
    Ok(Criteria {
        last_name: take(q.nom, "nom")?,
        first_name: take(q.prenom, "prenom")?,
        organisation: take(q.raison_sociale, "raison_sociale")?,
        identifier: take(q.rpps, "rpps")?,
        postal_code: take(q.code_postal, "code_postal")?,
        city: take(q.ville, "ville")?,
        profession: take(q.profession, "profession")?,
        speciality: take(q.specialite, "specialite")?,
        department: take(q.departement, "departement")?,
    })
}

/// Searches a directory ("Annuaire Medimail" or "Annuaire National MSSanté").
///
/// At least one text field of 3 characters (manual part 1 §5); every field empty lists
/// the caller's favorites instead. At most 50 results, exact matches first; `more` says to
/// refine. The national directory only for accounts with MSSanté activated.
#[utoipa::path(
    get,
    path = paths::DIRECTORY_SEARCH,
    tag = "directory",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(DirectorySearchQuery),
    responses(
        (status = 200, description = "The contacts found, or the favorites.", body = DirectoryResults),
        SearchRefusals,
    ),
)]
async fn search_route(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Query(query): Query<DirectorySearchQuery>,
) -> Result<Json<DirectoryResults>, AppError> {
    let which = allowed(query.annuaire.as_deref(), &signed_in.account)?;
    let criteria = criteria(query)?;
    if criteria.is_empty() {
        let results = favorites::list(&db, &signed_in.account.id, Some(which)).await?;
        return Ok(Json(DirectoryResults {
            hint: Some(if results.is_empty() {
                format!("Aucun favori. {}", search::TOO_SHORT)
            } else {
                search::TOO_SHORT.to_owned()
            }),
            results,
            more: false,
            favorites_only: true,
        }));
    }
    // One session's pace; the favorites above cost nothing and are not counted.
    if let Err(wait) = super::pace::take(&signed_in.session.id, clock.now()) {
        return Err(DirectoryRefusal::RateLimited { wait }.into());
    }
    let mut found = match search::search(&db, which, &criteria).await {
        Ok(found) => found,
        Err(SearchError::TooShort) => return Err(DirectoryRefusal::CriteriaTooShort.into()),
        Err(SearchError::Db(e)) => return Err(e.into()),
    };
    favorites::mark_starred(&db, &signed_in.account.id, which, &mut found.contacts).await?;
    // Who searched which directory, how, and how much came back (not the terms).
    crate::audit::record(
        &db,
        &keys,
        &signed_in.account.label(),
        "directory_searched",
        serde_json::json!({
            "account": signed_in.account.id,
            "annuaire": which,
            "criteria": criteria.names(),
            "results": found.contacts.len(),
        }),
    )
    .await?;
    Ok(Json(DirectoryResults {
        results: found.contacts,
        more: found.more,
        favorites_only: false,
        hint: found.more.then(|| search::REFINE.to_owned()),
    }))
}

/// The caller's favorites, of one directory or of both.
#[utoipa::path(
    get,
    path = paths::DIRECTORY_FAVORITES,
    tag = "directory",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(FavoritesQuery),
    responses(
        (status = 200, description = "The favorites (`favorites_only`).", body = DirectoryResults),
        ListFavoritesRefusals,
    ),
)]
async fn list_favorites(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
    Query(query): Query<FavoritesQuery>,
) -> Result<Json<DirectoryResults>, AppError> {
    let which = match query.annuaire.as_deref() {
        None => None,
        Some(w) => Some(allowed(Some(w), &signed_in.account)?),
    };
    let results = favorites::list(&db, &signed_in.account.id, which).await?;
    Ok(Json(DirectoryResults {
        results,
        more: false,
        favorites_only: true,
        hint: None,
    }))
}

/// Stars a contact of a directory (200 favorites at most).
#[utoipa::path(
    post,
    path = paths::DIRECTORY_FAVORITES,
    tag = "directory",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = FavoriteRequest,
    responses(
        (status = 201, description = "Starred: the contact's details as the directory has them.", body = DirectoryContact),
        AddFavoriteRefusals,
    ),
)]
async fn add_favorite(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Json(request): Json<FavoriteRequest>,
) -> Result<(StatusCode, Json<DirectoryContact>), AppError> {
    let which = allowed(Some(&request.annuaire), &signed_in.account)?;
    let contact = favorites::add(
        &db,
        &keys,
        &signed_in.account,
        which,
        &request.address,
        clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

/// Unstars a contact (nothing to do if it was not starred).
#[utoipa::path(
    delete,
    path = "/api/directory/favorites/{annuaire}/{address}",
    tag = "directory",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(
        ("annuaire" = String, Path, description = "`medimail` or `mssante`."),
        ("address" = String, Path, description = "The contact's address (percent-encoded)."),
    ),
    responses(
        (status = 204, description = "Not (or no longer) a favorite."),
        RemoveFavoriteRefusals,
    ),
)]
async fn remove_favorite(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    signed_in: SignedIn,
    Path((which, address)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    favorites::remove(&db, &keys, &signed_in.account, &which, &address).await?;
    Ok(StatusCode::NO_CONTENT)
}
