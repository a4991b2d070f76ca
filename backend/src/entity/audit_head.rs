//! `audit_head`: one row (id 1) written in the same transaction as every audit event:
//! how many events the trail holds and the last one's link, under an HMAC. Every append
//! locks it first, which serialises the chain on SQLite and PostgreSQL alike; and a
//! trail cut short no longer matches it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// Events in the trail.
    pub count: i64,
    /// Id and link of the last event (`0` and the genesis link when empty).
    pub last_id: i64,
    pub last_hash: String,
    /// HMAC (audit key) over the three values above.
    pub mac: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
