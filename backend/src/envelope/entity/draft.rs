//! `draft`: the account's one draft (« Sauvegarder »), sealed: base64 of the JSON
//! `EnvelopeDraft` sealed with a key derived from the master key, bound to the account.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "draft")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    #[sea_orm(column_type = "Text")]
    pub sealed: String,
    pub saved_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
