//! « Notification quotidienne des réceptions » (manual part 1 §6.3): once a day, at
//! `MEDIMAIL_DIGEST_TIME` (Paris time), each account that asked for it gets one mail
//! listing the envelopes it received in the 24 hours before — when and from whom, never
//! the title nor the content. Every instance runs the job each minute; the row of
//! `digest_sent` (account, day), written in the transaction that queues the mail, makes
//! each digest once-only.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

use super::entity::digest_sent;
use super::entity::{envelope, envelope_recipient};
use crate::account::entity::{account, notification_setting};
use crate::clock::Clock;
use crate::keys::Keys;

/// Envelopes one digest lists at most (then « … et N autres »).
const MAX_LISTED: usize = 200;

/// The digest time of `MEDIMAIL_DIGEST_TIME` (`HH:MM`).
pub use crate::config::parse_digest_time as parse_time;

/// The last digest instant at or before `now`: today's at `at` (Paris), or yesterday's.
fn last_due(now: DateTime<Utc>, at: NaiveTime) -> Option<DateTime<Utc>> {
    let today = now.with_timezone(&Paris).date_naive();
    for day in [today, today.pred_opt()?] {
        let due = Paris
            .from_local_datetime(&day.and_time(at))
            .earliest()?
            .with_timezone(&Utc);
        if due <= now {
            return Some(due);
        }
    }
    None
}

/// Makes the digests due at `now` that no instance made yet; answers how many were
/// queued (mails; days without any reception queue none).
pub async fn run_due(
    db: &DatabaseConnection,
    keys: &Keys,
    now: DateTime<Utc>,
    at: NaiveTime,
) -> Result<usize, sea_orm::DbErr> {
    let Some(due) = last_due(now, at) else {
        return Ok(0);
    };
    let day = due.with_timezone(&Paris).format("%Y-%m-%d").to_string();
    let wanting: Vec<String> = notification_setting::Entity::find()
        .select_only()
        .column(notification_setting::Column::AccountId)
        .filter(notification_setting::Column::DailyDigest.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let mut queued = 0;
    for account_id in wanting {
        let done = digest_sent::Entity::find_by_id((account_id.clone(), day.clone()))
            .one(db)
            .await?;
        if done.is_none() && make_one(db, keys, &account_id, &day, due, now).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// One account's digest of the 24 hours before `due`, unless made already.
async fn make_one(
    db: &DatabaseConnection,
    keys: &Keys,
    account_id: &str,
    day: &str,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let Some(owner) = account::Entity::find_by_id(account_id.to_owned())
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    let Some(mailbox) = owner.mailbox.clone() else {
        return Ok(false);
    };
    let received: Vec<(DateTime<Utc>, String)> = envelope_recipient::Entity::find()
        .select_only()
        .column(envelope::Column::SealedAt)
        .column(envelope::Column::SenderMailbox)
        .join(JoinType::InnerJoin, envelope_recipient::to_envelope())
        .filter(envelope_recipient::Column::AccountId.eq(account_id))
        .filter(envelope_recipient::Column::SealedAt.gte(due - Duration::hours(24)))
        .filter(envelope_recipient::Column::SealedAt.lt(due))
        .filter(envelope::Column::PurgedAt.is_null())
        .order_by_asc(envelope_recipient::Column::SealedAt)
        .into_tuple()
        .all(db)
        .await?;
    let txn = crate::db::begin_write(db).await?;
    let claimed = digest_sent::Entity::insert(digest_sent::ActiveModel {
        account_id: Set(account_id.to_owned()),
        day: Set(day.to_owned()),
        envelopes: Set(i32::try_from(received.len()).unwrap_or(i32::MAX)),
        made_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([digest_sent::Column::AccountId, digest_sent::Column::Day])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if claimed != 1 || received.is_empty() {
        // Another instance made it; or nothing came in: no mail that day.
        txn.commit().await?;
        return Ok(false);
    }
    let mut lines: Vec<String> = received
        .iter()
        .take(MAX_LISTED)
        .map(|(at, from)| format!("\u{2022} {} — de {from}", crate::fr::date_time(*at)))
        .collect();
    if received.len() > MAX_LISTED {
        lines.push(format!("… et {} autres", received.len() - MAX_LISTED));
    }
    let mail = crate::mail::OutgoingMail {
        to: mailbox,
        subject: format!(
            "[MEDIMAIL : Réceptions] {} enveloppe(s) reçue(s) en 24 heures",
            received.len()
        ),
        text: format!(
            "Bonjour,\r\n\r\nVoici les enveloppes Medimail reçues depuis le {} :\r\n\r\n{}\r\n\r\n\
             Retrouvez-les dans « Messages reçus ».\r\n\r\nL'équipe Medimail\r\n",
            crate::fr::date_time(due - Duration::hours(24)),
            lines.join("\r\n")
        ),
        ..Default::default()
    };
    crate::account::delegation::enqueue_with_copies(
        &txn,
        keys,
        now,
        "daily_digest",
        account_id,
        &mail,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Every minute, the digests due (each instance runs it; each digest is made once).
pub async fn run(db: DatabaseConnection, keys: std::sync::Arc<Keys>, clock: Clock, at: NaiveTime) {
    loop {
        match run_due(&db, &keys, clock.now(), at).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(digests = n, "daily digests queued"),
            Err(e) => tracing::warn!(error = %e, "daily digest job failed"),
        }
        // Each pass, at debug (what a test of several instances waits for).
        tracing::debug!("daily digest pass done");
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_due_from_its_time_in_paris() {
        let at = parse_time("07:00").expect("time");
        // 1 December 2026, 05:59 UTC is 06:59 in Paris: yesterday's digest.
        let before = Utc.with_ymd_and_hms(2026, 12, 1, 5, 59, 0).unwrap();
        assert_eq!(
            last_due(before, at),
            Some(Utc.with_ymd_and_hms(2026, 11, 30, 6, 0, 0).unwrap())
        );
        let after = Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap();
        assert_eq!(last_due(after, at), Some(after));
        // Summer time: 07:00 in Paris is 05:00 UTC.
        let july = Utc.with_ymd_and_hms(2026, 7, 1, 5, 0, 0).unwrap();
        assert_eq!(last_due(july, at), Some(july));
        assert!(parse_time("7h").is_err());
    }
}
