//! `attachment`: a file of an envelope, stored encrypted in the blob store.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub envelope_id: String,
    /// Order of the files as sent.
    pub position: i32,
    /// The name as the user chose it (NFC).
    pub display_name: String,
    /// The name safe for headers and storage.
    pub safe_name: String,
    pub content_type: String,
    /// Plaintext size in bytes.
    pub size: i64,
    pub blob_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
