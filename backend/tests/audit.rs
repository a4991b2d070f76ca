//! The audit trail: keyed links, one chain under concurrency on both databases, and
//! `medimail audit verify` reporting an edited row, a deleted middle row and a cut tail.

use medimail_server::audit::{self, Verdict};
use medimail_server::keys::Keys;
use sea_orm::{ConnectionTrait, DatabaseConnection};

mod common;
use common::*;

/// A master key file and the keys it gives (the CLI reads the same file).
fn key_file() -> (tempfile::TempDir, std::path::PathBuf, Keys) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("master.key");
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    std::fs::write(&path, bytes).expect("key");
    let keys = Keys::load(Some(&path), dir.path()).expect("keys");
    (dir, path, keys)
}

/// `medimail audit verify` on `url`: (exit success, stdout + stderr).
fn cli_verify(url: &str, key: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_medimail"))
        .args(["audit", "verify"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("MEDIMAIL_MASTER_KEY_FILE", key)
        .output()
        .expect("medimail runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn record_some(db: &DatabaseConnection, keys: &Keys, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let row = audit::record(
            db,
            keys,
            "a@chu-exemple.fr",
            "test",
            serde_json::json!({ "n": i }),
        )
        .await
        .expect("record");
        ids.push(row.id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_appends_make_one_chain_that_verifies() {
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let (_dir, key_path, keys) = key_file();
        let keys = std::sync::Arc::new(keys);
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..200 {
            let (conn, keys) = (conn.clone(), keys.clone());
            tasks.spawn(async move {
                // Half record alone, half inside a transaction that writes something else.
                if n % 2 == 0 {
                    audit::record(&conn, &keys, "system", "test", serde_json::json!({"n": n}))
                        .await
                        .map(|_| ())
                } else {
                    let txn = medimail_server::db::begin_write(&conn).await?;
                    audit::append(&txn, &keys, "system", "test", serde_json::json!({"n": n}))
                        .await?;
                    sea_orm::TransactionSession::commit(txn).await
                }
            });
        }
        for r in tasks.join_all().await {
            r.expect("appended");
        }
        assert_eq!(
            audit::verify_chain(&conn, &keys).await.expect("verify"),
            Verdict::Intact { count: 200 }
        );
        let (ok, said) = cli_verify(&db.url, &key_path);
        assert!(ok, "{said}");
        assert!(said.contains("200 événements vérifiés"), "{said}");
        // Another master key cannot vouch for this trail.
        let (_other_dir, other_key, _) = {
            let dir = tempfile::tempdir().expect("dir");
            let path = dir.path().join("other.key");
            std::fs::write(&path, [7u8; 32]).expect("key");
            (dir, path, ())
        };
        assert!(!cli_verify(&db.url, &other_key).0);
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn verify_reports_an_edited_row_a_deleted_middle_row_and_a_cut_tail() {
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let (_dir, key_path, keys) = key_file();
        let ids = record_some(&conn, &keys, 6).await;
        assert!(cli_verify(&db.url, &key_path).0);

        // An edited row.
        conn.execute_unprepared(&format!(
            "UPDATE audit_event SET actor = 'mallory' WHERE id = {}",
            ids[2]
        ))
        .await
        .expect("tamper");
        let (ok, said) = cli_verify(&db.url, &key_path);
        assert!(!ok, "{said}");
        assert!(said.contains(&format!("l'événement {}", ids[2])), "{said}");
        conn.execute_unprepared(&format!(
            "UPDATE audit_event SET actor = 'a@chu-exemple.fr' WHERE id = {}",
            ids[2]
        ))
        .await
        .expect("restore");
        assert!(cli_verify(&db.url, &key_path).0, "restored");

        // A deleted middle row: the next one no longer links.
        conn.execute_unprepared(&format!("DELETE FROM audit_event WHERE id = {}", ids[3]))
            .await
            .expect("delete");
        let (ok, said) = cli_verify(&db.url, &key_path);
        assert!(!ok);
        assert!(said.contains(&format!("l'événement {}", ids[4])), "{said}");

        db.drop_postgres().await;
    }
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let (_dir, key_path, keys) = key_file();
        let ids = record_some(&conn, &keys, 5).await;
        // A cut tail: every remaining link verifies, the head does not match.
        conn.execute_unprepared(&format!("DELETE FROM audit_event WHERE id >= {}", ids[3]))
            .await
            .expect("truncate");
        assert_eq!(
            audit::verify_chain(&conn, &keys).await.expect("verify"),
            Verdict::Broken {
                id: ids[2],
                why: "la piste d'audit a été tronquée : des événements manquent après cette ligne"
            }
        );
        let (ok, said) = cli_verify(&db.url, &key_path);
        assert!(!ok);
        assert!(said.contains("tronquée"), "{said}");
        // Rewriting the head to match needs the key.
        conn.execute_unprepared(&format!(
            "UPDATE audit_head SET count = 3, last_id = {}, last_hash = (SELECT hash FROM \
             audit_event WHERE id = {})",
            ids[2], ids[2]
        ))
        .await
        .expect("forge head");
        let (ok, said) = cli_verify(&db.url, &key_path);
        assert!(!ok);
        assert!(said.contains("tête"), "{said}");
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn an_event_and_its_action_commit_or_vanish_together() {
    let db = TestDb::sqlite().await;
    let conn = medimail_server::db::connect_and_migrate(&db.url)
        .await
        .expect("migrated");
    let (_dir, _key_path, keys) = key_file();
    record_some(&conn, &keys, 2).await;
    let txn = medimail_server::db::begin_write(&conn).await.expect("txn");
    audit::append(&txn, &keys, "system", "lost", serde_json::json!({}))
        .await
        .expect("append");
    sea_orm::TransactionSession::rollback(txn)
        .await
        .expect("rollback");
    assert_eq!(audit::count(&conn).await.expect("count"), 2);
    assert_eq!(
        audit::verify_chain(&conn, &keys).await.expect("verify"),
        Verdict::Intact { count: 2 }
    );
}

#[tokio::test]
async fn export_prints_the_events_since_a_date_as_json_lines() {
    let db = TestDb::sqlite().await;
    let conn = medimail_server::db::connect_and_migrate(&db.url)
        .await
        .expect("migrated");
    let (_dir, key_path, keys) = key_file();
    let ids = record_some(&conn, &keys, 3).await;
    let export = |since: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_medimail"))
            .args(["audit", "export", "--since", since])
            .env_clear()
            .env("DATABASE_URL", &db.url)
            .env("MEDIMAIL_MASTER_KEY_FILE", &key_path)
            .output()
            .expect("medimail runs")
    };
    let out = export("2000-01-01");
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], ids[0]);
    assert_eq!(lines[2]["detail"]["n"], 2);
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
    // Nothing after a date to come; a date that does not parse is refused in French.
    let out = export("2999-01-01T00:00:00Z");
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let out = export("hier");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("attendu une date"));
}
