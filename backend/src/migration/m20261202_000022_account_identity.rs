//! Issue 17, « Paramètres du compte » › « Identité » (manual part 1 §6.1): what the user
//! says of themself — civilité, nom, prénom, profession and spécialité (the national
//! nomenclatures' codes), activité libérale, raison sociale, the address, the telephones
//! and « Dématérialisation ». One row per account, written whole by « Enregistrer »; the
//! RPPS / ADELI numbers and « Liste rouge » stay on `account`, where the sign-in and the
//! directory already read them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let text = |c: AccountIdentity| ColumnDef::new(c).string().null().to_owned();
        let flag = |c: AccountIdentity| {
            ColumnDef::new(c)
                .boolean()
                .not_null()
                .default(false)
                .to_owned()
        };
        let mut table = Table::create();
        table.table(AccountIdentity::Table).if_not_exists().col(
            ColumnDef::new(AccountIdentity::AccountId)
                .string()
                .not_null()
                .primary_key(),
        );
        for column in [
            AccountIdentity::Civility,
            AccountIdentity::LastName,
            AccountIdentity::FirstName,
            AccountIdentity::ProfessionCode,
            AccountIdentity::SpecialityCode,
            AccountIdentity::RaisonSociale,
            AccountIdentity::Address1,
            AccountIdentity::Address2,
            AccountIdentity::PostalCode,
            AccountIdentity::City,
            AccountIdentity::Region,
            AccountIdentity::Department,
            AccountIdentity::Phone1,
            AccountIdentity::Phone2,
        ] {
            table.col(text(column));
        }
        table
            .col(flag(AccountIdentity::Liberal))
            .col(flag(AccountIdentity::Dematerialised))
            .col(
                ColumnDef::new(AccountIdentity::UpdatedAt)
                    .timestamp_with_time_zone()
                    .not_null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(AccountIdentity::Table, AccountIdentity::AccountId)
                    .to(Account::Table, Account::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager.create_table(table.to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountIdentity::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AccountIdentity {
    Table,
    AccountId,
    Civility,
    LastName,
    FirstName,
    ProfessionCode,
    SpecialityCode,
    Liberal,
    RaisonSociale,
    Address1,
    Address2,
    PostalCode,
    City,
    Region,
    Department,
    Phone1,
    Phone2,
    Dematerialised,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}
