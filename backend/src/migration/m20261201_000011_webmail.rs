//! The webmail (docs/ARCHITECTURE.md "Webmail"): the conditions of use an account
//! accepted (version and date), the reset an operator forces (`medimail account reset`),
//! and the scope of a session — `full`, or `enrol` for a session opened by a code alone,
//! which may only choose a passphrase (first visit, forgotten passphrase) — and when a
//! mailbox first received an envelope (`MEDIMAIL_WEBMAIL=recipients` lets those sign in).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            (
                Account::Table.into_iden(),
                ColumnDef::new(Account::ConditionsVersion)
                    .string_len(32)
                    .null()
                    .to_owned(),
            ),
            (
                Account::Table.into_iden(),
                ColumnDef::new(Account::ConditionsAcceptedAt)
                    .timestamp_with_time_zone()
                    .null()
                    .to_owned(),
            ),
            (
                Account::Table.into_iden(),
                ColumnDef::new(Account::MustReset)
                    .boolean()
                    .not_null()
                    .default(false)
                    .to_owned(),
            ),
            (
                Account::Table.into_iden(),
                ColumnDef::new(Account::ReceivedAt)
                    .timestamp_with_time_zone()
                    .null()
                    .to_owned(),
            ),
            (
                AuthSession::Table.into_iden(),
                ColumnDef::new(AuthSession::Scope)
                    .string_len(16)
                    .not_null()
                    .default("full")
                    .to_owned(),
            ),
        ];
        for (table, mut column) in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // The mailboxes that already received envelopes.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE account SET received_at = COALESCE((SELECT MIN(r.sealed_at) FROM \
                 envelope_recipient r WHERE r.account_id = account.id), account.created_at) \
                 WHERE EXISTS (SELECT 1 FROM envelope_recipient r WHERE r.account_id = \
                 account.id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            (
                Account::Table.into_iden(),
                Account::ConditionsVersion.into_iden(),
            ),
            (
                Account::Table.into_iden(),
                Account::ConditionsAcceptedAt.into_iden(),
            ),
            (Account::Table.into_iden(), Account::MustReset.into_iden()),
            (Account::Table.into_iden(), Account::ReceivedAt.into_iden()),
            (
                AuthSession::Table.into_iden(),
                AuthSession::Scope.into_iden(),
            ),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    ConditionsVersion,
    ConditionsAcceptedAt,
    MustReset,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum AuthSession {
    Table,
    Scope,
}
