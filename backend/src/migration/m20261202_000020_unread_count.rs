//! Issue 18: unread counts maintained, not counted per request. One row per account and
//! folder under « Messages reçus » (`folder_key`: a sub-folder's id, or `""` for the
//! folder itself) with the envelopes its recipient rows hold unopened, not deleted, not
//! purged. Kept in the transaction of every change that moves a row in or out of that
//! count (`envelope::unread`); filled here from the rows already there.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UnreadCount::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(UnreadCount::AccountId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UnreadCount::FolderKey)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(ColumnDef::new(UnreadCount::N).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(UnreadCount::AccountId)
                            .col(UnreadCount::FolderKey),
                    )
                    .to_owned(),
            )
            .await?;
        // The same in SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO unread_count (account_id, folder_key, n) \
                 SELECT r.account_id, COALESCE(r.folder_id, ''), COUNT(*) \
                 FROM envelope_recipient r JOIN envelope e ON e.id = r.envelope_id \
                 WHERE r.opened_at IS NULL AND r.deleted_at IS NULL AND e.purged_at IS NULL \
                 GROUP BY r.account_id, COALESCE(r.folder_id, '')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UnreadCount::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum UnreadCount {
    Table,
    AccountId,
    FolderKey,
    N,
}
