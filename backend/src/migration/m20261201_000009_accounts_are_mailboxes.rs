//! Accounts are mailboxes (docs/ARCHITECTURE.md "Identity model"): an account is one
//! mailbox, unique; sign-in identities are *linked* to it in `identity_link` once a code
//! mailed there has been proven. One-time codes and sessions remember the identity that
//! asked for them and the mailbox the code went to.
//!
//! Existing data: an Office identity that opened a session (so proved a code at its
//! mailbox) keeps its account through a link; accounts sharing a mailbox are merged into
//! one (the proven one, else the oldest); pending codes and open sessions end, since
//! they do not name their identity.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn quoted(id: &str) -> String {
    format!("'{}'", id.replace('\'', "''"))
}

/// Moves everything of account `from` to account `into`, then deletes `from`.
async fn merge(manager: &SchemaManager<'_>, from: &str, into: &str) -> Result<(), DbErr> {
    let (from, into) = (quoted(from), quoted(into));
    let db = manager.get_connection();
    for sql in [
        format!(
            "DELETE FROM envelope_recipient WHERE account_id = {from} AND envelope_id IN \
             (SELECT envelope_id FROM envelope_recipient WHERE account_id = {into})"
        ),
        format!("UPDATE envelope_recipient SET account_id = {into} WHERE account_id = {from}"),
        format!("UPDATE envelope SET sender_account_id = {into} WHERE sender_account_id = {from}"),
        format!("UPDATE envelope_event SET account_id = {into} WHERE account_id = {from}"),
        format!(
            "DELETE FROM directory_favorite WHERE account_id = {from} AND EXISTS (SELECT 1 \
             FROM directory_favorite f WHERE f.account_id = {into} AND f.annuaire = \
             directory_favorite.annuaire AND f.address = directory_favorite.address)"
        ),
        format!("UPDATE directory_favorite SET account_id = {into} WHERE account_id = {from}"),
        format!("UPDATE outbox SET account_id = {into} WHERE account_id = {from}"),
        format!("DELETE FROM one_time_code WHERE account_id = {from}"),
        format!("DELETE FROM auth_session WHERE account_id = {from}"),
        format!("UPDATE identity_link SET account_id = {into} WHERE account_id = {from}"),
        format!("DELETE FROM account WHERE id = {from}"),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdentityLink::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(IdentityLink::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(IdentityLink::Provider)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdentityLink::TenantId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdentityLink::Subject)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdentityLink::AccountId)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(IdentityLink::ChosenPassphraseHash)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(IdentityLink::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdentityLink::LinkedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("identity_link_identity")
                    .table(IdentityLink::Table)
                    .col(IdentityLink::Provider)
                    .col(IdentityLink::TenantId)
                    .col(IdentityLink::Subject)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("identity_link_account")
                    .table(IdentityLink::Table)
                    .col(IdentityLink::AccountId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(
                        ColumnDef::new(Account::ProvenAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        // Identities that opened a session proved their mailbox: they keep their account.
        db.execute_unprepared(
            "INSERT INTO identity_link (id, provider, tenant_id, subject, account_id, \
             created_at, linked_at) SELECT a.id, 'office', a.tenant_id, a.object_id, a.id, \
             a.created_at, a.created_at FROM account a WHERE a.tenant_id <> 'pending' AND \
             EXISTS (SELECT 1 FROM auth_session s WHERE s.account_id = a.id)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE account SET proven_at = created_at WHERE id IN (SELECT account_id FROM \
             identity_link)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE account SET mailbox = LOWER(TRIM(mailbox)) WHERE mailbox IS NOT NULL",
        )
        .await?;
        // One account per mailbox: the others merge into the proven (else the oldest).
        let backend = manager.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, mailbox FROM account WHERE mailbox IN (SELECT mailbox FROM account \
                 WHERE mailbox IS NOT NULL GROUP BY mailbox HAVING COUNT(*) > 1) ORDER BY \
                 mailbox, CASE WHEN proven_at IS NULL THEN 1 ELSE 0 END, created_at, id",
            ))
            .await?;
        let mut survivor: Option<(String, String)> = None;
        for row in rows {
            let id: String = row.try_get("", "id")?;
            let mailbox: String = row.try_get("", "mailbox")?;
            match &survivor {
                Some((kept, kept_mailbox)) if *kept_mailbox == mailbox => {
                    merge(manager, &id, kept).await?;
                }
                _ => survivor = Some((id, mailbox)),
            }
        }

        db.execute_unprepared("DROP INDEX IF EXISTS account_identity")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS account_mailbox")
            .await?;
        for column in [Account::TenantId, Account::ObjectId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Account::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("account_mailbox_unique")
                    .table(Account::Table)
                    .col(Account::Mailbox)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        // Codes and sessions name the identity (and codes the mailbox they went to).
        db.execute_unprepared("DELETE FROM one_time_code").await?;
        db.execute_unprepared("DELETE FROM auth_session").await?;
        for (table, column, len) in [
            (Alias::new("one_time_code"), Alias::new("tenant_id"), 64),
            (Alias::new("one_time_code"), Alias::new("subject"), 128),
            (Alias::new("one_time_code"), Alias::new("mailbox"), 320),
            (Alias::new("auth_session"), Alias::new("tenant_id"), 64),
            (Alias::new("auth_session"), Alias::new("subject"), 128),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(
                            ColumnDef::new(column)
                                .string_len(len)
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "accounts are mailboxes: this migration cannot be undone".into(),
        ))
    }
}

#[derive(DeriveIden)]
enum IdentityLink {
    Table,
    Id,
    Provider,
    TenantId,
    Subject,
    AccountId,
    ChosenPassphraseHash,
    CreatedAt,
    LinkedAt,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    TenantId,
    ObjectId,
    Mailbox,
    ProvenAt,
}
