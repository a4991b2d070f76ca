//! What one misbehaving client can hold of the real server (issue 15, item 1): slow or
//! silent connections are closed after the header timeout, connections beyond the limit
//! are closed at once, and a request that cannot finish in time is answered 408 — while
//! everybody else is still served.

use std::sync::Arc;
use std::time::{Duration, Instant};

use medimail_e2e::{Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TLS client that trusts the server's development certificate.
fn connector(server: &Server) -> tokio_rustls::TlsConnector {
    medimail_e2e::install_crypto_provider();
    let pem = std::fs::read(server.cert_path()).expect("dev cert");
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("cert")).expect("root");
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Reads until the server closes the connection (end of stream or reset); false if it is
/// still open after `within`.
async fn closed_by_server<S: AsyncReadExt + Unpin>(stream: &mut S, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_and_silent_connections_are_closed_and_everyone_else_is_served() {
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_HEADER_TIMEOUT_SECONDS".into(), "2".into()),
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
        ],
        ..Default::default()
    })
    .await;
    let tls = connector(&server);
    // 300 connections that finished TLS and sent half a request line (slow headers)…
    let mut slow = Vec::new();
    for _ in 0..300 {
        let tcp = TcpStream::connect(server.addr()).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let mut stream = tls.connect(name, tcp).await.expect("TLS handshake");
        stream
            .write_all(b"GET /api/hea")
            .await
            .expect("half a line");
        stream.flush().await.expect("flush");
        slow.push(stream);
    }
    // …and 300 that connected and said nothing (not even a TLS hello).
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(TcpStream::connect(server.addr()).await.expect("connect"));
    }
    // Meanwhile a secretary signs in as usual.
    let started = Instant::now();
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", "Le chat dort sur le radiateur")
        .await;
    let signed_in = started.elapsed();
    let envelopes = server
        .client()
        .get(server.url("/api/envelopes?folder=inbox"))
        .bearer_auth(&token)
        .header(medimail_api::SESSION_HEADER, &session)
        .send()
        .await
        .expect("list");
    assert_eq!(envelopes.status(), 200);
    eprintln!("BENCH sign-in with 600 stalled connections open: {signed_in:?}");

    // The server closes every one of them (2 s of patience; the wait is for that signal).
    let started = Instant::now();
    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(
            closed_by_server(stream, Duration::from_secs(60)).await,
            "slow connection {i} still open"
        );
    }
    for (i, stream) in silent.iter_mut().enumerate() {
        assert!(
            closed_by_server(stream, Duration::from_secs(60)).await,
            "silent connection {i} still open"
        );
    }
    eprintln!(
        "BENCH 600 stalled connections closed by the server within {:?} of the sign-in",
        started.elapsed()
    );
    assert_eq!(server.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn connections_past_the_limit_are_closed_at_once() {
    let server = Server::start(ServerOptions {
        env: vec![("MEDIMAIL_MAX_CONNECTIONS".into(), "40".into())],
        ..Default::default()
    })
    .await;
    // (A connection left by the start-up probe may hold one of the places: the 41st is
    // refused either way.)
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(TcpStream::connect(server.addr()).await.expect("connect"));
    }
    let mut extra = TcpStream::connect(server.addr())
        .await
        .expect("the kernel accepts");
    assert!(
        closed_by_server(&mut extra, Duration::from_secs(30)).await,
        "the 41st connection must be closed"
    );
    let log = server.log();
    assert!(
        log.contains("max_connections=40") || log.contains("\"max_connections\":40"),
        "{log}"
    );
    // Places come free as connections close.
    drop(held);
    medimail_e2e::wait_until("a place free", Duration::from_secs(30), async || {
        matches!(
            server.client().get(server.url("/api/health")).send().await,
            Ok(r) if r.status() == 200
        )
    })
    .await;
}

#[tokio::test]
async fn a_request_that_cannot_finish_in_time_is_answered_408() {
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_REQUEST_TIMEOUT_SECONDS".into(), "1".into()),
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
        ],
        ..Default::default()
    })
    .await;
    let token: serde_json::Value = server
        .client()
        .post(server.url(medimail_api::paths::DEV_IDENTITY_TOKEN))
        .json(&serde_json::json!({"mailbox": "marie.curie@chu-dev.fr", "name": "Marie CURIE"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("JSON");
    let token = token["access_token"].as_str().expect("token").to_owned();
    // Another writer holds the SQLite database: the passphrase's write has to wait.
    let db = server.sqlite().await;
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let blocker = db.begin().await.expect("begin");
    blocker
        .execute_unprepared("CREATE TABLE IF NOT EXISTS test_blocker (x INTEGER)")
        .await
        .expect("take the write lock");
    let answer = server
        .client()
        .post(server.url(medimail_api::paths::AUTH_PASSPHRASE))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "passphrase": "Le chat dort sur le radiateur",
            "confirmation": "Le chat dort sur le radiateur"
        }))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 408);
    let body: serde_json::Value = answer.json().await.expect("JSON error");
    assert_eq!(body["code"], "request_timeout");
    assert!(
        body["message"].as_str().unwrap_or("").contains("à temps"),
        "{body}"
    );
    blocker.rollback().await.expect("rollback");
    // Nothing was half-written: the passphrase can be chosen now.
    let again = server
        .client()
        .post(server.url(medimail_api::paths::AUTH_PASSPHRASE))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "passphrase": "Le chat dort sur le radiateur",
            "confirmation": "Le chat dort sur le radiateur"
        }))
        .send()
        .await
        .expect("answer");
    assert_eq!(again.status(), 204);
}
