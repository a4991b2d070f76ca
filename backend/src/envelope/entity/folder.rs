//! `folder`: a sub-folder of an account (« Dossiers »). Its name is sealed (base64 of
//! what `Keys::seal_outbox` gives, bound to the account and the folder); `name_tag` is the
//! keyed tag of its normalised name, unique per parent (`parent_key`: the parent's id, or
//! the root's name).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "folder")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    /// `inbox`, `sent` or `deleted`.
    pub root: String,
    pub parent_id: Option<String>,
    pub parent_key: String,
    pub depth: i16,
    #[sea_orm(column_type = "Text")]
    pub name_sealed: String,
    pub name_tag: i64,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
