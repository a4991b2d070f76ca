//! Deliveries to another MSSanté operator (issue 19, outbound): 200 envelopes, each with
//! a 1 MB PDF, sent over HTTP by 4 concurrent senders to a recipient another operator
//! serves, to the real `medimail` binary (`MEDIMAIL_BIN`: the release build in
//! `scripts/bench.sh`), SQLite, local blob folder; the operator is a real SMTP server on
//! loopback (aiosmtpd, STARTTLS and a client certificate required). Prints the envelopes
//! handed over per second and the latency from « Envoyer » answered (201) to the message
//! written by the operator, p50 / p99. A bench: it asserts nothing about time.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use medimail_e2e::Server;
use medimail_e2e::operator::{Operator, trust_space};

const ENVELOPES: usize = 200;
const SENDERS: usize = 4;
const SENDER: &str = "marie.curie@chu-dev.fr";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    medimail_e2e::install_crypto_provider();
    let space = trust_space();
    let operator = Operator::start(&space.operator, &space.roots, "").await;
    let mut options = space.server_options(&[("autre.mssante.fr", operator.port)]);
    options.env.extend([
        ("MEDIMAIL_SEND_ENVELOPES_PER_HOUR".into(), "100000".into()),
        ("MEDIMAIL_SEND_RECIPIENTS_PER_HOUR".into(), "100000".into()),
        ("RUST_LOG".into(), "warn".into()),
    ]);
    let server = Arc::new(Server::start(options).await);
    let auth = Arc::new(
        server
            .dev_sign_in(SENDER, "Le chat dort sur le radiateur")
            .await,
    );
    let file: Arc<Vec<u8>> = Arc::new((0..1_000_000).map(|i| (i * 31 % 251) as u8).collect());
    // When each « Envoyer » was answered, by subject.
    let answered = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let (server, auth, file, answered) =
            (server.clone(), auth.clone(), file.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            for i in (s..ENVELOPES).step_by(SENDERS) {
                let subject = format!("Banc {i:04}");
                let draft = serde_json::json!({
                    "to": ["dr.martin@autre.mssante.fr"],
                    "subject": subject,
                    "body_html": "<p>Bonjour</p>",
                });
                let response = server
                    .send_envelope(
                        (&auth.0, &auth.1),
                        &draft,
                        &[("compte-rendu.pdf", file.as_slice())],
                    )
                    .await;
                assert_eq!(response.status().as_u16(), 201);
                answered
                    .lock()
                    .expect("answered")
                    .push((subject, SystemTime::now()));
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
    let sent_in = started.elapsed().as_secs_f64();
    loop {
        let count = medimail_e2e::file_names_under(operator.dir.path())
            .iter()
            .filter(|n| n.ends_with(".eml") && !n.starts_with('.'))
            .count();
        if count >= ENVELOPES {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 600,
            "only {count} delivered in 10 minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let delivered_in = started.elapsed().as_secs_f64();
    let answered = answered.lock().expect("answered").clone();
    let mut latencies = Vec::new();
    for name in medimail_e2e::file_names_under(operator.dir.path()) {
        if !name.ends_with(".eml") || name.starts_with('.') {
            continue;
        }
        let path = operator.dir.path().join(&name);
        let written = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime");
        let raw = std::fs::read(&path).expect("eml");
        let subject = mail_parser::MessageParser::default()
            .parse(&raw)
            .and_then(|m| m.subject().map(str::to_owned))
            .expect("subject");
        let (_, at) = answered.iter().find(|(s, _)| *s == subject).expect("sent");
        latencies.push(
            written
                .duration_since(*at)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0),
        );
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "operator-bench: {ENVELOPES} envelopes of 1 MB to another operator, {SENDERS} senders: \
         sent in {sent_in:.1} s, all handed over in {delivered_in:.1} s = {:.1} envelopes/s; \
         201 → written by the operator p50 {:.0} ms, p99 {:.0} ms",
        ENVELOPES as f64 / delivered_in,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
}
