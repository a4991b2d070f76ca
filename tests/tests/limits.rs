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

/// A TLS connection to the server over `tcp`.
async fn over_tls(
    tls: &tokio_rustls::TlsConnector,
    tcp: TcpStream,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    tls.connect(name, tcp).await.expect("TLS handshake")
}

/// A connection whose receive window is 4 KB: what the server sends soon has to wait.
async fn small_window(server: &Server) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small window");
    socket.connect(server.addr()).await.expect("connect")
}

/// The request line and headers of a signed-in call (`token`, `session`); with the
/// length of a multipart body when there is one.
fn request_head(
    (token, session): (&str, &str),
    method: &str,
    path: &str,
    length: Option<usize>,
) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         {}: {session}\r\n",
        medimail_api::SESSION_HEADER
    );
    if let Some(length) = length {
        head.push_str(&format!(
            "Content-Type: multipart/form-data; boundary=B0undary\r\nContent-Length: {length}\r\n"
        ));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Marie sends herself an envelope with a file of `size` bytes; the path that downloads
/// the file.
async fn sealed_file(server: &Server, (token, session): (&str, &str), size: usize) -> String {
    let client = server.client();
    let sent = client
        .post(server.url("/api/envelopes"))
        .bearer_auth(token)
        .header(medimail_api::SESSION_HEADER, session)
        .header("content-type", "multipart/form-data; boundary=B0undary")
        .body(multipart("marie.curie@chu-dev.fr", size))
        .send()
        .await
        .expect("send");
    assert_eq!(sent.status(), 201);
    let reference = sent.json::<serde_json::Value>().await.expect("JSON")["reference"]
        .as_str()
        .expect("reference")
        .to_owned();
    let view: serde_json::Value = client
        .get(server.url(&format!("/api/envelopes/{reference}")))
        .bearer_auth(token)
        .header(medimail_api::SESSION_HEADER, session)
        .send()
        .await
        .expect("open")
        .json()
        .await
        .expect("JSON");
    let attachment = view["attachments"][0]["id"].as_str().expect("id");
    format!("/api/envelopes/{reference}/attachments/{attachment}")
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
    // 1,000 connections that finished TLS and sent half a request line (slow headers)…
    let mut slow = Vec::new();
    for _ in 0..1_000 {
        let tcp = TcpStream::connect(server.addr()).await.expect("connect");
        let mut stream = over_tls(&tls, tcp).await;
        stream
            .write_all(b"GET /api/hea")
            .await
            .expect("half a line");
        stream.flush().await.expect("flush");
        slow.push(stream);
    }
    // …and 1,000 that connected and said nothing (not even a TLS hello): 2,000 slow
    // sockets in all.
    let mut silent = Vec::new();
    for _ in 0..1_000 {
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
    // …and sends.
    let started = Instant::now();
    let sent = server
        .client()
        .post(server.url("/api/envelopes"))
        .bearer_auth(&token)
        .header(medimail_api::SESSION_HEADER, &session)
        .header("content-type", "multipart/form-data; boundary=B0undary")
        .body(multipart("pierre.dupond@chu-dev.fr", 10_000))
        .send()
        .await
        .expect("send");
    assert_eq!(sent.status(), 201);
    eprintln!(
        "BENCH with 2,000 stalled connections open: sign-in {signed_in:?}, send {:?}",
        started.elapsed()
    );

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
        "BENCH 2,000 stalled connections closed by the server within {:?} of the sign-in",
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
    // 100 connections at once: 40 at most get through (TLS handshake done), whatever
    // the concurrency; the health check's connection may still hold one place.
    let tls = connector(&server);
    let attempts = futures::future::join_all((0..100).map(|_| async {
        let tcp = TcpStream::connect(server.addr()).await.ok()?;
        let name = rustls::pki_types::ServerName::try_from("localhost").ok()?;
        tls.connect(name, tcp).await.ok()
    }))
    .await;
    let through = attempts.iter().flatten().count();
    assert!((39..=40).contains(&through), "{through} of 100 got through");
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
    // Nothing was half-written: no passphrase is kept, and it can be chosen now. On a
    // loaded machine the abandoned attempt may still hold the server's connection for a
    // moment, so a 408 is asked again (its signal); any other answer is final.
    let kept = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM identity_link WHERE chosen_passphrase_hash IS NOT NULL",
        ))
        .await
        .expect("count")
        .and_then(|row| row.try_get::<i64>("", "n").ok());
    assert_eq!(kept, Some(0), "the timed-out request kept a passphrase");
    let mut again = 408;
    for _ in 0..20 {
        again = server
            .client()
            .post(server.url(medimail_api::paths::AUTH_PASSPHRASE))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "passphrase": "Le chat dort sur le radiateur",
                "confirmation": "Le chat dort sur le radiateur"
            }))
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16();
        if again != 408 {
            break;
        }
    }
    assert_eq!(again, 204, "server log:\n{}", server.log());
}

/// The multipart body of « Envoyer » to `to` with one attachment of `size` bytes.
fn multipart(to: &str, size: usize) -> Vec<u8> {
    let mut body = format!(
        "--B0undary\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\
         Content-Type: application/json\r\n\r\n{}\r\n--B0undary\r\n\
         Content-Disposition: form-data; name=\"attachment\"; filename=\"scan.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n",
        serde_json::json!({"to": [to], "cc": [], "subject": "Scanner", "body_html": "<p>Bonjour</p>"})
    )
    .into_bytes();
    body.extend((0..size).map(|i| (i % 251) as u8));
    body.extend_from_slice(b"\r\n--B0undary--\r\n");
    body
}

/// Files of the data folder still being written (`…#1`: staging blobs).
fn staging_files(dir: &std::path::Path) -> usize {
    medimail_e2e::file_names_under(dir)
        .iter()
        .filter(|name| name.ends_with("#1"))
        .count()
}

/// 600 uploads that stall after their first bytes and 40 downloads that are never read,
/// all from one session, hold no thread of the shared blocking pool (512): a new user
/// still signs in (argon2) and a send still goes through (issue 15, item 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stalled_uploads_and_downloads_do_not_stop_sign_in_or_sending() {
    let server = Server::start(ServerOptions {
        env: vec![("MEDIMAIL_DEV_IDENTITY".into(), "true".into())],
        ..Default::default()
    })
    .await;
    const PASSPHRASE: &str = "Le chat dort sur le radiateur";
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", PASSPHRASE)
        .await;
    let client = server.client();
    let send = |body: Vec<u8>| {
        client
            .post(server.url("/api/envelopes"))
            .bearer_auth(&token)
            .header(medimail_api::SESSION_HEADER, &session)
            .header("content-type", "multipart/form-data; boundary=B0undary")
            .body(body)
            .send()
    };
    let auth = (token.as_str(), session.as_str());
    // A 6 MB file for the downloads (larger than what the sockets buffer).
    let download = sealed_file(&server, auth, 6_000_000).await;
    let tls = connector(&server);
    // The uploads: headers, the envelope part and the first bytes of a 10 MB file.
    let body = multipart("pierre.dupond@chu-dev.fr", 10_000_000);
    let mut stalled = Vec::new();
    for _ in 0..600 {
        let tcp = TcpStream::connect(server.addr()).await.expect("connect");
        let mut stream = over_tls(&tls, tcp).await;
        stream
            .write_all(&request_head(
                auth,
                "POST",
                "/api/envelopes",
                Some(body.len()),
            ))
            .await
            .expect("head");
        stream.write_all(&body[..2_000]).await.expect("first bytes");
        stream.flush().await.expect("flush");
        stalled.push(stream);
    }
    // The downloads, through a tiny receive window, never read.
    let mut unread = Vec::new();
    for _ in 0..40 {
        let mut stream = over_tls(&tls, small_window(&server).await).await;
        stream
            .write_all(&request_head(auth, "GET", &download, None))
            .await
            .expect("request");
        stream.flush().await.expect("flush");
        unread.push(stream);
    }
    // The signal: every stalled upload has its blob open on the server.
    let data = server.data_dir.path().to_owned();
    medimail_e2e::wait_until(
        "600 uploads receiving",
        Duration::from_secs(60),
        async || staging_files(&data) >= 600,
    )
    .await;

    let started = Instant::now();
    server
        .dev_sign_in("pierre.dupond@chu-dev.fr", PASSPHRASE)
        .await;
    let signed_in = started.elapsed();
    let started = Instant::now();
    let small = send(multipart("pierre.dupond@chu-dev.fr", 10_000))
        .await
        .expect("send");
    assert_eq!(small.status(), 201, "{:?}", small.text().await);
    eprintln!(
        "BENCH with 600 stalled uploads and 40 unread downloads: sign-in {signed_in:?}, send {:?}",
        started.elapsed()
    );
    drop(stalled);
    drop(unread);
}

/// An upload that stops sending for `MEDIMAIL_TRANSFER_IDLE_SECONDS` fails with
/// `upload_interrupted`, and leaves no envelope and no file (issue 15, item 1).
#[tokio::test]
async fn a_silent_upload_is_interrupted_and_leaves_nothing() {
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            ("MEDIMAIL_TRANSFER_IDLE_SECONDS".into(), "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", "Le chat dort sur le radiateur")
        .await;
    let body = multipart("pierre.dupond@chu-dev.fr", 1_000_000);
    let tls = connector(&server);
    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    let mut stream = over_tls(&tls, tcp).await;
    let auth = (token.as_str(), session.as_str());
    stream
        .write_all(&request_head(
            auth,
            "POST",
            "/api/envelopes",
            Some(body.len()),
        ))
        .await
        .expect("head");
    stream.write_all(&body[..5_000]).await.expect("first bytes");
    stream.flush().await.expect("flush");
    // The answer is the signal: nothing more is sent.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&answer).contains("upload_interrupted") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
            other => panic!("no answer: {other:?} {}", String::from_utf8_lossy(&answer)),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let db = server.sqlite().await;
    use sea_orm::EntityTrait;
    assert_eq!(
        medimail_server::envelope::entity::envelope::Entity::find()
            .all(&db)
            .await
            .expect("q")
            .len(),
        0
    );
    let data = server.data_dir.path().to_owned();
    medimail_e2e::wait_until("no file left", Duration::from_secs(30), async || {
        staging_files(&data) == 0
    })
    .await;
}

/// A download the client stops reading is cut after `MEDIMAIL_TRANSFER_IDLE_SECONDS`:
/// the connection is closed and frees its place (issue 15, item 1).
#[tokio::test]
async fn a_download_nobody_reads_is_cut() {
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            ("MEDIMAIL_TRANSFER_IDLE_SECONDS".into(), "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", "Le chat dort sur le radiateur")
        .await;
    let auth = (token.as_str(), session.as_str());
    let size = 12_000_000;
    let download = sealed_file(&server, auth, size).await;
    let mut stream = over_tls(&connector(&server), small_window(&server).await).await;
    stream
        .write_all(&request_head(auth, "GET", &download, None))
        .await
        .expect("request");
    stream.flush().await.expect("flush");
    // The signal: the server says it closed a connection whose client stopped reading.
    server
        .wait_for_log("connection closed: the client stopped reading", 1)
        .await;
    // What arrives now is what was already in flight, then the end: not the whole file.
    let mut received = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received += n,
            Err(_) => panic!("the connection is still open after {received} bytes"),
        }
    }
    assert!(received < size, "{received} bytes of {size}");
    eprintln!("BENCH an unread download of {size} bytes cut after {received} bytes sent");
}
