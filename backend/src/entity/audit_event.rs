//! `audit_event`: the append-only, hash-chained audit trail.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: ChronoDateTimeUtc,
    /// Who acted: an account's mailbox, or `system`.
    pub actor: String,
    /// What happened, a stable identifier (`server_started`, …).
    pub action: String,
    /// JSON details. Never secrets, codes, passphrases or message content.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    /// Hash of the previous row (64 zeros for the first one).
    pub prev_hash: String,
    /// SHA-256 over `prev_hash` and this row's fields, hexadecimal.
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
