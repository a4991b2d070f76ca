//! Several instances (issue 15): the production shape is N identical `medimail`
//! processes behind a load balancer, on one PostgreSQL database and one S3-compatible
//! object store (deploy/README.md). Two real instances share a PostgreSQL database, a
//! real S3 server (moto, on loopback), the master key, a test identity provider and a
//! real SMTP server; each has its own data folder, certificate and test clock. Then:
//!
//! - a session opened on one is accepted by the other;
//! - envelopes sent through either are read and downloaded through the other;
//! - the outbox delivers every mail exactly once with both workers running, and every
//!   message handed to another MSSanté operator once with both couriers running;
//! - one instance killed (SIGKILL) in the middle of a send loses nothing the other did;
//! - three months later, both started at once purge each due envelope once, sweep the
//!   orphan blob, and keep the files of the envelope that is not due;
//! - the daily digest of receptions is made once with both running its job.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use medimail_e2e::idp::{self, TestIdp};
use medimail_e2e::s3::S3Server;
use medimail_e2e::{PgDatabase, Server, ServerOptions, SmtpSink};
use medimail_server::entity::{audit_event, outbox};
use medimail_server::envelope::entity::{attachment, envelope};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const BOUNDARY: &str = "medimail-instances-boundary";
const SENDER: &str = "marie.curie@chu-exemple.fr";
const READER: &str = "m.pollet@chu-exemple.fr";
const CC: &str = "s.pateney@chu-exemple.fr";
const CODE_SUBJECT: &str = "] - Votre code d'accès Medimail";
const DAY: i64 = 24 * 3600;

fn token(idp: &TestIdp, mailbox: &str) -> String {
    let mut claims = idp::valid_claims();
    if mailbox == SENDER {
        claims["oid"] = json!("00000000-0000-0000-0000-0000000a0a1e");
        claims["name"] = json!("Marie CURIE");
        claims["preferred_username"] = json!(SENDER);
    }
    idp::sign(&idp.current_key(), &claims)
}

/// A signed-in person: Office token and Medimail session.
type Auth = (String, String);
/// Attachments: name and bytes.
type Files = Vec<(String, Vec<u8>)>;

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    auth: (&str, Option<&str>),
    body: Option<Value>,
) -> (u16, Value) {
    server.call(method, path, auth, body).await
}

/// Signs `mailbox` in on `server`: the passphrase the first time, a code from the SMTP
/// server (whichever instance's worker delivers it), a session.
async fn sign_in(
    server: &Server,
    sink: &SmtpSink,
    idp: &TestIdp,
    mailbox: &str,
    first: bool,
) -> Auth {
    let token = token(idp, mailbox);
    if first {
        let (status, body) = call(
            server,
            reqwest::Method::POST,
            "/api/auth/passphrase",
            (&token, None),
            Some(json!({"passphrase": PASSPHRASE, "confirmation": PASSPHRASE})),
        )
        .await;
        assert_eq!(status, 204, "{body}");
    }
    let codes = |sink: &SmtpSink| {
        sink.mails()
            .into_iter()
            .filter(|m| m.to == mailbox && m.subject.ends_with(CODE_SUBJECT))
            .collect::<Vec<_>>()
    };
    let before = codes(sink).len();
    let (status, body) = call(
        server,
        reqwest::Method::POST,
        "/api/auth/code",
        (&token, None),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let code = loop {
        let mut mails = codes(sink);
        if mails.len() > before {
            mails.sort_by(|a, b| a.received_at.total_cmp(&b.received_at));
            break mails.last().expect("mail").code();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no code mail for {mailbox}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (status, body) = call(
        server,
        reqwest::Method::POST,
        "/api/auth/session",
        (&token, None),
        Some(json!({"code": code, "passphrase": PASSPHRASE})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (token, body["session"].as_str().expect("session").to_owned())
}

fn content(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 17) % 251) as u8)
        .collect()
}

fn multipart(subject: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let draft =
        json!({"to": [READER], "cc": [CC], "subject": subject, "body_html": "<p>Bonjour</p>"});
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    medimail_e2e::envelope_multipart(BOUNDARY, &draft, &files)
}

async fn send(server: &Server, auth: &Auth, subject: &str, files: &[(String, Vec<u8>)]) -> String {
    let response = server
        .client()
        .post(server.url("/api/envelopes"))
        .bearer_auth(&auth.0)
        .header("x-medimail-session", &auth.1)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(subject, files))
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{body}");
    body["reference"].as_str().expect("reference").to_owned()
}

/// Reads `reference` through `server` and downloads every file, checked byte for byte.
async fn read_all(server: &Server, auth: &Auth, reference: &str, files: &[(String, Vec<u8>)]) {
    let (status, view) = call(
        server,
        reqwest::Method::GET,
        &format!("/api/envelopes/{reference}"),
        (&auth.0, Some(&auth.1)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    let attachments = view["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), files.len());
    for (shown, (name, data)) in attachments.iter().zip(files) {
        assert_eq!(shown["name"], name.as_str());
        let id = shown["id"].as_str().expect("id");
        let response = server
            .client()
            .get(server.url(&format!("/api/envelopes/{reference}/attachments/{id}")))
            .bearer_auth(&auth.0)
            .header("x-medimail-session", &auth.1)
            .send()
            .await
            .expect("download");
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.bytes().await.expect("bytes").as_ref() == data.as_slice(),
            "{name} differs"
        );
    }
}

/// Waits until every queued mail is sent, then checks each went out once: as many mails
/// received as outbox rows, no two notifications of one envelope to one recipient.
async fn every_mail_delivered_once(db: &sea_orm::DatabaseConnection, sink: &SmtpSink) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let pending = outbox::Entity::find()
            .filter(outbox::Column::Status.ne("sent"))
            .count(db)
            .await
            .expect("outbox");
        if pending == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pending} mails still queued"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The deliveries to another operator went there, not to the SMTP relay.
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Purpose.ne("mssante_delivery"))
        .count(db)
        .await
        .expect("outbox") as usize;
    let mails = sink.mails();
    assert_eq!(mails.len(), rows, "each queued mail delivered exactly once");
    let mut seen = HashSet::new();
    for m in &mails {
        if m.subject.starts_with("[MEDIMAIL : Reception]") {
            let link = m
                .text
                .lines()
                .find(|l| l.contains("#/inbox/open/"))
                .expect("link")
                .trim()
                .to_owned();
            assert!(seen.insert((m.to.clone(), link)), "twice to {}", m.to);
        }
    }
}

#[tokio::test]
async fn two_instances_share_one_postgresql_and_one_s3_store() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let idp = TestIdp::start().await;
    let sink = SmtpSink::start(0).await;
    let s3 = S3Server::start("medimail").await;
    let shared = tempfile::tempdir().expect("shared");
    let master = shared.path().join("master.key");
    std::fs::write(&master, rand::random::<[u8; 32]>()).expect("master key");
    // Another MSSanté operator, that both instances deliver to.
    let space = medimail_e2e::operator::trust_space();
    let operator = medimail_e2e::operator::Operator::start(&space.operator, &space.roots, "").await;
    let mut env = idp.server_env();
    env.extend(s3.server_env("blobs"));
    env.extend(
        space
            .server_options(&[("autre.mssante.fr", operator.port)])
            .env
            .into_iter()
            .filter(|(name, _)| name.starts_with("MEDIMAIL_MSSANTE_")),
    );
    env.extend([
        ("DATABASE_URL".to_owned(), pg.url.clone()),
        (
            "MEDIMAIL_MASTER_KEY_FILE".to_owned(),
            master.display().to_string(),
        ),
        ("MEDIMAIL_SMTP_URL".to_owned(), sink.url()),
    ]);
    let options = ServerOptions {
        env,
        test_clock: true,
        ..Default::default()
    };
    let mut a = Server::start(options.clone()).await;
    let mut b = Server::start(options).await;
    let db = sea_orm::Database::connect(pg.url.as_str())
        .await
        .expect("db");

    // A session opened on one is accepted by the other.
    let marie = sign_in(&a, &sink, &idp, SENDER, true).await;
    let reader = sign_in(&b, &sink, &idp, READER, true).await;
    for (server, auth) in [(&b, &marie), (&a, &reader)] {
        let (status, body) = call(
            server,
            reqwest::Method::GET,
            "/api/envelopes?folder=inbox",
            (&auth.0, Some(&auth.1)),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    // Envelopes sent through either, read and downloaded through the other. One file is
    // larger than S3's 5 MiB part: a multipart upload.
    let mut sent: Vec<(String, Files, usize)> = Vec::new();
    for i in 0..6 {
        let files: Files = match i % 3 {
            0 => vec![],
            1 => vec![(format!("cr-{i}.pdf"), content(i, 40_000))],
            _ => vec![
                (
                    format!("scanner-{i}.pdf"),
                    content(i, 6 * 1024 * 1024 + 123),
                ),
                (format!("note-{i}.pdf"), content(i + 100, 10)),
            ],
        };
        let through = i % 2;
        let server = if through == 0 { &a } else { &b };
        let reference = send(server, &marie, &format!("Compte rendu {i}"), &files).await;
        sent.push((reference, files, through));
    }
    for (reference, files, through) in &sent {
        let other = if *through == 0 { &b } else { &a };
        read_all(other, &reader, reference, files).await;
    }
    let (_, inbox) = call(
        &a,
        reqwest::Method::GET,
        "/api/envelopes?folder=inbox",
        (&reader.0, Some(&reader.1)),
        None,
    )
    .await;
    assert_eq!(inbox["total"], 6, "{inbox}");
    every_mail_delivered_once(&db, &sink).await;
    let notifications = sink
        .mails()
        .iter()
        .filter(|m| m.subject.starts_with("[MEDIMAIL : Reception]"))
        .count();
    assert_eq!(notifications, 12, "6 envelopes to 2 recipients");

    // Twenty envelopes to another operator's recipient, through either instance, with
    // both couriers running: each reaches the operator once.
    for i in 0..20 {
        let server = if i % 2 == 0 { &a } else { &b };
        let draft = json!({
            "to": ["dr.martin@autre.mssante.fr"],
            "subject": format!("Opérateur {i}"),
            "body_html": "<p>Bonjour</p>",
        });
        let response = server
            .send_envelope((&marie.0, &marie.1), &draft, &[])
            .await;
        assert_eq!(response.status().as_u16(), 201);
    }
    every_mail_delivered_once(&db, &sink).await;
    let mut subjects: Vec<String> = operator
        .received()
        .iter()
        .filter_map(|(raw, _)| {
            mail_parser::MessageParser::default()
                .parse(raw)?
                .subject()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(subjects.len(), 20, "{subjects:?}");
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 20, "each envelope once");

    // A is killed in the middle of a send; B's send at the same moment loses nothing.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(2);
    let half = multipart("Interrompu", &[("gros.pdf".into(), content(7, 4_000_000))]);
    let stalled = a
        .client()
        .post(a.url("/api/envelopes"))
        .bearer_auth(&marie.0)
        .header("x-medimail-session", &marie.1)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(reqwest::Body::wrap_stream(futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
        )))
        .send();
    let stalled = tokio::spawn(stalled);
    for chunk in half[..half.len() / 2].chunks(128 * 1024) {
        tx.send(Ok(bytes::Bytes::copy_from_slice(chunk)))
            .await
            .expect("upload open");
    }
    let survivor_files = vec![("survivant.pdf".to_owned(), content(8, 300_000))];
    let (survivor, ()) = tokio::join!(
        send(&b, &marie, "Pendant la panne", &survivor_files),
        async { a.kill() }
    );
    assert!(
        stalled.await.expect("task").is_err(),
        "the killed instance's send failed"
    );
    drop(tx);
    read_all(&b, &reader, &survivor, &survivor_files).await;
    a.restart().await;
    read_all(&a, &reader, &survivor, &survivor_files).await;
    assert_eq!(
        envelope::Entity::find().count(&db).await.expect("q"),
        27,
        "six, twenty to the other operator, and the one B sealed; nothing of the killed send"
    );
    every_mail_delivered_once(&db, &sink).await;

    // 45 days later an envelope that will not be due yet; an orphan blob as a crash
    // would leave it.
    for server in [&a, &b] {
        server.set_clock_offset(45 * DAY);
    }
    let marie = sign_in(&b, &sink, &idp, SENDER, false).await;
    let kept_files = vec![("garde.pdf".to_owned(), content(9, 70_000))];
    let kept = send(&b, &marie, "Pas encore", &kept_files).await;
    s3.put("blobs/orphelin-sans-enveloppe", content(10, 1000))
        .await;

    // Three months after the first ones: both instances start at once, and both run
    // the purge and the sweep at start.
    for server in [&a, &b] {
        server.set_clock_offset(95 * DAY);
    }
    tokio::join!(a.restart(), b.restart());
    let kept_row = envelope::Entity::find()
        .filter(envelope::Column::Reference.eq(&kept))
        .one(&db)
        .await
        .expect("q")
        .expect("kept");
    let kept_blobs: HashSet<String> = attachment::Entity::find()
        .filter(attachment::Column::EnvelopeId.eq(&kept_row.id))
        .all(&db)
        .await
        .expect("q")
        .into_iter()
        .map(|r| format!("blobs/{}", r.blob_id))
        .collect();
    assert_eq!(kept_blobs.len(), 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let purged = envelope::Entity::find()
            .filter(envelope::Column::PurgedAt.is_not_null())
            .count(&db)
            .await
            .expect("q");
        let keys: HashSet<String> = s3.keys("blobs/").await.into_iter().collect();
        if purged == 27 && keys == kept_blobs {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "purged {purged} of 27; left in the store: {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let purges = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("envelope_purged"))
        .all(&db)
        .await
        .expect("audit");
    let mut per_envelope: HashMap<String, usize> = HashMap::new();
    for e in &purges {
        let detail: Value = serde_json::from_str(&e.detail).expect("detail");
        *per_envelope
            .entry(detail["envelope"].as_str().expect("id").to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_envelope.len(), 27);
    assert!(
        per_envelope.values().all(|n| *n == 1),
        "each purged once: {per_envelope:?}"
    );
    assert!(kept_row.purged_at.is_none());
    let reader = sign_in(&a, &sink, &idp, READER, false).await;
    read_all(&a, &reader, &kept, &kept_files).await;
    drop(db);
    pg.drop_database().await;
}

/// « Notification quotidienne des réceptions » (issue 17) with two real instances on one
/// PostgreSQL database, each running the job every minute: the reader who asked for it
/// gets one digest, listing the envelope without its title, however many instances pass.
#[tokio::test]
async fn two_instances_make_the_daily_digest_once() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let idp = TestIdp::start().await;
    let sink = SmtpSink::start(0).await;
    let shared = tempfile::tempdir().expect("shared");
    let master = shared.path().join("master.key");
    std::fs::write(&master, rand::random::<[u8; 32]>()).expect("master key");
    let mut env = idp.server_env();
    env.extend([
        ("DATABASE_URL".to_owned(), pg.url.clone()),
        (
            "MEDIMAIL_MASTER_KEY_FILE".to_owned(),
            master.display().to_string(),
        ),
        ("MEDIMAIL_SMTP_URL".to_owned(), sink.url()),
        ("MEDIMAIL_DIGEST_TIME".to_owned(), "07:00".to_owned()),
        // Each pass of the job says so (the signal that both instances have run it).
        (
            "RUST_LOG".to_owned(),
            "info,medimail_server::envelope::digest=debug".to_owned(),
        ),
    ]);
    let options = ServerOptions {
        env,
        test_clock: true,
        ..Default::default()
    };
    let a = Server::start(options.clone()).await;
    let b = Server::start(options).await;
    let marie = sign_in(&a, &sink, &idp, SENDER, true).await;
    let reader = sign_in(&b, &sink, &idp, READER, true).await;
    let (status, body) = call(
        &a,
        reqwest::Method::PUT,
        "/api/account/notifications",
        (&reader.0, Some(&reader.1)),
        Some(
            json!({"sealed": false, "opened_by_me_sent": false, "received": true,
            "opened_by_me_received": false, "daily_digest": true,
            "opened_by_others_sent": false, "opened_by_others_received": false}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    send(&b, &marie, "Compte rendu M. BLANC", &[]).await;

    // A day later on both clocks: the digest of the 24 hours before 07:00 is due.
    const PASS: &str = "daily digest pass";
    let before = (a.log_count(PASS), b.log_count(PASS));
    a.set_clock_offset(DAY);
    b.set_clock_offset(DAY);
    let digests = |sink: &SmtpSink| {
        sink.mails()
            .into_iter()
            .filter(|m| m.to == READER && m.subject.starts_with("[MEDIMAIL : Réceptions]"))
            .collect::<Vec<_>>()
    };
    medimail_e2e::wait_until("the digest", Duration::from_secs(150), async || {
        !digests(&sink).is_empty()
    })
    .await;
    // Two whole passes of each instance since the clocks moved (the first may have read
    // the clock before): both have looked, one digest was made.
    for (server, at) in [(&a, before.0), (&b, before.1)] {
        medimail_e2e::wait_until("two passes", Duration::from_secs(150), async || {
            server.log_count(PASS) >= at + 2
        })
        .await;
    }
    let db = sea_orm::Database::connect(pg.url.as_str())
        .await
        .expect("db");
    every_mail_delivered_once(&db, &sink).await;
    let made = digests(&sink);
    assert_eq!(made.len(), 1, "one digest");
    assert!(
        made[0].subject.contains("1 enveloppe(s)"),
        "{}",
        made[0].subject
    );
    assert!(made[0].text.contains(SENDER) || made[0].text.contains("Marie CURIE"));
    assert!(!made[0].text.contains("BLANC"), "never the title");
}
