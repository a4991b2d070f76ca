//! Reading at scale, on the real `medimail` binary (`MEDIMAIL_BIN`, or the debug build):
//!
//! 1. "Messages reçus" page latency for a mailbox of 100,000 envelopes, on SQLite and on
//!    PostgreSQL (when `DATABASE_URL` is set): p50 / p99 of 500 requests for the first
//!    page, over loopback HTTPS with keep-alive, measured by the client; also page 1000
//!    by position (`after=`, keyset) and without one (skipped to), a search, and moving
//!    50 envelopes into a sub-folder and back, reported separately.
//! 2. Attachment download throughput (a 25 Mo file, decrypted as it streams) next to a
//!    plain static file of the same size served by the same server: medians of 10.
//!
//! Run by `scripts/bench.sh`. Envelopes are inserted straight into the database, sealed
//! as the server seals them (title and sender name under each envelope's own key, its
//! search tags) except the body, which the list does not read.

use std::time::Instant;

use base64::Engine;
use medimail_e2e::{PgDatabase, Server, ServerOptions, median};
use medimail_server::account::entity::account;
use medimail_server::crypto::DataKey;
use medimail_server::envelope::at_rest;
use medimail_server::envelope::entity::{envelope, envelope_recipient, envelope_term};
use medimail_server::keys::Keys;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::json;

const ENVELOPES: usize = 100_000;
const REQUESTS: usize = 500;
// (`READ_BENCH_REQUESTS` overrides it, for quick looks.)
const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const BOUNDARY: &str = "medimail-bench-boundary";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn account_id(db: &sea_orm::DatabaseConnection, mailbox: &str) -> String {
    account::Entity::find()
        .filter(account::Column::Mailbox.eq(mailbox))
        .one(db)
        .await
        .expect("query")
        .expect("account")
        .id
}

async fn fill(db: &sea_orm::DatabaseConnection, keys: &Keys, sender: &str, reader: &str) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let started = Instant::now();
    let base = chrono::Utc::now() - chrono::Duration::days(80);
    for batch in 0..ENVELOPES / 1000 {
        let txn = db.begin().await.expect("begin");
        let mut envelopes = Vec::with_capacity(1000);
        let mut recipients = Vec::with_capacity(1000);
        let mut terms = Vec::new();
        for j in 0..1000 {
            let n = batch * 1000 + j;
            let id = format!("bench-{n:08}");
            let key = DataKey::generate();
            let subject = format!("Compte rendu n° {n}");
            let shown = at_rest::seal_shown(&key, &id, &subject, Some("Marie CURIE"));
            terms.extend(
                at_rest::terms(
                    keys,
                    &subject,
                    Some("Marie CURIE"),
                    "marie.curie@chu-dev.fr",
                )
                .into_iter()
                .map(|term| envelope_term::ActiveModel {
                    term: Set(term),
                    envelope_id: Set(id.clone()),
                }),
            );
            let sealed = base + chrono::Duration::seconds(n as i64 * 60);
            envelopes.push(envelope::ActiveModel {
                id: Set(id.clone()),
                reference: Set(format!("benchref{n:024}")),
                sender_account_id: Set(sender.to_owned()),
                sender_mailbox: Set("marie.curie@chu-dev.fr".into()),
                sender_name: Set(None),
                subject: Set(String::new()),
                subject_sealed: Set(Some(shown.subject)),
                sender_name_sealed: Set(shown.sender_name),
                body_sealed: Set(String::new()),
                wrapped_key: Set(b64.encode(key.wrap(keys, &id))),
                engine: Set("bench".into()),
                sealed_at: Set(sealed),
                opens_from: Set(sealed),
                opens_until: Set(sealed + chrono::Duration::days(90)),
                attachment_count: Set((n % 3) as i32),
                sender_deleted_at: Set(None),
                sender_removed_at: Set(None),
                purged_at: Set(None),
                idempotency_key: Set(None),
                in_reply_to_id: Set(None),
                sender_folder_id: Set(None),
                terms_version: Set(at_rest::TERMS_VERSION),
            });
            recipients.push(envelope_recipient::ActiveModel {
                id: Set(format!("bench-r-{n:08}")),
                envelope_id: Set(id),
                account_id: Set(reader.to_owned()),
                address: Set("pierre.dupond@chu-dev.fr".into()),
                kind: Set("to".into()),
                position: Set(0),
                opened_at: Set((n % 4 != 0).then_some(sealed)),
                deleted_at: Set(None),
                removed_at: Set(None),
                sealed_at: Set(Some(sealed)),
                folder_id: Set(None),
            });
        }
        envelope::Entity::insert_many(envelopes)
            .exec(&txn)
            .await
            .expect("insert envelopes");
        envelope_recipient::Entity::insert_many(recipients)
            .exec(&txn)
            .await
            .expect("insert recipients");
        // In chunks under PostgreSQL's 65,535 parameters.
        for chunk in terms.chunks(10_000) {
            envelope_term::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await
                .expect("insert tags");
        }
        txn.commit().await.expect("commit");
    }
    println!(
        "  filled {ENVELOPES} envelopes in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// « Messages reçus (n) »: the unread count the list gives.
async fn unread_shown(server: &Server, auth: &(String, String)) -> u64 {
    let body: serde_json::Value = server
        .client()
        .get(server.url("/api/envelopes?folder=inbox&page=1"))
        .bearer_auth(&auth.0)
        .header("x-medimail-session", &auth.1)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    body["unread"].as_u64().expect("unread")
}

async fn latencies(server: &Server, auth: &(String, String), path: &str, runs: usize) -> Vec<f64> {
    let client = server.client();
    let mut out = Vec::with_capacity(runs);
    for i in 0..runs + 20 {
        let started = Instant::now();
        let response = client
            .get(server.url(path))
            .bearer_auth(&auth.0)
            .header("x-medimail-session", &auth.1)
            .send()
            .await
            .expect("list");
        assert!(response.status().is_success(), "{}", response.status());
        let body: serde_json::Value = response.json().await.expect("json");
        assert!(body["total"].as_u64().unwrap_or(0) > 0, "{body}");
        if !path.contains("q=") {
            assert_eq!(
                body["items"].as_array().map(Vec::len),
                Some(50),
                "a full page"
            );
        }
        if path.ends_with("page=1") {
            assert_eq!(
                (body["total"].as_u64(), body["total_capped"].as_bool()),
                (Some(1_050), Some(true)),
                "counted 1,000 past the first page only"
            );
        }
        if i >= 20 {
            out.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    out.sort_by(|a, b| a.total_cmp(b));
    out
}

async fn inbox_bench(label: &str, options: ServerOptions, db_url: impl Fn(&Server) -> String) {
    let server = Server::start(options).await;
    let marie = server
        .dev_sign_in("marie.curie@chu-dev.fr", PASSPHRASE)
        .await;
    let pierre = server
        .dev_sign_in("pierre.dupond@chu-dev.fr", PASSPHRASE)
        .await;
    let db = sea_orm::Database::connect(db_url(&server).as_str())
        .await
        .expect("db");
    let sender = account_id(&db, "marie.curie@chu-dev.fr").await;
    let reader = account_id(&db, "pierre.dupond@chu-dev.fr").await;
    let keys = Keys::load(None, server.data_dir.path()).expect("the server's master key");
    fill(&db, &keys, &sender, &reader).await;
    // The rows were written without the server: their unread counts are set once.
    medimail_server::envelope::unread::rebuild(&db, &reader)
        .await
        .expect("unread counts");
    if label == "PostgreSQL" {
        // What autovacuum does after a bulk of inserts (its insert threshold): statistics
        // and the visibility map, without which every index-only scan of the tags'
        // postings visits the heap (7 ms per tag counted, measured 2026-12-02).
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("VACUUM (ANALYZE)")
            .await
            .expect("vacuum");
    }
    let requests = std::env::var("READ_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(REQUESTS);
    let first = latencies(
        &server,
        &pierre,
        "/api/envelopes?folder=inbox&page=1",
        requests,
    )
    .await;
    println!(
        "{label}: inbox page 1 of {ENVELOPES} envelopes, {requests} requests: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&first, 0.5),
        percentile(&first, 0.99)
    );
    let deep = latencies(
        &server,
        &pierre,
        "/api/envelopes?folder=inbox&page=1000",
        50,
    )
    .await;
    println!(
        "{label}: inbox page 1000 without a position (skipped to: offset 49,950), 50 requests: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&deep, 0.5),
        percentile(&deep, 0.99)
    );
    // Page 1000 by position (« Suivant » 999 times from page 1, then that page asked
    // again and again): read from the index, not skipped to.
    let walk = Instant::now();
    let client = server.client();
    let mut after: Option<String> = None;
    let mut first_page: Vec<String> = Vec::new();
    for page in 1..1000 {
        let path = match &after {
            Some(a) => format!("/api/envelopes?folder=inbox&page={page}&after={a}"),
            None => "/api/envelopes?folder=inbox&page=1".to_owned(),
        };
        let body: serde_json::Value = client
            .get(server.url(&path))
            .bearer_auth(&pierre.0)
            .header("x-medimail-session", &pierre.1)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        if page == 1 {
            first_page = body["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|i| i["reference"].as_str().map(str::to_owned))
                .collect();
        }
        after = Some(body["next"].as_str().expect("a next page").to_owned());
    }
    println!(
        "  walked pages 1 to 999 with « Suivant » in {:.1} s",
        walk.elapsed().as_secs_f64()
    );
    let at_1000 = format!(
        "/api/envelopes?folder=inbox&page=1000&after={}",
        after.unwrap_or_default()
    );
    let keyset = latencies(&server, &pierre, &at_1000, 50).await;
    println!(
        "{label}: inbox page 1000 by position (after=), 50 requests: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&keyset, 0.5),
        percentile(&keyset, 0.99)
    );
    // Moving 50 envelopes into a sub-folder and back (« Déplacer vers »).
    let folder: serde_json::Value = client
        .post(server.url(medimail_api::paths::FOLDERS))
        .bearer_auth(&pierre.0)
        .header("x-medimail-session", &pierre.1)
        .json(&json!({"parent": "inbox", "name": "Banc d'essai"}))
        .send()
        .await
        .expect("folder")
        .json()
        .await
        .expect("json");
    let folder = folder["id"].as_str().expect("folder id").to_owned();
    let mut moves = Vec::new();
    for run in 0..40 {
        let target = if run % 2 == 0 {
            folder.as_str()
        } else {
            "inbox"
        };
        let started = Instant::now();
        let answer = client
            .post(server.url(medimail_api::paths::ENVELOPES_MOVE))
            .bearer_auth(&pierre.0)
            .header("x-medimail-session", &pierre.1)
            .json(&json!({"references": first_page, "target": target}))
            .send()
            .await
            .expect("move");
        assert!(answer.status().is_success(), "{}", answer.status());
        moves.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    moves.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{label}: moving 50 envelopes, 40 requests: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&moves, 0.5),
        percentile(&moves, 0.99)
    );
    let search = latencies(
        &server,
        &pierre,
        "/api/envelopes?folder=inbox&page=1&q=rendu%20n%C2%B0%204242",
        50,
    )
    .await;
    println!(
        "{label}: search by title, 50 requests: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&search, 0.5),
        percentile(&search, 0.99)
    );
    // One word: the sender's mailbox is searched too (in clear, a LIKE on the folder).
    let word = latencies(
        &server,
        &pierre,
        "/api/envelopes?folder=inbox&page=1&q=4242",
        50,
    )
    .await;
    println!(
        "{label}: search by one word (the mailbox too), 50 requests: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&word, 0.5),
        percentile(&word, 0.99)
    );
    // 1,000 arrivals through « Envoyer », then « Messages reçus (n) » against the rows.
    let before = unread_shown(&server, &pierre).await;
    let arriving = Instant::now();
    for n in 0..1_000 {
        let draft = json!({"to": ["pierre.dupond@chu-dev.fr"], "cc": [],
            "subject": format!("Arrivée {n}"), "body_html": "<p>Bonjour</p>"});
        let sent = server
            .send_envelope((&marie.0, &marie.1), &draft, &[])
            .await;
        let status = sent.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            sent.text().await.unwrap_or_default()
        );
    }
    let after = unread_shown(&server, &pierre).await;
    let rows = medimail_server::envelope::unread::recount(&db, &reader)
        .await
        .expect("recount");
    let counted = rows.get(&None).copied().unwrap_or(0);
    println!(
        "{label}: 1,000 arrivals in {:.1} s; « Messages reçus » unread {before} → {after}, counted from the rows {counted}: {}",
        arriving.elapsed().as_secs_f64(),
        if after == counted && after == before + 1_000 {
            "exact"
        } else {
            "WRONG"
        }
    );
    assert_eq!((after, counted), (before + 1_000, before + 1_000));
    if label == "SQLite" && std::env::var("READ_BENCH_KEEP").is_ok() {
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpoint");
    }
    db.close().await.ok();
    // READ_BENCH_KEEP=path: keep a copy of the SQLite file to study query plans.
    if let (Ok(keep), "SQLite") = (std::env::var("READ_BENCH_KEEP"), label) {
        std::fs::copy(server.data_dir.path().join("medimail.db"), &keep).expect("keep");
        println!("  database kept in {keep}");
    }
    drop(server);
}

async fn download_bench() {
    const SIZE: usize = 25 * 1024 * 1024;
    // The task pane's files plus one static file of the same size.
    let dist = tempfile::tempdir().expect("dist");
    for entry in std::fs::read_dir(medimail_e2e::dist_dir()).expect("dist dir") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dist.path().join(entry.file_name())).expect("copy");
        }
    }
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 131 % 251) as u8).collect();
    std::fs::write(dist.path().join("static-25mo.bin"), &data).expect("static file");
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            (
                "MEDIMAIL_DIST_DIR".into(),
                dist.path().display().to_string(),
            ),
        ],
        ..Default::default()
    })
    .await;
    let marie = server
        .dev_sign_in("marie.curie@chu-dev.fr", PASSPHRASE)
        .await;
    let draft = json!({"to": ["marie.curie@chu-dev.fr"], "subject": "Bench", "body_html": ""});
    let mut body = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let client = server.client();
    let sealed: serde_json::Value = client
        .post(server.url("/api/envelopes"))
        .bearer_auth(&marie.0)
        .header("x-medimail-session", &marie.1)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let reference = sealed["reference"].as_str().expect("reference").to_owned();
    let view: serde_json::Value = client
        .get(server.url(&format!("/api/envelopes/{reference}")))
        .bearer_auth(&marie.0)
        .header("x-medimail-session", &marie.1)
        .send()
        .await
        .expect("open")
        .json()
        .await
        .expect("json");
    let id = view["attachments"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let attachment = format!("/api/envelopes/{reference}/attachments/{id}");
    let mut secure = Vec::new();
    let mut plain = Vec::new();
    for run in 0..12 {
        for (path, out, authed) in [
            (attachment.as_str(), &mut secure, true),
            ("/static-25mo.bin", &mut plain, false),
        ] {
            let started = Instant::now();
            let mut request = client.get(server.url(path));
            if authed {
                request = request
                    .bearer_auth(&marie.0)
                    .header("x-medimail-session", &marie.1);
            }
            let bytes = request
                .send()
                .await
                .expect("download")
                .bytes()
                .await
                .expect("bytes");
            let seconds = started.elapsed().as_secs_f64();
            assert_eq!(bytes.len(), SIZE, "{path}");
            if run == 0 {
                assert!(bytes.as_ref() == data.as_slice(), "{path} differs");
            }
            if run >= 2 {
                out.push(SIZE as f64 / seconds / 1_000_000.0);
            }
        }
    }
    let (s, p) = (median(&mut secure), median(&mut plain));
    println!(
        "download of 25 Mo: attachment (decrypted as it streams) median {s:.0} MB/s, static file {p:.0} MB/s, ratio {:.2}× slower",
        p / s
    );
}

/// The development identity, and sending quotas above the bench's 1,000 arrivals.
fn bench_env(mut env: Vec<(String, String)>) -> Vec<(String, String)> {
    for (name, value) in [
        ("MEDIMAIL_DEV_IDENTITY", "true"),
        ("MEDIMAIL_SEND_ENVELOPES_PER_HOUR", "5000"),
        ("MEDIMAIL_SEND_RECIPIENTS_PER_HOUR", "5000"),
    ] {
        env.push((name.into(), value.into()));
    }
    env
}

#[tokio::main]
async fn main() {
    medimail_e2e::install_crypto_provider();
    let only = std::env::args().nth(1).unwrap_or_default();
    if only.is_empty() || only == "download" {
        download_bench().await;
    }
    if only.is_empty() || only == "inbox" {
        inbox_bench(
            "SQLite",
            ServerOptions {
                env: bench_env(vec![]),
                ..Default::default()
            },
            |server| server.sqlite_url(),
        )
        .await;
        match PgDatabase::create().await {
            Some(pg) => {
                let url = pg.url.clone();
                inbox_bench(
                    "PostgreSQL",
                    ServerOptions {
                        env: bench_env(vec![("DATABASE_URL".into(), url.clone())]),
                        ..Default::default()
                    },
                    move |_| url.clone(),
                )
                .await;
                pg.drop_database().await;
            }
            None => println!("PostgreSQL: skipped (DATABASE_URL is not a PostgreSQL URL)"),
        }
    }
}
