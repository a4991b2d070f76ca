//! `identity_link`: a sign-in identity (an Office identity: provider `office`, Entra
//! tenant and object id) and the account it reaches. `account_id` is set only once a
//! code mailed to that account's mailbox has been proven by this identity; before that
//! the row only keeps the passphrase chosen for a first sign-in.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_link")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `office` today.
    pub provider: String,
    pub tenant_id: String,
    pub subject: String,
    /// The linked account; `None` until a code is proven.
    pub account_id: Option<String>,
    /// argon2id PHC string of the passphrase chosen before the first proof: it becomes
    /// the account's passphrase when the code is proven (if the account has none).
    #[sea_orm(column_type = "Text", nullable)]
    pub chosen_passphrase_hash: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub linked_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
