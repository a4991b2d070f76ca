//! Schema migrations, applied at start-up (`Migrator::up`). One file per migration,
//! named `mYYYYMMDD_NNNNNN_what.rs`; never edit one that has shipped.

use sea_orm_migration::prelude::*;

mod m20261127_000001_create_audit_event;
mod m20261127_000002_create_account;
mod m20261127_000003_create_sign_in;
mod m20261127_000004_create_envelope;
mod m20261127_000005_inbox_order;
mod m20261127_000006_create_directory;
mod m20261127_000007_directory_search;
mod m20261127_000008_directory_key_without_rowid;
mod m20261201_000009_accounts_are_mailboxes;
mod m20261201_000010_audit_head;
mod m20261201_000011_webmail;
mod m20261201_000012_idempotent_send;
mod m20261201_000013_blob_lease;
mod m20261201_000014_sealed_at_rest;
mod m20261201_000015_threads;
mod m20261201_000016_pro_sante_connect;
mod m20261201_000017_draft;
mod m20261201_000018_folders;
mod m20261202_000019_mssante_eligible;
mod m20261202_000020_unread_count;
mod m20261202_000021_stamps;
mod m20261202_000022_account_identity;
mod m20261202_000023_mssante_address;
mod m20261202_000024_signature;
mod m20261202_000025_notification_setting;
mod m20261202_000026_digest_sent;
mod m20261202_000027_delegation;
mod m20261202_000028_organisation;
mod m20261202_000029_search_by_mailbox;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_audit_event::Migration),
            Box::new(m20261127_000002_create_account::Migration),
            Box::new(m20261127_000003_create_sign_in::Migration),
            Box::new(m20261127_000004_create_envelope::Migration),
            Box::new(m20261127_000005_inbox_order::Migration),
            Box::new(m20261127_000006_create_directory::Migration),
            Box::new(m20261127_000007_directory_search::Migration),
            Box::new(m20261127_000008_directory_key_without_rowid::Migration),
            Box::new(m20261201_000009_accounts_are_mailboxes::Migration),
            Box::new(m20261201_000010_audit_head::Migration),
            Box::new(m20261201_000011_webmail::Migration),
            Box::new(m20261201_000012_idempotent_send::Migration),
            Box::new(m20261201_000013_blob_lease::Migration),
            Box::new(m20261201_000014_sealed_at_rest::Migration),
            Box::new(m20261201_000015_threads::Migration),
            Box::new(m20261201_000016_pro_sante_connect::Migration),
            Box::new(m20261201_000017_draft::Migration),
            Box::new(m20261201_000018_folders::Migration),
            Box::new(m20261202_000019_mssante_eligible::Migration),
            Box::new(m20261202_000020_unread_count::Migration),
            Box::new(m20261202_000021_stamps::Migration),
            Box::new(m20261202_000022_account_identity::Migration),
            Box::new(m20261202_000023_mssante_address::Migration),
            Box::new(m20261202_000024_signature::Migration),
            Box::new(m20261202_000025_notification_setting::Migration),
            Box::new(m20261202_000026_digest_sent::Migration),
            Box::new(m20261202_000027_delegation::Migration),
            Box::new(m20261202_000028_organisation::Migration),
            Box::new(m20261202_000029_search_by_mailbox::Migration),
        ]
    }
}
