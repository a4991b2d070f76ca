//! Crash safety of "Envoyer": the server is killed with SIGKILL in the middle of a 25 Mo
//! upload, or while it seals an envelope, then restarted. No partial envelope is
//! visible, and the blobs the crash left (complete files of the aborted send, staging
//! file of the file being written) are swept at start once older than the grace period
//! (the server's clock is moved two hours ahead through its test clock file).
//!
//! "While it seals" is made deterministic without any hook in the server: the test holds
//! a lock that the sealing transaction needs. On SQLite that is the database's write
//! lock (the server has written every blob and waits to begin its transaction); on
//! PostgreSQL it is a lock on the `attachment` table, so the server's transaction has
//! already inserted the envelope, its recipients and its notifications when it stops —
//! the test checks that none of it is visible before killing the server.

use std::time::Duration;

use medimail_e2e::{PgDatabase, Server, ServerOptions};
use medimail_server::entity::outbox;
use medimail_server::envelope::entity::{attachment, envelope, envelope_event, envelope_recipient};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::json;

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const BOUNDARY: &str = "medimail-crash-boundary";

/// Files under `dir`; with `complete_only`, not the staging files (`<id>#<n>`).
fn files_under(dir: &std::path::Path, complete_only: bool) -> usize {
    medimail_e2e::file_names_under(dir)
        .iter()
        .filter(|name| !complete_only || !name.contains('#'))
        .count()
}

/// A multipart upload streamed part by part, so the test decides when each byte leaves.
struct Upload {
    sender: tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
    request: tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
}

impl Upload {
    async fn start(server: &Server, token: &str, session: &str, subject: &str) -> Upload {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let body =
            reqwest::Body::wrap_stream(futures::stream::unfold(receiver, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            }));
        let request = server
            .client()
            .post(server.url("/api/envelopes"))
            .bearer_auth(token)
            .header("x-medimail-session", session)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send();
        let upload = Upload {
            sender,
            request: tokio::spawn(request),
        };
        let draft = json!({"to": ["pierre.dupond@chu-dev.fr"], "subject": subject, "body_html": "<p>x</p>"});
        upload
            .send(format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n"
            ).as_bytes())
            .await;
        upload
    }

    async fn send(&self, data: &[u8]) {
        for chunk in data.chunks(256 * 1024) {
            self.sender
                .send(Ok(bytes::Bytes::copy_from_slice(chunk)))
                .await
                .expect("the upload is still open");
        }
    }

    /// One whole file part of `size` bytes.
    fn file_part(i: usize, size: usize) -> Vec<u8> {
        let mut part = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"f{i}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
        part.extend(std::iter::repeat_n(i as u8 + 1, size));
        part.extend_from_slice(b"\r\n");
        part
    }
}

/// Restarts two hours later (server clock), waits for the start-up sweep to empty the
/// blob folder, and checks that no trace of the killed send is visible.
async fn restart_and_check_nothing_was_sealed(server: &mut Server, db: &DatabaseConnection) {
    server.set_clock_offset(2 * 3600);
    server.restart().await;
    let blobs = server.data_dir.path().join("blobs");
    // The sweep deletes the files, then logs its summary: wait for both (the log line
    // can come a moment after the folder is empty).
    server
        .wait_until("orphan blobs swept", async || {
            files_under(&blobs, false) == 0 && server.log().contains("orphan blobs swept")
        })
        .await;
    assert_eq!(
        envelope::Entity::find().count(db).await.expect("q"),
        0,
        "no partial envelope"
    );
    assert_eq!(attachment::Entity::find().count(db).await.expect("q"), 0);
    assert_eq!(
        envelope_recipient::Entity::find()
            .count(db)
            .await
            .expect("q"),
        0
    );
    assert_eq!(
        envelope_event::Entity::find().count(db).await.expect("q"),
        0
    );
    assert_eq!(
        outbox::Entity::find()
            .filter(outbox::Column::Purpose.eq("notification"))
            .count(db)
            .await
            .expect("q"),
        0,
        "no notification of an envelope that does not exist"
    );
}

fn dev_options() -> ServerOptions {
    ServerOptions {
        env: vec![("MEDIMAIL_DEV_IDENTITY".into(), "true".into())],
        test_clock: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_server_killed_during_an_upload_leaves_no_envelope_and_its_blobs_are_swept() {
    let mut server = Server::start(dev_options()).await;
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", PASSPHRASE)
        .await;

    // Two complete 5 Mo files, then a third cut off by the crash.
    let upload = Upload::start(&server, &token, &session, "Crash").await;
    for i in 0..2 {
        upload.send(&Upload::file_part(i, 5 * 1024 * 1024)).await;
    }
    upload
        .send(&Upload::file_part(2, 5 * 1024 * 1024)[..3 * 1024 * 1024])
        .await;
    // Let the server write what it received, then kill it mid-upload.
    let blobs = server.data_dir.path().join("blobs");
    server
        .wait_until("two blobs and a staging file", async || {
            files_under(&blobs, true) >= 2 && files_under(&blobs, false) >= 3
        })
        .await;
    server.kill();
    drop(upload.sender);
    let _ = tokio::time::timeout(Duration::from_secs(10), upload.request).await;

    let db = server.sqlite().await;
    restart_and_check_nothing_was_sealed(&mut server, &db).await;
}

/// Uploads two complete files while the test holds `lock`, which the server's sealing
/// needs; kills the server once it waits for it; restarts and checks.
async fn kill_while_sealing(
    mut server: Server,
    db: &DatabaseConnection,
    lock: impl AsyncFnOnce() -> sea_orm::DatabaseTransaction,
    mut server_is_waiting: impl AsyncFnMut() -> bool,
) {
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", PASSPHRASE)
        .await;
    let upload = Upload::start(&server, &token, &session, "Scellement interrompu").await;
    upload.send(&Upload::file_part(0, 2 * 1024 * 1024)).await;
    // The session is checked and the first file is being written: take the lock now.
    let blobs = server.data_dir.path().join("blobs");
    server
        .wait_until("the first file is being written", async || {
            files_under(&blobs, false) >= 1
        })
        .await;
    let held = lock().await;
    upload.send(&Upload::file_part(1, 2 * 1024 * 1024)).await;
    upload.send(format!("--{BOUNDARY}--\r\n").as_bytes()).await;
    server
        .wait_until("both files stored", async || files_under(&blobs, true) == 2)
        .await;
    server
        .wait_until("the server waits inside sealing", async || {
            server_is_waiting().await
        })
        .await;
    assert!(!upload.request.is_finished(), "the send waits for the lock");
    server.kill();
    held.rollback().await.expect("release the lock");
    let _ = tokio::time::timeout(Duration::from_secs(10), upload.request).await;
    restart_and_check_nothing_was_sealed(&mut server, db).await;
}

#[tokio::test]
async fn a_server_killed_while_sealing_on_sqlite_leaves_no_envelope_and_its_blobs_are_swept() {
    let server = Server::start(dev_options()).await;
    let db = server.sqlite().await;
    let since = std::time::Instant::now();
    kill_while_sealing(
        server,
        &db,
        async || {
            medimail_server::db::begin_write(&db)
                .await
                .expect("the write lock")
        },
        // The server has stored both files and can only be waiting for the lock; give
        // it a moment to reach it (it gives up after SQLite's 5 s busy timeout).
        async || since.elapsed() > Duration::from_millis(300),
    )
    .await;
}

#[tokio::test]
async fn a_server_killed_in_the_middle_of_the_sealing_transaction_on_postgresql_leaves_nothing() {
    let Some(pg) = PgDatabase::create().await else {
        eprintln!(
            "SKIPPED: DATABASE_URL is not a PostgreSQL URL; sealing crash not tested on PostgreSQL"
        );
        return;
    };
    let mut options = dev_options();
    options.env.push(("DATABASE_URL".into(), pg.url.clone()));
    let server = Server::start(options).await;
    let db = sea_orm::Database::connect(pg.url.as_str())
        .await
        .expect("db");
    let watcher = sea_orm::Database::connect(pg.url.as_str())
        .await
        .expect("db");
    kill_while_sealing(
        server,
        &db,
        async || {
            let txn = db.begin().await.expect("begin");
            txn.execute_unprepared("LOCK TABLE attachment IN ACCESS EXCLUSIVE MODE")
                .await
                .expect("lock");
            txn
        },
        async || {
            // The server's transaction waits for the lock, after its first inserts.
            let waiting = watcher
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    "SELECT count(*)::bigint AS n FROM pg_locks WHERE NOT granted",
                ))
                .await
                .expect("pg_locks")
                .and_then(|row| row.try_get::<i64>("", "n").ok())
                .unwrap_or(0);
            if waiting == 0 {
                return false;
            }
            // Mid-transaction, nothing of it is visible to anyone else.
            let envelopes = envelope::Entity::find().count(&watcher).await.expect("q");
            assert_eq!(envelopes, 0, "an envelope being sealed is invisible");
            true
        },
    )
    .await;
    db.close().await.ok();
    watcher.close().await.ok();
    pg.drop_database().await;
}
