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
    /// The name as sent, the safe name and the sender's type, sealed together under the
    /// envelope's key (`at_rest::AttachmentMeta`); the three clear columns above are
    /// written blank, and hold a row from before until `at_rest::seal_legacy` runs.
    #[sea_orm(column_type = "Text", nullable)]
    pub meta_sealed: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
