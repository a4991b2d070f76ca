//! Time from "Demander un code" (`POST /api/auth/code` sent) to the code mail accepted
//! by a real SMTP server on loopback (aiosmtpd's time of receipt), for 20 accounts, on the
//! real `medimail` binary (`MEDIMAIL_BIN`, or the debug build). Prints each run, the
//! median, min and max. Run by `scripts/bench.sh`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use medimail_e2e::idp::{self, TestIdp};
use medimail_e2e::{Server, ServerOptions, SmtpSink};

const RUNS: usize = 20;
const PASSPHRASE: &str = "Le chat dort sur le radiateur";

#[tokio::main]
async fn main() {
    medimail_e2e::install_crypto_provider();
    let provider = TestIdp::start().await;
    let sink = SmtpSink::start(0).await;
    let mut env = provider.server_env();
    env.push(("MEDIMAIL_SMTP_URL".into(), sink.url()));
    env.push(("RUST_LOG".into(), "warn".into()));
    let server = Server::start(ServerOptions {
        env,
        ..Default::default()
    })
    .await;
    let client = server.client();
    let mut millis = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        // One account per run: the per-account rate limit (1 code a minute) stays out of
        // the measurement.
        let mut claims = idp::valid_claims();
        claims["oid"] = format!("00000000-0000-4000-8000-{i:012}").into();
        claims["preferred_username"] = format!("bench{i}@chu-exemple.fr").into();
        let token = idp::sign(&provider.current_key(), &claims);
        let chosen = client
            .post(server.url("/api/auth/passphrase"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"passphrase": PASSPHRASE, "confirmation": PASSPHRASE}))
            .send()
            .await
            .expect("passphrase");
        assert_eq!(chosen.status(), 204);

        let sent_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        let answer = client
            .post(server.url("/api/auth/code"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("code request");
        assert_eq!(answer.status(), 200);
        let answered_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        let mails = sink.wait_for(i + 1, Duration::from_secs(30)).await;
        let mail = &mails[i];
        assert_eq!(mail.to, format!("bench{i}@chu-exemple.fr"));
        mail.code();
        let ms = (mail.received_at - sent_at) * 1000.0;
        let answer_ms = (answered_at - sent_at) * 1000.0;
        println!(
            "run {:2}: {ms:.1} ms (HTTP answer after {answer_ms:.1} ms)",
            i + 1
        );
        millis.push(ms);
    }
    let mut sorted = millis.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "code requested → mail accepted by SMTP ({} runs, binary {}): median {:.1} ms, min {:.1} ms, max {:.1} ms",
        RUNS,
        medimail_e2e::medimail_bin().display(),
        medimail_e2e::median(&mut millis),
        sorted[0],
        sorted[RUNS - 1]
    );
}
