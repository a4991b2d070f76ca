//! `directory_entry`: one mailbox of a directory snapshot.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "directory_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub snapshot_id: i64,
    /// `PER` or `ORG`.
    pub kind: String,
    pub address: String,
    pub identifier: Option<String>,
    pub civility: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub profession: Option<String>,
    pub speciality: Option<String>,
    pub organisation: Option<String>,
    pub address_lines: Option<String>,
    pub postal_code: Option<String>,
    pub department: Option<String>,
    /// The town (L6 line without its postal code).
    pub city: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
