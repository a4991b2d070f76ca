//! `maintenance`: the one-off tasks finished on this database, one row each (the task's
//! name, when it finished). A task run at start by every instance looks here first, and
//! what waits for a task (the search's scan of mailboxes, `envelope::folders`) asks here.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "maintenance")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub task: String,
    pub done_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
