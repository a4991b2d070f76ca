//! 100 SIGKILLs at random moments of sends (issue 15), on SQLite and on PostgreSQL. Each
//! round starts one to three sends at once — no file, a small one, two medium ones or a
//! large one, each with its own `Idempotency-Key` — waits a random moment (0 to 150 ms,
//! from a seeded generator: the seed is printed and `MEDIMAIL_KILLS_SEED` replays it),
//! kills the server with SIGKILL and starts it again. At the end, two hours later on the
//! server's clock (so that the orphan sweep may act):
//!
//! - every envelope the client got a 201 for exists once, and reads and downloads
//!   byte-identical;
//! - no other envelope exists than those of sends that were started, each complete (an
//!   envelope whose 201 was lost with the server is complete too);
//! - each envelope has exactly its notification, and no notification names a missing one;
//! - no blob remains that no attachment refers to, no staging file either, and every
//!   attachment's blob is there.
//!
//! `MEDIMAIL_KILLS` changes the number of rounds (100 by default).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use medimail_e2e::{PgDatabase, Server, ServerOptions};
use medimail_server::entity::outbox;
use medimail_server::envelope::entity::{attachment, envelope};
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const BOUNDARY: &str = "medimail-kills-boundary";
const SENDER: &str = "marie.curie@chu-dev.fr";

/// The files of the send with this key: a shape chosen from the key, contents from it.
fn files_of(key: &str, shape: usize) -> Vec<(String, Vec<u8>)> {
    let seed = key
        .bytes()
        .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
    let content = |n: usize, len: usize| -> Vec<u8> {
        (0..len)
            .map(|i| ((i * 13 + seed + n * 101) % 251) as u8)
            .collect()
    };
    match shape {
        0 => vec![],
        1 => vec![("petit.txt".into(), content(1, 2_000))],
        2 => vec![
            ("moyen-1.pdf".into(), content(2, 150_000)),
            ("moyen-2.pdf".into(), content(3, 180_000)),
        ],
        _ => vec![("grand.pdf".into(), content(4, 1_500_000))],
    }
}

fn body(key: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let draft = json!({
        "to": ["pierre.dupond@chu-dev.fr"],
        "cc": [],
        "subject": format!("Envoi {key}"),
        "body_html": "<p>Bonjour</p>",
    });
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    medimail_e2e::envelope_multipart(BOUNDARY, &draft, &files)
}

async fn storm(label: &str, options: ServerOptions, db_url: impl Fn(&Server) -> String) {
    let rounds: usize = std::env::var("MEDIMAIL_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed: u64 = std::env::var("MEDIMAIL_KILLS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_201);
    println!("{label}: {rounds} kills, seed {seed} (MEDIMAIL_KILLS_SEED replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut server = Server::start(options).await;
    let (_, session) = server.dev_sign_in(SENDER, PASSPHRASE).await;
    let mut shapes: HashMap<String, usize> = HashMap::new();
    // The sends answered 201 (with the reference, when the answer's body arrived too).
    let mut acknowledged: HashMap<String, Option<String>> = HashMap::new();
    for round in 0..rounds {
        let token = server.dev_token(SENDER).await;
        let mut sends = Vec::new();
        for j in 0..rng.gen_range(1..=3) {
            let key = format!("r{round}-{j}");
            let shape = rng.gen_range(0..4);
            shapes.insert(key.clone(), shape);
            let request = server
                .client()
                .post(server.url("/api/envelopes"))
                .bearer_auth(&token)
                .header("x-medimail-session", &session)
                .header("idempotency-key", &key)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(body(&key, &files_of(&key, shape)))
                .send();
            sends.push((key, tokio::spawn(request)));
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..150))).await;
        server.kill();
        for (key, send) in sends {
            if let Ok(Ok(response)) = send.await
                && response.status().as_u16() == 201
            {
                let answer = response.json::<Value>().await.ok();
                let reference = answer.and_then(|a| a["reference"].as_str().map(str::to_owned));
                acknowledged.insert(key, reference);
            }
        }
        server.restart().await;
    }
    println!(
        "{label}: {} sends started, {} acknowledged before their kill",
        shapes.len(),
        acknowledged.len()
    );

    let db: DatabaseConnection = sea_orm::Database::connect(db_url(&server).as_str())
        .await
        .expect("db");
    let envelopes = envelope::Entity::find().all(&db).await.expect("envelopes");
    let mut found: HashMap<String, envelope::Model> = HashMap::new();
    for e in envelopes {
        let key = e.idempotency_key.clone().expect("every send had a key");
        assert!(
            shapes.contains_key(&key),
            "an envelope no send started: {key}"
        );
        assert!(found.insert(key.clone(), e).is_none(), "{key} sealed twice");
    }
    for (key, reference) in &acknowledged {
        let e = found
            .get(key)
            .unwrap_or_else(|| panic!("{key}: 201 but no envelope"));
        if let Some(reference) = reference {
            assert_eq!(&e.reference, reference);
        }
    }
    let notifications = outbox::Entity::find()
        .filter(outbox::Column::Purpose.eq("notification"))
        .count(&db)
        .await
        .expect("outbox");
    assert_eq!(
        notifications as usize,
        found.len(),
        "one notification per envelope"
    );

    // Every envelope complete: read and downloaded byte-identical.
    let token = server.dev_token(SENDER).await;
    for (key, e) in &found {
        let expected = files_of(key, shapes[key]);
        let view: Value = server
            .client()
            .get(server.url(&format!("/api/envelopes/{}", e.reference)))
            .bearer_auth(&token)
            .header("x-medimail-session", &session)
            .send()
            .await
            .expect("read")
            .json()
            .await
            .expect("json");
        assert_eq!(view["subject"], format!("Envoi {key}"), "{view}");
        let attachments = view["attachments"].as_array().expect("attachments");
        assert_eq!(attachments.len(), expected.len(), "{key}");
        for (shown, (name, data)) in attachments.iter().zip(&expected) {
            assert_eq!(shown["name"], name.as_str());
            let bytes = server
                .client()
                .get(server.url(&format!(
                    "/api/envelopes/{}/attachments/{}",
                    e.reference,
                    shown["id"].as_str().expect("id")
                )))
                .bearer_auth(&token)
                .header("x-medimail-session", &session)
                .send()
                .await
                .expect("download")
                .bytes()
                .await
                .expect("bytes");
            assert!(bytes.as_ref() == data.as_slice(), "{key}: {name} differs");
        }
    }
    // Two hours later: the sweep at start may delete what the crashes left.
    server.set_clock_offset(2 * 3600);
    server.restart().await;
    let blobs_dir = server.data_dir.path().join("blobs");
    let rows = attachment::Entity::find()
        .all(&db)
        .await
        .expect("attachments");
    let referenced: HashSet<String> = rows.iter().map(|r| r.blob_id.clone()).collect();
    server
        .wait_until("only referenced blobs remain", async || {
            medimail_e2e::file_names_under(&blobs_dir)
                .into_iter()
                .collect::<HashSet<_>>()
                == referenced
        })
        .await;

    println!(
        "{label}: {} envelopes sealed, all complete; {} blobs, none orphaned",
        found.len(),
        referenced.len()
    );
}

fn options() -> ServerOptions {
    ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            ("MEDIMAIL_SEND_ENVELOPES_PER_HOUR".into(), "10000".into()),
            ("MEDIMAIL_SEND_RECIPIENTS_PER_HOUR".into(), "10000".into()),
        ],
        test_clock: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_hundred_kills_during_sends_on_sqlite_lose_no_acknowledged_envelope_and_leave_no_orphan()
{
    storm("SQLite", options(), Server::sqlite_url).await;
}

#[tokio::test]
async fn a_hundred_kills_during_sends_on_postgresql_lose_no_acknowledged_envelope_and_leave_no_orphan()
 {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let mut options = options();
    options.env.push(("DATABASE_URL".into(), pg.url.clone()));
    let url = pg.url.clone();
    storm("PostgreSQL", options, move |_| url.clone()).await;
    pg.drop_database().await;
}
