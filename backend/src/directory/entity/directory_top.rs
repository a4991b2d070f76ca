//! `directory_top`: for a name prefix (`n:mar`, `p:jea`…, 3 to 8 characters) matched by
//! more than [`crate::directory::import::TOP`] entries, the ranks of the first of them in
//! name order (little-endian `u32`s), and how many entries match in all.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "directory_top")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub snapshot_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub total: i64,
    pub ranks: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
