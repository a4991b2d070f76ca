//! `envelope_event`: what happened to an envelope, shown to its users ("Scellement",
//! "Ouverture", downloads).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "envelope_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub envelope_id: String,
    /// `sealed`, `opened`, `downloaded`.
    pub kind: String,
    pub account_id: Option<String>,
    /// The person, as shown (mailbox).
    pub actor: String,
    pub occurred_at: ChronoDateTimeUtc,
    /// JSON details (attachment id for downloads…); never content.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
