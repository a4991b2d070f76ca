//! The account registry: an account found or created from a verified sign-in identity
//! (automatic registration, manual part 4 §2), and the account that receives mail for an
//! address. Creation is race-free: two first requests at once end in one row.
//!
//! An envelope sent to an address that has no account yet creates a *placeholder*
//! account for that mailbox (tenant [`PENDING_TENANT`], object id = the address), so
//! that the envelope waits in its inbox; the first sign-in of an Office identity with
//! that mailbox adopts the placeholder.

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::account::entity::account;

/// Who a verified sign-in says the user is: `(tenant_id, object_id)` names the person;
/// name and mailbox follow the identity provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub tenant_id: String,
    pub object_id: String,
    pub name: Option<String>,
    pub mailbox: Option<String>,
}

/// The tenant of placeholder accounts.
pub const PENDING_TENANT: &str = "pending";

fn new_account(
    tenant: &str,
    object: &str,
    name: Option<String>,
    mailbox: Option<String>,
) -> account::ActiveModel {
    account::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        tenant_id: Set(tenant.to_owned()),
        object_id: Set(object.to_owned()),
        search_name: Set(name.as_deref().map(crate::directory::keys::normalize)),
        display_name: Set(name),
        mailbox: Set(mailbox),
        passphrase_hash: Set(None),
        failed_attempts: Set(0),
        locked_until: Set(None),
        created_at: Set(Utc::now()),
        last_code_requested_at: Set(None),
        liste_rouge: Set(false),
        mssante_enabled: Set(false),
    }
}

async fn find_identity<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    object: &str,
) -> Result<Option<account::Model>, sea_orm::DbErr> {
    account::Entity::find()
        .filter(account::Column::TenantId.eq(tenant))
        .filter(account::Column::ObjectId.eq(object))
        .one(db)
        .await
}

/// The account of `identity`, created on first sight (adopting a placeholder for its
/// mailbox if one exists); name and mailbox follow the token. Mailboxes are stored in
/// lowercase.
pub async fn find_or_register<C: ConnectionTrait>(
    db: &C,
    identity: &Identity,
) -> Result<account::Model, sea_orm::DbErr> {
    let mailbox = identity.mailbox.as_ref().map(|m| m.trim().to_lowercase());
    let mut found = find_identity(db, &identity.tenant_id, &identity.object_id).await?;
    if found.is_none() {
        if let Some(mailbox) = &mailbox {
            // Adopt the placeholder of this mailbox, if any (one statement: race-free).
            account::Entity::update_many()
                .col_expr(
                    account::Column::TenantId,
                    Expr::value(identity.tenant_id.clone()),
                )
                .col_expr(
                    account::Column::ObjectId,
                    Expr::value(identity.object_id.clone()),
                )
                .filter(account::Column::TenantId.eq(PENDING_TENANT))
                .filter(account::Column::ObjectId.eq(mailbox.as_str()))
                .exec(db)
                .await
                // A concurrent first sign-in may adopt it first; the insert below then
                // finds its row.
                .ok();
        }
        account::Entity::insert(new_account(
            &identity.tenant_id,
            &identity.object_id,
            identity.name.clone(),
            mailbox.clone(),
        ))
        .on_conflict(
            OnConflict::columns([account::Column::TenantId, account::Column::ObjectId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        found = find_identity(db, &identity.tenant_id, &identity.object_id).await?;
    }
    let found =
        found.ok_or_else(|| sea_orm::DbErr::RecordNotFound("account after insert".into()))?;
    let search_name = identity
        .name
        .as_deref()
        .map(crate::directory::keys::normalize);
    if found.display_name != identity.name
        || found.mailbox != mailbox
        || found.search_name != search_name
    {
        let mut update: account::ActiveModel = found.into();
        update.display_name = Set(identity.name.clone());
        update.search_name = Set(search_name);
        update.mailbox = Set(mailbox);
        return update.update(db).await;
    }
    Ok(found)
}

/// The account that receives mail for `address` (lowercase): an existing account with
/// that mailbox, or a placeholder created for it.
pub async fn for_recipient<C: ConnectionTrait>(
    db: &C,
    address: &str,
) -> Result<account::Model, sea_orm::DbErr> {
    if let Some(existing) = account::Entity::find()
        .filter(account::Column::Mailbox.eq(address))
        .one(db)
        .await?
    {
        return Ok(existing);
    }
    account::Entity::insert(new_account(
        PENDING_TENANT,
        address,
        None,
        Some(address.to_owned()),
    ))
    .on_conflict(
        OnConflict::columns([account::Column::TenantId, account::Column::ObjectId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    find_identity(db, PENDING_TENANT, address)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("placeholder after insert".into()))
}
