//! `account`: a Medimail account, bound to one Office identity `(tenant_id, object_id)`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account")]
pub struct Model {
    /// Random UUID (v4), the account's stable reference.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub object_id: String,
    /// From the token's `name`, refreshed at each sign-in.
    pub display_name: Option<String>,
    /// The Office 365 mailbox that receives one-time codes, refreshed at each sign-in.
    pub mailbox: Option<String>,
    /// argon2id PHC string; `None` until the user has chosen a passphrase.
    #[sea_orm(column_type = "Text", nullable)]
    pub passphrase_hash: Option<String>,
    pub failed_attempts: i32,
    pub locked_until: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    /// When the last one-time code was requested (one request per 60 s).
    pub last_code_requested_at: Option<ChronoDateTimeUtc>,
    /// On the "liste rouge": never returned by a directory search (manual part 2 §4).
    pub liste_rouge: bool,
    /// MSSanté activated: the national directory is offered (its activation flow comes
    /// later; for now an administrator sets it with `medimail account`).
    pub mssante_enabled: bool,
    /// The display name normalised (`directory::keys::normalize`), for the Medimail directory.
    pub search_name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// How the account appears in the audit trail and in events: its mailbox, or its id.
    pub fn label(&self) -> String {
        self.mailbox.clone().unwrap_or_else(|| self.id.clone())
    }
}
