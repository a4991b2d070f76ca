//! « Notifications » (manual part 1 §6.3): the notification mails an account wants, read
//! where each mail is queued (sealing, opening) and changed by « Enregistrer ». No row:
//! the defaults — « Notification de réception pour chaque message » and another user's
//! « Notification d'ouverture » of an envelope it wrote, the mails Medimail always sent.
//!
//! The mails never carry the title nor the content (health data): the date the envelope
//! was sent says which one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use medimail_api::NotificationSettings;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession,
    TransactionTrait,
};

use super::entity::{account, notification_setting};
use crate::keys::Keys;

/// What an account without a row gets.
pub fn defaults() -> NotificationSettings {
    NotificationSettings {
        sealed: false,
        opened_by_me_sent: false,
        received: true,
        opened_by_me_received: false,
        daily_digest: false,
        opened_by_others_sent: true,
        opened_by_others_received: false,
    }
}

fn shown(r: notification_setting::Model) -> NotificationSettings {
    NotificationSettings {
        sealed: r.sealed,
        opened_by_me_sent: r.opened_by_me_sent,
        received: r.received,
        opened_by_me_received: r.opened_by_me_received,
        daily_digest: r.daily_digest,
        opened_by_others_sent: r.opened_by_others_sent,
        opened_by_others_received: r.opened_by_others_received,
    }
}

/// The settings of `account_id`.
pub async fn of<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<NotificationSettings, sea_orm::DbErr> {
    Ok(
        notification_setting::Entity::find_by_id(account_id.to_owned())
            .one(db)
            .await?
            .map_or_else(defaults, shown),
    )
}

/// The settings of each of `ids` (the defaults for those without a row).
pub async fn of_each<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<HashMap<String, NotificationSettings>, sea_orm::DbErr> {
    let mut out: HashMap<String, NotificationSettings> =
        ids.iter().map(|id| (id.clone(), defaults())).collect();
    for chunk in ids.chunks(500) {
        for row in notification_setting::Entity::find()
            .filter(notification_setting::Column::AccountId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            out.insert(row.account_id.clone(), shown(row));
        }
    }
    Ok(out)
}

/// « Enregistrer »: stores the settings whole; audited `notifications_changed` with them
/// (they are no secret).
pub async fn save<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    owner: &account::Model,
    wanted: NotificationSettings,
    now: DateTime<Utc>,
) -> Result<NotificationSettings, sea_orm::DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let row = notification_setting::ActiveModel {
        account_id: Set(owner.id.clone()),
        sealed: Set(wanted.sealed),
        opened_by_me_sent: Set(wanted.opened_by_me_sent),
        received: Set(wanted.received),
        opened_by_me_received: Set(wanted.opened_by_me_received),
        daily_digest: Set(wanted.daily_digest),
        opened_by_others_sent: Set(wanted.opened_by_others_sent),
        opened_by_others_received: Set(wanted.opened_by_others_received),
        updated_at: Set(now),
    };
    notification_setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(notification_setting::Column::AccountId)
                .update_columns([
                    notification_setting::Column::Sealed,
                    notification_setting::Column::OpenedByMeSent,
                    notification_setting::Column::Received,
                    notification_setting::Column::OpenedByMeReceived,
                    notification_setting::Column::DailyDigest,
                    notification_setting::Column::OpenedByOthersSent,
                    notification_setting::Column::OpenedByOthersReceived,
                    notification_setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        "notifications_changed",
        serde_json::json!({"account": owner.id, "settings": wanted}),
    )
    .await?;
    txn.commit().await?;
    Ok(wanted)
}
