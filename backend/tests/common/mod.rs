//! Shared by the router tests: a fresh database per test (SQLite file, and PostgreSQL
//! when `DATABASE_URL` is set), and the application state built the way the binary
//! builds it, with a manual clock, random keys, a file outbox and, on request, the
//! development identity provider (which mints the real signed tokens these tests use).

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use medimail_server::cli::Cli;
use medimail_server::clock::Clock;
use medimail_server::keys::Keys;
use medimail_server::mail::Mailer;
use medimail_server::state::{AppState, Services};
use medimail_server::taskpane::TaskpanePage;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ORIGIN: &str = "https://medimail.chu-exemple.fr";

pub const PAGE: &str = r#"<!DOCTYPE html><html><head>
<script src="__MEDIMAIL_OFFICE_JS_URL__"></script>
</head><body><div id="medimail-app"></div><script>var ok = 1;</script></body></html>"#;

/// A database for one test: a fresh SQLite file, or a fresh PostgreSQL database created
/// on the server of `DATABASE_URL` (dropped at the end).
pub struct TestDb {
    pub url: String,
    pub _dir: tempfile::TempDir,
    pub postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        TestDb {
            url,
            _dir: dir,
            postgres: None,
        }
    }

    pub async fn postgres() -> Option<TestDb> {
        let admin = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))?;
        let name = format!("medimail_test_{}", uuid_like());
        let conn = Database::connect(admin.as_str())
            .await
            .expect("PostgreSQL at DATABASE_URL");
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create db");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("DATABASE_URL parses");
        url.set_path(&format!("/{name}"));
        Some(TestDb {
            url: url.to_string(),
            _dir: tempfile::tempdir().expect("temp dir"),
            postgres: Some((admin, name)),
        })
    }

    pub async fn drop_postgres(self) {
        if let Some((admin, name)) = self.postgres
            && let Ok(conn) = Database::connect(admin.as_str()).await
        {
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

/// A name no other test database has: the time, the process and a counter (two tests of
/// one process can read the same time where the clock is coarse).
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:x}_{}_{n}", std::process::id())
}

/// `scripts/test.sh` sets `MEDIMAIL_TEST_REQUIRE_POSTGRES`: there a missing PostgreSQL
/// fails the test instead of leaving it to SQLite alone.
pub fn postgres_required() -> bool {
    std::env::var_os("MEDIMAIL_TEST_REQUIRE_POSTGRES").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Every database this run can test: SQLite always, PostgreSQL when configured.
pub async fn databases() -> Vec<TestDb> {
    let mut out = vec![TestDb::sqlite().await];
    match TestDb::postgres().await {
        Some(pg) => out.push(pg),
        None if postgres_required() => {
            panic!("MEDIMAIL_TEST_REQUIRE_POSTGRES is set but DATABASE_URL names no PostgreSQL")
        }
        None => eprintln!("DATABASE_URL not set: PostgreSQL not tested in this run"),
    }
    out
}

/// Where the server's clock stands when a test starts: a fixed instant (a winter weekday
/// in Paris), so that no result depends on the day the suite runs.
pub fn test_start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-01-15T08:30:00Z")
        .expect("fixed instant")
        .to_utc()
}

pub async fn state(db: &TestDb) -> AppState {
    state_with(db, false).await
}

/// The state, with the development identity provider when `dev` is true.
pub async fn state_with(db: &TestDb, dev: bool) -> AppState {
    let dist = tempfile::tempdir().expect("dist").keep();
    std::fs::write(dist.join("index.html"), PAGE).expect("index");
    std::fs::create_dir_all(dist.join("icons")).expect("icons");
    std::fs::write(dist.join("icons/icon-16.png"), b"\x89PNG fake").expect("icon");
    state_from(db, &dist, dev).await
}

/// The state serving the pages of `dist` as they are now.
pub async fn state_in(db: &TestDb, dist: &std::path::Path) -> AppState {
    state_from(db, dist, false).await
}

async fn state_from(db: &TestDb, dist: &std::path::Path, dev: bool) -> AppState {
    let cli = Cli::try_parse_from_env_free(&[
        "medimail",
        "--public-origin",
        ORIGIN,
        "--client-id",
        "1b2c3d4e-0000-4000-8000-1234567890ab",
        "--dist-dir",
        dist.to_str().expect("utf-8 path"),
    ]);
    let config = cli.config;
    let conn = medimail_server::db::connect_and_migrate(&db.url)
        .await
        .expect("migrated");
    let page = TaskpanePage::load(&config.dist_dir, &config.office_js_url).expect("page");
    let outbox = tempfile::tempdir().expect("outbox").keep();
    let blobs = tempfile::tempdir().expect("blobs").keep();
    let services = Services {
        keys: Keys::random(),
        mailer: Mailer::files(outbox),
        clock: Clock::manual_at(test_start()),
        blobs: medimail_server::storage::BlobStore::local(&blobs).expect("blob store"),
        dev_identity: dev.then(|| {
            medimail_server::auth::dev_identity::DevIdentity::generate(
                ORIGIN,
                config.client_id.as_deref(),
            )
            .expect("dev identity")
        }),
    };
    AppState::new(config, conn, page, services)
}

/// Parses arguments the way the binary does, without the surrounding environment
/// (DATABASE_URL and MEDIMAIL_* may be set in CI).
pub trait ParseWithoutEnv {
    fn try_parse_from_env_free(args: &[&str]) -> Cli;
}

impl ParseWithoutEnv for Cli {
    fn try_parse_from_env_free(args: &[&str]) -> Cli {
        use clap::Parser;
        let cli = Cli::try_parse_from(args).expect("arguments parse");
        let mut config = cli.config;
        config.database_url = None;
        config.tls_cert = None;
        config.tls_key = None;
        config.office_js_url = url::Url::parse(medimail_server::config::DEFAULT_OFFICE_JS_URL)
            .expect("default office.js");
        config.public_origin = url::Url::parse(ORIGIN).expect("origin");
        Cli {
            config,
            command: None,
        }
    }
}

/// A passphrase the rules accept.
pub const GOOD_PASSPHRASE: &str = "Le chat dort sur le radiateur";

/// A signed-in user: Office token from the development identity (`name` as its display
/// name), passphrase chosen, code read from the file outbox, session opened.
/// Returns (Office token, session token).
pub async fn signed_in_as(state: &AppState, mailbox: &str, name: &str) -> (String, String) {
    let dev = state.dev_identity.as_ref().expect("dev identity");
    let token = dev.mint(mailbox, name, chrono::Utc::now()).expect("token");
    let call = |path: &str, body: Value| {
        Request::post(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let app = medimail_server::http::app(state.clone());
    let r = app
        .clone()
        .oneshot(call(
            "/api/auth/passphrase",
            json!({"passphrase": GOOD_PASSPHRASE, "confirmation": GOOD_PASSPHRASE}),
        ))
        .await
        .expect("ok");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .clone()
        .oneshot(call("/api/auth/code", json!({})))
        .await
        .expect("ok");
    assert_eq!(r.status(), StatusCode::OK);
    // Read the code back from the stored HMAC is impossible by design: use the outbox.
    state.mail_worker().drain_once().await.expect("drained");
    let dir = state.mailer.file_dir().expect("file outbox");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("e").path())
        .collect();
    files.sort();
    // The newest code mail (codes go out before notifications queued earlier, so it
    // need not be the newest file).
    let code = files
        .iter()
        .rev()
        .find_map(|f| {
            let raw = std::fs::read(f).expect("read");
            let parsed = mail_parser::MessageParser::default().parse(&raw)?;
            let subject = parsed.subject()?;
            subject
                .ends_with("] - Votre code d'accès Medimail")
                .then(|| subject[1..7].to_owned())
        })
        .expect("a code mail");
    let r = app
        .oneshot(call(
            "/api/auth/session",
            json!({"code": code, "passphrase": GOOD_PASSPHRASE}),
        ))
        .await
        .expect("ok");
    assert_eq!(r.status(), StatusCode::CREATED);
    let bytes = r.into_body().collect().await.expect("body").to_bytes();
    let session: Value = serde_json::from_slice(&bytes).expect("json");
    (
        token,
        session["session"].as_str().expect("session").to_owned(),
    )
}

/// One signed-in request through the real router: `auth` is (Office token, session
/// token), `body` an optional (content type, bytes). Returns status, headers and body.
pub async fn call_signed_in(
    state: &AppState,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", auth.0))
        .header(medimail_api::SESSION_HEADER, &auth.1);
    let body = match body {
        Some((content_type, bytes)) => {
            request = request.header("content-type", content_type);
            Body::from(bytes)
        }
        None => Body::empty(),
    };
    let response = medimail_server::http::app(state.clone())
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, bytes.to_vec())
}
