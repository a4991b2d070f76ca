//! The webmail end to end: the real server binary, a real SMTP server (aiosmtpd) and
//! headless Chromium. An Outlook user (the development identity, over HTTP) sends to an
//! address outside the hospital; the notification arrives; its link, opened in a fresh
//! browser, asks for the address, mails a code, shows the conditions of use and the
//! choice of the passphrase, and lands on the envelope. A reload keeps the session; the
//! reply reaches the sender's inbox (seen in the pane); a request without the CSRF token is refused; the
//! print view prints the envelope only (Chromium's print-to-PDF, read back with
//! pdftotext); "Déconnexion" ends it. Screenshots of the sign-in, the list and the
//! reading screen at 1280×800 and 390×844 go to `target/e2e/`.

use std::time::{Duration, Instant};

use medimail_e2e::browser::Browser;
use medimail_e2e::{Server, ServerOptions, SmtpSink};
use serde_json::{Value, json};

const SENDER: &str = "m.pollet@chu-exemple.fr";
const EXTERNAL: &str = "dr.martin@cabinet-martin.fr";
const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const WEBMAIL_PASSPHRASE: &str = "Les mouettes volent au dessus du port";
const WAIT: Duration = Duration::from_secs(30);

async fn server(smtp: &SmtpSink) -> Server {
    Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            ("MEDIMAIL_SMTP_URL".into(), smtp.url()),
            (
                "MEDIMAIL_SUPPORT_URL".into(),
                "https://support.chu-exemple.fr/medimail".into(),
            ),
            (
                "MEDIMAIL_MSSANTE_DOMAIN".into(),
                "medimail.mssante.fr".into(),
            ),
        ],
        test_clock: true,
        ..Default::default()
    })
    .await
}

/// The mails to `to` so far.
fn mails_to(smtp: &SmtpSink, to: &str) -> Vec<medimail_e2e::smtp::ReceivedMail> {
    smtp.mails()
        .into_iter()
        .filter(|m| m.to.eq_ignore_ascii_case(to))
        .collect()
}

/// Waits for the `n`-th mail to `to`.
async fn nth_mail(smtp: &SmtpSink, to: &str, n: usize) -> medimail_e2e::smtp::ReceivedMail {
    let deadline = Instant::now() + WAIT;
    loop {
        let mails = mails_to(smtp, to);
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        assert!(Instant::now() < deadline, "mail {n} to {to} never came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Outlook user, over HTTP: development token, passphrase, code from the SMTP
/// server, session.
async fn outlook_user(server: &Server, smtp: &SmtpSink) -> (String, String) {
    let client = server.client();
    let token: Value = client
        .post(server.url("/api/dev/identity/token"))
        .json(&json!({"mailbox": SENDER, "name": "Mickaël POLLET"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["access_token"].as_str().expect("token").to_owned();
    let chosen = client
        .post(server.url("/api/auth/passphrase"))
        .bearer_auth(&token)
        .json(&json!({"passphrase": PASSPHRASE, "confirmation": PASSPHRASE}))
        .send()
        .await
        .expect("passphrase");
    assert_eq!(chosen.status(), 204);
    let asked = client
        .post(server.url("/api/auth/code"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("code");
    assert_eq!(asked.status(), 200);
    let code = nth_mail(smtp, SENDER, 1).await.code();
    let session: Value = client
        .post(server.url("/api/auth/session"))
        .bearer_auth(&token)
        .json(&json!({"code": code, "passphrase": PASSPHRASE}))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    (
        token,
        session["session"].as_str().expect("session").to_owned(),
    )
}

async fn send_envelope(server: &Server, auth: &(String, String), to: &str) -> String {
    let draft = json!({"to": [to], "subject": "Compte rendu patient",
        "body_html": "<p>Bonjour, voici le compte rendu de Monsieur BLANC.</p>"});
    const BOUNDARY: &str = "medimail-webmail-e2e";
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: \
         application/json\r\n\r\n{draft}\r\n--{BOUNDARY}--\r\n"
    );
    let sealed: Value = server
        .client()
        .post(server.url("/api/envelopes"))
        .bearer_auth(&auth.0)
        .header(medimail_api::SESSION_HEADER, &auth.1)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    sealed["reference"].as_str().expect("reference").to_owned()
}

/// The Outlook user's « Messages reçus », first page, over HTTP.
async fn inbox_of(server: &Server, auth: &(String, String)) -> Value {
    server
        .client()
        .get(server.url("/api/envelopes?folder=inbox"))
        .bearer_auth(&auth.0)
        .header(medimail_api::SESSION_HEADER, &auth.1)
        .send()
        .await
        .expect("inbox")
        .json()
        .await
        .expect("json")
}

async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.client.screenshot().await.expect("screenshot");
    let dir = medimail_e2e::target_dir().join("e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, &png).expect("write screenshot");
    eprintln!("screenshot saved at {}", path.display());
}

/// The text of `selector` once it contains `needle`.
async fn wait_text(browser: &Browser, selector: &str, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    let mut last = None;
    loop {
        if let Ok(el) = browser
            .client
            .find(fantoccini::Locator::Css(selector))
            .await
            && let Ok(text) = el.text().await
        {
            if text.contains(needle) {
                return text;
            }
            last = Some(text);
        }
        assert!(
            Instant::now() < deadline,
            "{selector} never said {needle:?} (last said: {last:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// "Identifiez-vous" → code → "Connexion", with or without a passphrase.
async fn sign_in(browser: &Browser, smtp: &SmtpSink, passphrase: &str, nth: usize) {
    browser.fill("#webmail-mailbox", EXTERNAL).await;
    browser.fill("#webmail-passphrase", passphrase).await;
    browser.click("#webmail-connect").await;
    browser.element("#webmail-code").await;
    let code = nth_mail(smtp, EXTERNAL, nth).await.code();
    browser.fill("#webmail-code", &code).await;
    browser.click("#webmail-sign-in-submit").await;
}

#[tokio::test]
async fn a_recipient_outside_outlook_reads_replies_prints_and_signs_out_in_the_browser() {
    let smtp = SmtpSink::start(0).await;
    let server = server(&smtp).await;
    let sender = outlook_user(&server, &smtp).await;
    let reference = send_envelope(&server, &sender, EXTERNAL).await;

    // The notification, as the manual shows it.
    let notification = nth_mail(&smtp, EXTERNAL, 1).await;
    assert_eq!(
        notification.subject,
        "[MEDIMAIL : Reception] Compte rendu patient"
    );
    assert!(
        notification
            .text
            .contains("Expéditeur : POLLET Mickaël (MEDIMAIL)"),
        "{}",
        notification.text
    );
    assert!(
        notification
            .text
            .contains("https://support.chu-exemple.fr/medimail")
    );
    let link = notification
        .text
        .split_whitespace()
        .find(|w| w.contains("#/inbox/open/"))
        .expect("the envelope's link")
        .to_owned();
    assert_eq!(link, format!("{}/#/inbox/open/{reference}", server.origin));

    // A fresh browser follows the link: first visit.
    let browser = Browser::start(1280, 800, &[]).await;
    browser.open_pane(&link).await;
    browser.element("#webmail-sign-in").await;
    screenshot(&browser, "webmail-sign-in-1280x800").await;
    sign_in(&browser, &smtp, "", 2).await;
    // The conditions in full, then the passphrase.
    wait_text(
        &browser,
        "#conditions-text",
        "MISE A JOUR DES CONDITIONS GENERALES",
    )
    .await;
    browser
        .fill("#webmail-new-passphrase", WEBMAIL_PASSPHRASE)
        .await;
    browser
        .fill("#webmail-new-confirmation", WEBMAIL_PASSPHRASE)
        .await;
    browser.click("#webmail-choose-submit").await;
    wait_text(&browser, "#webmail-choose-error", "acceptez les conditions").await;
    browser.click("#conditions-accept").await;
    browser.click("#webmail-choose-submit").await;
    // Lands on the envelope.
    wait_text(&browser, "#reading-subject", "Compte rendu patient").await;
    wait_text(&browser, "#reading-body", "Monsieur BLANC").await;
    screenshot(&browser, "webmail-reading-1280x800").await;

    // A reload keeps the session (the cookie), and the envelope shows again.
    browser.client.refresh().await.expect("reload");
    browser.wait_ready().await;
    wait_text(&browser, "#reading-subject", "Compte rendu patient").await;

    // The cookie: __Host-, HttpOnly, Secure, SameSite=Strict.
    let cookies = browser.cdp("Network.getCookies", json!({})).await;
    let cookie = cookies["cookies"]
        .as_array()
        .expect("cookies")
        .iter()
        .find(|c| c["name"] == medimail_api::SESSION_COOKIE)
        .expect("session cookie")
        .clone();
    assert_eq!(cookie["httpOnly"], true);
    assert_eq!(cookie["secure"], true);
    assert_eq!(cookie["sameSite"], "Strict");
    assert_eq!(cookie["path"], "/");
    // A request the page did not make (no CSRF token) is refused, cookie or not.
    let forged = browser
        .eval(
            "fetch('/api/webmail/passphrase/change', {method: 'POST', credentials: 'include', \
             headers: {'Content-Type': 'application/json'}, body: JSON.stringify({current: 'x', \
             passphrase: 'Une phrase de passe volée ici', confirmation: 'Une phrase de passe volée ici'})})\
             .then(r => r.json().then(b => [r.status, b.code]))",
        )
        .await;
    assert_eq!(forged, json!([403, "csrf_refused"]));

    // "Imprimer": the envelope, not the chrome.
    let pdf = browser
        .cdp("Page.printToPDF", json!({"printBackground": false}))
        .await;
    let bytes = base64_decode(pdf["data"].as_str().expect("pdf data"));
    let dir = tempfile::tempdir().expect("dir");
    let pdf_path = dir.path().join("enveloppe.pdf");
    std::fs::write(&pdf_path, bytes).expect("pdf");
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf_path)
        .arg("-")
        .output()
        .expect("pdftotext (scripts/install-tools.sh --test installs poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Compte rendu patient"), "{text}");
    assert!(text.contains("Monsieur BLANC"), "{text}");
    assert!(text.contains(SENDER), "{text}");
    for chrome in [
        "Déconnexion",
        "Répondre",
        "Messagerie sécurisée de santé",
        "Vous êtes identifié",
    ] {
        assert!(!text.contains(chrome), "{chrome:?} printed: {text}");
    }

    // The list, as a screenshot.
    browser.click("#back-to-list").await;
    browser.element("#envelope-list").await;
    screenshot(&browser, "webmail-list-1280x800").await;

    // Reply: it reaches the sender's inbox in Outlook's pane.
    browser.click("#envelope-list .envelope-open").await;
    wait_text(&browser, "#reading-subject", "Compte rendu patient").await;
    browser.click("#reply").await;
    let body = browser.element("#compose-body").await;
    body.send_keys("Bien reçu, merci.").await.expect("type");
    browser.click("#compose-send").await;
    let deadline = Instant::now() + WAIT;
    loop {
        let inbox = inbox_of(&server, &sender).await;
        if inbox["items"][0]["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("RE: Compte rendu patient"))
        {
            assert_eq!(inbox["items"][0]["sender"], EXTERNAL);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the reply never reached {SENDER}: {inbox}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + WAIT;
    while !mails_to(&smtp, SENDER)
        .iter()
        .any(|m| m.subject == "[MEDIMAIL : Reception] RE: Compte rendu patient")
    {
        assert!(
            Instant::now() < deadline,
            "the sender was never notified of the reply"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // « Activité »: the reply used one stamp; none is allocated, so illimité.
    browser.click("#activite > summary").await;
    wait_text(&browser, "#stamps-used", "Timbres utilisés : 1").await;
    wait_text(
        &browser,
        "#stamps-allocated",
        "Timbres alloués à votre compte : illimité",
    )
    .await;

    // « Identité »: a refused form says each field and saves nothing; once right, it is
    // saved, the département derived from the postal code.
    browser.click("#identite > summary").await;
    browser.element("#identite-form").await;
    assert_eq!(
        browser
            .eval("document.getElementById('identite-mailbox').textContent")
            .await,
        EXTERNAL
    );
    browser.fill("#identite-last-name", "Lefèvre").await;
    browser.fill("#identite-first-name", "Claire").await;
    browser.fill("#identite-rpps", "10005173141").await;
    browser.fill("#identite-postal-code", "31000").await;
    browser.fill("#identite-city", "Toulouse").await;
    browser.fill("#identite-phone1", "05 61").await;
    let chosen = browser
        .eval(
            "(() => { const s = document.getElementById('identite-profession'); s.value = '10'; \
             s.dispatchEvent(new Event('change')); return s.value; })()",
        )
        .await;
    assert_eq!(chosen, "10");
    browser.click("#identite-dematerialised").await;
    browser.click("#identite-save").await;
    wait_text(&browser, "#identite-error", "2 champs sont à corriger").await;
    wait_text(&browser, "#identite-rpps-error", "11 chiffres").await;
    wait_text(&browser, "#identite-phone1-error", "10 chiffres").await;
    assert_eq!(
        browser
            .eval("document.getElementById('identite-rpps').getAttribute('aria-invalid')")
            .await,
        "true"
    );
    browser.fill("#identite-rpps", "10005173140").await;
    browser.fill("#identite-phone1", "0561000001").await;
    browser.click("#identite-save").await;
    wait_text(&browser, "#identite-saved", "enregistrées").await;
    assert_eq!(
        browser
            .eval("document.getElementById('identite-department').value")
            .await,
        "31"
    );
    assert_eq!(
        browser
            .eval("document.getElementById('identite-phone1').value")
            .await,
        "05 61 00 00 01"
    );
    wait_text(&browser, "#espace-titre", "Bonjour Claire LEFÈVRE").await;
    browser
        .eval("document.getElementById('identite').scrollIntoView()")
        .await;
    screenshot(&browser, "webmail-identite-1280x800").await;

    // « MSSanté » › « Activer »: the account made eligible by the operator, its RPPS and
    // name given in « Identité ». claire.lefevre@… is someone's already (an envelope
    // waits there): the address gets the suffix.
    operator(
        &server,
        &["account", "set", "--mailbox", EXTERNAL, "--eligible", "on"],
    )
    .await;
    send_envelope(&server, &sender, "claire.lefevre@medimail.mssante.fr").await;
    browser.click("#mssante > summary").await;
    wait_text(&browser, "#mssante-eligible", "éligible : remplie").await;
    // No organisation manages this account's domain: no « Administration ».
    assert_eq!(
        browser
            .eval("document.getElementById('administration') === null")
            .await,
        true
    );
    browser.click("#mssante-activate").await;
    wait_text(
        &browser,
        "#mssante-activated",
        "Activation effectuée. Vous allez être inscrit sur l'annuaire national MSSanté avec \
         l'adresse suivante : claire.lefevre2@medimail.mssante.fr",
    )
    .await;
    wait_text(
        &browser,
        "#mssante-state",
        "claire.lefevre2@medimail.mssante.fr",
    )
    .await;
    screenshot(&browser, "webmail-mssante-1280x800").await;

    // The sender sees the reply in Outlook's pane (the pane's page, signed in as the
    // Outlook user): "Messages reçus (1)", the reply at the top.
    server.set_clock_offset(90);
    let pane = Browser::start(320, 700, &[]).await;
    pane.open_pane(&server.url("/taskpane.html")).await;
    pane.fill("#dev-mailbox", SENDER).await;
    pane.fill("#dev-name", "Mickaël POLLET").await;
    pane.click("#dev-continue").await;
    let codes_before = mails_to(&smtp, SENDER)
        .iter()
        .filter(|m| m.subject.ends_with("- Votre code d'accès Medimail"))
        .count();
    pane.click("#request-code").await;
    let deadline = Instant::now() + WAIT;
    let code = loop {
        let codes: Vec<_> = mails_to(&smtp, SENDER)
            .into_iter()
            .filter(|m| m.subject.ends_with("- Votre code d'accès Medimail"))
            .collect();
        if codes.len() > codes_before {
            break codes[codes.len() - 1].code();
        }
        assert!(Instant::now() < deadline, "no new code for {SENDER}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    pane.authenticate(&code, PASSPHRASE).await;
    wait_text(&pane, "#envelope-list", "RE: Compte rendu patient").await;
    wait_text(&pane, "#folder-inbox", "Messages reçus (1)").await;
    // The directory card of the webmail user shows what « Identité » saved.
    pane.click("#new-message").await;
    pane.click("#directory-toggle").await;
    pane.fill("#directory-last-name", "lefevre").await;
    pane.wait_until("document.querySelectorAll('#directory-results .directory-row').length === 1")
        .await;
    assert_eq!(
        pane.text_of("#directory-results .directory-row .directory-name")
            .await,
        "LEFÈVRE Claire 31000"
    );
    let card = pane
        .eval("document.querySelector('#directory-results .directory-details').textContent")
        .await;
    let card = card.as_str().expect("card");
    for wanted in [
        "Médecin",
        "05 61 00 00 01",
        "10005173140",
        "Dématérialisation",
        EXTERNAL,
    ] {
        assert!(card.contains(wanted), "{wanted} in {card}");
    }
    pane.close().await;

    // « Signature de mail »: one created as the default, inserted in the next reply, and
    // sent with it.
    browser.click("#signature-de-mail > summary").await;
    browser.click("#signature-new").await;
    browser.fill("#signature-name", "Cabinet").await;
    browser
        .element("#signature-body")
        .await
        .send_keys("Dr Claire LEFÈVRE, cabinet des Carmes")
        .await
        .expect("type");
    browser.click("#signature-default").await;
    browser.click("#signature-save").await;
    wait_text(&browser, "#signature-saved", "« Cabinet » est enregistrée").await;
    wait_text(&browser, "#signatures-list", "(par défaut)").await;
    browser.client.goto("about:blank").await.expect("blank");
    browser.client.goto(&link).await.expect("link");
    wait_text(&browser, "#reading-subject", "Compte rendu patient").await;
    browser.click("#reply").await;
    wait_text(&browser, "#compose-body", "cabinet des Carmes").await;
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#compose-signature option').length")
            .await,
        2,
        "« Mes signatures » and the one signature"
    );
    browser
        .element("#compose-body")
        .await
        .send_keys("Merci pour ce compte rendu.")
        .await
        .expect("type");
    browser.click("#compose-send").await;
    let deadline = Instant::now() + WAIT;
    let signed = loop {
        let inbox = inbox_of(&server, &sender).await;
        if inbox["total"].as_u64() >= Some(2) {
            break inbox["items"][0]["reference"]
                .as_str()
                .expect("reference")
                .to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the signed reply never came: {inbox}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let view: Value = server
        .client()
        .get(server.url(&format!("/api/envelopes/{signed}")))
        .bearer_auth(&sender.0)
        .header(medimail_api::SESSION_HEADER, &sender.1)
        .send()
        .await
        .expect("view")
        .json()
        .await
        .expect("json");
    let body = view["body_html"].as_str().expect("body");
    assert!(
        body.contains("Dr Claire LEFÈVRE, cabinet des Carmes"),
        "{body}"
    );
    // Opening it tells its author (« Ouverture »): that mail comes before the next code.
    let deadline = Instant::now() + WAIT;
    while !mails_to(&smtp, EXTERNAL)
        .iter()
        .any(|m| m.subject.starts_with("[MEDIMAIL : Ouverture]"))
    {
        assert!(Instant::now() < deadline, "no « Ouverture » mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // « Délégation automatique »: a secondary address gets the reception mails' copies
    // once it has confirmed through the mailed link (its page asks to « Confirmer »).
    const DELEGATE: &str = "secretariat@cabinet-martin.fr";
    browser.click("#notifications > summary").await;
    browser.fill("#delegation-addresses", DELEGATE).await;
    browser.click("#delegation-save").await;
    wait_text(&browser, "#delegation-list", "en attente de confirmation").await;
    let confirmation = nth_mail(&smtp, DELEGATE, 1).await;
    let confirm_link = confirmation
        .text
        .split_whitespace()
        .find(|w| w.contains("/delegation/confirm?token="))
        .expect("the confirmation link")
        .to_owned();
    browser
        .client
        .goto(&confirm_link)
        .await
        .expect("confirm link");
    browser.click("button[type=submit]").await;
    wait_text(&browser, "body", "C'est confirmé").await;
    send_envelope(&server, &sender, EXTERNAL).await;
    let copy = nth_mail(&smtp, DELEGATE, 2).await;
    assert_eq!(copy.subject, "[MEDIMAIL : Reception] Compte rendu patient");
    browser.client.goto(&link).await.expect("link");
    browser.wait_ready().await;
    wait_text(&browser, "#reading-subject", "Compte rendu patient").await;

    // « Notifications »: Claire switches off « Notification de réception pour chaque
    // message »; the Outlook user asks for « Notification de scellement ». An envelope to
    // Claire: its sealing mail reaches the SMTP server, and no reception mail was even
    // queued (the sealing transaction queues every mail of the envelope).
    browser.click("#notifications > summary").await;
    browser.element("#notifications-form:not([hidden])").await;
    assert_eq!(
        browser
            .eval("document.getElementById('notify-received').checked")
            .await,
        true,
        "on by default"
    );
    browser.click("#notify-received").await;
    browser.click("#notifications-save").await;
    wait_text(&browser, "#notifications-saved", "enregistrées").await;
    let asked = server
        .client()
        .put(server.url("/api/account/notifications"))
        .bearer_auth(&sender.0)
        .header(medimail_api::SESSION_HEADER, &sender.1)
        .json(
            &json!({"sealed": true, "opened_by_me_sent": false, "received": true,
            "opened_by_me_received": false, "daily_digest": false,
            "opened_by_others_sent": true, "opened_by_others_received": false}),
        )
        .send()
        .await
        .expect("settings");
    assert_eq!(asked.status(), 200);
    let receptions = |smtp: &SmtpSink| {
        mails_to(smtp, EXTERNAL)
            .iter()
            .filter(|m| m.subject.starts_with("[MEDIMAIL : Reception]"))
            .count()
    };
    let before = receptions(&smtp);
    send_envelope(&server, &sender, EXTERNAL).await;
    let deadline = Instant::now() + WAIT;
    while !mails_to(&smtp, SENDER)
        .iter()
        .any(|m| m.subject.starts_with("[MEDIMAIL : Scellement]"))
    {
        assert!(Instant::now() < deadline, "no « Scellement » mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    {
        use medimail_server::entity::outbox;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let db = server.sqlite().await;
        let queued = outbox::Entity::find()
            .filter(outbox::Column::Purpose.eq("notification"))
            .filter(outbox::Column::Recipient.eq(EXTERNAL))
            .count(&db)
            .await
            .expect("outbox");
        assert_eq!(
            queued as usize, before,
            "no reception mail queued for {EXTERNAL}"
        );
    }
    assert_eq!(receptions(&smtp), before);

    // A returning user (session alive): from the link to the envelope shown.
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        browser.client.goto("about:blank").await.expect("blank");
        browser.client.goto(&link).await.expect("link");
        wait_text(&browser, "#reading-subject", "Compte rendu patient").await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let median = medimail_e2e::median(&mut times);
    eprintln!(
        "BENCH webmail link → envelope (returning user, session alive): median {median:.0} ms over 5 ({times:?})"
    );

    // Déconnexion: the sign-in screen, and a reload does not bring the session back.
    browser.click("#sign-out").await;
    wait_text(&browser, "#webmail-notice", "déconnecté").await;
    browser.client.refresh().await.expect("reload");
    browser.wait_ready().await;
    browser.element("#webmail-sign-in").await;
    browser.close().await;

    // A returning user signs in again on a phone: address + passphrase + code.
    server.set_clock_offset(120);
    let phone = Browser::start(390, 844, &[]).await;
    phone.open_pane(&link).await;
    phone.element("#webmail-sign-in").await;
    screenshot(&phone, "webmail-sign-in-390x844").await;
    let started = Instant::now();
    let next = mails_to(&smtp, EXTERNAL).len() + 1;
    sign_in(&phone, &smtp, WEBMAIL_PASSPHRASE, next).await;
    wait_text(&phone, "#reading-subject", "Compte rendu patient").await;
    eprintln!(
        "BENCH webmail sign-in (code typed as soon as mailed) → envelope: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    wait_text(&phone, "#last-sign-in", "Dernière connexion").await;
    screenshot(&phone, "webmail-reading-390x844").await;
    phone.click("#back-to-list").await;
    phone.element("#envelope-list").await;
    screenshot(&phone, "webmail-list-390x844").await;
    phone.close().await;
}

#[tokio::test]
async fn the_sign_in_tells_nothing_about_an_address_and_help_explains_the_four_cases() {
    let smtp = SmtpSink::start(0).await;
    let server = server(&smtp).await;
    let browser = Browser::start(1280, 800, &[]).await;
    browser.open_pane(&server.url("/")).await;
    // An address that has no account: the same screen as any other.
    browser
        .fill("#webmail-mailbox", "personne@nulle-part.fr")
        .await;
    browser.click("#webmail-connect").await;
    let notice = wait_text(
        &browser,
        "#webmail-notice",
        "Si personne@nulle-part.fr peut utiliser Medimail",
    )
    .await;
    assert!(notice.contains("10 minutes"), "{notice}");
    browser.fill("#webmail-code", "123456").await;
    browser.click("#webmail-sign-in-submit").await;
    wait_text(&browser, "#webmail-error", "Échec de l'authentification").await;
    // "Je n'ai pas reçu mon code": spam, the address, one a minute, and the countdown.
    browser.click("#webmail-not-received").await;
    wait_text(
        &browser,
        "#webmail-not-received-help",
        "courriers indésirables",
    )
    .await;
    wait_text(
        &browser,
        "#webmail-code-wait",
        "Vous pourrez demander un nouveau code",
    )
    .await;
    // "Vous n'arrivez pas à accéder à votre compte ?": the four cases.
    browser.click("#webmail-back").await;
    browser.click("#webmail-trouble").await;
    for (id, summary) in [
        ("#aide-oubli", "J'ai oublié mon mot de passe"),
        (
            "#aide-ne-fonctionne-pas",
            "Mon mot de passe semble ne pas fonctionner",
        ),
        ("#aide-bloque", "Mon compte est bloqué"),
        ("#aide-pas-de-compte", "Je n'ai pas de compte utilisateur"),
    ] {
        wait_text(&browser, &format!("{id} summary"), summary).await;
    }
    browser.click("#aide-bloque summary").await;
    wait_text(&browser, "#aide-bloque", "15 minutes").await;
    screenshot(&browser, "webmail-help-1280x800").await;
    // The server is done with the request (its log says so): nothing was mailed.
    server.wait_for_log("webmail code request done", 1).await;
    assert!(mails_to(&smtp, "personne@nulle-part.fr").is_empty());
    browser.close().await;
}

#[tokio::test]
async fn a_browser_without_webassembly_is_told_to_use_a_recent_one() {
    let smtp = SmtpSink::start(0).await;
    let server = server(&smtp).await;
    let browser = Browser::start(1280, 800, &[]).await;
    browser.before_each_page("delete window.WebAssembly;").await;
    browser.client.goto(&server.url("/")).await.expect("open");
    let text = wait_text(&browser, "#medimail-unsupported", "navigateur récent").await;
    assert!(
        text.contains("Ce navigateur est trop ancien pour Medimail."),
        "{text}"
    );
    assert!(!text.contains("Outlook"), "{text}");
    let link = browser
        .eval("document.getElementById('open-in-browser') === null")
        .await;
    assert_eq!(link, json!(true));
    browser.close().await;
}

fn base64_decode(data: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64")
}

/// `medimail ARGS…` against the test server's data, as an operator runs it: its standard
/// output.
async fn operator(server: &Server, args: &[&str]) -> String {
    let mut command = medimail_e2e::base_command(
        &server.data_dir,
        medimail_e2e::free_port(),
        &ServerOptions::default(),
    );
    command.args(args);
    let out = medimail_e2e::run_to_end(command).await;
    assert!(
        out.status.success(),
        "medimail {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line `row` of « Administration » says `needle` (the outcome of its last change).
async fn row_says(browser: &Browser, row: &str, needle: &str) {
    wait_text(browser, &format!("{row} .row-status"), needle).await;
}

/// Ten wrong codes in a row at the webmail's sign-in (two codes, five tries each, a
/// minute apart on the test clock): the account of `mailbox` is locked.
async fn lock_by_wrong_codes(server: &Server, smtp: &SmtpSink, mailbox: &str) {
    let client = server.client();
    for round in 0..2 {
        server.set_clock_offset(round * 61);
        let before = mails_to(smtp, mailbox).len();
        let asked = client
            .post(server.url("/api/webmail/code"))
            .header("origin", &server.origin)
            .json(&json!({"mailbox": mailbox}))
            .send()
            .await
            .expect("code");
        assert_eq!(asked.status(), 202);
        let code = nth_mail(smtp, mailbox, before + 1).await.code();
        let wrong = format!(
            "{:06}",
            (code.parse::<u32>().expect("digits") + 1) % 1_000_000
        );
        for _ in 0..5 {
            let refused = client
                .post(server.url("/api/webmail/session"))
                .header("origin", &server.origin)
                .json(&json!({"mailbox": mailbox, "code": wrong}))
                .send()
                .await
                .expect("session");
            assert!(refused.status().is_client_error());
        }
    }
}

#[tokio::test]
async fn a_manager_administers_the_accounts_of_the_organisation() {
    const COLLEAGUE: &str = "secretariat@cabinet-martin.fr";
    let smtp = SmtpSink::start(0).await;
    let server = server(&smtp).await;
    let sender = outlook_user(&server, &smtp).await;
    send_envelope(&server, &sender, EXTERNAL).await;
    send_envelope(&server, &sender, COLLEAGUE).await;
    nth_mail(&smtp, COLLEAGUE, 1).await;

    // The operator: the organisation (its activation reserved to its managers), its
    // manager, and the manager's own account made eligible.
    let made = operator(
        &server,
        &[
            "organisation",
            "set",
            "--id",
            "cabinet-martin",
            "--name",
            "Cabinet Martin",
            "--domains",
            "cabinet-martin.fr",
            "--activation",
            "managers",
        ],
    )
    .await;
    assert!(made.contains("domaines cabinet-martin.fr"), "{made}");
    operator(
        &server,
        &[
            "organisation",
            "add-manager",
            "--id",
            "cabinet-martin",
            "--mailbox",
            EXTERNAL,
        ],
    )
    .await;
    operator(
        &server,
        &["account", "set", "--mailbox", EXTERNAL, "--eligible", "on"],
    )
    .await;
    let listed = operator(&server, &["organisation", "list"]).await;
    assert!(
        listed.contains(&format!("managers {EXTERNAL}")) && listed.contains("par les managers"),
        "{listed}"
    );
    lock_by_wrong_codes(&server, &smtp, COLLEAGUE).await;

    // The manager's first visit, then « Identité » (the name and RPPS the address needs).
    let browser = Browser::start(1280, 800, &[]).await;
    browser.open_pane(&server.url("/")).await;
    sign_in(&browser, &smtp, "", 2).await;
    browser
        .fill("#webmail-new-passphrase", WEBMAIL_PASSPHRASE)
        .await;
    browser
        .fill("#webmail-new-confirmation", WEBMAIL_PASSPHRASE)
        .await;
    browser.click("#conditions-accept").await;
    browser.click("#webmail-choose-submit").await;
    browser.element("#signed-in").await;
    browser.click("#identite > summary").await;
    browser.element("#identite-form").await;
    browser.fill("#identite-last-name", "Martin").await;
    browser.fill("#identite-first-name", "Jeanne").await;
    browser.fill("#identite-rpps", "10005173140").await;
    browser.click("#identite-save").await;
    wait_text(&browser, "#identite-saved", "enregistrées").await;

    // « MSSanté »: the activation is the managers', and they are listed.
    browser.click("#mssante > summary").await;
    wait_text(
        &browser,
        "#mssante-managers-intro",
        "rapprocher du ou des managers",
    )
    .await;
    wait_text(&browser, "#mssante-managers", EXTERNAL).await;

    // « Administration »: the organisation's two accounts.
    browser.click("#administration > summary").await;
    wait_text(&browser, "#admin-total", "2 comptes.").await;
    let colleague = format!("tr[data-mailbox='{COLLEAGUE}']");
    let me = format!("tr[data-mailbox='{EXTERNAL}']");
    wait_text(&browser, &format!("{me} th"), "manager").await;
    wait_text(
        &browser,
        &format!("{colleague} .locked"),
        "Verrouillé jusqu'au",
    )
    .await;

    // Eligible, twelve stamps, unlocked: each said on its line.
    browser.click(&format!("{colleague} .eligible")).await;
    row_says(&browser, &colleague, "Compte éligible à MSSanté.").await;
    browser
        .fill(&format!("{colleague} .stamps-allocated"), "douze")
        .await;
    browser.click(&format!("{colleague} .stamps-save")).await;
    row_says(&browser, &colleague, "Indiquez un nombre").await;
    browser
        .fill(&format!("{colleague} .stamps-allocated"), "12")
        .await;
    browser.click(&format!("{colleague} .stamps-save")).await;
    row_says(&browser, &colleague, "Timbres alloués enregistrés.").await;
    browser.click(&format!("{colleague} .unlock")).await;
    row_says(&browser, &colleague, "Compte débloqué.").await;
    wait_text(&browser, &format!("{colleague} .state"), "Jamais connecté").await;

    // « Activer » for the manager's own account: eligible, with an RPPS.
    browser.click(&format!("{me} .activate")).await;
    wait_text(
        &browser,
        &format!("{me} .mssante-address"),
        "jeanne.martin@medimail.mssante.fr",
    )
    .await;
    // Found by name or address.
    browser.fill("#admin-search", "secr").await;
    browser
        .click("#admin-search-form button[type=submit]")
        .await;
    wait_text(&browser, "#admin-total", "1 compte.").await;
    browser.fill("#admin-search", "").await;
    browser
        .click("#admin-search-form button[type=submit]")
        .await;
    wait_text(&browser, "#admin-total", "2 comptes.").await;
    wait_text(&browser, &format!("{colleague} .stamps"), "0 utilisés").await;
    assert_eq!(
        browser
            .eval(&format!(
                "document.querySelector(\"{colleague} .stamps-allocated\").value"
            ))
            .await,
        "12"
    );
    browser
        .eval("document.getElementById('administration').scrollIntoView()")
        .await;
    screenshot(&browser, "webmail-administration-1280x800").await;

    // Each change is in the audit trail, with the manager as its actor.
    let trail = operator(&server, &["audit", "export", "--since", "2000-01-01"]).await;
    let by_manager = |action: &str| {
        trail
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["action"] == action && e["actor"] == EXTERNAL)
            .count()
    };
    assert_eq!(
        by_manager("account_administered"),
        2,
        "eligible, then the stamps"
    );
    assert_eq!(by_manager("account_unlocked"), 1);
    assert_eq!(by_manager("mssante_activated"), 1);
    browser.close().await;
}
