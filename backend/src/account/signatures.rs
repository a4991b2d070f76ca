//! « Signature de mail » (manual part 1 §6.5): an account's named signatures — created,
//! modified, deleted — sanitised like message bodies (the compose toolbar's formatting
//! only). One may be the default: the webmail inserts it in every new message. At most
//! [`MAX_SIGNATURES`] per account, names unique per account without case or accents; the
//! count is checked with the account's row locked, so a hundred creations at once never
//! pass it. Every change is audited with the signature's id, never its text.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use medimail_api::signature::{MAX_BODY_BYTES, MAX_NAME_CHARS, MAX_SIGNATURES};
use medimail_api::{Signature, SignatureRequest};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr, TransactionSession, TransactionTrait,
};

use super::entity::{account, signature};
use crate::error::{AppError, Refusal};
use crate::keys::Keys;

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureRefusal {
    NameMissing,
    NameTooLong,
    NameTaken,
    Empty,
    TooLarge,
    Full,
    NotFound,
}

impl Refusal for SignatureRefusal {
    fn status(&self) -> StatusCode {
        match self {
            SignatureRefusal::NameTaken | SignatureRefusal::Full => StatusCode::CONFLICT,
            SignatureRefusal::NotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SignatureRefusal::NameMissing => "signature_name_missing",
            SignatureRefusal::NameTooLong => "signature_name_too_long",
            SignatureRefusal::NameTaken => "signature_name_taken",
            SignatureRefusal::Empty => "signature_empty",
            SignatureRefusal::TooLarge => "signature_too_large",
            SignatureRefusal::Full => "signatures_full",
            SignatureRefusal::NotFound => "signature_not_found",
        }
    }

    fn message(&self) -> String {
        match self {
            SignatureRefusal::NameMissing => "Donnez un nom à la signature.".to_owned(),
            SignatureRefusal::NameTooLong => {
                format!("Le nom d'une signature compte {MAX_NAME_CHARS} caractères au plus.")
            }
            SignatureRefusal::NameTaken => {
                "Vous avez déjà une signature de ce nom : choisissez-en un autre.".to_owned()
            }
            SignatureRefusal::Empty => "La signature est vide : écrivez-la.".to_owned(),
            SignatureRefusal::TooLarge => {
                "La signature est trop longue une fois mise en forme (20 000 caractères au \
                 plus)."
                    .to_owned()
            }
            SignatureRefusal::Full => format!(
                "Vous avez déjà {MAX_SIGNATURES} signatures : supprimez-en une avant d'en \
                 créer une autre."
            ),
            SignatureRefusal::NotFound => "Cette signature n'existe plus.".to_owned(),
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            SignatureRefusal::NameMissing
            | SignatureRefusal::NameTooLong
            | SignatureRefusal::NameTaken => Some("name"),
            SignatureRefusal::Empty | SignatureRefusal::TooLarge => Some("body_html"),
            _ => None,
        }
    }
}

fn shown(s: signature::Model) -> Signature {
    Signature {
        id: s.id,
        name: s.name,
        body_html: s.body_html,
        default: s.is_default,
    }
}

/// The caller's signatures, by name.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<Vec<Signature>, sea_orm::DbErr> {
    Ok(signature::Entity::find()
        .filter(signature::Column::AccountId.eq(account_id))
        .order_by_asc(signature::Column::NameKey)
        .all(db)
        .await?
        .into_iter()
        .map(shown)
        .collect())
}

/// A request checked: (name, name key, sanitised body).
fn checked(request: &SignatureRequest) -> Result<(String, String, String), SignatureRefusal> {
    let name: String = request
        .name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned();
    if name.is_empty() {
        return Err(SignatureRefusal::NameMissing);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(SignatureRefusal::NameTooLong);
    }
    let key = crate::directory::keys::normalize(&name);
    let key = if key.is_empty() {
        name.to_lowercase()
    } else {
        key
    };
    let body =
        crate::envelope::rules::body(&request.body_html).map_err(|_| SignatureRefusal::TooLarge)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(SignatureRefusal::TooLarge);
    }
    if crate::envelope::rules::is_blank(&body) {
        return Err(SignatureRefusal::Empty);
    }
    Ok((name, key, body))
}

fn taken(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Makes `id` the account's only default (or none of them, `default` false, for `id`).
async fn settle_default<C: ConnectionTrait>(
    txn: &C,
    account_id: &str,
    id: &str,
    default: bool,
) -> Result<(), sea_orm::DbErr> {
    if default {
        signature::Entity::update_many()
            .col_expr(signature::Column::IsDefault, Expr::value(false))
            .filter(signature::Column::AccountId.eq(account_id))
            .filter(signature::Column::Id.ne(id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Creates a signature (the [`MAX_SIGNATURES`] limit held under the account's lock).
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    owner: &account::Model,
    request: &SignatureRequest,
    now: DateTime<Utc>,
) -> Result<Signature, AppError> {
    let (name, key, body) = checked(request)?;
    let txn = crate::db::begin_write(db).await?;
    account::Entity::find_by_id(owner.id.as_str())
        .lock_exclusive()
        .one(&txn)
        .await?;
    let count = signature::Entity::find()
        .filter(signature::Column::AccountId.eq(owner.id.as_str()))
        .count(&txn)
        .await?;
    if count >= MAX_SIGNATURES {
        return Err(SignatureRefusal::Full.into());
    }
    let id = uuid::Uuid::new_v4().to_string();
    settle_default(&txn, &owner.id, &id, request.default).await?;
    let row = signature::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(owner.id.clone()),
        name: Set(name),
        name_key: Set(key),
        body_html: Set(body),
        is_default: Set(request.default),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let written = row.insert(&txn).await;
    finish(txn, keys, owner, "signature_created", written).await
}

/// Ends a creation or a modification: a name already taken refused, else audited
/// (`action`, the id, never the text) and committed.
async fn finish<T: ConnectionTrait + TransactionSession>(
    txn: T,
    keys: &Keys,
    owner: &account::Model,
    action: &str,
    written: Result<signature::Model, sea_orm::DbErr>,
) -> Result<Signature, AppError> {
    let stored = match written {
        Ok(stored) => stored,
        Err(e) if taken(&e) => return Err(SignatureRefusal::NameTaken.into()),
        Err(e) => return Err(e.into()),
    };
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        action,
        serde_json::json!({"account": owner.id, "signature": stored.id, "default": stored.is_default}),
    )
    .await?;
    txn.commit().await?;
    Ok(shown(stored))
}

/// Modifies the caller's signature `id` (another account's is not found).
pub async fn modify<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    owner: &account::Model,
    id: &str,
    request: &SignatureRequest,
    now: DateTime<Utc>,
) -> Result<Signature, AppError> {
    let (name, key, body) = checked(request)?;
    let txn = crate::db::begin_write(db).await?;
    let Some(found) = signature::Entity::find_by_id(id)
        .filter(signature::Column::AccountId.eq(owner.id.as_str()))
        .one(&txn)
        .await?
    else {
        return Err(SignatureRefusal::NotFound.into());
    };
    settle_default(&txn, &owner.id, id, request.default).await?;
    let mut row: signature::ActiveModel = found.into();
    row.name = Set(name);
    row.name_key = Set(key);
    row.body_html = Set(body);
    row.is_default = Set(request.default);
    row.updated_at = Set(now);
    let written = row.update(&txn).await;
    finish(txn, keys, owner, "signature_modified", written).await
}

/// Deletes the caller's signature `id`.
pub async fn delete<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    owner: &account::Model,
    id: &str,
) -> Result<(), AppError> {
    let txn = crate::db::begin_write(db).await?;
    let gone = signature::Entity::delete_many()
        .filter(signature::Column::Id.eq(id))
        .filter(signature::Column::AccountId.eq(owner.id.as_str()))
        .exec(&txn)
        .await?;
    if gone.rows_affected == 0 {
        return Err(SignatureRefusal::NotFound.into());
    }
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        "signature_deleted",
        serde_json::json!({"account": owner.id, "signature": id}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
