//! The directory's HTTP API: `GET /api/directory/search` and the favorites
//! (`/api/directory/favorites`). Signed-in callers only; the national directory only for
//! accounts with MSSanté activated (manual part 2 §4).

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use medimail_api::directory::MAX_FIELD_CHARS;
use medimail_api::{
    DirectoryContact, DirectoryResults, DirectorySearchQuery, FavoriteRequest, FavoritesQuery,
    annuaire, paths,
};
use sea_orm::DatabaseConnection;

use super::favorites;
use super::refusal::DirectoryRefusal;
use super::search::{self, Criteria, SearchError};
use crate::auth::session::{Gate, SignedIn};
use crate::clock::Clock;
use crate::entity::account;
use crate::error::AppError;
use crate::web::{Json, Path, Query};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Clock: FromRef<S>,
    Gate: FromRef<S>,
{
    Router::new()
        .route(paths::DIRECTORY_SEARCH, get(search_route))
        .route(
            paths::DIRECTORY_FAVORITES,
            get(list_favorites).post(add_favorite),
        )
        .route(
            "/api/directory/favorites/{annuaire}/{address}",
            delete(remove_favorite),
        )
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

async fn search_route(
    State(db): State<DatabaseConnection>,
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
    let mut found = match search::search(&db, which, &criteria).await {
        Ok(found) => found,
        Err(SearchError::TooShort) => return Err(DirectoryRefusal::CriteriaTooShort.into()),
        Err(SearchError::Db(e)) => return Err(e.into()),
    };
    favorites::mark_starred(&db, &signed_in.account.id, which, &mut found.contacts).await?;
    Ok(Json(DirectoryResults {
        results: found.contacts,
        more: found.more,
        favorites_only: false,
        hint: found.more.then(|| search::REFINE.to_owned()),
    }))
}

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

async fn add_favorite(
    State(db): State<DatabaseConnection>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Json(request): Json<FavoriteRequest>,
) -> Result<(StatusCode, Json<DirectoryContact>), AppError> {
    let which = allowed(Some(&request.annuaire), &signed_in.account)?;
    let contact = favorites::add(
        &db,
        &signed_in.account.id,
        which,
        &request.address,
        clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

async fn remove_favorite(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
    Path((which, address)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    favorites::remove(&db, &signed_in.account.id, &which, &address).await?;
    Ok(StatusCode::NO_CONTENT)
}
