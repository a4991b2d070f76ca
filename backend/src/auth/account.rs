//! Accounts: found or created from a verified Office identity (automatic registration,
//! manual part 4 §2). Creation is race-free: two first requests at once end in one row.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::auth::office::OfficeIdentity;
use crate::entity::account;

/// The account of `identity`, created on first sight; name and mailbox follow the token.
pub async fn find_or_register<C: ConnectionTrait>(
    db: &C,
    identity: &OfficeIdentity,
) -> Result<account::Model, sea_orm::DbErr> {
    let new = account::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        tenant_id: Set(identity.tenant_id.clone()),
        object_id: Set(identity.object_id.clone()),
        display_name: Set(identity.name.clone()),
        mailbox: Set(identity.mailbox.clone()),
        passphrase_hash: Set(None),
        failed_attempts: Set(0),
        locked_until: Set(None),
        last_code_requested_at: Set(None),
        created_at: Set(Utc::now()),
    };
    account::Entity::insert(new)
        .on_conflict(
            OnConflict::columns([account::Column::TenantId, account::Column::ObjectId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let found = account::Entity::find()
        .filter(account::Column::TenantId.eq(&identity.tenant_id))
        .filter(account::Column::ObjectId.eq(&identity.object_id))
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("account after insert".into()))?;
    if found.display_name != identity.name || found.mailbox != identity.mailbox {
        let mut update: account::ActiveModel = found.into();
        update.display_name = Set(identity.name.clone());
        update.mailbox = Set(identity.mailbox.clone());
        return update.update(db).await;
    }
    Ok(found)
}
