//! Issue 17, « Activité » (manual part 1 §6.4): « Timbres alloués à votre compte » (none:
//! illimité) and « Timbres utilisés » — one stamp per envelope sent, counted on the
//! account in the sealing transaction (the sender's row is locked there already). Filled
//! here from the envelopes already sent.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            ColumnDef::new(Account::StampsAllocated)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(Account::StampsUsed)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Account::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE account SET stamps_used = \
                 (SELECT COUNT(*) FROM envelope WHERE envelope.sender_account_id = account.id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Account::StampsAllocated, Account::StampsUsed] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Account::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    StampsAllocated,
    StampsUsed,
}
