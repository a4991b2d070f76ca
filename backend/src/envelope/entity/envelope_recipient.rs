//! `envelope_recipient`: one row per recipient (To or Cc) of an envelope.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "envelope_recipient")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub envelope_id: String,
    pub account_id: String,
    pub address: String,
    /// `to` or `cc`.
    pub kind: String,
    /// Order as typed (To first, then Cc).
    pub position: i32,
    /// First opening ("Ouverture").
    pub opened_at: Option<ChronoDateTimeUtc>,
    /// Moved to "Messages supprimés" by this recipient.
    pub deleted_at: Option<ChronoDateTimeUtc>,
    /// Removed for good from "Messages supprimés" by this recipient.
    pub removed_at: Option<ChronoDateTimeUtc>,
    /// The envelope's sealing time, copied so the inbox is read in order from an index.
    pub sealed_at: Option<ChronoDateTimeUtc>,
    /// The recipient's sub-folder (`folder`) under « Messages reçus » (or, once deleted,
    /// under « Messages supprimés »); none: the folder itself.
    pub folder_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The join from a recipient row to its envelope (`.rev()`: from the envelope).
pub fn to_envelope() -> RelationDef {
    Entity::belongs_to(super::envelope::Entity)
        .from(Column::EnvelopeId)
        .to(super::envelope::Column::Id)
        .into()
}
