//! Issue 17, « Notifications » (manual part 1 §6.3): which notification mails an account
//! wants, the manual's matrix — events of its own (on envelopes it wrote: scellement,
//! ouverture; on envelopes it received: réception of each message, ouverture, the daily
//! digest) and events of another user (ouverture of an envelope it wrote, of one it
//! received). No row: the defaults (réception of each message, and another user's
//! opening of an envelope it wrote — what Medimail always sent).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let flag = |c: NotificationSetting, on: bool| {
            ColumnDef::new(c)
                .boolean()
                .not_null()
                .default(on)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(NotificationSetting::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(NotificationSetting::AccountId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(flag(NotificationSetting::Sealed, false))
                    .col(flag(NotificationSetting::OpenedByMeSent, false))
                    .col(flag(NotificationSetting::Received, true))
                    .col(flag(NotificationSetting::OpenedByMeReceived, false))
                    .col(flag(NotificationSetting::DailyDigest, false))
                    .col(flag(NotificationSetting::OpenedByOthersSent, true))
                    .col(flag(NotificationSetting::OpenedByOthersReceived, false))
                    .col(
                        ColumnDef::new(NotificationSetting::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationSetting::Table, NotificationSetting::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(NotificationSetting::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum NotificationSetting {
    Table,
    AccountId,
    Sealed,
    OpenedByMeSent,
    Received,
    OpenedByMeReceived,
    DailyDigest,
    OpenedByOthersSent,
    OpenedByOthersReceived,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}
