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

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    let (_, first, _) = get(&state, "/api/health").await;
    let (_, second, _) = get(&state, "/api/health").await;
    assert_ne!(first["x-request-id"], second["x-request-id"]);
}

#[tokio::test]
async fn the_audit_trail_is_chained_and_detects_tampering() {
    use medimail_server::audit;
    for db in databases().await {
        let state = state(&db).await;
        let first = audit::record(&state.db, "system", "server_started", serde_json::json!({}))
            .await
            .expect("record");
        assert_eq!(first.prev_hash, audit::GENESIS);
        let second = audit::record(&state.db, "a@b.fr", "test", serde_json::json!({"n": 2}))
            .await
            .expect("record");
        assert_eq!(second.prev_hash, first.hash);
        assert_eq!(audit::verify_chain(&state.db).await.expect("verify"), None);

        state
            .db
            .execute_unprepared(&format!(
                "UPDATE audit_event SET actor = 'mallory' WHERE id = {}",
                first.id
            ))
            .await
            .expect("tamper");
        assert_eq!(
            audit::verify_chain(&state.db).await.expect("verify"),
            Some(first.id)
        );
        db.drop_postgres().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registers_one_account_per_office_identity_even_under_concurrency() {
    use medimail_server::account::registry::find_or_register;
    use medimail_server::auth::office::OfficeIdentity;
    for db in databases().await {
        let state = state(&db).await;
        let identity = OfficeIdentity {
            tenant_id: "tenant-a".into(),
            object_id: "oid-1".into(),
            name: Some("Mickaël POLLET".into()),
            mailbox: Some("m.pollet@chu-exemple.fr".into()),
        };
        // Five first sign-ins at once end in a single account.
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let (db, identity) = (state.db.clone(), identity.clone());
            attempts.spawn(async move { find_or_register(&db, &identity).await });
        }
        let accounts: Vec<_> = attempts
            .join_all()
            .await
            .into_iter()
            .map(|r| r.expect("registered"))
            .collect();
        let first = accounts[0].clone();
        assert!(accounts.iter().all(|a| a.id == first.id), "{accounts:?}");
        assert!(
            first.passphrase_hash.is_none(),
            "a new account has no passphrase yet"
        );
        assert_eq!(first.failed_attempts, 0);

        // The mailbox follows the token; another object id is another account.
        let moved = OfficeIdentity {
            mailbox: Some("mickael.pollet@chu-exemple.fr".into()),
            ..identity.clone()
        };
        let again = find_or_register(&state.db, &moved).await.expect("found");
        assert_eq!(again.id, first.id);
        assert_eq!(
            again.mailbox.as_deref(),
            Some("mickael.pollet@chu-exemple.fr")
        );
        let other = OfficeIdentity {
            object_id: "oid-2".into(),
            ..identity.clone()
        };
        assert_ne!(
            find_or_register(&state.db, &other).await.expect("other").id,
            first.id
        );
        let other_tenant = OfficeIdentity {
            tenant_id: "tenant-b".into(),
            ..identity
        };
        assert_ne!(
            find_or_register(&state.db, &other_tenant)
                .await
                .expect("other tenant")
                .id,
            first.id
        );
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
