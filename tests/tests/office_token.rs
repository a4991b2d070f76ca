//! Office token verification on the real server, against the test identity provider:
//! one test per way a token can be wrong (issue 3's list), and the right one.

use base64::Engine;
use medimail_api::{ErrorBody, Me};
use medimail_e2e::idp::{self, OTHER_TENANT, TENANT, TestIdp};
use medimail_e2e::{Server, ServerOptions};

async fn setup_with(extra: Vec<(String, String)>) -> (TestIdp, Server) {
    let idp = TestIdp::start().await;
    let mut env = idp.server_env();
    env.extend(extra);
    let server = Server::start(ServerOptions {
        env,
        ..Default::default()
    })
    .await;
    (idp, server)
}

async fn setup() -> (TestIdp, Server) {
    setup_with(Vec::new()).await
}

/// Calls `GET /api/me` with an `Authorization` header value (or none).
async fn call_me(server: &Server, authorization: Option<&str>) -> (u16, String) {
    let mut request = server.client().get(server.url("/api/me"));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn refused(server: &Server, token: &str) -> ErrorBody {
    let (status, body) = call_me(server, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 401, "refused: {body}");
    assert!(!body.contains(token), "the token is echoed");
    serde_json::from_str(&body).expect("JSON error body")
}

fn with(mut claims: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    claims[key] = value;
    claims
}

fn without(mut claims: serde_json::Value, key: &str) -> serde_json::Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

/// Signs `claims` with the provider's current key and returns the refusal code.
async fn refusal_code(idp: &TestIdp, server: &Server, claims: &serde_json::Value) -> String {
    refused(server, &idp::sign(&idp.current_key(), claims))
        .await
        .code
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn accepts_a_valid_token_and_names_the_user() {
    let (idp, server) = setup().await;
    let token = idp::sign(&idp.current_key(), &idp::valid_claims());
    let (status, body) = call_me(&server, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "{body}");
    let who: Me = serde_json::from_str(&body).expect("JSON");
    assert_eq!(who.tenant_id, TENANT);
    assert_eq!(who.object_id, "00000000-0000-0000-0000-00000000d0c7");
    assert_eq!(who.name.as_deref(), Some("Mickaël POLLET"));
    assert_eq!(who.mailbox.as_deref(), Some("m.pollet@chu-exemple.fr"));

    // The application id URI is an accepted audience too; upn stands in for the mailbox.
    let claims = with(
        without(idp::valid_claims(), "preferred_username"),
        "aud",
        format!("api://localhost:{}/{}", server.port, idp::CLIENT_ID).into(),
    );
    let claims = with(claims, "upn", "upn@chu-exemple.fr".into());
    let (status, body) = call_me(
        &server,
        Some(&format!(
            "Bearer {}",
            idp::sign(&idp.current_key(), &claims)
        )),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let who: Me = serde_json::from_str(&body).expect("JSON");
    assert_eq!(who.mailbox.as_deref(), Some("upn@chu-exemple.fr"));
}

#[tokio::test]
async fn refuses_an_expired_token_beyond_five_minutes_of_leeway() {
    let (idp, server) = setup().await;
    let now = idp::now();
    let expired = with(idp::valid_claims(), "exp", (now - 6 * 60).into());
    let error = refused(&server, &idp::sign(&idp.current_key(), &expired)).await;
    assert_eq!(error.code, "token_expired");
    assert!(error.message.contains("expiré"));
    // Inside the leeway it is still accepted.
    let late = with(idp::valid_claims(), "exp", (now - 60).into());
    let (status, _) = call_me(
        &server,
        Some(&format!("Bearer {}", idp::sign(&idp.current_key(), &late))),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn refuses_a_token_not_yet_valid() {
    let (idp, server) = setup().await;
    let claims = with(idp::valid_claims(), "nbf", (idp::now() + 10 * 60).into());
    let error = refused(&server, &idp::sign(&idp.current_key(), &claims)).await;
    assert_eq!(error.code, "token_not_yet_valid");
}

#[tokio::test]
async fn refuses_a_token_for_another_audience() {
    let (idp, server) = setup().await;
    let claims = with(idp::valid_claims(), "aud", "api://other-app/1234".into());
    let error = refused(&server, &idp::sign(&idp.current_key(), &claims)).await;
    assert_eq!(error.code, "token_audience");
}

#[tokio::test]
async fn refuses_a_token_from_another_issuer() {
    let (idp, server) = setup().await;
    let claims = with(
        idp::valid_claims(),
        "iss",
        format!("https://sts.windows.net/{TENANT}/").into(),
    );
    let error = refused(&server, &idp::sign(&idp.current_key(), &claims)).await;
    assert_eq!(error.code, "token_issuer");
}

#[tokio::test]
async fn refuses_a_tenant_that_is_not_allowed() {
    let (idp, server) = setup().await;
    let mut claims = with(idp::valid_claims(), "tid", OTHER_TENANT.into());
    claims["iss"] = idp::ISSUER_TEMPLATE.replace("{tid}", OTHER_TENANT).into();
    let error = refused(&server, &idp::sign(&idp.current_key(), &claims)).await;
    assert_eq!(error.code, "token_tenant");
    assert!(error.message.contains("organisation"));
}

#[tokio::test]
async fn refuses_a_missing_or_wrong_scope() {
    let (idp, server) = setup().await;
    let wrong = with(idp::valid_claims(), "scp", "User.Read Mail.Send".into());
    assert_eq!(refusal_code(&idp, &server, &wrong).await, "token_scope");
    let missing = without(idp::valid_claims(), "scp");
    assert_eq!(refusal_code(&idp, &server, &missing).await, "token_scope");
}

#[tokio::test]
async fn refuses_alg_none() {
    let (_idp, server) = setup().await;
    let header = b64(br#"{"alg":"none","typ":"JWT","kid":"key-1"}"#);
    let payload = b64(idp::valid_claims().to_string().as_bytes());
    let error = refused(&server, &format!("{header}.{payload}.")).await;
    assert_eq!(error.code, "token_invalid");
}

#[tokio::test]
async fn refuses_hs256_signed_with_the_public_key_as_secret() {
    let (idp, server) = setup().await;
    // The classic key-confusion attack: the public JWK's modulus used as an HMAC secret.
    let jwks: serde_json::Value = reqwest::get(format!(
        "http://127.0.0.1:{}/common/discovery/v2.0/keys",
        idp.port
    ))
    .await
    .expect("jwks")
    .json()
    .await
    .expect("json");
    let public = jwks["keys"][0].to_string();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("key-1".into());
    let token = jsonwebtoken::encode(
        &header,
        &idp::valid_claims(),
        &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
    )
    .expect("sign");
    assert_eq!(refused(&server, &token).await.code, "token_invalid");
}

#[tokio::test]
async fn refuses_an_unknown_key_id_and_refreshes_at_most_once_a_minute() {
    let (idp, server) = setup().await;
    let good = idp::sign(&idp.current_key(), &idp::valid_claims());
    assert_eq!(
        call_me(&server, Some(&format!("Bearer {good}"))).await.0,
        200
    );
    let fetches = idp.jwks_fetches();
    assert_eq!(fetches, 1);
    for i in 0..5 {
        let token = idp::sign(&idp::key(1, &format!("unknown-{i}")), &idp::valid_claims());
        assert_eq!(refused(&server, &token).await.code, "token_unknown_key");
    }
    assert_eq!(
        idp.jwks_fetches(),
        fetches,
        "unknown kids within a minute cause no download"
    );
}

#[tokio::test]
async fn accepts_a_rotated_key_after_the_jwks_refresh() {
    let (idp, server) =
        setup_with(vec![("MEDIMAIL_JWKS_REFRESH_SECONDS".into(), "1".into())]).await;
    let good = idp::sign(&idp.current_key(), &idp::valid_claims());
    assert_eq!(
        call_me(&server, Some(&format!("Bearer {good}"))).await.0,
        200
    );
    let rotated = idp::key(1, "key-2");
    let token = idp::sign(&rotated, &idp::valid_claims());
    assert_eq!(refused(&server, &token).await.code, "token_unknown_key");
    idp.publish(rotated);
    let before = idp.jwks_fetches();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, body) = call_me(&server, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "the new key is accepted after refresh: {body}");
    assert_eq!(
        idp.jwks_fetches(),
        before + 1,
        "one refresh brought the new key"
    );
}

#[tokio::test]
async fn refuses_a_tampered_payload() {
    let (idp, server) = setup().await;
    let token = idp::sign(&idp.current_key(), &idp::valid_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = with(
        idp::valid_claims(),
        "oid",
        "00000000-0000-0000-0000-0000000bad00".into(),
    );
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(forged.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(refused(&server, &tampered).await.code, "token_invalid");
}

#[tokio::test]
async fn refuses_a_token_signed_by_another_key_under_a_known_kid() {
    let (_idp, server) = setup().await;
    let impostor = idp::key(2, "key-1");
    let token = idp::sign(&impostor, &idp::valid_claims());
    assert_eq!(refused(&server, &token).await.code, "token_invalid");
}

#[tokio::test]
async fn refuses_malformed_tokens() {
    let (_idp, server) = setup().await;
    for token in [
        "abc.def".to_owned(),
        "!!!.@@@.###".to_owned(),
        format!(
            "{}.{}.{}",
            "a".repeat(7_000),
            "b".repeat(7_000),
            "c".repeat(6_480)
        ),
    ] {
        let error = refused(&server, &token).await;
        assert_eq!(
            error.code,
            "token_invalid",
            "{}",
            &token[..token.len().min(20)]
        );
    }
    assert_eq!(call_me(&server, None).await.0, 401);
    let (status, body) = call_me(&server, Some("Basic dXNlcjpwYXNz")).await;
    assert_eq!(status, 401);
    assert!(body.contains("token_missing"), "{body}");
}

#[tokio::test]
async fn refuses_a_token_without_oid() {
    let (idp, server) = setup().await;
    let claims = without(idp::valid_claims(), "oid");
    assert_eq!(refusal_code(&idp, &server, &claims).await, "token_claims");
}

#[tokio::test]
async fn health_needs_no_token_and_tokens_never_reach_the_log() {
    let (idp, server) = setup().await;
    let health = server.get("/api/health").await;
    assert_eq!(health.status(), 200);
    let token = idp::sign(
        &idp.current_key(),
        &with(idp::valid_claims(), "aud", "x".into()),
    );
    refused(&server, &token).await;
    // The request's response line comes after anything logged while it was handled.
    server
        .wait_until("the refusal's response line", async || {
            server
                .log()
                .lines()
                .any(|l| l.contains("path=/api/me") && l.contains("status=401"))
        })
        .await;
    let signature = token.rsplit('.').next().expect("signature");
    assert!(
        !server.log().contains(signature),
        "the token reached the log"
    );
}

#[tokio::test]
async fn naming_a_mailbox_gives_no_account_until_a_code_is_proven_there() {
    let (idp, server) = setup().await;
    let token = idp::sign(&idp.current_key(), &idp::valid_claims());
    let auth = format!("Bearer {token}");
    let (status, body) = call_me(&server, Some(&auth)).await;
    assert_eq!(status, 200, "{body}");
    let first: Me = serde_json::from_str(&body).expect("JSON");
    assert!(first.needs_passphrase);
    assert!(!first.linked);
    assert_eq!(first.account_id, None, "no account before a proven code");
    assert_eq!(first.mailbox.as_deref(), Some("m.pollet@chu-exemple.fr"));
    assert_eq!(first.locked_until, None);
    let db = server.sqlite().await;
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        medimail_server::account::entity::account::Entity::find()
            .count(&db)
            .await
            .expect("count"),
        0,
        "GET /api/me writes nothing"
    );
}

#[tokio::test]
async fn refuses_a_tenant_id_that_is_not_a_guid() {
    let (idp, server) = setup_with(vec![("MEDIMAIL_ALLOWED_TENANTS".into(), "any".into())]).await;
    for tid in ["contoso", "pending", "72f988bf000040008000000000aaaa"] {
        let claims = with(
            with(idp::valid_claims(), "tid", tid.into()),
            "iss",
            idp::ISSUER_TEMPLATE.replace("{tid}", tid).into(),
        );
        assert_eq!(
            refusal_code(&idp, &server, &claims).await,
            "token_claims",
            "{tid}"
        );
    }
}

#[tokio::test]
async fn refuses_a_client_application_that_is_not_office() {
    let (idp, server) = setup().await;
    let other = with(
        idp::valid_claims(),
        "azp",
        "11111111-2222-4333-8444-555555555555".into(),
    );
    let refusal = refused(&server, &idp::sign(&idp.current_key(), &other)).await;
    assert_eq!(refusal.code, "token_client_app");
    assert!(refusal.message.contains("Outlook"), "{}", refusal.message);
    let none = without(idp::valid_claims(), "azp");
    assert_eq!(refusal_code(&idp, &server, &none).await, "token_client_app");
    // v1 tokens name the client in `appid`; Outlook on the web is accepted.
    let v1 = with(
        without(idp::valid_claims(), "azp"),
        "appid",
        "bc59ab01-8403-45c6-8796-ac3ef710b3e3".into(),
    );
    let (status, body) = call_me(
        &server,
        Some(&format!("Bearer {}", idp::sign(&idp.current_key(), &v1))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The add-in's own id (the Office dialog's sign-in) is accepted too.
    let own = with(idp::valid_claims(), "azp", idp::CLIENT_ID.into());
    let (status, body) = call_me(
        &server,
        Some(&format!("Bearer {}", idp::sign(&idp.current_key(), &own))),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // MEDIMAIL_ALLOWED_CLIENT_APPS replaces Office's list.
    let (idp, server) = setup_with(vec![(
        "MEDIMAIL_ALLOWED_CLIENT_APPS".into(),
        "11111111-2222-4333-8444-555555555555".into(),
    )])
    .await;
    let office = idp::sign(&idp.current_key(), &idp::valid_claims());
    assert_eq!(refused(&server, &office).await.code, "token_client_app");
    let (status, _) = call_me(
        &server,
        Some(&format!("Bearer {}", idp::sign(&idp.current_key(), &other))),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn signing_keys_expire_after_a_day_and_a_failing_provider_is_fetched_once() {
    let idp = TestIdp::start().await;
    let server = Server::start(ServerOptions {
        env: idp.server_env(),
        test_clock: true,
        ..Default::default()
    })
    .await;
    let good = format!(
        "Bearer {}",
        idp::sign(&idp.current_key(), &idp::valid_claims())
    );
    assert_eq!(call_me(&server, Some(&good)).await.0, 200);
    // The background refresh may have fetched them at start too.
    let fetched = idp.jwks_fetches();
    assert!(fetched >= 1);
    assert_eq!(call_me(&server, Some(&good)).await.0, 200);
    assert_eq!(idp.jwks_fetches(), fetched, "cached");

    // 23 hours on, the background refresh has fetched them again (they are over 20 h old).
    server.set_clock_offset(23 * 3600);
    medimail_e2e::wait_until(
        "the background refresh",
        std::time::Duration::from_secs(30),
        async || idp.jwks_fetches() > fetched,
    )
    .await;
    let fetched = idp.jwks_fetches();

    // The provider goes down; two days on, the cached keys are too old to trust. Twenty
    // requests at once share one fetch, and the next ones wait for the back-off.
    idp.set_keys_down(true);
    server.set_clock_offset(2 * 24 * 3600);
    let calls: Vec<_> = (0..20).map(|_| call_me(&server, Some(&good))).collect();
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("identity_provider_unavailable"), "{body}");
    }
    assert_eq!(
        idp.jwks_fetches(),
        fetched + 1,
        "one fetch for twenty requests"
    );
    for _ in 0..5 {
        assert_eq!(call_me(&server, Some(&good)).await.0, 503);
    }
    assert_eq!(
        idp.jwks_fetches(),
        fetched + 1,
        "no fetch while backing off"
    );

    // Back up: once the back-off has passed, the next request fetches and succeeds.
    idp.set_keys_down(false);
    server.set_clock_offset(2 * 24 * 3600 + 10);
    let (status, body) = call_me(&server, Some(&good)).await;
    assert_eq!(status, 200, "{body}");
}
