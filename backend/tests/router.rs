//! The real router (`medimail_server::http::app`) driven with `tower::ServiceExt::oneshot`,
//! on a temporary SQLite file, and on PostgreSQL too when `DATABASE_URL` is set.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use medimail_server::state::AppState;
use sea_orm::ConnectionTrait;
use tower::ServiceExt;

mod common;
use common::*;

async fn get(state: &AppState, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let app = medimail_server::http::app(state.clone());
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn health_pings_each_database() {
    for db in databases().await {
        let state = state(&db).await;
        let (status, headers, body) = get(&state, "/api/health").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["content-type"], "application/json");
        let health: medimail_api::Health = serde_json::from_str(&body).expect("JSON");
        let expected = if db.postgres.is_some() {
            medimail_api::DatabaseKind::Postgres
        } else {
            medimail_api::DatabaseKind::Sqlite
        };
        assert_eq!(health.database, expected);
        assert_eq!(health.status, "ok");
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn health_reports_an_unreachable_database_as_503() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    state.db.clone().close().await.expect("close pool");
    let (status, _, body) = get(&state, "/api/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error: medimail_api::ErrorBody = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(error.code, "database_unavailable");
    assert!(error.message.contains("base de données"));
}

#[tokio::test]
async fn serves_the_manifest_rendered_for_the_public_origin() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    let (status, headers, body) = get(&state, "/Add-in/Manifestes/Medimail.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/xml; charset=utf-8");
    assert!(body.contains(&format!(
        "<SourceLocation DefaultValue=\"{ORIGIN}/taskpane.html\"/>"
    )));
    assert!(body.contains(&format!("<AppDomain>{ORIGIN}</AppDomain>")));
    assert!(body.contains(
        "<Resource>api://medimail.chu-exemple.fr/1b2c3d4e-0000-4000-8000-1234567890ab</Resource>"
    ));
    assert!(!body.contains("medimail.invalid"));
}

#[tokio::test]
async fn unknown_api_paths_answer_a_json_404() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    for path in ["/api", "/api/", "/api/nope", "/api/envelopes/x/y/z"] {
        let (status, headers, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(headers["content-type"], "application/json", "{path}");
        let error: medimail_api::ErrorBody = serde_json::from_str(&body).expect("JSON error");
        assert_eq!(error.code, "not_found");
    }
}

#[tokio::test]
async fn other_paths_serve_the_task_pane_with_its_policy() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    for path in ["/", "/taskpane.html", "/index.html", "/anything/else"] {
        let (status, headers, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains("id=\"medimail-app\""), "{path}");
        assert!(
            body.contains("src=\"https://appsforoffice.microsoft.com/lib/1/hosted/office.js\""),
            "{path}"
        );
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("'wasm-unsafe-eval'"));
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
        assert_eq!(
            headers["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    // Real files are served as files.
    let (status, headers, _) = get(&state, "/icons/icon-16.png").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
}

/// However the path is spelt, an HTML file goes out as a page, filled in and with its
/// policy; never as it lies on disk (issue 15, item 7).
#[tokio::test]
async fn every_spelling_of_a_page_carries_its_policy() {
    let db = TestDb::sqlite().await;
    let plain = state(&db).await;
    let dist = plain.config.dist_dir.clone();
    std::fs::create_dir_all(dist.join("webmail")).expect("webmail dir");
    std::fs::write(dist.join("webmail/index.html"), PAGE).expect("webmail page");
    std::fs::write(dist.join("other.html"), "<p>not a page</p>").expect("other");
    let state = common::state_in(&db, &dist).await;
    for path in [
        "/%69ndex.html",
        "//index.html",
        "/./index.html",
        "/index.html/",
        "/webmail/index.html",
        "/webmail/%69ndex.html",
        "/other.html",
        "/%2e/index.html",
    ] {
        let (status, headers, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no policy"))
            .to_str()
            .expect("ascii");
        assert!(csp.contains("frame-ancestors"), "{path}: {csp}");
        assert!(csp.contains("'wasm-unsafe-eval'"), "{path}: {csp}");
        assert!(
            !body.contains("__MEDIMAIL_OFFICE_JS_URL__"),
            "{path}: {body}"
        );
        assert!(!body.contains("not a page"), "{path}");
    }
}

#[tokio::test]
async fn the_webmail_s_page_is_served_at_the_root_and_the_pane_s_at_its_own_name() {
    let db = TestDb::sqlite().await;
    let plain = state(&db).await;
    let dist = plain.config.dist_dir.clone();
    std::fs::create_dir_all(dist.join("webmail")).expect("webmail dir");
    std::fs::write(
        dist.join("webmail/index.html"),
        "<!DOCTYPE html><html><body><div id=\"medimail-app\" data-page=\"webmail\"></div>\
         <script>var webmail = 1;</script></body></html>",
    )
    .expect("webmail page");
    // The state reads the pages at start.
    let state = common::state_in(&db, &dist).await;
    for path in ["/", "/anything/else", "/inbox"] {
        let (status, headers, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains("data-page=\"webmail\""), "{path}: {body}");
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
    }
    for path in ["/taskpane.html", "/index.html"] {
        let (_, _, body) = get(&state, path).await;
        assert!(!body.contains("data-page=\"webmail\""), "{path}");
        assert!(body.contains("appsforoffice.microsoft.com"), "{path}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    let (_, first, _) = get(&state, "/api/health").await;
    let (_, second, _) = get(&state, "/api/health").await;
    assert_ne!(first["x-request-id"], second["x-request-id"]);
    // One a client sends is not taken as ours (issue 15, item 8): a forged or reused id
    // must not mix its requests with another's in the log.
    let response = medimail_server::http::app(state.clone())
        .oneshot(
            Request::get("/api/health")
                .header("x-request-id", "forged-id")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let ours = response.headers()["x-request-id"].to_str().expect("ascii");
    assert_ne!(ours, "forged-id");
    assert!(uuid::Uuid::parse_str(ours).is_ok(), "{ours}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_account_per_mailbox_even_under_concurrency() {
    use medimail_server::account::registry::{by_mailbox, for_mailbox, for_recipient};
    for db in databases().await {
        let state = state(&db).await;
        let now = common::test_start();
        // Fifty first deliveries at once, in any case and spacing: one account.
        let mut attempts = tokio::task::JoinSet::new();
        for n in 0..50 {
            let db = state.db.clone();
            attempts.spawn(async move {
                let address = if n % 2 == 0 {
                    "M.Pollet@CHU-exemple.fr "
                } else {
                    "m.pollet@chu-exemple.fr"
                };
                for_recipient(&db, address, now).await
            });
        }
        let accounts: Vec<_> = attempts
            .join_all()
            .await
            .into_iter()
            .map(|r| r.expect("found or created"))
            .collect();
        let first = accounts[0].clone();
        assert!(accounts.iter().all(|a| a.id == first.id), "{accounts:?}");
        assert_eq!(first.mailbox.as_deref(), Some("m.pollet@chu-exemple.fr"));
        assert!(first.passphrase_hash.is_none() && first.proven_at.is_none());
        assert_eq!(
            for_mailbox(&state.db, "m.pollet@chu-exemple.fr", now)
                .await
                .expect("same")
                .id,
            first.id
        );
        assert!(
            by_mailbox(&state.db, "autre@chu-exemple.fr")
                .await
                .expect("read")
                .is_none()
        );
        // The database itself refuses a second row for the mailbox.
        let twice = state
            .db
            .execute_unprepared(
                "INSERT INTO account (id, mailbox, failed_attempts, created_at, liste_rouge, \
                 mssante_enabled) VALUES ('x', 'm.pollet@chu-exemple.fr', 0, \
                 '2026-01-15T08:30:00Z', false, false)",
            )
            .await;
        assert!(twice.is_err(), "a second account for one mailbox");
        db.drop_postgres().await;
    }
}

/// What axum itself would refuse in plain text (a query that does not parse, a body that
/// is not JSON or too large, a multipart body without its boundary, a wrong method)
/// answers the app's JSON error body with a stable code and a French message.
#[tokio::test]
async fn axum_rejections_answer_the_json_error_body() {
    let db = TestDb::sqlite().await;
    let state = state_with(&db, true).await;
    let auth = signed_in_as(&state, "marie.curie@chu-dev.fr", "Marie CURIE").await;
    let json = Some("application/json");
    // (what, method, path, content type, body, expected status, expected code)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        Vec<u8>,
        StatusCode,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "a page that is not a number",
            "GET",
            "/api/envelopes?folder=inbox&page=abc",
            None,
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "a body that is not JSON",
            "PUT",
            "/api/account/visibility",
            json,
            b"{liste_rouge: oui".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "a body over the limit",
            "POST",
            "/api/directory/favorites",
            json,
            vec![b' '; 3 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
        ),
        (
            "a multipart body without its boundary",
            "POST",
            "/api/envelopes",
            Some("multipart/form-data"),
            b"--x\r\n".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "a method the path does not take",
            "PATCH",
            "/api/envelopes",
            None,
            Vec::new(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (what, method, path, content_type, body, status, code) in cases {
        let body = content_type.map(|t| (t, body));
        let (got, headers, bytes) = call_signed_in(&state, &auth, method, path, body).await;
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        assert_eq!(got, status, "{what}: {json}");
        assert_eq!(content_type, "application/json", "{what}");
        assert_eq!(json["code"], code, "{what}: {json}");
        let message = json["message"].as_str().unwrap_or("");
        assert!(
            message.contains("Medimail") || message.contains("demande"),
            "{what}: a French message, got {message:?}"
        );
    }
}

/// The hashed assets' brotli and gzip copies made at build time go to the browsers that
/// accept them, with the asset's type and caching; others get the file itself (issue 21,
/// item 12).
#[tokio::test]
async fn hashed_assets_go_precompressed_to_browsers_that_accept_them() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    let dist = state.config.dist_dir.clone();
    let wasm = "medimail-taskpane-0123456789abcdef_bg.wasm";
    std::fs::write(dist.join(wasm), b"\0asm the file").expect("wasm");
    std::fs::write(dist.join(format!("{wasm}.br")), b"the brotli copy").expect("br");
    std::fs::write(dist.join(format!("{wasm}.gz")), b"the gzip copy").expect("gz");
    for (accepts, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), "the brotli copy"),
        ("gzip", Some("gzip"), "the gzip copy"),
        ("identity", None, "\0asm the file"),
    ] {
        let response = medimail_server::http::app(state.clone())
            .oneshot(
                Request::get(format!("/{wasm}"))
                    .header("accept-encoding", accepts)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK, "{accepts}");
        let headers = response.headers().clone();
        assert_eq!(
            headers
                .get("content-encoding")
                .map(|v| v.to_str().unwrap_or("")),
            encoding,
            "{accepts}"
        );
        assert_eq!(headers["content-type"], "application/wasm", "{accepts}");
        assert_eq!(
            headers["cache-control"], "public, max-age=31536000, immutable",
            "{accepts}"
        );
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(String::from_utf8_lossy(&bytes), body, "{accepts}");
    }
}

/// The pane's content-hashed files are cached for a year without revalidation; the page
/// that names them is revalidated every time (issue 21, item 12).
#[tokio::test]
async fn hashed_assets_are_immutable_and_the_page_is_not() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    let dist = state.config.dist_dir.clone();
    std::fs::write(dist.join("medimail-taskpane-0123456789abcdef.js"), "var a;").expect("js");
    std::fs::write(
        dist.join("medimail-taskpane-0123456789abcdef_bg.wasm"),
        b"\0asm",
    )
    .expect("wasm");
    for path in [
        "/medimail-taskpane-0123456789abcdef.js",
        "/medimail-taskpane-0123456789abcdef_bg.wasm",
    ] {
        let (status, headers, _) = get(&state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            headers["cache-control"], "public, max-age=31536000, immutable",
            "{path}"
        );
    }
    for path in [
        "/taskpane.html",
        "/",
        "/medimail-taskpane-ffffffffffffffff.js",
    ] {
        let (_, headers, _) = get(&state, path).await;
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
    }
    let (status, headers, _) = get(&state, "/icons/icon-16.png").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get("cache-control")
            .is_none_or(|v| !v.to_str().unwrap_or("").contains("immutable"))
    );
}
