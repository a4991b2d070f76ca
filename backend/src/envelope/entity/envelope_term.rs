//! `envelope_term`: the keyed tags of the 3-character sequences of an envelope's title
//! and sender name, for searching a folder without those in clear (`envelope::at_rest`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "envelope_term")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub term: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub envelope_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
