//! The directory's HTTP API: `GET /api/directory/search` and the favorites
//! (`/api/directory/favorites`). Signed-in callers only; the national directory only for
//! accounts with MSSanté activated (manual part 2 §4).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use chrono::Utc;
use medimail_api::{DirectoryContact, DirectoryResults, FavoriteRequest, annuaire, paths};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;

use super::search::{self, Criteria, SearchError};
use crate::auth::session::SignedIn;
use crate::entity::{account, directory_favorite};
use crate::error::AppError;
use crate::state::AppState;

/// Favorites an account may keep.
pub const MAX_FAVORITES: u64 = 200;
/// Characters per criterion.
const MAX_FIELD: usize = 100;

pub fn router() -> Router<AppState> {
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
        .route(paths::ACCOUNT_VISIBILITY, put(set_visibility))
}

/// `PUT /api/account/visibility`: "Liste rouge" or visible to every Medimail user.
async fn set_visibility(
    State(state): State<AppState>,
    signed_in: SignedIn,
    body: axum::body::Bytes,
) -> Result<Json<medimail_api::DirectoryVisibility>, AppError> {
    use sea_orm::ActiveModelTrait;
    let wanted: medimail_api::DirectoryVisibility = crate::error::parse_json(&body)?;
    let mut account: account::ActiveModel = signed_in.account.clone().into();
    account.liste_rouge = Set(wanted.liste_rouge);
    let updated = account.update(&state.db).await?;
    crate::audit::record(
        &state.db,
        &updated.label(),
        "account_settings_changed",
        serde_json::json!({"account": updated.id, "liste_rouge": updated.liste_rouge}),
    )
    .await?;
    Ok(Json(medimail_api::DirectoryVisibility {
        liste_rouge: updated.liste_rouge,
    }))
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    annuaire: Option<String>,
    nom: Option<String>,
    prenom: Option<String>,
    raison_sociale: Option<String>,
    rpps: Option<String>,
    code_postal: Option<String>,
    ville: Option<String>,
    profession: Option<String>,
    specialite: Option<String>,
    departement: Option<String>,
}

/// The directory asked for, if the caller may search it.
fn allowed(which: Option<&str>, account: &account::Model) -> Result<&'static str, AppError> {
    match which.unwrap_or(annuaire::MEDIMAIL) {
        annuaire::MEDIMAIL => Ok(annuaire::MEDIMAIL),
        annuaire::MSSANTE if account.mssante_enabled => Ok(annuaire::MSSANTE),
        annuaire::MSSANTE => Err(AppError::rejected(
            StatusCode::FORBIDDEN,
            "directory_mssante_not_enabled",
            "L'Annuaire National MSSanté est réservé aux comptes dont la fonctionnalité \
             MSSanté est activée. Utilisez l'Annuaire Medimail.",
        )),
        _ => Err(AppError::rejected(
            StatusCode::BAD_REQUEST,
            "directory_unknown",
            "Annuaire inconnu : choisissez l'Annuaire Medimail ou l'Annuaire National MSSanté.",
        )),
    }
}

fn criteria(q: SearchQuery) -> Result<Criteria, AppError> {
    let take = |v: Option<String>, field: &str| -> Result<String, AppError> {
        let v = v.unwrap_or_default();
        if v.chars().count() > MAX_FIELD || v.chars().any(char::is_control) {
            return Err(AppError::on_field(
                StatusCode::BAD_REQUEST,
                field,
                "directory_criteria_invalid",
                format!("Ce critère est trop long ou illisible ({MAX_FIELD} caractères au plus)."),
            ));
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

async fn favorites_of(
    state: &AppState,
    account_id: &str,
    which: Option<&str>,
) -> Result<Vec<DirectoryContact>, AppError> {
    let mut q = directory_favorite::Entity::find()
        .filter(directory_favorite::Column::AccountId.eq(account_id))
        .order_by_asc(directory_favorite::Column::CreatedAt);
    if let Some(which) = which {
        q = q.filter(directory_favorite::Column::Annuaire.eq(which));
    }
    let mut contacts: Vec<DirectoryContact> = q
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|f| serde_json::from_str::<DirectoryContact>(&f.contact).ok())
        .map(|mut c| {
            c.favorite = true;
            c
        })
        .collect();
    // A contact who went on the liste rouge after being starred is no longer shown.
    let red: std::collections::HashSet<String> = account::Entity::find()
        .filter(account::Column::ListeRouge.eq(true))
        .filter(account::Column::Mailbox.is_in(contacts.iter().map(|c| c.address.as_str())))
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|a| a.mailbox)
        .collect();
    contacts.retain(|c| !red.contains(&c.address));
    contacts.sort_by_key(search::contact_order);
    Ok(contacts)
}

async fn search_route(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<SearchQuery>,
) -> Result<Json<DirectoryResults>, AppError> {
    let which = allowed(query.annuaire.as_deref(), &signed_in.account)?;
    let criteria = criteria(query)?;
    if criteria.is_empty() {
        let results = favorites_of(&state, &signed_in.account.id, Some(which)).await?;
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
    let found = match search::search(&state.db, which, &criteria).await {
        Ok(found) => found,
        Err(SearchError::TooShort) => {
            return Err(AppError::on_field(
                StatusCode::BAD_REQUEST,
                "nom",
                "directory_criteria_too_short",
                search::TOO_SHORT,
            ));
        }
        Err(SearchError::Db(e)) => return Err(e.into()),
    };
    let starred: std::collections::HashSet<String> = directory_favorite::Entity::find()
        .filter(directory_favorite::Column::AccountId.eq(signed_in.account.id.as_str()))
        .filter(directory_favorite::Column::Annuaire.eq(which))
        .filter(
            directory_favorite::Column::Address
                .is_in(found.contacts.iter().map(|c| c.address.as_str())),
        )
        .all(&state.db)
        .await?
        .into_iter()
        .map(|f| f.address)
        .collect();
    let results = found
        .contacts
        .into_iter()
        .map(|mut c| {
            c.favorite = starred.contains(&c.address);
            c
        })
        .collect();
    Ok(Json(DirectoryResults {
        results,
        more: found.more,
        favorites_only: false,
        hint: found.more.then(|| search::REFINE.to_owned()),
    }))
}

#[derive(Deserialize, Default)]
struct FavoritesQuery {
    annuaire: Option<String>,
}

async fn list_favorites(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<FavoritesQuery>,
) -> Result<Json<DirectoryResults>, AppError> {
    let which = match query.annuaire.as_deref() {
        None => None,
        Some(w) => Some(allowed(Some(w), &signed_in.account)?),
    };
    let results = favorites_of(&state, &signed_in.account.id, which).await?;
    Ok(Json(DirectoryResults {
        results,
        more: false,
        favorites_only: true,
        hint: None,
    }))
}

async fn add_favorite(
    State(state): State<AppState>,
    signed_in: SignedIn,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<DirectoryContact>), AppError> {
    let request: FavoriteRequest = crate::error::parse_json(&body)?;
    let which = allowed(Some(&request.annuaire), &signed_in.account)?;
    if request.address.len() > 320 {
        return Err(AppError::unreadable("address too long"));
    }
    let Some(mut contact) = search::contact(&state.db, which, &request.address).await? else {
        return Err(AppError::rejected(
            StatusCode::NOT_FOUND,
            "directory_contact_unknown",
            "Ce contact ne figure pas (ou plus) dans l'annuaire.",
        ));
    };
    let count = directory_favorite::Entity::find()
        .filter(directory_favorite::Column::AccountId.eq(signed_in.account.id.as_str()))
        .count(&state.db)
        .await?;
    if count >= MAX_FAVORITES {
        return Err(AppError::rejected(
            StatusCode::CONFLICT,
            "favorites_full",
            format!(
                "Vous avez déjà {MAX_FAVORITES} favoris : retirez-en un avant d'en ajouter un autre."
            ),
        ));
    }
    contact.favorite = false;
    let row = directory_favorite::ActiveModel {
        account_id: Set(signed_in.account.id.clone()),
        annuaire: Set(which.to_owned()),
        address: Set(contact.address.clone()),
        contact: Set(
            serde_json::to_string(&contact).map_err(|e| AppError::Internal(e.to_string()))?
        ),
        created_at: Set(Utc::now()),
    };
    directory_favorite::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                directory_favorite::Column::AccountId,
                directory_favorite::Column::Annuaire,
                directory_favorite::Column::Address,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
    contact.favorite = true;
    Ok((StatusCode::CREATED, Json(contact)))
}

async fn remove_favorite(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((which, address)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    directory_favorite::Entity::delete_many()
        .filter(directory_favorite::Column::AccountId.eq(signed_in.account.id.as_str()))
        .filter(directory_favorite::Column::Annuaire.eq(which.as_str()))
        .filter(directory_favorite::Column::Address.eq(address.trim().to_lowercase()))
        .exec(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
