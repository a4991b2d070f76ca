//! `signature`: « Signature de mail » (manual part 1 §6.5), an account's named
//! signatures, sanitised like message bodies; at most one `is_default`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signature")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    /// As the user typed it.
    pub name: String,
    /// The name without case or accents: unique per account.
    pub name_key: String,
    #[sea_orm(column_type = "Text")]
    pub body_html: String,
    /// Inserted in every new message.
    pub is_default: bool,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
