//! Issue 17, « Organisations and managers »: an organisation (configured by the operator's
//! `medimail organisation …`) owns mail domains — an account belongs to the organisation
//! of its mailbox's domain — and has managers, accounts that administer the others
//! (« Administration »). It may reserve the MSSanté activation to them (manual part 1
//! §6.6.1).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisation::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Organisation::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Organisation::Name).string().not_null())
                    .col(
                        ColumnDef::new(Organisation::ActivationByManagers)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Organisation::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganisationDomain::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(OrganisationDomain::Domain)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OrganisationDomain::OrganisationId)
                            .string()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                OrganisationDomain::Table,
                                OrganisationDomain::OrganisationId,
                            )
                            .to(Organisation::Table, Organisation::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("organisation_domain_organisation")
                    .table(OrganisationDomain::Table)
                    .col(OrganisationDomain::OrganisationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganisationManager::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(OrganisationManager::AccountId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OrganisationManager::OrganisationId)
                            .string()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrganisationManager::Table, OrganisationManager::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                OrganisationManager::Table,
                                OrganisationManager::OrganisationId,
                            )
                            .to(Organisation::Table, Organisation::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("organisation_manager_organisation")
                    .table(OrganisationManager::Table)
                    .col(OrganisationManager::OrganisationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OrganisationManager::Table.into_iden(),
            OrganisationDomain::Table.into_iden(),
            Organisation::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Id,
    Name,
    ActivationByManagers,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrganisationDomain {
    Table,
    Domain,
    OrganisationId,
}

#[derive(DeriveIden)]
enum OrganisationManager {
    Table,
    AccountId,
    OrganisationId,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}
