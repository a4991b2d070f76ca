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
    // The notice of the chosen passphrase is replaced by the one of the code sent: wait
    // for it rather than read whichever is there.
    browser
        .wait_until(&format!(
            "document.getElementById('notice') && \
             document.getElementById('notice').innerText.includes('{MAILBOX}')"
        ))
        .await;
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

    // The token is in memory and in an HttpOnly cookie: nothing in local or session
    // storage.
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

/// A renamed user in Outlook: the pane says where codes still go, and proving a code
/// at the new address moves the account there.
#[tokio::test]
async fn after_a_change_of_address_the_pane_moves_the_account_once_the_new_one_is_proven() {
    let pane = Pane::start(PaneOptions {
        identity: Identity::office().await,
        office_js: |stub| stub.url("OfficeOnline"),
        env: Vec::new(),
    })
    .await;
    let (sink, server) = (&pane.sink, &pane.server);
    // Signed in once as m.pollet@ (same person, same object id, below).
    let first = pane
        .open_pane((320, 700), &[], &pane.office_token_script())
        .await;
    first.choose_passphrase(PASSPHRASE).await;
    first.click("#request-code").await;
    let code = sink.wait_for(1, Duration::from_secs(30)).await[0].code();
    first.authenticate(&code, PASSPHRASE).await;
    assert!(
        first
            .text_of("#signed-in")
            .await
            .contains("Vous êtes identifié")
    );
    first.close().await;

    // Entra now says mickael.pollet@.
    const NEW: &str = "mickael.pollet@chu-exemple.fr";
    let idp = pane.idp();
    let renamed = serde_json::to_string(&idp::sign(&idp.current_key(), &{
        let mut claims = idp::valid_claims();
        claims["preferred_username"] = NEW.into();
        claims
    }))
    .expect("JSON");
    server.set_clock_offset(61);
    let browser = pane
        .open_pane(
            (320, 700),
            &[],
            &format!("window.__medimailOfficeToken = {renamed};"),
        )
        .await;
    let said = browser.text_of("#mailbox-changed").await;
    assert!(said.contains(NEW) && said.contains(MAILBOX), "{said}");
    browser.click("#request-code-new").await;
    assert!(browser.text_of("#notice").await.contains(NEW));
    let mails = sink.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(mails[1].to, NEW);
    browser.authenticate(&mails[1].code(), PASSPHRASE).await;
    let home = browser.text_of("#signed-in").await;
    assert!(home.contains("Vous êtes identifié à Medimail"), "{home}");
    let (_, me) = call(
        server,
        reqwest::Method::GET,
        "/api/me",
        &serde_json::from_str::<String>(&renamed).expect("token"),
        None,
    )
    .await;
    assert_eq!(me["mailbox"], NEW, "{me}");
    browser.close().await;
}

/// A pane with an Office identity, in a browser showing it inside the Outlook on the web
/// stand-in's frame (third-party cookies blocked).
async fn pane_in_outlook_s_frame() -> (Pane, medimail_e2e::Browser) {
    let pane = Pane::start(PaneOptions {
        identity: Identity::office().await,
        office_js: |stub| stub.url("OfficeOnline"),
        env: Vec::new(),
    })
    .await;
    let host_rule = pane.stub.outlook_host_rule();
    let browser = pane
        .browser(
            (360, 760),
            &[
                host_rule.as_str(),
                // Third-party cookies blocked, as Chromium does for everyone now.
                "--test-third-party-cookie-phaseout",
                // The frame in the page's process, so that the stand-in's Office token
                // (a script run in every frame) reaches it.
                "--disable-site-isolation-trials",
                "--disable-features=IsolateOrigins,site-per-process",
            ],
            &pane.office_token_script(),
        )
        .await;
    show_in_outlook(&pane, &browser).await;
    (pane, browser)
}

/// Opens (again) Outlook's page with the pane in its frame, and enters the pane.
async fn show_in_outlook(pane: &Pane, browser: &medimail_e2e::Browser) {
    let outlook = pane
        .stub
        .outlook_on_the_web(&pane.server.url("/taskpane.html"));
    browser.client.enter_parent_frame().await.ok();
    browser.client.goto(&outlook).await.expect("Outlook's page");
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(fantoccini::Locator::Css("iframe#pane"))
        .await
        .expect("the pane's frame");
    browser.client.enter_frame(0).await.expect("into the pane");
    browser.wait_ready().await;
}

/// Outlook on the web reopens the pane at every message, in a third-party frame. With
/// third-party cookies blocked, the session is found again (its partitioned cookie) for
/// 30 minutes without a new code; not after « Déconnexion », where asking a code again
/// at once works; not after 30 idle minutes (issue 21, item 2).
#[tokio::test]
async fn a_reopened_pane_in_outlook_s_frame_stays_signed_in_until_deconnexion() {
    let (pane, browser) = pane_in_outlook_s_frame().await;
    let reopen = async || show_in_outlook(&pane, &browser).await;

    assert_eq!(
        browser.eval("window.top === window").await,
        json!(false),
        "the pane is framed"
    );
    pane.sign_in(&browser, MAILBOX, PASSPHRASE).await;
    browser.text_of("#signed-in").await;
    // Third-party cookies are indeed blocked in this frame, partitioned ones kept.
    browser
        .eval("(document.cookie = 'probe=1; Path=/; Secure; SameSite=None', true)")
        .await;
    browser
        .eval("(document.cookie = 'probe2=1; Path=/; Secure; SameSite=None; Partitioned', true)")
        .await;
    assert_eq!(
        browser
            .eval("[document.cookie.includes('probe=1'), document.cookie.includes('probe2=1')]")
            .await,
        json!([false, true]),
        "third-party cookies must be blocked for this test to mean anything"
    );
    let cookies = browser.cdp("Network.getAllCookies", json!({})).await;
    let session_cookie = cookies["cookies"]
        .as_array()
        .expect("cookies")
        .iter()
        .find(|c| c["name"] == medimail_api::PANE_SESSION_COOKIE)
        .cloned()
        .expect("the pane's session cookie");
    assert_eq!(session_cookie["httpOnly"], json!(true));
    assert!(
        session_cookie["partitionKey"]
            .to_string()
            .contains("office.com"),
        "{session_cookie}"
    );
    let codes = pane.code_mails(MAILBOX);

    // Reopened (a new page load, the same Office identity): straight in, no new code.
    reopen().await;
    browser.text_of("#signed-in").await;
    assert_eq!(pane.code_mails(MAILBOX), codes, "no new code");

    // « Déconnexion », then reopened: « Connexion », focus on « Demander un code »,
    // and a code can be asked at once (the one just used ended the minute's wait).
    browser.click("#sign-out").await;
    browser.text_of("#notice").await;
    reopen().await;
    browser.text_of("#connexion-titre").await;
    browser
        .wait_until("document.activeElement && document.activeElement.id === 'request-code'")
        .await;
    browser.click("#request-code").await;
    let code = pane.code(MAILBOX, codes + 1).await;
    assert!(
        !browser.text_of("#code-wait").await.contains("dans"),
        "no wait to count down"
    );
    browser.authenticate(&code, PASSPHRASE).await;
    browser.text_of("#signed-in").await;

    // 30 minutes without use (the server's clock): reopening asks to sign in again.
    pane.server.set_clock_offset(31 * 60);
    reopen().await;
    browser.text_of("#connexion-titre").await;
    assert!(
        browser
            .eval("document.getElementById('signed-in') === null")
            .await
            == json!(true)
    );
    browser.close().await;
}

/// « Paramètres du compte » in the pane (issue 17), inside Outlook's frame: the webmail's
/// screens in a frame over the pane, fetched only when opened, handed the pane's
/// credentials in memory; a renewal answered with office.js's token; a message from
/// anything but that frame ignored; « Retour au volet » back to the button.
#[tokio::test]
async fn the_pane_opens_the_account_settings_in_a_frame_with_its_own_session() {
    let (pane, browser) = pane_in_outlook_s_frame().await;
    pane.sign_in(&browser, MAILBOX, PASSPHRASE).await;
    browser.text_of("#signed-in").await;
    let webmail_files =
        "performance.getEntriesByType('resource').some(e => e.name.includes('/webmail/'))";
    assert_eq!(
        browser.eval(webmail_files).await,
        json!(false),
        "the pane loads none of the webmail's files"
    );

    browser.click("#open-parametres").await;
    let frame = browser.element("iframe#parametres-frame").await;
    frame.enter_frame().await.expect("into the settings");
    browser
        .wait_until(&format!(
            "(document.getElementById('parametres-mailbox') || {{}}).textContent \
             && document.getElementById('parametres-mailbox').textContent.includes('{MAILBOX}')"
        ))
        .await;
    assert_eq!(
        browser.eval("window.parent !== window.top").await,
        json!(true),
        "a frame in the pane, itself in Outlook's frame"
    );
    // « Activité », read with the pane's session.
    browser.click("#activite > summary").await;
    browser
        .wait_until(
            "(document.getElementById('stamps-used') || {}).textContent === 'Timbres utilisés : 0'",
        )
        .await;
    // « Identité », saved.
    browser.click("#identite > summary").await;
    browser.element("#identite-form").await;
    browser.fill("#identite-last-name", "Pollet").await;
    browser.fill("#identite-first-name", "Marie").await;
    browser.fill("#identite-phone1", "0561000001").await;
    browser.click("#identite-save").await;
    browser
        .wait_until(
            "((document.getElementById('identite-saved') || {}).textContent || '').includes('enregistrées')",
        )
        .await;
    // A renewal: the pane answers with office.js's token and its session.
    let renew = "new Promise(done => { \
        addEventListener('message', e => { if (e.source === parent) done(Array.isArray(e.data) \
          && e.data.length === 2 && e.data[0].split('.').length === 3); }, { once: true }); \
        parent.postMessage('medimail:renew', location.origin); })";
    assert_eq!(browser.eval_async(renew).await, json!(true));

    // The pane itself (not the frame) posting « close » is ignored: after a renewal's
    // answer, which comes after it, the frame is still there.
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("back to the pane");
    browser
        .eval("(window.postMessage('medimail:close', location.origin), true)")
        .await;
    let frame = browser.element("iframe#parametres-frame").await;
    frame.enter_frame().await.expect("into the settings");
    assert_eq!(browser.eval_async(renew).await, json!(true));
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("back to the pane");
    assert_eq!(
        browser
            .eval("document.getElementById('parametres-frame') !== null")
            .await,
        json!(true)
    );
    browser
        .screenshot_as_pane("pane-parametres-320x700", (360, 760))
        .await;

    // « Retour au volet »: the frame gone, the focus on the button.
    let frame = browser.element("iframe#parametres-frame").await;
    frame.enter_frame().await.expect("into the settings");
    browser.click("#parametres-retour").await;
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("back to the pane");
    browser
        .wait_until(
            "document.getElementById('parametres-frame') === null \
             && document.activeElement && document.activeElement.id === 'open-parametres'",
        )
        .await;
    browser.text_of("#signed-in").await;

    // The page opened by itself, outside any pane, says where it belongs.
    browser.client.enter_parent_frame().await.ok();
    browser
        .client
        .goto(&pane.server.url("/#/volet/parametres"))
        .await
        .expect("the page alone");
    browser
        .wait_until(
            "((document.querySelector('#parametres-volet [role=alert]') || {}).textContent || '')\
             .includes('s\\'ouvre depuis le volet Medimail')",
        )
        .await;
    browser.close().await;
}

/// "Demander un code" again within the minute: the wait is counted down under the
/// button, and the notice of the code sent stays (issue 21, item 6).
#[tokio::test]
async fn asking_a_code_too_soon_counts_the_wait_down_under_the_button() {
    let pane = Pane::start(PaneOptions {
        identity: Identity::Development,
        office_js: OfficeStub::url_outside_office,
        env: Vec::new(),
    })
    .await;
    let browser = pane.open_pane((320, 700), &[], "").await;
    browser.click("#dev-continue").await;
    browser.choose_passphrase(PASSPHRASE).await;
    browser.click("#request-code").await;
    // The notice of the chosen passphrase is replaced by the one of the code sent: wait
    // for it rather than read whichever is there.
    browser
        .wait_until(
            "document.getElementById('notice') && \
             document.getElementById('notice').innerText.includes(\"vient d'être envoyé\")",
        )
        .await;
    // The "Connexion" screen as Outlook's pane shows it (issue 21's screenshots).
    browser.screenshot("pane-sign-in-320x700").await;
    browser.click("#request-code").await;
    let seconds = "(() => { const m = document.getElementById('code-wait').innerText\
                   .match(/dans (\\d+) s/); return m ? parseInt(m[1]) : 0; })()";
    browser.wait_until(&format!("{seconds} > 0")).await;
    let first = browser.eval(seconds).await.as_i64().expect("seconds");
    assert!((1..=60).contains(&first), "{first}");
    assert!(
        browser
            .text_of("#notice")
            .await
            .contains("vient d'être envoyé")
    );
    assert!(
        browser.eval("document.querySelector('#passphrase-error') === null || document.querySelector('#passphrase-error').innerText === ''").await == json!(true),
        "nothing in red under the passphrase"
    );
    // It moves.
    browser
        .wait_until(&format!("{seconds} > 0 && {seconds} < {first}"))
        .await;
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

/// Each development default, on a server reachable beyond this machine: refused at
/// start with one line naming the setting; with real settings, the server starts.
#[tokio::test]
async fn a_public_server_refuses_each_development_default_and_starts_with_real_settings() {
    let key_dir = tempfile::tempdir().expect("dir");
    let key = key_dir.path().join("master.key");
    std::fs::write(&key, [42u8; 32]).expect("key");
    let key = key.to_string_lossy().into_owned();
    let public_origin = "https://medimail.chu-exemple.fr";
    // (what, extra environment, the line expected)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "public listen address, generated master key",
            vec![("MEDIMAIL_LISTEN", "0.0.0.0:PORT".into())],
            "MEDIMAIL_MASTER_KEY_FILE is required",
        ),
        (
            "public origin, generated master key",
            vec![("MEDIMAIL_PUBLIC_ORIGIN", public_origin.into())],
            "MEDIMAIL_MASTER_KEY_FILE is required",
        ),
        (
            "public listen address, file outbox",
            vec![
                ("MEDIMAIL_LISTEN", "0.0.0.0:PORT".into()),
                ("MEDIMAIL_PUBLIC_ORIGIN", public_origin.into()),
                ("MEDIMAIL_MASTER_KEY_FILE", key.clone()),
            ],
            "MEDIMAIL_SMTP_URL (or MEDIMAIL_GRAPH_SENDER) is required",
        ),
        (
            "development identity on a public origin",
            vec![
                ("MEDIMAIL_PUBLIC_ORIGIN", public_origin.into()),
                ("MEDIMAIL_MASTER_KEY_FILE", key.clone()),
                ("MEDIMAIL_SMTP_URL", "smtp://127.0.0.1:2525".into()),
                ("MEDIMAIL_DEV_IDENTITY", "true".into()),
            ],
            "MEDIMAIL_DEV_IDENTITY is refused",
        ),
        (
            "development identity in plain HTTP, even on loopback",
            vec![
                ("MEDIMAIL_DEV_IDENTITY", "true".into()),
                ("MEDIMAIL_PLAINTEXT", "true".into()),
            ],
            "MEDIMAIL_DEV_IDENTITY is refused with MEDIMAIL_PLAINTEXT",
        ),
    ];
    for (what, env, line) in cases {
        let data = tempfile::tempdir().expect("dir");
        let port = medimail_e2e::free_port();
        let mut command = medimail_e2e::base_command(&data, port, &ServerOptions::default());
        for (k, v) in env {
            command.env(k, v.replace("PORT", &port.to_string()));
        }
        let output = medimail_e2e::run_to_end(command).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{what}: {stderr}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("medimail: error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{what}: one line: {stderr}");
        assert!(errors[0].contains(line), "{what}: {stderr}");
    }

    // Real settings: a master key file and an SMTP server; it starts on 0.0.0.0.
    let sink = SmtpSink::start(0).await;
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_PUBLIC_ORIGIN".into(), public_origin.into()),
            ("MEDIMAIL_MASTER_KEY_FILE".into(), key.clone()),
            ("MEDIMAIL_SMTP_URL".into(), sink.url()),
        ],
        listen_everywhere: true,
        ..Default::default()
    })
    .await;
    assert_eq!(server.get("/api/health").await.status(), 200);
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
            (400, Some("credentials_incorrect"))
        );
    }
    let (_, body) = authenticate(&server, &token, &wrong(&code), PASSPHRASE).await;
    assert_eq!(body["code"], "credentials_incorrect");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("n'est plus valable"),
        "{body}"
    );
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

/// The server's resident memory, in KiB (Linux `/proc`).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// 300 wrong codes at once against one code, twice: at most 5 checks per code whatever
/// the concurrency, the account locked at the 10th failure, memory bounded (argon2 runs
/// at most once per core) and the health check answering throughout. Prints the figures
/// (docs/PERFORMANCE.md).
#[tokio::test]
async fn three_hundred_concurrent_wrong_codes_are_checked_five_times_and_lock_at_ten() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let idp = TestIdp::start().await;
    let sink = SmtpSink::start(0).await;
    let server = server(&idp, &sink.url(), &[]).await;
    let pid = server.pid().expect("pid");
    let token = token(&idp);
    choose_passphrase(&server, &token).await;

    // Health polled all along; memory sampled all along.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let health = {
        let (stop, client, url) = (stop.clone(), server.client(), server.url("/api/health"));
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let started = std::time::Instant::now();
                let status = client.get(&url).send().await.map(|r| r.status().as_u16());
                latencies.push((status.unwrap_or(0), started.elapsed().as_secs_f64() * 1e3));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            latencies
        })
    };
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                peak.fetch_max(rss_kib(pid), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let before = rss_kib(pid);
    let mut evaluated_per_code = Vec::new();
    let mut answers_per_round = Vec::new();
    for round in 0..2 {
        server.set_clock_offset(round * 61);
        assert_eq!(request_code(&server, &token).await.0, 200);
        let code = sink
            .wait_for(round as usize + 1, Duration::from_secs(30))
            .await[round as usize]
            .code();
        let bad = wrong(&code);
        let calls: Vec<_> = (0..300)
            .map(|_| authenticate(&server, &token, &bad, PASSPHRASE))
            .collect();
        let answers = futures::future::join_all(calls).await;
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for (status, body) in &answers {
            let code = body["code"].as_str().unwrap_or("?").to_owned();
            assert!(
                matches!(
                    (status, code.as_str()),
                    (
                        400,
                        "credentials_incorrect" | "code_invalidated" | "code_missing"
                    ) | (423, "account_locked")
                        | (503, "busy")
                ),
                "{status} {body}"
            );
            *counts.entry(code).or_default() += 1;
        }
        // Each check is recorded; none happens beyond the claimed tries.
        let db = server.sqlite().await;
        use sea_orm::{EntityTrait, QueryOrder};
        let codes = medimail_server::auth::entity::one_time_code::Entity::find()
            .order_by_desc(medimail_server::auth::entity::one_time_code::Column::CreatedAt)
            .all(&db)
            .await
            .expect("codes");
        let checks = medimail_server::entity::audit_event::Entity::find()
            .all(&db)
            .await
            .expect("audit")
            .into_iter()
            .filter(|e| e.action == "sign_in_failed" && e.detail.contains(&codes[0].id))
            .count();
        assert!(checks <= 5, "round {round}: {checks} checks of one code");
        assert!(codes[0].failed_attempts <= 5);
        evaluated_per_code.push(checks);
        answers_per_round.push(counts);
    }
    stop.store(true, Ordering::SeqCst);
    let latencies = health.await.expect("health poller");
    sampler.await.expect("sampler");
    assert_eq!(
        evaluated_per_code.iter().sum::<usize>(),
        10,
        "{answers_per_round:?}"
    );
    assert_eq!(answers_per_round[0].get("credentials_incorrect"), Some(&5));
    assert!(answers_per_round[1].contains_key("account_locked"));
    let (_, me) = call(&server, reqwest::Method::GET, "/api/me", &token, None).await;
    assert!(me["locked_until"].is_string(), "{me}");

    assert!(
        latencies.iter().all(|(s, _)| *s == 200),
        "health failed during the attack"
    );
    let mut ms: Vec<f64> = latencies.iter().map(|(_, ms)| *ms).collect();
    ms.sort_by(f64::total_cmp);
    let p99 = ms[((ms.len() as f64 * 0.99).ceil() as usize)
        .saturating_sub(1)
        .min(ms.len() - 1)];
    let growth = peak.load(Ordering::SeqCst).saturating_sub(before);
    println!(
        "concurrency: 2 × 300 wrong codes; checks per code {evaluated_per_code:?}; answers {answers_per_round:?}; \
         RSS {before} KiB before, peak growth {growth} KiB; health p99 {p99:.1} ms over {} polls",
        ms.len()
    );
    // argon2 keeps one 19 MiB working area per hashing thread (2 here); the rest is
    // 600 TLS connections and their requests.
    assert!(growth < 160 * 1024, "RSS grew by {growth} KiB");
}
