//! The outbox worker: delivers due mails, reschedules failures with exponential backoff
//! (1 s, 2 s, 4 s … up to `MEDIMAIL_MAIL_RETRY_MAX_SECONDS`), and records each delivery
//! in the audit trail. Several server instances may run it at once: a mail is claimed by
//! a conditional update before it is sent, so only one instance sends it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{
    Courier, Mailer, OPERATOR_DELIVERY, OutgoingMail, STATUS_PENDING, STATUS_REFUSED, STATUS_SENT,
    SendError,
};
use crate::clock::Clock;
use crate::entity::outbox;
use crate::keys::Keys;
use crate::metrics::MailOutcome;

/// How long a claimed mail stays reserved for the instance sending it (longer than the
/// SMTP timeout); after a crash, another attempt starts once it has passed.
const CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(120);
/// How often the worker looks for due mails when nobody wakes it.
const POLL: Duration = Duration::from_secs(1);
/// Mails handled per pass.
const BATCH: u64 = 20;
/// Deliveries to other operators in progress at once, per instance.
const OPERATOR_DELIVERIES_AT_ONCE: usize = 4;

/// A courier's row being settled: the courier, and the row's payload if it opened.
type Settle<'a> = (&'a Arc<dyn Courier>, Option<&'a [u8]>);

/// What the worker needs.
#[derive(Clone)]
pub struct Worker {
    pub db: DatabaseConnection,
    pub keys: Arc<Keys>,
    pub mailer: Arc<Mailer>,
    pub clock: Clock,
    /// Delivers to other MSSanté operators, when configured.
    pub courier: Option<Arc<dyn Courier>>,
}

/// The wait before attempt `attempts + 1`, doubling from 1 s, capped at `max`.
pub fn backoff(attempts: i32, max: Duration) -> Duration {
    let exp = attempts.clamp(1, 30) as u32 - 1;
    Duration::from_secs(1u64 << exp).min(max)
}

/// The one-time code mails go in their own lane, never behind notifications: whatever
/// one user queues, a code arrives within its 10 minutes.
const CODE_PURPOSE: &str = "one_time_code";

/// The worker's two lanes, each its own task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// One-time code mails.
    Codes = 0,
    /// Every other mail (notifications, openings, reports…).
    Others = 1,
    /// Messages handed to other MSSanté operators (large, slow): never in front of a mail.
    Operators = 2,
}

impl Worker {
    /// Runs every lane until the task is dropped.
    pub async fn run(self) {
        tokio::join!(
            self.run_lane(Lane::Codes),
            self.run_lane(Lane::Others),
            self.run_lane(Lane::Operators)
        );
    }

    async fn run_lane(&self, lane: Lane) {
        loop {
            match self.drain_lane(lane).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, ?lane, "outbox worker: database error"),
            }
            tokio::select! {
                _ = self.mailer.woken(lane as usize) => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One pass over the due mails, codes first; returns how many were handled.
    pub async fn drain_once(&self) -> Result<usize, sea_orm::DbErr> {
        Ok(self.drain_lane(Lane::Codes).await?
            + self.drain_lane(Lane::Others).await?
            + self.drain_lane(Lane::Operators).await?)
    }

    /// One pass over the due mails of `lane`; returns how many were handled.
    pub async fn drain_lane(&self, lane: Lane) -> Result<usize, sea_orm::DbErr> {
        let now = self.clock.now();
        let purpose = match lane {
            Lane::Codes => outbox::Column::Purpose.eq(CODE_PURPOSE),
            Lane::Others => outbox::Column::Purpose.is_not_in([CODE_PURPOSE, OPERATOR_DELIVERY]),
            // Without a courier they wait (the configuration may come back).
            Lane::Operators if self.courier.is_none() => return Ok(0),
            Lane::Operators => outbox::Column::Purpose.eq(OPERATOR_DELIVERY),
        };
        let due = outbox::Entity::find()
            .filter(outbox::Column::Status.eq(STATUS_PENDING))
            .filter(outbox::Column::NextAttemptAt.lte(now))
            .filter(purpose)
            .order_by_asc(outbox::Column::NextAttemptAt)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        // Mails go one after the other (one SMTP relay); other operators are distinct
        // servers, each delivery its own connection: a few at once.
        let at_once = if lane == Lane::Operators {
            OPERATOR_DELIVERIES_AT_ONCE
        } else {
            1
        };
        let outcomes: Vec<Result<bool, sea_orm::DbErr>> = futures::stream::iter(due)
            .map(|row| async move {
                if self.claim(&row, now).await? {
                    self.deliver(row).await?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            })
            .buffer_unordered(at_once)
            .collect()
            .await;
        let mut handled = 0;
        for outcome in outcomes {
            handled += usize::from(outcome?);
        }
        if crate::metrics::enabled() {
            let pending = outbox::Entity::find()
                .filter(outbox::Column::Status.eq(STATUS_PENDING))
                .count(&self.db)
                .await?;
            crate::metrics::outbox_pending(pending);
        }
        Ok(handled)
    }

    /// Reserves `row` for this worker; false if another instance took it first.
    async fn claim(&self, row: &outbox::Model, now: DateTime<Utc>) -> Result<bool, sea_orm::DbErr> {
        let result = outbox::Entity::update_many()
            .col_expr(
                outbox::Column::NextAttemptAt,
                Expr::value(now + CLAIM_LEASE),
            )
            .col_expr(outbox::Column::Attempts, Expr::value(row.attempts + 1))
            .filter(outbox::Column::Id.eq(&row.id))
            .filter(outbox::Column::Status.eq(STATUS_PENDING))
            .filter(outbox::Column::Attempts.eq(row.attempts))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    async fn deliver(&self, row: outbox::Model) -> Result<(), sea_orm::DbErr> {
        let attempts = row.attempts + 1;
        // A code that could not be delivered within its validity is useless: dropped
        // (the pane then says the code expired and offers a new one).
        if row.purpose == CODE_PURPOSE
            && self.clock.now()
                >= row.created_at
                    + chrono::Duration::minutes(medimail_api::limits::CODE_VALIDITY_MINUTES)
        {
            tracing::warn!(outbox = %row.id, attempts, "code mail dropped: its code expired before delivery");
            let event = (
                "code_mail_expired",
                serde_json::json!({"outbox": row.id, "attempts": row.attempts}),
            );
            return self
                .finish(
                    &row,
                    STATUS_REFUSED,
                    Some("the code expired before it could be delivered".into()),
                    self.clock.now(),
                    event,
                    None,
                )
                .await;
        }
        let plain = base64::engine::general_purpose::STANDARD
            .decode(&row.payload)
            .ok()
            .and_then(|sealed| self.keys.open_outbox(&row.id, &sealed));
        let courier = self
            .courier
            .as_ref()
            .filter(|_| row.purpose == OPERATOR_DELIVERY);
        let unreadable = || {
            SendError::Permanent(
                "the waiting mail cannot be opened (master key changed or row altered)".into(),
            )
        };
        let outcome = match (courier, &plain) {
            (Some(courier), Some(plain)) => courier.deliver(plain).await,
            (None, Some(plain)) => match serde_json::from_slice::<OutgoingMail>(plain) {
                Ok(mail) => self.mailer.send(&mail).await,
                Err(_) => Err(unreadable()),
            },
            (_, None) => Err(unreadable()),
        };
        // Retried long enough: a temporary failure of a courier's delivery is final.
        let outcome = match (outcome, courier) {
            (Err(SendError::Temporary(reason) | SendError::RetryAfter(reason, _)), Some(c))
                if self.clock.now() - row.created_at
                    >= chrono::Duration::from_std(c.retry_for())
                        .unwrap_or(chrono::Duration::MAX) =>
            {
                Err(SendError::Permanent(format!(
                    "{reason} (still failing after {} attempts)",
                    attempts
                )))
            }
            (outcome, _) => outcome,
        };
        let settle = courier.map(|c| (c, plain.as_deref()));
        let now = self.clock.now();
        let purpose = purpose_label(&row.purpose);
        match outcome {
            Ok(()) => {
                let action = match row.purpose.as_str() {
                    "one_time_code" => "code_mail_accepted",
                    _ => "mail_accepted",
                };
                let event = (
                    action,
                    serde_json::json!({"outbox": row.id, "attempts": attempts}),
                );
                self.finish(&row, STATUS_SENT, None, now, event, settle)
                    .await?;
                let queued_for = (now - row.created_at).to_std().ok();
                crate::metrics::mail_attempt(purpose, MailOutcome::Delivered, queued_for);
                tracing::info!(outbox = %row.id, purpose = %row.purpose, attempts, "mail accepted by the mail server");
            }
            Err(e @ (SendError::Temporary(_) | SendError::RetryAfter(..))) => {
                let (reason, at_least) = match e {
                    SendError::RetryAfter(reason, wait) => (reason, wait),
                    SendError::Temporary(reason) | SendError::Permanent(reason) => {
                        (reason, Duration::ZERO)
                    }
                };
                // The server's Retry-After, or the usual backoff if longer.
                let wait = backoff(attempts, self.mailer.retry_max).max(at_least);
                tracing::warn!(outbox = %row.id, attempts, retry_in_s = wait.as_secs(), %reason, "mail not delivered, will retry");
                outbox::Entity::update_many()
                    .col_expr(
                        outbox::Column::NextAttemptAt,
                        Expr::value(now + chrono::Duration::from_std(wait).unwrap_or(CLAIM_LEASE)),
                    )
                    .col_expr(outbox::Column::LastError, Expr::value(Some(reason)))
                    .filter(outbox::Column::Id.eq(&row.id))
                    .exec(&self.db)
                    .await?;
                crate::metrics::mail_attempt(purpose, MailOutcome::Retried, None);
            }
            Err(SendError::Permanent(reason)) => {
                tracing::error!(outbox = %row.id, recipient = %row.recipient, %reason, "mail refused permanently; it will not be retried");
                let event = (
                    "mail_refused",
                    serde_json::json!({"outbox": row.id, "purpose": row.purpose, "reason": reason}),
                );
                self.finish(
                    &row,
                    STATUS_REFUSED,
                    Some(reason.clone()),
                    now,
                    event,
                    settle,
                )
                .await?;
                crate::metrics::mail_attempt(purpose, MailOutcome::Refused, None);
            }
        }
        Ok(())
    }

    /// Final state, the sealed content erased, and its audit event, in one transaction.
    async fn finish(
        &self,
        row: &outbox::Model,
        status: &str,
        error: Option<String>,
        now: DateTime<Utc>,
        (action, detail): (&str, serde_json::Value),
        settle: Option<Settle<'_>>,
    ) -> Result<(), sea_orm::DbErr> {
        let id = &row.id;
        let txn = crate::db::begin_write(&self.db).await?;
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::value(status))
            .col_expr(outbox::Column::Payload, Expr::value(""))
            .col_expr(outbox::Column::LastError, Expr::value(error.clone()))
            .col_expr(
                outbox::Column::SentAt,
                Expr::value((status == STATUS_SENT).then_some(now)),
            )
            .filter(outbox::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        crate::audit::append(&txn, &self.keys, &row.recipient, action, detail).await?;
        if let Some((courier, payload)) = settle {
            let outcome = match &error {
                None => Ok(()),
                Some(reason) => Err(reason.as_str()),
            };
            courier.settled(&txn, payload, outcome, now).await?;
        }
        txn.commit().await?;
        if settle.is_some() {
            // The courier may have queued a mail (the failure told to the sender).
            self.mailer.wake();
        }
        Ok(())
    }
}

/// The purposes the server queues mails for, as metric labels (a fixed set).
fn purpose_label(purpose: &str) -> &'static str {
    match purpose {
        "one_time_code" => "one_time_code",
        "notification" => "notification",
        "opening_notification" => "opening_notification",
        "registration" => "registration",
        OPERATOR_DELIVERY => "mssante_delivery",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let max = Duration::from_secs(300);
        let waits: Vec<u64> = (1..=10).map(|a| backoff(a, max).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(backoff(1000, max).as_secs(), 300);
        assert_eq!(backoff(3, Duration::from_secs(2)).as_secs(), 2);
    }
}
