//! The SMTP gateway's throughput (issue 19): 200 `#med#` messages, each with a 1 MB
//! PDF attachment (base64 in MIME), over 4 concurrent plain SMTP connections from an
//! allowed relay on loopback, to the real `medimail` binary (`MEDIMAIL_BIN`: the release
//! build in `scripts/bench.sh`), SQLite, local blob folder, file outbox. Prints messages
//! per second accepted and the latency from the end of DATA to `250` — said only once
//! the envelope is committed, that is readable — p50 / p99; then checks one of them
//! reads through the API. A bench: it asserts nothing about time.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use medimail_e2e::smtp_client::{SmtpClient, mime};
use medimail_e2e::{Server, ServerOptions};

const MESSAGES: usize = 200;
const CONNECTIONS: usize = 4;
const READER: &str = "pierre.dupond@chu-dev.fr";
const SENDER: &str = "marie.curie@chu-exemple.fr";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    medimail_e2e::install_crypto_provider();
    let port = medimail_e2e::free_port();
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            ("MEDIMAIL_SMTP_LISTEN".into(), format!("127.0.0.1:{port}")),
            ("MEDIMAIL_SEND_ENVELOPES_PER_HOUR".into(), "100000".into()),
            ("RUST_LOG".into(), "warn".into()),
        ],
        ..Default::default()
    })
    .await;
    let file: Vec<u8> = (0..1_000_000).map(|i| (i * 31 % 251) as u8).collect();
    let message = Arc::new(mime(
        SENDER,
        "#med# Compte rendu",
        READER,
        &[("compte-rendu.pdf".to_owned(), file)],
    ));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let message = message.clone();
        let latencies = latencies.clone();
        tasks.push(tokio::spawn(async move {
            let mut smtp = SmtpClient::connect(port).await;
            smtp.send("EHLO relais.chu-exemple.fr").await;
            for _ in (c..MESSAGES).step_by(CONNECTIONS) {
                let (reply, after_data) = smtp.mail_timed(SENDER, &[READER], &message).await;
                assert!(reply.starts_with("250 "), "{reply}");
                latencies.lock().expect("latencies").push(after_data);
            }
        }));
    }
    for t in tasks {
        t.await.expect("connection");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut sorted = latencies.lock().expect("latencies").clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "SMTP gateway: {MESSAGES} messages with a 1 MB attachment over {CONNECTIONS} connections in {elapsed:.2} s = {:.1} messages/s ({:.1} MB/s of MIME)",
        MESSAGES as f64 / elapsed,
        (MESSAGES * message.len()) as f64 / elapsed / 1e6
    );
    println!(
        "end of DATA to 250 (envelope committed, readable): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99)
    );
    let reader = server
        .dev_sign_in(READER, "Le chat dort sur le radiateur")
        .await;
    let list: serde_json::Value = server
        .client()
        .get(server.url("/api/envelopes?folder=inbox"))
        .bearer_auth(&reader.0)
        .header("x-medimail-session", &reader.1)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    println!("inbox: {} envelopes (counted up to 1,050)", list["total"]);
}
