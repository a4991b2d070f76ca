//! Signing in end to end: the real server binary, the test identity provider (or the
//! built-in development identity), a real SMTP server (aiosmtpd) and headless Chromium.
//! Also the failure paths across the process boundary: wrong codes, an expired code (the
//! server's clock moved through its test clock file), a locked account, the SMTP server
//! down then up, and a server restart between the request and the delivery.

use std::time::Duration;

use medimail_e2e::idp::{self, TestIdp};
use medimail_e2e::{Identity, OfficeStub, Pane, PaneOptions, Server, ServerOptions, SmtpSink};
use serde_json::{Value, json};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const MAILBOX: &str = "m.pollet@chu-exemple.fr";
/// The outbox worker's line for a failed attempt that it rescheduled.
const WILL_RETRY: &str = "will retry";

/// A server trusting the test identity provider and mailing through `smtp_url`.
async fn server(idp: &TestIdp, smtp_url: &str, extra: &[(&str, &str)]) -> Server {
    let mut env = idp.server_env();
    env.push(("MEDIMAIL_SMTP_URL".into(), smtp_url.into()));
    env.push(("MEDIMAIL_MAIL_RETRY_MAX_SECONDS".into(), "1".into()));
    for (k, v) in extra {
        env.push(((*k).into(), (*v).into()));
    }
    Server::start(ServerOptions {
        env,
        test_clock: true,
        ..Default::default()
    })
    .await
}

/// One API call with the Office token (and a session, if given).
async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server
        .client()
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn choose_passphrase(server: &Server, token: &str) {
    let (status, body) = call(
        server,
        reqwest::Method::POST,
        "/api/auth/passphrase",
        token,
        Some(json!({"passphrase": PASSPHRASE, "confirmation": PASSPHRASE})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
}

async fn request_code(server: &Server, token: &str) -> (u16, Value) {
    call(server, reqwest::Method::POST, "/api/auth/code", token, None).await
}

async fn authenticate(server: &Server, token: &str, code: &str, passphrase: &str) -> (u16, Value) {
    call(
        server,
        reqwest::Method::POST,
        "/api/auth/session",
        token,
        Some(json!({"code": code, "passphrase": passphrase})),
    )
    .await
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

fn token(idp: &TestIdp) -> String {
    idp::sign(&idp.current_key(), &idp::valid_claims())
}

#[tokio::test]
async fn signs_in_from_outlook_with_a_mailed_code_and_signs_out() {
    let pane = Pane::start(PaneOptions {
        identity: Identity::office().await,
        office_js: |stub| stub.url("OfficeOnline"),
        env: Vec::new(),
    })
    .await;
    let (sink, server) = (&pane.sink, &pane.server);
    let browser = pane
        .open_pane((320, 700), &[], &pane.office_token_script())
        .await;

    // First use: the account is created from the Office token; choose a passphrase.
    browser.fill("#choose-passphrase", "trop court").await;
    browser.fill("#choose-confirmation", "trop court").await;
    browser.click("#choose-submit").await;
    assert!(
        browser
            .text_of("#choose-passphrase-error")
            .await
            .contains("au moins 12 caractères")
    );
    browser.choose_passphrase(PASSPHRASE).await;

    // The "Connexion" screen of the manual.
    assert_eq!(
        browser.text_of("#connexion-titre").await,
        "Bonjour Mickaël POLLET,"
    );
    let screen = browser.text_of("#contenu").await;
    for label in [
        "Code à usage unique",
        "Passephrase",
        "Demander un code",
        "Authentification",
    ] {
        assert!(screen.contains(label), "{label} missing from {screen}");
    }
    browser.click("#request-code").await;
    assert!(browser.text_of("#notice").await.contains(MAILBOX));
    let mails = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(mails[0].to, MAILBOX);
    let code = mails[0].code();

    // A wrong code: the error sits under the code field.
    browser.fill("#code", &wrong(&code)).await;
    browser.fill("#passphrase", PASSPHRASE).await;
    browser.click("#authenticate").await;
    assert!(browser.text_of("#code-error").await.contains("incorrect"));

    browser.authenticate(&code, PASSPHRASE).await;
    let home = browser.text_of("#signed-in").await;
    assert!(home.contains("Vous êtes identifié à Medimail"), "{home}");

    // The session is in memory only: nothing in local or session storage.
    let stored = browser
        .client
        .execute("return localStorage.length + sessionStorage.length", vec![])
        .await
        .expect("script");
    assert_eq!(stored, json!(0));

    browser.click("#sign-out").await;
    assert!(browser.text_of("#notice").await.contains("déconnecté"));
    let log = server.log();
    assert!(!log.contains(&code), "the code must never be logged");
    assert!(!log.contains(PASSPHRASE));
    browser.close().await;
}

#[tokio::test]
async fn the_development_identity_signs_in_from_a_plain_browser() {
    let pane = Pane::start(PaneOptions {
        identity: Identity::Development,
        office_js: OfficeStub::url_outside_office,
        env: Vec::new(),
    })
    .await;
    let (sink, server) = (&pane.sink, &pane.server);
    assert!(
        server
            .log()
            .contains("DEVELOPMENT IDENTITY PROVIDER ENABLED")
    );
    let browser = pane.open_pane((320, 700), &[], "").await;
    browser
        .fill("#dev-mailbox", "pierre.dupond@chu-dev.fr")
        .await;
    browser.fill("#dev-name", "Pierre DUPOND").await;
    browser.click("#dev-continue").await;
    browser.choose_passphrase(PASSPHRASE).await;
    assert_eq!(
        browser.text_of("#connexion-titre").await,
        "Bonjour Pierre DUPOND,"
    );
    browser.click("#request-code").await;
    let code = sink.wait_for(1, Duration::from_secs(30)).await[0].code();
    browser.authenticate(&code, PASSPHRASE).await;
    assert!(
        browser
            .text_of("#signed-in")
            .await
            .contains("pierre.dupond@chu-dev.fr")
    );
    browser.close().await;
}

#[tokio::test]
async fn the_development_identity_is_refused_off_loopback() {
    let data = tempfile::tempdir().expect("dir");
    let port = medimail_e2e::free_port();
    let mut command = medimail_e2e::base_command(&data, port, &ServerOptions::default());
    command
        .env("MEDIMAIL_DEV_IDENTITY", "true")
        .env("MEDIMAIL_LISTEN", format!("0.0.0.0:{port}"));
    let output = medimail_e2e::run_to_end(command).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("MEDIMAIL_DEV_IDENTITY is refused"),
        "{stderr}"
    );
}

#[tokio::test]
async fn wrong_codes_invalidate_the_code_and_ten_failures_lock_the_account() {
    let idp = TestIdp::start().await;
    let sink = SmtpSink::start(0).await;
    let server = server(&idp, &sink.url(), &[]).await;
    let token = token(&idp);
    choose_passphrase(&server, &token).await;
    assert_eq!(request_code(&server, &token).await.0, 200);
    let code = sink.wait_for(1, Duration::from_secs(30)).await[0].code();
    for _ in 0..4 {
        let (status, body) = authenticate(&server, &token, &wrong(&code), PASSPHRASE).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("code_incorrect"))
        );
    }
    let (_, body) = authenticate(&server, &token, &wrong(&code), PASSPHRASE).await;
    assert_eq!(body["code"], "code_invalidated");
    let (_, body) = authenticate(&server, &token, &code, PASSPHRASE).await;
    assert_eq!(
        body["code"], "code_missing",
        "an invalidated code never works again"
    );

    // Five more failures (a minute later, with a new code) make ten: locked.
    server.set_clock_offset(61);
    assert_eq!(request_code(&server, &token).await.0, 200);
    let code = sink.wait_for(2, Duration::from_secs(30)).await[1].code();
    for _ in 0..4 {
        authenticate(&server, &token, &code, "Mauvaise passephrase !").await;
    }
    let (status, body) = authenticate(&server, &token, &code, "Mauvaise passephrase !").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (423, Some("account_locked")),
        "{body}"
    );
    let (status, _) = authenticate(&server, &token, &code, PASSPHRASE).await;
    assert_eq!(
        status, 423,
        "locked even with the right code and passphrase"
    );
    let (_, me) = call(&server, reqwest::Method::GET, "/api/me", &token, None).await;
    assert!(me["locked_until"].is_string());

    // Fifteen minutes later, it works again.
    server.set_clock_offset(61 + 15 * 60);
    assert_eq!(request_code(&server, &token).await.0, 200);
    let code = sink.wait_for(3, Duration::from_secs(30)).await[2].code();
    let (status, body) = authenticate(&server, &token, &code, PASSPHRASE).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes_on_the_server_clock() {
    let idp = TestIdp::start().await;
    let sink = SmtpSink::start(0).await;
    let server = server(&idp, &sink.url(), &[]).await;
    let token = token(&idp);
    choose_passphrase(&server, &token).await;
    request_code(&server, &token).await;
    let code = sink.wait_for(1, Duration::from_secs(30)).await[0].code();
    server.set_clock_offset(10 * 60 + 1);
    let (status, body) = authenticate(&server, &token, &code, PASSPHRASE).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("code_expired")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("10 minutes")
    );
}

#[tokio::test]
async fn a_code_requested_while_smtp_is_down_arrives_when_it_comes_back() {
    let idp = TestIdp::start().await;
    let port = medimail_e2e::free_port();
    let server = server(&idp, &format!("smtp://127.0.0.1:{port}"), &[]).await;
    let token = token(&idp);
    choose_passphrase(&server, &token).await;
    assert_eq!(
        request_code(&server, &token).await.0,
        200,
        "accepted, waiting in the outbox"
    );
    server.wait_for_log(WILL_RETRY, 1).await;

    let sink = SmtpSink::start(port).await;
    let code = sink.wait_for(1, Duration::from_secs(30)).await[0].code();
    let (status, body) = authenticate(&server, &token, &code, PASSPHRASE).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_server_restart_between_request_and_delivery_loses_nothing() {
    use medimail_server::entity::outbox;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let idp = TestIdp::start().await;
    let port = medimail_e2e::free_port();
    let mut server = server(&idp, &format!("smtp://127.0.0.1:{port}"), &[]).await;
    let token = token(&idp);
    choose_passphrase(&server, &token).await;
    let (status, body) = request_code(&server, &token).await;
    assert_eq!(status, 200, "{body}\n{}", server.log());
    // Restart once the first attempt has failed and the mail is rescheduled.
    server.wait_for_log(WILL_RETRY, 1).await;
    server.restart().await;
    let sink = SmtpSink::start(port).await;
    let mails = sink.wait_for(1, Duration::from_secs(30)).await;
    let code = mails[0].code();
    let (status, body) = authenticate(&server, &token, &code, PASSPHRASE).await;
    assert_eq!(status, 201, "{body}");
    // Delivered once, not once per start: once no mail waits in the outbox, the worker
    // has nothing left to send.
    let db = server.sqlite().await;
    server
        .wait_until("no mail waiting in the outbox", async || {
            outbox::Entity::find()
                .filter(outbox::Column::Status.ne("sent"))
                .count(&db)
                .await
                .expect("outbox")
                == 0
        })
        .await;
    assert_eq!(sink.mails().len(), 1);
}
