//! `blob_lease`: a blob an upload in progress is writing or has written, kept from the
//! orphan sweep until `until` (renewed while the upload goes on, released when the
//! envelope is sealed or refused).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blob_lease")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub blob_id: String,
    pub until: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
