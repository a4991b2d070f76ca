//! `directory_favorite`: a contact starred by an account ("Favoris", manual part 1 §5).
//! The contact is kept as it was when starred (JSON `DirectoryContact`), so a favorite
//! survives a re-import of its directory.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "directory_favorite")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub annuaire: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub address: String,
    #[sea_orm(column_type = "Text")]
    pub contact: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
