//! The real `medimail` binary over HTTPS: manifest, health, headers, hostile bytes,
//! start-up failures, shutdown.

use std::sync::Arc;
use std::time::Duration;

use medimail_e2e::{Server, ServerOptions, base_command, free_port, run_to_end};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn serves_the_manifest_with_every_url_on_the_public_origin() {
    let server = Server::start(ServerOptions::default()).await;
    let response = server.get("/Add-in/Manifestes/Medimail.xml").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(
        content_type.starts_with("application/xml"),
        "{content_type}"
    );
    let xml = response.text().await.expect("body");
    assert!(xml.len() < 256 * 1024);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let mut urls = 0;
    for node in doc.descendants() {
        let values = node
            .attributes()
            .map(|a| a.value())
            .chain(node.text().filter(|_| node.is_element()));
        for value in values {
            let value = value.trim();
            if value.starts_with("http://schemas.microsoft.com")
                || value.starts_with("http://www.w3.org")
            {
                continue;
            }
            if value.contains("://") {
                urls += 1;
                assert!(
                    value.starts_with(&server.origin)
                        || value.starts_with(&format!("api://localhost:{}/", server.port)),
                    "URL off the public origin: {value}"
                );
            }
        }
    }
    assert!(urls >= 10, "only {urls} URLs found");
    // The icons it names are served.
    let icon = server.get("/icons/icon-80.png").await;
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn answers_health_with_strict_security_headers() {
    let server = Server::start(ServerOptions::default()).await;
    let response = server.get("/api/health").await;
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    assert_eq!(
        h["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.contains_key("x-request-id"));
    let health: medimail_api::Health = response.json().await.expect("JSON health");
    assert_eq!(health.status, "ok");
    assert_eq!(health.database, medimail_api::DatabaseKind::Sqlite);
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    // Migrations ran on the embedded SQLite file in the data folder.
    assert!(server.data_dir.path().join("medimail.db").exists());
}

#[tokio::test]
async fn the_task_pane_page_allows_only_its_own_inline_scripts() {
    let server = Server::start(ServerOptions::default()).await;
    let response = server.get("/taskpane.html").await;
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let html = response.text().await.expect("html");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(
        !csp.contains("'unsafe-eval'") && !csp.contains("'unsafe-inline'"),
        "{csp}"
    );
    assert!(csp.contains("https://appsforoffice.microsoft.com"), "{csp}");
    let inline =
        html.matches("<script>").count() + html.matches("<script type=\"module\">").count();
    assert!(inline >= 2, "the ES5 check and Trunk's loader are inline");
    assert_eq!(csp.matches("'sha256-").count(), inline, "{csp}");
    assert!(
        html.contains(
            r#"<script src="https://appsforoffice.microsoft.com/lib/1/hosted/office.js">"#
        )
    );
}

#[tokio::test]
async fn unknown_api_paths_answer_json_and_other_paths_the_pane() {
    let server = Server::start(ServerOptions::default()).await;
    let client = server.client();
    let api = client
        .get(server.url("/api/nothing/here"))
        .send()
        .await
        .expect("api 404");
    assert_eq!(api.status(), 404);
    let body: medimail_api::ErrorBody = api.json().await.expect("JSON error");
    assert_eq!(body.code, "not_found");
    assert!(body.message.contains("n'existe pas"));

    let page = client
        .get(server.url("/some/screen"))
        .send()
        .await
        .expect("pane");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("id=\"medimail-app\"")
    );
}

#[tokio::test]
async fn survives_plaintext_bytes_and_silent_clients_on_the_tls_port() {
    let server = Server::start(ServerOptions::default()).await;
    // A plaintext HTTP request on the TLS port.
    let mut plain = TcpStream::connect(server.addr()).await.expect("connect");
    plain
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(15), plain.read(&mut buf)).await;
    // Random bytes, and a client that connects and says nothing.
    let mut noise = TcpStream::connect(server.addr()).await.expect("connect");
    noise
        .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3])
        .await
        .expect("write");
    let _silent = TcpStream::connect(server.addr()).await.expect("connect");

    let health = server.get("/api/health").await;
    assert_eq!(
        health.status(),
        200,
        "server still answers:\n{}",
        server.log()
    );
}

#[tokio::test]
async fn survives_a_malformed_host_header() {
    let server = Server::start(ServerOptions::default()).await;
    let pem = std::fs::read(server.cert_path()).expect("dev cert");
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("cert")).expect("root");
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    for host in [&b"\xff\xfe\x00bad"[..], b"[::1", b"a b c:99999", b""] {
        let tcp = TcpStream::connect(server.addr()).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
        let mut request = b"GET /api/health HTTP/1.1\r\nHost: ".to_vec();
        request.extend_from_slice(host);
        request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
        tls.write_all(&request).await.expect("write");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await;
        let head = String::from_utf8_lossy(&answer[..answer.len().min(12)]).to_string();
        assert!(
            head.starts_with("HTTP/1.1 "),
            "an HTTP answer, got {head:?}"
        );
    }
    let health = server.get("/api/health").await;
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn never_logs_tokens_or_query_strings() {
    let server = Server::start(ServerOptions::default()).await;
    // Start-up's readiness checks call /api/health too: count their lines.
    let probes = server.log_count("/api/health");
    let response = server
        .client()
        .get(server.url("/api/health?q=Dupont-Patient"))
        .header("Authorization", "Bearer eyJ-very-secret-token")
        .header("X-Medimail-Session", "session-secret-value")
        .send()
        .await
        .expect("health");
    assert_eq!(response.status(), 200);
    // The request's response line comes after anything logged while it was handled.
    server.wait_for_log("/api/health", probes + 1).await;
    let log = server.log();
    assert!(log.contains("/api/health"), "the request is logged:\n{log}");
    assert!(log.contains("status=200"), "{log}");
    for secret in [
        "eyJ-very-secret-token",
        "session-secret-value",
        "Dupont-Patient",
    ] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
}

#[tokio::test]
async fn json_log_format_writes_one_object_per_line() {
    let server = Server::start(ServerOptions {
        env: vec![("MEDIMAIL_LOG_FORMAT".into(), "json".into())],
        ..Default::default()
    })
    .await;
    let probes = server.log_count("/api/health");
    server.get("/api/health").await;
    server.wait_for_log("/api/health", probes + 1).await;
    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value.get("level").is_some(), "{line}");
    }
}

#[tokio::test]
async fn plaintext_mode_listens_in_http_only_when_asked() {
    let data = tempfile::tempdir().expect("data");
    let port = free_port();
    let mut command = base_command(
        &data,
        port,
        &ServerOptions {
            args: vec!["--plaintext".into()],
            ..Default::default()
        },
    );
    let mut child = command.spawn().expect("spawn");
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/health");
    let mut ok = false;
    for _ in 0..300 {
        if let Ok(r) = client.get(&url).send().await {
            ok = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.start_kill();
    assert!(ok, "plain HTTP health answered");
    assert!(
        !data.path().join("tls").exists(),
        "no certificate generated in plaintext mode"
    );
}

#[tokio::test]
async fn stops_gracefully_on_sigterm() {
    let server = Server::start(ServerOptions::default()).await;
    let (status, log) = server.terminate().await;
    assert!(status.success(), "exit status {status}");
    assert!(log.contains("Medimail stopped"), "{log}");
}

async fn failed_start(extra: Vec<(String, String)>) -> String {
    let data = tempfile::tempdir().expect("data");
    let command = base_command(
        &data,
        free_port(),
        &ServerOptions {
            env: extra,
            ..Default::default()
        },
    );
    let output = run_to_end(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit code; stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic instead of a message:\n{stderr}"
    );
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("medimail: error:"))
        .collect();
    assert_eq!(error_lines.len(), 1, "one clear error line:\n{stderr}");
    error_lines[0].to_owned()
}

#[tokio::test]
async fn a_missing_certificate_file_stops_start_up_with_its_name() {
    let line = failed_start(vec![
        (
            "MEDIMAIL_TLS_CERT".into(),
            "/nonexistent/medimail-cert.pem".into(),
        ),
        (
            "MEDIMAIL_TLS_KEY".into(),
            "/nonexistent/medimail-key.pem".into(),
        ),
    ])
    .await;
    assert!(line.contains("/nonexistent/medimail-cert.pem"), "{line}");
}

#[tokio::test]
async fn an_invalid_key_file_stops_start_up_with_its_name() {
    let dir = tempfile::tempdir().expect("dir");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("broken-key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("write");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let line = failed_start(vec![
        ("MEDIMAIL_TLS_CERT".into(), cert.display().to_string()),
        ("MEDIMAIL_TLS_KEY".into(), key.display().to_string()),
    ])
    .await;
    assert!(line.contains("broken-key.pem"), "{line}");
}

#[tokio::test]
async fn an_unreachable_database_stops_start_up_without_showing_its_password() {
    let port = free_port();
    let line = failed_start(vec![(
        "DATABASE_URL".into(),
        format!("postgres://medimail:hunter2@127.0.0.1:{port}/medimail"),
    )])
    .await;
    assert!(line.contains("cannot use the database"), "{line}");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(!line.contains("hunter2"), "password shown: {line}");
}

#[tokio::test]
async fn a_busy_port_stops_start_up_with_the_address() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let data = tempfile::tempdir().expect("data");
    let command = base_command(&data, port, &ServerOptions::default());
    let output = run_to_end(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[tokio::test]
async fn help_documents_every_setting() {
    let data = tempfile::tempdir().expect("data");
    let mut command = base_command(&data, free_port(), &ServerOptions::default());
    command.arg("--help");
    let output = run_to_end(command).await;
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for name in [
        "MEDIMAIL_LISTEN",
        "MEDIMAIL_PUBLIC_ORIGIN",
        "MEDIMAIL_DATA_DIR",
        "DATABASE_URL",
        "MEDIMAIL_TLS_CERT",
        "MEDIMAIL_TLS_KEY",
        "MEDIMAIL_PLAINTEXT",
        "MEDIMAIL_CLIENT_ID",
        "MEDIMAIL_DIST_DIR",
        "MEDIMAIL_OFFICE_JS_URL",
        "MEDIMAIL_LOG_FORMAT",
        "MEDIMAIL_OIDC_METADATA_URL",
        "MEDIMAIL_ISSUER_TEMPLATE",
        "MEDIMAIL_ALLOWED_TENANTS",
        "MEDIMAIL_JWKS_REFRESH_SECONDS",
        "MEDIMAIL_ALLOWED_CLIENT_APPS",
    ] {
        assert!(
            help.contains(name),
            "--help does not mention {name}:\n{help}"
        );
    }
}

#[tokio::test]
async fn runs_on_postgresql_when_database_url_is_set() {
    let url = std::env::var("DATABASE_URL").unwrap_or_default();
    if !url.starts_with("postgres") {
        assert!(
            !medimail_e2e::postgres_required(),
            "MEDIMAIL_TEST_REQUIRE_POSTGRES is set but DATABASE_URL names no PostgreSQL"
        );
        eprintln!("SKIPPED: DATABASE_URL is not a PostgreSQL URL; PostgreSQL start-up not tested");
        return;
    }
    let server = Server::start(ServerOptions {
        inherit_database_url: true,
        ..Default::default()
    })
    .await;
    let health: medimail_api::Health = server.get("/api/health").await.json().await.expect("json");
    assert_eq!(health.database, medimail_api::DatabaseKind::Postgres);
}
