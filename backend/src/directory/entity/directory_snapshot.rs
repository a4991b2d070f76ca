//! `directory_snapshot`: one import of a directory source; `state` is `loading`,
//! `active` (the one searches read) or `retired`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "directory_snapshot")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `mssante` (national) or `medimail` (regional entries).
    pub source: String,
    pub state: String,
    pub created_at: ChronoDateTimeUtc,
    pub rows: i64,
    pub rejected: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
