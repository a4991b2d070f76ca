//! The migration to "accounts are mailboxes" on data written before it, on SQLite and
//! PostgreSQL: an identity that opened a session keeps its account through a link; two
//! accounts of one mailbox become one, what the other held moving over; an identity
//! that never proved its mailbox is not linked.

use medimail_server::account::entity::{account, identity_link};
use medimail_server::migration::Migrator;
use sea_orm::{ConnectionTrait, Database, EntityTrait};
use sea_orm_migration::MigratorTrait;

mod common;
use common::*;

const T: &str = "72f988bf-0000-4000-8000-00000000aaaa";

#[tokio::test]
async fn existing_accounts_become_mailboxes_with_their_proven_identities_linked() {
    for db in databases().await {
        let conn = Database::connect(db.url.as_str()).await.expect("connect");
        Migrator::up(&conn, Some(8))
            .await
            .expect("the schema before");
        for sql in [
            // A person who signed in (a session) as dup@; a placeholder for DUP@ made
            // later by a recipient's address; someone who chose a passphrase but never
            // proved a code.
            format!(
                "INSERT INTO account (id, tenant_id, object_id, display_name, mailbox, \
                 passphrase_hash, failed_attempts, created_at, liste_rouge, mssante_enabled) \
                 VALUES ('a1', '{T}', 'o1', 'Marie CURIE', 'dup@chu-exemple.fr', '$argon2id$x', \
                 0, '2026-01-10T08:00:00Z', false, false)"
            ),
            "INSERT INTO account (id, tenant_id, object_id, mailbox, failed_attempts, \
             created_at, liste_rouge, mssante_enabled) VALUES ('a2', 'pending', \
             'dup@chu-exemple.fr', ' DUP@chu-exemple.fr', 0, '2026-01-11T08:00:00Z', false, \
             false)"
                .to_owned(),
            format!(
                "INSERT INTO account (id, tenant_id, object_id, mailbox, passphrase_hash, \
                 failed_attempts, created_at, liste_rouge, mssante_enabled) VALUES ('a3', \
                 '{T}', 'o3', 'solo@chu-exemple.fr', '$argon2id$y', 0, \
                 '2026-01-12T08:00:00Z', false, false)"
            ),
            "INSERT INTO auth_session (id, account_id, token_hash, created_at, last_seen_at, \
             expires_at) VALUES ('s1', 'a1', 'h', '2026-01-10T08:05:00Z', \
             '2026-01-10T08:05:00Z', '2026-01-10T20:05:00Z')"
                .to_owned(),
            "INSERT INTO directory_favorite (account_id, annuaire, address, contact, \
             created_at) VALUES ('a2', 'medimail', 'x@chu-exemple.fr', '{}', \
             '2026-01-11T08:00:00Z')"
                .to_owned(),
        ] {
            conn.execute_unprepared(&sql).await.expect("legacy row");
        }
        Migrator::up(&conn, None).await.expect("migrated");

        let accounts = account::Entity::find().all(&conn).await.expect("accounts");
        let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
        assert!(ids.contains(&"a1") && ids.contains(&"a3"), "{ids:?}");
        assert!(!ids.contains(&"a2"), "the placeholder merged: {ids:?}");
        let a1 = accounts.iter().find(|a| a.id == "a1").expect("a1");
        assert_eq!(a1.mailbox.as_deref(), Some("dup@chu-exemple.fr"));
        assert!(a1.proven_at.is_some());
        assert!(
            accounts
                .iter()
                .find(|a| a.id == "a3")
                .expect("a3")
                .proven_at
                .is_none()
        );
        let links = identity_link::Entity::find()
            .all(&conn)
            .await
            .expect("links");
        assert_eq!(links.len(), 1, "only the proven identity: {links:?}");
        assert_eq!(
            (
                links[0].tenant_id.as_str(),
                links[0].subject.as_str(),
                links[0].account_id.as_deref()
            ),
            (T, "o1", Some("a1"))
        );
        let favorites = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT account_id FROM directory_favorite",
            ))
            .await
            .expect("query")
            .expect("the favorite");
        assert_eq!(
            favorites.try_get::<String>("", "account_id").expect("id"),
            "a1"
        );
        // Sessions named no identity: they ended.
        let sessions = conn
            .query_all_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT id FROM auth_session",
            ))
            .await
            .expect("sessions");
        assert!(sessions.is_empty());
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}
