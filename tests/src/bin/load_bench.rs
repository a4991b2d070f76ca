//! Load (issue 15): 100 concurrent senders, each sending envelopes of 1 to 5 attachments
//! for 60 s over HTTPS, while 20 readers list their inbox, open an envelope and download
//! a file — against the real `medimail` binary (`MEDIMAIL_BIN`: the release build in
//! `scripts/bench.sh`) on PostgreSQL (`DATABASE_URL`), development identity, file outbox.
//!
//! Prints throughput, p50 / p99 latency per route, errors by route and status (goal: 0),
//! envelopes lost (a 201 without its envelope) or duplicated (an envelope without its
//! 201, or two for one send) (goal: 0), and the server's resident memory (VmRSS at the
//! end, VmHWM the peak); then, three months later on the server's test clock, how fast
//! the restarted server purges all of it. A bench, not a test: it asserts nothing about
//! time.
//! `LOAD_BENCH_SECONDS`, `LOAD_BENCH_SENDERS`, `LOAD_BENCH_READERS` change the shape.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medimail_e2e::{PgDatabase, Server, ServerOptions, proc_kib};
use medimail_server::envelope::entity::envelope;
use rand::{Rng, SeedableRng};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const BOUNDARY: &str = "medimail-load-boundary";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Figures {
    /// Latencies in ms, per route.
    latencies: BTreeMap<&'static str, Vec<f64>>,
    /// Errors per route and status (0: the connection failed).
    errors: BTreeMap<(&'static str, u16), usize>,
    /// Each send's idempotency key → the reference its 201 gave.
    acknowledged: HashMap<String, String>,
    uploaded_bytes: u64,
    downloaded_bytes: u64,
}

type Shared = Arc<Mutex<Figures>>;

fn record(figures: &Shared, route: &'static str, started: Instant, status: u16) {
    let mut f = figures.lock().expect("figures");
    if (200..300).contains(&status) {
        f.latencies
            .entry(route)
            .or_default()
            .push(started.elapsed().as_secs_f64() * 1000.0);
    } else {
        *f.errors.entry((route, status)).or_default() += 1;
    }
}

fn envelope_body(key: &str, to: &str, rng: &mut impl Rng) -> Vec<u8> {
    let draft = json!({
        "to": [to],
        "cc": [],
        "subject": format!("Compte rendu {key}"),
        "body_html": "<p>Bonjour, voici le compte rendu.</p>",
    });
    let mut out = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n").into_bytes();
    for i in 0..rng.gen_range(1..=5) {
        let len = rng.gen_range(5_000..400_000);
        out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"piece-{i}.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
        let seed: u8 = rng.r#gen();
        out.extend((0..len).map(|j| (j as u8).wrapping_mul(31).wrapping_add(seed)));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

async fn sender(
    server: Arc<Server>,
    auth: (String, String),
    readers: Arc<Vec<String>>,
    n: usize,
    until: Instant,
    figures: Shared,
) {
    let client = server.client();
    let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
    let mut i = 0;
    while Instant::now() < until {
        let key = format!("s{n}-{i}");
        i += 1;
        let to = &readers[rng.gen_range(0..readers.len())];
        let body = envelope_body(&key, to, &mut rng);
        let size = body.len() as u64;
        let started = Instant::now();
        let response = client
            .post(server.url("/api/envelopes"))
            .bearer_auth(&auth.0)
            .header("x-medimail-session", &auth.1)
            .header("idempotency-key", &key)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await;
        let status = response.as_ref().map_or(0, |r| r.status().as_u16());
        let answer: Option<Value> = match response {
            Ok(r) => r.json().await.ok(),
            Err(_) => None,
        };
        record(&figures, "POST /api/envelopes", started, status);
        if status == 201 {
            let mut f = figures.lock().expect("figures");
            f.uploaded_bytes += size;
            if let Some(reference) = answer.as_ref().and_then(|a| a["reference"].as_str()) {
                f.acknowledged.insert(key, reference.to_owned());
            }
        }
    }
}

async fn reader(
    server: Arc<Server>,
    auth: (String, String),
    n: usize,
    until: Instant,
    figures: Shared,
) {
    let client = server.client();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1000 + n as u64);
    while Instant::now() < until {
        let started = Instant::now();
        let listed = client
            .get(server.url("/api/envelopes?folder=inbox&page=1"))
            .bearer_auth(&auth.0)
            .header("x-medimail-session", &auth.1)
            .send()
            .await;
        let status = listed.as_ref().map_or(0, |r| r.status().as_u16());
        let list: Value = match listed {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        record(&figures, "GET /api/envelopes", started, status);
        let items = list["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            // Nothing received yet: ask again a moment later.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let reference = items[rng.gen_range(0..items.len())]["reference"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let started = Instant::now();
        let opened = client
            .get(server.url(&format!("/api/envelopes/{reference}")))
            .bearer_auth(&auth.0)
            .header("x-medimail-session", &auth.1)
            .send()
            .await;
        let status = opened.as_ref().map_or(0, |r| r.status().as_u16());
        let view: Value = match opened {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        record(&figures, "GET /api/envelopes/{reference}", started, status);
        let Some(id) = view["attachments"][0]["id"].as_str() else {
            continue;
        };
        let started = Instant::now();
        let downloaded = client
            .get(server.url(&format!("/api/envelopes/{reference}/attachments/{id}")))
            .bearer_auth(&auth.0)
            .header("x-medimail-session", &auth.1)
            .send()
            .await;
        let status = downloaded.as_ref().map_or(0, |r| r.status().as_u16());
        let bytes = match downloaded {
            Ok(r) => r.bytes().await.map(|b| b.len()).unwrap_or(0),
            Err(_) => 0,
        };
        record(&figures, "GET …/attachments/{id}", started, status);
        figures.lock().expect("figures").downloaded_bytes += bytes as u64;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    medimail_e2e::install_crypto_provider();
    let seconds = setting("LOAD_BENCH_SECONDS", 60);
    let senders = setting("LOAD_BENCH_SENDERS", 100);
    let readers = setting("LOAD_BENCH_READERS", 20);
    let pg = PgDatabase::create()
        .await
        .expect("DATABASE_URL must name a PostgreSQL server");
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            ("DATABASE_URL".into(), pg.url.clone()),
            ("MEDIMAIL_SEND_ENVELOPES_PER_HOUR".into(), "100000".into()),
            ("MEDIMAIL_SEND_RECIPIENTS_PER_HOUR".into(), "100000".into()),
            (
                "RUST_LOG".into(),
                "warn,medimail_server::envelope::retention=info".into(),
            ),
        ],
        // Three months later, the purge of what was sent (the last figure).
        test_clock: true,
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    let mut sender_auth = Vec::new();
    for n in 0..senders {
        sender_auth.push(
            server
                .dev_sign_in(&format!("expediteur.{n}@chu-dev.fr"), PASSPHRASE)
                .await,
        );
    }
    let mut reader_auth = Vec::new();
    let mut reader_boxes = Vec::new();
    for n in 0..readers {
        let mailbox = format!("lecteur.{n}@chu-dev.fr");
        reader_auth.push(server.dev_sign_in(&mailbox, PASSPHRASE).await);
        reader_boxes.push(mailbox);
    }
    println!(
        "{senders} senders and {readers} readers signed in in {:.1} s; load for {seconds} s",
        started.elapsed().as_secs_f64()
    );
    let pid = server.pid().expect("pid");
    let rss_before = proc_kib(pid, "VmRSS:");
    let server = Arc::new(server);
    let readers_boxes = Arc::new(reader_boxes);
    let figures: Shared = Arc::default();
    let until = Instant::now() + Duration::from_secs(seconds as u64);
    let load_started = Instant::now();
    let mut tasks = Vec::new();
    for (n, auth) in sender_auth.into_iter().enumerate() {
        tasks.push(tokio::spawn(sender(
            server.clone(),
            auth,
            readers_boxes.clone(),
            n,
            until,
            figures.clone(),
        )));
    }
    for (n, auth) in reader_auth.into_iter().enumerate() {
        tasks.push(tokio::spawn(reader(
            server.clone(),
            auth,
            n,
            until,
            figures.clone(),
        )));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let elapsed = load_started.elapsed().as_secs_f64();
    let rss_end = proc_kib(pid, "VmRSS:");
    let rss_peak = proc_kib(pid, "VmHWM:");

    let db = sea_orm::Database::connect(pg.url.as_str())
        .await
        .expect("db");
    let rows = envelope::Entity::find().all(&db).await.expect("envelopes");
    let f = std::mem::take(&mut *figures.lock().expect("figures"));
    let mut per_key: HashMap<String, Vec<String>> = HashMap::new();
    for row in &rows {
        per_key
            .entry(row.idempotency_key.clone().unwrap_or_default())
            .or_default()
            .push(row.reference.clone());
    }
    let lost = f
        .acknowledged
        .iter()
        .filter(|(k, r)| !per_key.get(*k).is_some_and(|refs| refs.contains(r)))
        .count();
    let duplicated = per_key.values().filter(|refs| refs.len() > 1).count()
        + per_key
            .keys()
            .filter(|k| !f.acknowledged.contains_key(*k))
            .count();
    let sent = f.acknowledged.len();
    println!(
        "sealed: {sent} envelopes in {elapsed:.1} s = {:.1} envelopes/s, {:.1} Mo/s uploaded, {:.1} Mo/s downloaded",
        sent as f64 / elapsed,
        f.uploaded_bytes as f64 / elapsed / 1e6,
        f.downloaded_bytes as f64 / elapsed / 1e6
    );
    for (route, values) in &f.latencies {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "  {route}: {} requests, p50 {:.1} ms, p99 {:.1} ms",
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99)
        );
    }
    let errors: usize = f.errors.values().sum();
    println!("errors: {errors}");
    for ((route, status), n) in &f.errors {
        println!("  {route}: {n} × status {status}");
    }
    println!(
        "envelopes in the database: {}; lost: {lost}; duplicated or unacknowledged: {duplicated}",
        rows.len()
    );
    println!(
        "server memory: VmRSS {} MiB before, {} MiB after; peak VmHWM {} MiB",
        rss_before / 1024,
        rss_end / 1024,
        rss_peak / 1024
    );
    let notifications = medimail_server::entity::outbox::Entity::find()
        .count(&db)
        .await
        .unwrap_or(0);
    println!("outbox rows: {notifications}");

    // Retention: three months later the restarted server purges every envelope at start
    // (bodies and keys blanked, attachment rows, files and search tags deleted, one
    // audit row each), and logs how fast.
    let mut server = Arc::try_unwrap(server).unwrap_or_else(|_| panic!("tasks are done"));
    server.set_clock_offset(95 * 24 * 3600);
    server.restart().await;
    let purged = medimail_e2e::poll_until(Duration::from_secs(900), async || {
        server.log_count("envelopes past their 3 months purged") >= 1
    })
    .await;
    assert!(purged, "no purge within 15 minutes:\n{}", server.log());
    let line = server
        .log()
        .lines()
        .find(|l| l.contains("envelopes past their 3 months purged"))
        .unwrap_or_default()
        .to_owned();
    println!(
        "retention: {}",
        line.split_once("purged ").map_or(line.as_str(), |(_, r)| r)
    );
    drop(db);
    drop(f);
    pg.drop_database().await;
}
