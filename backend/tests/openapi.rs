//! `GET /api/openapi.json`: the OpenAPI description, served by the real router, agrees
//! with the routes it describes — every route described, every description routed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use medimail_server::state::AppState;
use serde_json::Value;
use tower::ServiceExt;

mod common;
use common::*;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

async fn call(
    state: &AppState,
    method: Method,
    path: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let app = medimail_server::http::app(state.clone());
    let response = app
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .expect("request"),
        )
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

/// The document of a server with every optional route on (the development identity).
async fn document() -> (AppState, Value) {
    let db = TestDb::sqlite().await;
    let state = state_with(&db, true).await;
    let (status, _, body) = call(&state, Method::GET, medimail_api::paths::OPENAPI).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (state, serde_json::from_str(&body).expect("JSON"))
}

/// The paths of `medimail_api::paths`, read from its source so that a new constant is
/// checked without anyone listing it here.
fn contract_paths() -> Vec<String> {
    let source = include_str!("../../api/src/lib.rs");
    let start = source.find("pub mod paths {").expect("the paths module");
    let end = start + source[start..].find("\n}\n").expect("its end");
    let paths: Vec<String> = source[start..end]
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter_map(|line| line.split('"').nth(1))
        .map(str::to_owned)
        .collect();
    assert!(paths.len() >= 14, "{paths:?}");
    paths
}

/// Every `"/api/…"` string of the server's source (its unit tests left out): how a route
/// is named when it is not a constant of the contract.
fn api_paths_in_source() -> Vec<String> {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("source dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                // Unit tests name example paths, not routes.
                let text = text.split("#[cfg(test)]").next().unwrap_or_default();
                for piece in text.split('"').skip(1).step_by(2) {
                    if piece.starts_with("/api/") && !piece.contains(char::is_whitespace) {
                        found.push(piece.to_owned());
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found
}

/// A path of the document with its parameters filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| if part.starts_with('{') { "x" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_description_is_public_json_in_openapi_3_1_with_the_api_layers() {
    let db = TestDb::sqlite().await;
    let state = state(&db).await;
    let (status, headers, body) = call(&state, Method::GET, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "no sign-in needed: {body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("strict-transport-security"));
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["office_token"]["scheme"], "bearer");
    assert_eq!(schemes["medimail_session"]["in"], "header");
    assert_eq!(schemes["medimail_session"]["name"], "X-Medimail-Session");
    // Without the development identity, its routes are neither mounted nor described.
    assert!(doc["paths"].get("/api/dev/identity").is_none());
}

#[tokio::test]
async fn every_api_route_is_described_and_every_description_is_routed() {
    let (state, doc) = document().await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/api")) {
        for method in METHODS {
            let described = item.get(method.as_str().to_lowercase()).is_some();
            let (status, _, body) = call(&state, method.clone(), &concrete(path)).await;
            assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
            assert_eq!(
                status == StatusCode::METHOD_NOT_ALLOWED,
                !described,
                "{method} {path} is {} but answers {status} {body}",
                if described {
                    "described"
                } else {
                    "not described"
                },
            );
            checked += 1;
        }
    }
    assert!(checked >= 5 * 15, "{checked}");

    for path in contract_paths() {
        assert!(paths.contains_key(&path), "{path} is not described");
    }
    let fallbacks = ["/api/", "/api/{*rest}"];
    for path in api_paths_in_source() {
        assert!(
            paths.contains_key(&path) || fallbacks.contains(&path.as_str()),
            "{path} appears in the server's source but not in the description"
        );
    }
}

#[tokio::test]
async fn each_endpoint_lists_its_refusal_codes_with_their_status() {
    let (_, doc) = document().await;
    let codes = |path: &str, method: &str, status: &str| -> Vec<String> {
        let response = &doc["paths"][path][method]["responses"][status];
        let examples = response["content"]["application/json"]["examples"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} {status}: {response}"));
        for (code, example) in examples {
            assert_eq!(&example["value"]["code"], code, "{example}");
            assert!(example["value"]["message"].is_string(), "{example}");
        }
        examples.keys().cloned().collect()
    };
    let search = "/api/directory/search";
    assert_eq!(
        codes(search, "get", "400"),
        [
            "directory_criteria_invalid",
            "directory_criteria_too_short",
            "directory_unknown",
            "invalid_query"
        ]
    );
    assert_eq!(
        doc["paths"][search]["get"]["responses"]["400"]["content"]["application/json"]["examples"]
            ["directory_criteria_too_short"]["value"]["message"],
        medimail_api::directory::TOO_SHORT
    );
    assert_eq!(
        codes(search, "get", "403"),
        [
            "csrf_refused",
            "directory_mssante_not_enabled",
            "identification_unfinished",
            "webmail_off"
        ]
    );
    // The webmail's sign-in says one thing for every failed credential; the other 400s
    // are about the CPx card waiting in its cookie (checked before the credentials, or
    // spent by another window after them), never about the account.
    assert_eq!(
        codes("/api/webmail/session", "post", "400"),
        [
            "authentication_failed",
            "invalid_request",
            "psc_grant_invalid",
            "psc_grant_used"
        ]
    );
    let unauthorized = codes(search, "get", "401");
    for code in ["token_missing", "token_expired", "session_required"] {
        assert!(unauthorized.contains(&code.to_owned()), "{unauthorized:?}");
    }
    assert!(
        doc["paths"][search]["get"]["responses"]["401"]["headers"]
            .get("www-authenticate")
            .is_some()
    );
    assert_eq!(
        codes(search, "get", "503"),
        ["identity_provider_unavailable"]
    );

    // Rate limits name their delay in `Retry-After`.
    let code = &doc["paths"]["/api/auth/code"]["post"]["responses"]["429"];
    assert!(code["headers"].get("retry-after").is_some(), "{code}");
    assert_eq!(
        codes("/api/auth/code", "post", "429"),
        ["code_rate_limited", "code_too_soon"]
    );

    let send = "/api/envelopes";
    assert_eq!(
        codes(send, "post", "413"),
        ["attachments_too_large", "request_too_large"]
    );
    let draft = codes(send, "post", "422");
    for code in [
        "attachments_too_many",
        "attachment_empty",
        "attachment_name_too_long",
        "recipient_invalid",
        "recipient_missing",
        "recipients_too_many",
        "subject_missing",
        "subject_too_long",
        "body_too_large",
        "opening_window_invalid",
        "opening_window_too_long",
        "forward_attachment_unknown",
    ] {
        assert!(
            draft.contains(&code.to_owned()),
            "{code} missing: {draft:?}"
        );
    }
    assert_eq!(
        codes(send, "post", "400"),
        [
            "idempotency_key_invalid",
            "invalid_request",
            "upload_interrupted"
        ]
    );
    // The hourly quota names its delay.
    assert_eq!(codes(send, "post", "429"), ["send_quota_exceeded"]);
    let quota = &doc["paths"][send]["post"]["responses"]["429"];
    assert!(quota["headers"].get("retry-after").is_some(), "{quota}");
    assert_eq!(
        doc["paths"][send]["post"]["requestBody"]["content"]["multipart/form-data"]["encoding"]["envelope"]
            ["contentType"],
        "application/json"
    );
    assert_eq!(
        codes("/api/envelopes/{reference}", "get", "403"),
        [
            "csrf_refused",
            "envelope_closed",
            "envelope_not_open_yet",
            "identification_unfinished",
            "webmail_off"
        ]
    );
    assert_eq!(
        codes("/api/directory/favorites", "post", "409"),
        ["favorites_full"]
    );
    assert_eq!(codes("/api/health", "get", "503"), ["database_unavailable"]);
}

#[tokio::test]
async fn the_schemas_follow_the_json_the_server_sends() {
    let (_, doc) = document().await;
    let schemas = &doc["components"]["schemas"];
    // `skip_serializing_if`: not required; always sent: required.
    let error = &schemas["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["code", "message"]));
    let session = &schemas["SessionInfo"];
    let required: Vec<&str> = session["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!required.contains(&"session") && required.contains(&"expires_at"));
    // `rename_all = "lowercase"`.
    assert_eq!(
        schemas["DatabaseKind"]["enum"],
        serde_json::json!(["sqlite", "postgres"])
    );
    assert_eq!(
        schemas["Folder"]["enum"],
        serde_json::json!(["inbox", "sent", "deleted"])
    );
    // The query types are the contract's, parameter by parameter.
    let params: Vec<&str> = doc["paths"]["/api/directory/search"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        params,
        [
            "annuaire",
            "nom",
            "prenom",
            "raison_sociale",
            "rpps",
            "code_postal",
            "ville",
            "profession",
            "specialite",
            "departement"
        ]
    );
    // Every security requirement names a scheme of the document.
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("schemes");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for name in requirement.as_object().expect("requirement").keys() {
                    assert!(schemes.contains_key(name), "{method} {path}: {name}");
                }
            }
        }
    }
}
