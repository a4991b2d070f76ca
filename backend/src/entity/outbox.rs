//! `outbox`: mails waiting to leave, drained by the mail worker with retries.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Why the mail exists (`one_time_code`, …).
    pub purpose: String,
    pub account_id: Option<String>,
    pub recipient: String,
    /// The mail (subject and body) sealed with the outbox key, base64; emptied once sent
    /// so that no code outlives its delivery in clear or sealed form.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// `pending`, `sent` or `refused` (permanent failure).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: ChronoDateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub sent_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
