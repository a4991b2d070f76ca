//! `organisation`: a structure (hospital, practice) configured by the operator
//! (`medimail organisation set`). Its accounts are those of its mail domains
//! (`organisation_domain`); its managers administer them (`organisation_manager`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation")]
pub struct Model {
    /// Chosen by the operator (`chu-toulouse`): lower case, digits and hyphens.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// « CHU de Toulouse ».
    pub name: String,
    /// The MSSanté activation is reserved to the managers (manual part 1 §6.6.1).
    pub activation_by_managers: bool,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
