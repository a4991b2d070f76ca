//! « Dossiers » (issue 18; manual part 1 §6.2): « Vous pouvez créer et gérer des
//! sous-dossiers afin de classer vos enveloppes. » Sub-folders under « Messages reçus »,
//! « Messages envoyés » and « Messages supprimés », 3 deep at most, 100 per account,
//! names unique per parent (case and accents ignored); renamed; deleted (their envelopes
//! go back to the parent; a folder that still holds sub-folders is not deleted). Moving
//! envelopes files them for the caller only: a received envelope goes under « Messages
//! reçus », a sent one under « Messages envoyés », either under « Messages supprimés ».
//!
//! A folder's name may name a patient: it is sealed at rest (`Keys::seal_outbox`, bound to
//! the account and the folder) and unique through a keyed tag of its normalised form.
//! Every change takes the account's row lock first (`quota::lock_sender`), so the limits
//! hold when the same request arrives 100 times at once, and a move never files into a
//! folder being deleted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{FromRef, Path};
use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Utc};
use medimail_api::{
    EnvelopesMoved, Folder, FolderDeleted, FolderInfo, FolderTree, MoveEnvelopes, NewFolder,
    RenameFolder, limits, paths,
};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::account::entity::account;
use crate::auth::openapi::signed_in;
use crate::auth::session::{Gate, SignedIn};
use crate::clock::Clock;
use crate::envelope::entity::{envelope, envelope_recipient, folder};
use crate::error::{AppError, Refusal, RequestRefusal};
use crate::keys::Keys;
use crate::openapi::refusals;
use crate::web::Json;

/// Why a folder request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderRefusal {
    NameMissing,
    NameTooLong,
    /// Another sub-folder of the same parent has this name (case and accents ignored).
    NameTaken,
    TooDeep,
    TooMany,
    /// No sub-folder of the caller's has this id (or it was just deleted).
    NotFound,
    /// « Supprimer » a folder that still holds sub-folders.
    HasChildren,
    /// A received envelope under « Messages envoyés », or a sent one under « Messages
    /// reçus ».
    MoveNotAllowed,
    MoveTooMany,
    MoveEmpty,
}

impl Refusal for FolderRefusal {
    fn status(&self) -> StatusCode {
        match self {
            FolderRefusal::NotFound => StatusCode::NOT_FOUND,
            FolderRefusal::NameTaken
            | FolderRefusal::TooMany
            | FolderRefusal::HasChildren
            | FolderRefusal::MoveNotAllowed => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            FolderRefusal::NameMissing => "folder_name_missing",
            FolderRefusal::NameTooLong => "folder_name_too_long",
            FolderRefusal::NameTaken => "folder_name_taken",
            FolderRefusal::TooDeep => "folder_too_deep",
            FolderRefusal::TooMany => "folder_limit_reached",
            FolderRefusal::NotFound => "folder_not_found",
            FolderRefusal::HasChildren => "folder_has_children",
            FolderRefusal::MoveNotAllowed => "move_not_allowed",
            FolderRefusal::MoveTooMany => "move_too_many",
            FolderRefusal::MoveEmpty => "move_empty",
        }
    }

    fn message(&self) -> String {
        match self {
            FolderRefusal::NameMissing => "Indiquez le nom du sous-dossier.".to_owned(),
            FolderRefusal::NameTooLong => format!(
                "Le nom d'un sous-dossier ne peut pas dépasser {} caractères.",
                limits::MAX_FOLDER_NAME_CHARS
            ),
            FolderRefusal::NameTaken => {
                "Un sous-dossier de ce nom existe déjà dans ce dossier.".to_owned()
            }
            FolderRefusal::TooDeep => format!(
                "Un sous-dossier ne peut pas être créé à plus de {} niveaux sous « Messages \
                 reçus », « Messages envoyés » ou « Messages supprimés ».",
                limits::MAX_FOLDER_DEPTH
            ),
            FolderRefusal::TooMany => format!(
                "Vous avez atteint la limite de {} sous-dossiers : supprimez-en un avant d'en \
                 créer un autre.",
                limits::MAX_FOLDERS
            ),
            FolderRefusal::NotFound => "Ce sous-dossier n'existe pas ou plus.".to_owned(),
            FolderRefusal::HasChildren => "Ce sous-dossier contient d'autres sous-dossiers : \
                 supprimez-les d'abord."
                .to_owned(),
            FolderRefusal::MoveNotAllowed => "Un message reçu se classe sous « Messages reçus », \
                 un message envoyé sous « Messages envoyés » ; tout message peut aller dans \
                 « Messages supprimés »."
                .to_owned(),
            FolderRefusal::MoveTooMany => format!(
                "Vous pouvez déplacer au plus {} messages à la fois.",
                limits::ENVELOPES_MOVED
            ),
            FolderRefusal::MoveEmpty => "Sélectionnez au moins un message à déplacer.".to_owned(),
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            FolderRefusal::NameMissing | FolderRefusal::NameTooLong | FolderRefusal::NameTaken => {
                Some("name")
            }
            FolderRefusal::MoveNotAllowed => Some("target"),
            FolderRefusal::MoveTooMany | FolderRefusal::MoveEmpty => Some("references"),
            _ => None,
        }
    }
}

/// Where a folder key leads: one of the three folders, or a sub-folder of the caller's.
pub struct Place {
    pub root: Folder,
    pub folder: Option<folder::Model>,
}

impl Place {
    /// The key lists and moves use for it.
    pub fn key(&self) -> String {
        self.folder
            .as_ref()
            .map_or_else(|| self.root.as_str().to_owned(), |f| f.id.clone())
    }

    pub fn folder_id(&self) -> Option<String> {
        self.folder.as_ref().map(|f| f.id.clone())
    }
}

/// The folder `key` (`inbox`, `sent`, `deleted` or one of `account_id`'s sub-folders).
pub async fn place<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    key: &str,
) -> Result<Place, AppError> {
    if let Some(root) = Folder::parse(key) {
        return Ok(Place { root, folder: None });
    }
    if key.len() > 36 {
        return Err(FolderRefusal::NotFound.into());
    }
    let found = folder::Entity::find_by_id(key)
        .filter(folder::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(FolderRefusal::NotFound)?;
    let root = Folder::parse(&found.root)
        .ok_or_else(|| AppError::Internal(format!("folder {} has no root", found.id)))?;
    Ok(Place {
        root,
        folder: Some(found),
    })
}

/// The name as kept: control characters made spaces, trimmed, bounded.
pub fn checked_name(typed: &str) -> Result<String, FolderRefusal> {
    let name: String = typed
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned();
    if name.is_empty() {
        return Err(FolderRefusal::NameMissing);
    }
    if name.chars().count() > limits::MAX_FOLDER_NAME_CHARS {
        return Err(FolderRefusal::NameTooLong);
    }
    Ok(name)
}

/// The keyed tag names are unique by: case, accents and punctuation ignored (a name of
/// punctuation alone by its lower case).
fn name_tag(keys: &Keys, account_id: &str, name: &str) -> i64 {
    let normalized = crate::directory::keys::normalize(name);
    let key = if normalized.is_empty() {
        name.to_lowercase()
    } else {
        normalized
    };
    keys.search_term(&format!("folder\u{0}{account_id}\u{0}{key}"))
}

fn seal_context(account_id: &str, folder_id: &str) -> String {
    format!("folder:{account_id}:{folder_id}")
}

fn seal_name(keys: &Keys, account_id: &str, folder_id: &str, name: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(keys.seal_outbox(&seal_context(account_id, folder_id), name.as_bytes()))
}

fn open_name(keys: &Keys, row: &folder::Model) -> Result<String, AppError> {
    base64::engine::general_purpose::STANDARD
        .decode(&row.name_sealed)
        .ok()
        .and_then(|sealed| keys.open_outbox(&seal_context(&row.account_id, &row.id), &sealed))
        .and_then(|plain| String::from_utf8(plain).ok())
        .ok_or_else(|| AppError::Internal(format!("folder {} does not open", row.id)))
}

/// Every sub-folder of `me`, each after its parent, by name (French order: case and
/// accents ignored), with its unread envelopes from `unread`.
pub async fn tree<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
    me: &str,
    unread: &HashMap<Option<String>, u64>,
) -> Result<Vec<FolderInfo>, AppError> {
    let rows = folder::Entity::find()
        .filter(folder::Column::AccountId.eq(me))
        .all(db)
        .await?;
    let mut infos = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(root) = Folder::parse(&row.root) else {
            continue;
        };
        infos.push(FolderInfo {
            id: row.id.clone(),
            root,
            parent_id: row.parent_id.clone(),
            name: open_name(keys, row)?,
            depth: u8::try_from(row.depth).unwrap_or(1),
            unread: if root == Folder::Inbox {
                unread.get(&Some(row.id.clone())).copied().unwrap_or(0)
            } else {
                0
            },
        });
    }
    infos.sort_by_cached_key(|f| crate::directory::keys::normalize(&f.name));
    let mut ordered = Vec::with_capacity(infos.len());
    for root in Folder::ALL {
        children_of(&infos, root, None, &mut ordered);
    }
    Ok(ordered)
}

fn children_of(all: &[FolderInfo], root: Folder, parent: Option<&str>, into: &mut Vec<FolderInfo>) {
    for f in all
        .iter()
        .filter(|f| f.root == root && f.parent_id.as_deref() == parent)
    {
        into.push(f.clone());
        children_of(all, root, Some(&f.id), into);
    }
}

/// « Créer »: a sub-folder named `request.name` under `request.parent`.
pub async fn create(
    db: &DatabaseConnection,
    keys: &Keys,
    owner: &account::Model,
    request: NewFolder,
    now: DateTime<Utc>,
) -> Result<FolderInfo, AppError> {
    let name = checked_name(&request.name)?;
    let me = &owner.id;
    let txn = crate::db::begin_write(db).await?;
    super::quota::lock_sender(&txn, me).await?;
    let parent = place(&txn, me, &request.parent).await?;
    let depth = parent.folder.as_ref().map_or(1, |f| f.depth + 1);
    if depth > i16::from(limits::MAX_FOLDER_DEPTH) {
        return Err(FolderRefusal::TooDeep.into());
    }
    let count = folder::Entity::find()
        .filter(folder::Column::AccountId.eq(me))
        .count(&txn)
        .await?;
    if count >= limits::MAX_FOLDERS as u64 {
        return Err(FolderRefusal::TooMany.into());
    }
    let parent_key = parent.key();
    let tag = name_tag(keys, me, &name);
    if taken(&txn, me, &parent_key, tag, None).await? {
        return Err(FolderRefusal::NameTaken.into());
    }
    let id = uuid::Uuid::new_v4().to_string();
    let row = folder::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(me.clone()),
        root: Set(parent.root.as_str().to_owned()),
        parent_id: Set(parent.folder_id()),
        parent_key: Set(parent_key),
        depth: Set(depth),
        name_sealed: Set(seal_name(keys, me, &id, &name)),
        name_tag: Set(tag),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        "folder_created",
        serde_json::json!({"folder": id, "root": row.root, "account": me}),
    )
    .await?;
    txn.commit().await?;
    Ok(FolderInfo {
        id,
        root: parent.root,
        parent_id: row.parent_id,
        name,
        depth: u8::try_from(depth).unwrap_or(1),
        unread: 0,
    })
}

/// Whether another folder than `except` under `parent_key` has the tag `tag`.
async fn taken<C: ConnectionTrait>(
    db: &C,
    me: &str,
    parent_key: &str,
    tag: i64,
    except: Option<&str>,
) -> Result<bool, sea_orm::DbErr> {
    let mut query = folder::Entity::find()
        .filter(folder::Column::AccountId.eq(me))
        .filter(folder::Column::ParentKey.eq(parent_key))
        .filter(folder::Column::NameTag.eq(tag));
    if let Some(id) = except {
        query = query.filter(folder::Column::Id.ne(id));
    }
    Ok(query.count(db).await? > 0)
}

/// Renames the sub-folder `id`.
pub async fn rename(
    db: &DatabaseConnection,
    keys: &Keys,
    owner: &account::Model,
    id: &str,
    request: RenameFolder,
) -> Result<FolderInfo, AppError> {
    let name = checked_name(&request.name)?;
    let me = &owner.id;
    let txn = crate::db::begin_write(db).await?;
    super::quota::lock_sender(&txn, me).await?;
    let Place { root, folder } = place(&txn, me, id).await?;
    let Some(row) = folder else {
        // The three folders keep their names.
        return Err(FolderRefusal::NotFound.into());
    };
    let tag = name_tag(keys, me, &name);
    if taken(&txn, me, &row.parent_key, tag, Some(&row.id)).await? {
        return Err(FolderRefusal::NameTaken.into());
    }
    folder::Entity::update_many()
        .col_expr(
            folder::Column::NameSealed,
            Expr::value(seal_name(keys, me, &row.id, &name)),
        )
        .col_expr(folder::Column::NameTag, Expr::value(tag))
        .filter(folder::Column::Id.eq(&row.id))
        .exec(&txn)
        .await?;
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        "folder_renamed",
        serde_json::json!({"folder": row.id, "account": me}),
    )
    .await?;
    txn.commit().await?;
    Ok(FolderInfo {
        id: row.id,
        root,
        parent_id: row.parent_id,
        name,
        depth: u8::try_from(row.depth).unwrap_or(1),
        unread: 0,
    })
}

/// Deletes the sub-folder `id`: its envelopes go back to its parent; one that still holds
/// sub-folders stays.
pub async fn delete(
    db: &DatabaseConnection,
    keys: &Keys,
    owner: &account::Model,
    id: &str,
) -> Result<u64, AppError> {
    let me = &owner.id;
    let txn = crate::db::begin_write(db).await?;
    super::quota::lock_sender(&txn, me).await?;
    let Some(row) = place(&txn, me, id).await?.folder else {
        return Err(FolderRefusal::NotFound.into());
    };
    let children = folder::Entity::find()
        .filter(folder::Column::AccountId.eq(me))
        .filter(folder::Column::ParentId.eq(&row.id))
        .count(&txn)
        .await?;
    if children > 0 {
        return Err(FolderRefusal::HasChildren.into());
    }
    let filed = Condition::all()
        .add(envelope_recipient::Column::AccountId.eq(me))
        .add(envelope_recipient::Column::FolderId.eq(&row.id));
    let counted = super::unread::Rows::lock(&txn, filed.clone()).await?;
    let as_recipient = envelope_recipient::Entity::update_many()
        .col_expr(
            envelope_recipient::Column::FolderId,
            Expr::value(row.parent_id.clone()),
        )
        .filter(filed)
        .exec(&txn)
        .await?
        .rows_affected;
    counted.settle_moved(&txn, row.parent_id.clone()).await?;
    let as_sender = envelope::Entity::update_many()
        .col_expr(
            envelope::Column::SenderFolderId,
            Expr::value(row.parent_id.clone()),
        )
        .filter(envelope::Column::SenderAccountId.eq(me))
        .filter(envelope::Column::SenderFolderId.eq(&row.id))
        .exec(&txn)
        .await?
        .rows_affected;
    folder::Entity::delete_by_id(row.id.clone())
        .exec(&txn)
        .await?;
    let moved = as_recipient + as_sender;
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        "folder_deleted",
        serde_json::json!({"folder": row.id, "account": me, "moved": moved}),
    )
    .await?;
    txn.commit().await?;
    Ok(moved)
}

/// Files the envelopes `request.references` in `request.target`, for `owner` only: all of
/// them or none.
pub async fn move_envelopes(
    db: &DatabaseConnection,
    keys: &Keys,
    owner: &account::Model,
    request: MoveEnvelopes,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let mut seen = HashSet::new();
    let references: Vec<String> = request
        .references
        .into_iter()
        .filter(|r| seen.insert(r.clone()))
        .collect();
    if references.is_empty() {
        return Err(FolderRefusal::MoveEmpty.into());
    }
    if references.len() > limits::ENVELOPES_MOVED {
        return Err(FolderRefusal::MoveTooMany.into());
    }
    if references.iter().any(|r| r.len() > 64) {
        return Err(AppError::NotFound);
    }
    let me = &owner.id;
    let txn = crate::db::begin_write(db).await?;
    super::quota::lock_sender(&txn, me).await?;
    let target = place(&txn, me, &request.target).await?;
    let envelopes = envelope::Entity::find()
        .filter(envelope::Column::Reference.is_in(references.clone()))
        .filter(envelope::Column::PurgedAt.is_null())
        .all(&txn)
        .await?;
    if envelopes.len() != references.len() {
        return Err(AppError::NotFound);
    }
    let recipients: HashMap<String, envelope_recipient::Model> = envelope_recipient::Entity::find()
        .filter(
            envelope_recipient::Column::EnvelopeId.is_in(envelopes.iter().map(|e| e.id.clone())),
        )
        .filter(envelope_recipient::Column::AccountId.eq(me))
        .filter(envelope_recipient::Column::RemovedAt.is_null())
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| (r.envelope_id.clone(), r))
        .collect();
    let mut as_sender = Vec::new();
    let mut as_recipient = Vec::new();
    for envelope in &envelopes {
        let sender = envelope.sender_account_id == *me && envelope.sender_removed_at.is_none();
        let recipient = recipients.get(&envelope.id);
        if !sender && recipient.is_none() {
            return Err(AppError::NotFound);
        }
        match target.root {
            Folder::Inbox => {
                as_recipient.push(recipient.ok_or(FolderRefusal::MoveNotAllowed)?.id.clone())
            }
            Folder::Sent if sender => as_sender.push(envelope.id.clone()),
            Folder::Sent => return Err(FolderRefusal::MoveNotAllowed.into()),
            Folder::Deleted => {
                if sender {
                    as_sender.push(envelope.id.clone());
                }
                if let Some(r) = recipient {
                    as_recipient.push(r.id.clone());
                }
            }
        }
    }
    let folder_id = target.folder_id();
    // Under « Messages supprimés » the deletion time stays if there was one; elsewhere the
    // envelope is no longer deleted.
    let deleted = |column: sea_orm::sea_query::SimpleExpr| -> sea_orm::sea_query::SimpleExpr {
        if target.root == Folder::Deleted {
            Func::coalesce([column, Expr::value(now)]).into()
        } else {
            Expr::value(Option::<DateTime<Utc>>::None)
        }
    };
    if !as_recipient.is_empty() {
        let counted = super::unread::Rows::lock_ids(&txn, as_recipient.clone()).await?;
        envelope_recipient::Entity::update_many()
            .col_expr(
                envelope_recipient::Column::FolderId,
                Expr::value(folder_id.clone()),
            )
            .col_expr(
                envelope_recipient::Column::DeletedAt,
                deleted(Expr::col(envelope_recipient::Column::DeletedAt)),
            )
            .filter(envelope_recipient::Column::Id.is_in(as_recipient.clone()))
            .exec(&txn)
            .await?;
        counted.settle(&txn).await?;
    }
    if !as_sender.is_empty() {
        envelope::Entity::update_many()
            .col_expr(
                envelope::Column::SenderFolderId,
                Expr::value(folder_id.clone()),
            )
            .col_expr(
                envelope::Column::SenderDeletedAt,
                deleted(Expr::col(envelope::Column::SenderDeletedAt)),
            )
            .filter(envelope::Column::Id.is_in(as_sender.clone()))
            .exec(&txn)
            .await?;
    }
    let moved = envelopes.len() as u64;
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        "envelopes_moved",
        serde_json::json!({
            "account": me,
            "target": target.key(),
            "envelopes": envelopes.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(moved)
}

crate::state_values! {
    /// What the folders work with.
    pub struct Filing {
        pub db: DatabaseConnection,
        pub keys: Arc<Keys>,
        pub clock: Clock,
    }
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Clock: FromRef<S>,
    Gate: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(list, create_folder))
        .routes(routes!(rename_folder, delete_folder))
        .routes(routes!(move_to))
}

refusals! {
    ListRefusals = [signed_in()];
    CreateRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        FolderRefusal::NameMissing,
        FolderRefusal::NameTooLong,
        FolderRefusal::NameTaken,
        FolderRefusal::TooDeep,
        FolderRefusal::TooMany,
        FolderRefusal::NotFound,
    ];
    RenameRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        FolderRefusal::NameMissing,
        FolderRefusal::NameTooLong,
        FolderRefusal::NameTaken,
        FolderRefusal::NotFound,
    ];
    DeleteRefusals = [signed_in(), FolderRefusal::NotFound, FolderRefusal::HasChildren];
    MoveRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        FolderRefusal::MoveEmpty,
        FolderRefusal::MoveTooMany,
        FolderRefusal::MoveNotAllowed,
        FolderRefusal::NotFound,
        AppError::NotFound,
    ];
}

/// The caller's sub-folders (« Dossiers »).
#[utoipa::path(
    get,
    path = paths::FOLDERS,
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses((status = 200, description = "Every sub-folder, each after its parent.", body = FolderTree), ListRefusals),
)]
async fn list(filing: Filing, signed_in: SignedIn) -> Result<Json<FolderTree>, AppError> {
    let me = &signed_in.account.id;
    let unread = super::unread::of(&filing.db, me).await?;
    Ok(Json(FolderTree {
        folders: tree(&filing.db, &filing.keys, me, &unread).await?,
    }))
}

/// « Créer » a sub-folder.
#[utoipa::path(
    post,
    path = paths::FOLDERS,
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = NewFolder,
    responses((status = 201, description = "Created.", body = FolderInfo), CreateRefusals),
)]
async fn create_folder(
    filing: Filing,
    signed_in: SignedIn,
    Json(request): Json<NewFolder>,
) -> Result<(StatusCode, Json<FolderInfo>), AppError> {
    let now = filing.clock.now();
    let created = create(&filing.db, &filing.keys, &signed_in.account, request, now).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Renames a sub-folder.
#[utoipa::path(
    patch,
    path = "/api/folders/{id}",
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("id" = String, Path, description = "The sub-folder's id.")),
    request_body = RenameFolder,
    responses((status = 200, description = "Renamed.", body = FolderInfo), RenameRefusals),
)]
async fn rename_folder(
    filing: Filing,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Json(request): Json<RenameFolder>,
) -> Result<Json<FolderInfo>, AppError> {
    Ok(Json(
        rename(&filing.db, &filing.keys, &signed_in.account, &id, request).await?,
    ))
}

/// Deletes a sub-folder; its envelopes go back to its parent.
#[utoipa::path(
    delete,
    path = "/api/folders/{id}",
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("id" = String, Path, description = "The sub-folder's id.")),
    responses((status = 200, description = "Deleted; how many envelopes went back to the parent.", body = FolderDeleted), DeleteRefusals),
)]
async fn delete_folder(
    filing: Filing,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<FolderDeleted>, AppError> {
    let moved = delete(&filing.db, &filing.keys, &signed_in.account, &id).await?;
    Ok(Json(FolderDeleted { moved }))
}

/// Files envelopes in a folder (the caller's view only): all of them or none.
#[utoipa::path(
    post,
    path = paths::ENVELOPES_MOVE,
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = MoveEnvelopes,
    responses((status = 200, description = "Moved.", body = EnvelopesMoved), MoveRefusals),
)]
async fn move_to(
    filing: Filing,
    signed_in: SignedIn,
    Json(request): Json<MoveEnvelopes>,
) -> Result<Json<EnvelopesMoved>, AppError> {
    let now = filing.clock.now();
    let moved = move_envelopes(&filing.db, &filing.keys, &signed_in.account, request, now).await?;
    Ok(Json(EnvelopesMoved { moved }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_never_blank() {
        assert_eq!(checked_name("  Cardiologie \n"), Ok("Cardiologie".into()));
        assert_eq!(checked_name("a\u{0}b"), Ok("a b".into()));
        assert_eq!(checked_name(" \t "), Err(FolderRefusal::NameMissing));
        assert_eq!(
            checked_name(&"é".repeat(limits::MAX_FOLDER_NAME_CHARS + 1)),
            Err(FolderRefusal::NameTooLong)
        );
        assert!(checked_name(&"é".repeat(limits::MAX_FOLDER_NAME_CHARS)).is_ok());
    }

    #[test]
    fn names_differing_by_case_or_accents_have_one_tag_per_account() {
        let keys = Keys::random();
        assert_eq!(
            name_tag(&keys, "a", "Résultats"),
            name_tag(&keys, "a", "resultats")
        );
        assert_ne!(
            name_tag(&keys, "a", "Résultats"),
            name_tag(&keys, "b", "Résultats")
        );
        assert_ne!(name_tag(&keys, "a", "---"), name_tag(&keys, "a", "+++"));
    }
}
