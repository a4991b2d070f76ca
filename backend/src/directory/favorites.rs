//! Favorites: each account's starred contacts, per directory (manual part 1 §5). The
//! contact's details are copied from the directory when starred (never taken from the
//! client); a contact who went on the liste rouge afterwards is no longer shown.

use chrono::{DateTime, Utc};
use medimail_api::DirectoryContact;
use medimail_api::directory::MAX_FAVORITES;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::refusal::DirectoryRefusal;
use super::search;
use crate::account::entity::account;
use crate::directory::entity::directory_favorite;
use crate::error::AppError;

/// The favorites of `account_id`, in one directory or in all, in directory order.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    which: Option<&str>,
) -> Result<Vec<DirectoryContact>, sea_orm::DbErr> {
    let mut q = directory_favorite::Entity::find()
        .filter(directory_favorite::Column::AccountId.eq(account_id))
        .order_by_asc(directory_favorite::Column::CreatedAt);
    if let Some(which) = which {
        q = q.filter(directory_favorite::Column::Annuaire.eq(which));
    }
    let mut contacts: Vec<DirectoryContact> = q
        .all(db)
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
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| a.mailbox)
        .collect();
    contacts.retain(|c| !red.contains(&c.address));
    contacts.sort_by_key(search::contact_order);
    crate::metrics::directory_search(search::directory_label(which), true);
    Ok(contacts)
}

/// Marks which of `contacts` the account starred in `which`.
pub async fn mark_starred<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    which: &str,
    contacts: &mut [DirectoryContact],
) -> Result<(), sea_orm::DbErr> {
    let starred: std::collections::HashSet<String> = directory_favorite::Entity::find()
        .filter(directory_favorite::Column::AccountId.eq(account_id))
        .filter(directory_favorite::Column::Annuaire.eq(which))
        .filter(
            directory_favorite::Column::Address.is_in(contacts.iter().map(|c| c.address.as_str())),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.address)
        .collect();
    for c in contacts {
        c.favorite = starred.contains(&c.address);
    }
    Ok(())
}

/// Stars the contact of `address` in `which` for `account_id`: its details are read from
/// the directory; starring twice is harmless. Refused when the contact is unknown (or on
/// the liste rouge) and past [`MAX_FAVORITES`].
pub async fn add(
    db: &DatabaseConnection,
    keys: &crate::keys::Keys,
    owner: &account::Model,
    which: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<DirectoryContact, AppError> {
    if address.len() > 320 {
        return Err(AppError::unreadable("address too long"));
    }
    let account_id = owner.id.as_str();
    let Some(mut contact) = search::contact(db, which, address).await? else {
        return Err(DirectoryRefusal::ContactUnknown.into());
    };
    // Counted and inserted in one write transaction, the account's row locked
    // (PostgreSQL; SQLite's write lock is taken at BEGIN): starring many contacts at once
    // never passes the limit.
    let txn = crate::db::begin_write(db).await?;
    account::Entity::find_by_id(account_id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let count = directory_favorite::Entity::find()
        .filter(directory_favorite::Column::AccountId.eq(account_id))
        .count(&txn)
        .await?;
    if count >= MAX_FAVORITES {
        return Err(DirectoryRefusal::FavoritesFull.into());
    }
    contact.favorite = false;
    let row = directory_favorite::ActiveModel {
        account_id: Set(account_id.to_owned()),
        annuaire: Set(which.to_owned()),
        address: Set(contact.address.clone()),
        contact: Set(serde_json::to_string(&contact).map_err(AppError::internal)?),
        created_at: Set(now),
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
        .exec_without_returning(&txn)
        .await?;
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        "favorite_added",
        serde_json::json!({"account": account_id, "annuaire": which, "contact": contact.address}),
    )
    .await?;
    txn.commit().await?;
    contact.favorite = true;
    Ok(contact)
}

/// Unstars a contact (no effect if it was not starred).
pub async fn remove(
    db: &DatabaseConnection,
    keys: &crate::keys::Keys,
    owner: &account::Model,
    which: &str,
    address: &str,
) -> Result<(), sea_orm::DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let address = address.trim().to_lowercase();
    let gone = directory_favorite::Entity::delete_many()
        .filter(directory_favorite::Column::AccountId.eq(&owner.id))
        .filter(directory_favorite::Column::Annuaire.eq(which))
        .filter(directory_favorite::Column::Address.eq(&address))
        .exec(&txn)
        .await?;
    if gone.rows_affected > 0 {
        crate::audit::append(
            &txn,
            keys,
            &owner.label(),
            "favorite_removed",
            serde_json::json!({"account": owner.id, "annuaire": which, "contact": address}),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
