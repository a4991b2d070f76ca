//! `one_time_code`: a 6-digit code mailed to the account's Office 365 mailbox. Only its
//! HMAC is stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_code")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    /// HMAC-SHA256 (server key) of the account, the code id and the code, hexadecimal.
    pub code_hash: String,
    pub created_at: ChronoDateTimeUtc,
    pub expires_at: ChronoDateTimeUtc,
    /// Attempts claimed against this one (each claimed before it is checked); at 5 it
    /// can no longer be tried.
    pub failed_attempts: i32,
    /// Set once the code can no longer be used, with why in `outcome`.
    pub consumed_at: Option<ChronoDateTimeUtc>,
    /// `used`, `superseded`, `invalidated`, `expired` or `locked`.
    pub outcome: Option<String>,
    /// The identity that asked for it (Entra tenant and object id): only it may use it.
    pub tenant_id: String,
    pub subject: String,
    /// Where it was mailed: the account's mailbox, or the new mailbox a moved identity
    /// proves (docs/ARCHITECTURE.md "Identity model").
    pub mailbox: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
