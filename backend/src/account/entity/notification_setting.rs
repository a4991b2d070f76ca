//! `notification_setting`: « Notifications » (manual part 1 §6.3), the mails an account
//! wants; no row means the defaults ([`crate::account::notifications::defaults`]).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_setting")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    pub sealed: bool,
    pub opened_by_me_sent: bool,
    pub received: bool,
    pub opened_by_me_received: bool,
    pub daily_digest: bool,
    pub opened_by_others_sent: bool,
    pub opened_by_others_received: bool,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
