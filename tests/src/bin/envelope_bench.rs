//! Sealing cost: 10 sends of an envelope with 5 × 5 Mo attachments over loopback HTTPS,
//! next to 10 uploads of the same bytes to a no-op endpoint of the same server
//! (`/api/dev/discard`), and the server's peak memory growth during the sends (VmHWM
//! after minus VmRSS before, from /proc). Real `medimail` binary (`MEDIMAIL_BIN` or the
//! debug build), development identity, SQLite. Run by `scripts/bench.sh`.

use std::time::Instant;

use medimail_e2e::{Server, ServerOptions, proc_kib};
use serde_json::json;

const RUNS: usize = 10;
const FILE_BYTES: usize = 5 * 1024 * 1024;
const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const BOUNDARY: &str = "medimail-bench-boundary";

fn draft_only() -> Vec<u8> {
    let draft =
        json!({"to": ["pierre.dupond@chu-dev.fr"], "subject": "Bench", "body_html": "<p>x</p>"});
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n--{BOUNDARY}--\r\n").into_bytes()
}

fn body() -> Vec<u8> {
    let draft =
        json!({"to": ["pierre.dupond@chu-dev.fr"], "subject": "Bench", "body_html": "<p>x</p>"});
    let mut out = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n").into_bytes();
    for i in 0..5 {
        out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"f{i}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        out.extend((0..FILE_BYTES).map(|j| ((j * 31 + i) % 251) as u8));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn median(v: &mut [f64]) -> f64 {
    medimail_e2e::median(v)
}

#[tokio::main]
async fn main() {
    medimail_e2e::install_crypto_provider();
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            ("RUST_LOG".into(), "warn".into()),
        ],
        ..Default::default()
    })
    .await;
    let client = server.client();
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", PASSPHRASE)
        .await;

    let payload = body();
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let empty = draft_only();
    let post = |path: &'static str| {
        let bytes = if path.ends_with("?empty") {
            empty.clone()
        } else {
            payload.clone()
        };
        let path = path.trim_end_matches("?empty");
        let request = client
            .post(server.url(path))
            .bearer_auth(&token)
            .header("x-medimail-session", &session)
            .header("content-type", &content_type)
            .body(bytes);
        async move {
            let start = Instant::now();
            let response = request.send().await.expect("upload");
            let status = response.status();
            let _ = response.bytes().await;
            assert!(status.is_success(), "{path}: {status}");
            start.elapsed().as_secs_f64() * 1000.0
        }
    };
    // Warm-up (connection, first-use allocations), not measured.
    post("/api/dev/discard").await;
    let pid = server.pid().expect("pid");
    let rss_before = proc_kib(pid, "VmRSS:");
    let mut sends = Vec::new();
    let mut noop = Vec::new();
    let mut bare = Vec::new();
    for _ in 0..RUNS {
        sends.push(post("/api/envelopes").await);
        noop.push(post("/api/dev/discard").await);
        bare.push(post("/api/envelopes?empty").await);
    }
    let peak = proc_kib(pid, "VmHWM:");
    let (s, n, b) = (median(&mut sends), median(&mut noop), median(&mut bare));
    println!(
        "5 × 5 Mo envelope over loopback HTTPS ({RUNS} runs each, binary {}):\n  seal and send: median {s:.0} ms\n  no-op upload:  median {n:.0} ms\n  envelope without attachments: median {b:.1} ms\n  ratio: {:.2}×\n  server memory: RSS before {:.1} MB, peak (VmHWM) {:.1} MB, growth {:.1} MB",
        medimail_e2e::medimail_bin().display(),
        s / n,
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(rss_before) as f64 / 1024.0
    );
}
