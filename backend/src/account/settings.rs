//! The account's settings: "Liste rouge" (chosen by the user, manual part 2 §2.2) and the
//! MSSanté flag (set by an operator). Every change is audited.

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, TransactionSession, TransactionTrait};

use crate::account::entity::account;
use crate::keys::Keys;

/// « Activité »: the stamps allocated (`None`: illimité) and used, as the account shows
/// them and « Administration » lists them.
pub fn activity(account: &account::Model) -> medimail_api::AccountActivity {
    medimail_api::AccountActivity {
        allocated: account
            .stamps_allocated
            .map(|n| u64::try_from(n).unwrap_or(0)),
        used: u64::try_from(account.stamps_used).unwrap_or(0),
    }
}

/// "Liste rouge" (`true`) or visible to every Medimail user (`false`), chosen by the
/// account's owner. Returns the account as stored.
pub async fn set_liste_rouge<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    account: account::Model,
    liste_rouge: bool,
) -> Result<account::Model, sea_orm::DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let mut update: account::ActiveModel = account.into();
    update.liste_rouge = Set(liste_rouge);
    let updated = update.update(&txn).await?;
    crate::audit::append(
        &txn,
        keys,
        &updated.label(),
        "account_settings_changed",
        serde_json::json!({"account": updated.id, "liste_rouge": updated.liste_rouge}),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// What an operator changes (`medimail account set`); `None` leaves a flag as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct OperatorChange {
    pub mssante: Option<bool>,
    pub liste_rouge: Option<bool>,
    /// « Compte personnel Medimail éligible » (the first MSSanté condition).
    pub eligible: Option<bool>,
    /// « Timbres alloués à votre compte »: `Some(None)` is illimité.
    pub stamps: Option<Option<i64>>,
}

/// An operator's change (`medimail account set`): the account of `mailbox` (lowercase)
/// — created for it if nobody has signed in with it yet, so that an administrator can
/// prepare it — its flags changed where given.
pub async fn set_by_operator<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    mailbox: &str,
    change: OperatorChange,
) -> Result<Option<account::Model>, sea_orm::DbErr> {
    let OperatorChange {
        mssante,
        liste_rouge,
        eligible,
        stamps,
    } = change;
    if !mailbox.contains('@') {
        return Ok(None);
    }
    let found = crate::account::registry::for_mailbox(db, mailbox, chrono::Utc::now()).await?;
    let mut update: account::ActiveModel = found.into();
    if let Some(on) = mssante {
        update.mssante_enabled = Set(on);
    }
    if let Some(on) = liste_rouge {
        update.liste_rouge = Set(on);
    }
    if let Some(on) = eligible {
        update.mssante_eligible = Set(on);
    }
    if let Some(allocated) = stamps {
        update.stamps_allocated = Set(allocated);
    }
    let txn = crate::db::begin_write(db).await?;
    let updated = update.update(&txn).await?;
    crate::audit::append(
        &txn,
        keys,
        "cli",
        "account_settings_changed",
        serde_json::json!({
            "account": updated.id,
            "mssante_enabled": updated.mssante_enabled,
            "liste_rouge": updated.liste_rouge,
            "mssante_eligible": updated.mssante_eligible,
            "stamps_allocated": updated.stamps_allocated,
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(updated))
}

/// Ends the account's lock (ten failed sign-ins in a row) now, its count of failures
/// back to zero; the caller audits it.
pub async fn unlock<C: ConnectionTrait>(db: &C, account_id: &str) -> Result<(), sea_orm::DbErr> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    account::Entity::update_many()
        .col_expr(
            account::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(account::Column::FailedAttempts, Expr::value(0))
        .filter(account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}
