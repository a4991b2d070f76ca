//! Reading envelopes in Outlook, end to end: the real server (test identity provider,
//! real SMTP server), headless Chromium and the office.js stand-in in read mode, whose
//! selected mail is the real notification the send flow produced.
//!
//! Marie sends an envelope with two files to the pane's user (Mickaël) over HTTP. In the
//! pane, a plain mail selected shows "Messages reçus" with the envelope unread; selecting
//! the notification opens the envelope directly (the reference read from the mail body
//! through `item.body.getAsync`): headers, "Envoyé le …", the body with its formatting
//! and without the script Marie slipped in, attachments, engine, retention note and
//! events. A download is byte-identical and recorded; Marie gets the opening mail once.
//! "Répondre" and "Transférer" prefill the compose screen and send (the forward carries
//! the files on the server); "Supprimer" then "Supprimer définitivement" act for
//! Mickaël only.

use std::time::Duration;

use medimail_e2e::idp::{self, TestIdp};
use medimail_e2e::{
    Browser, Identity, OfficeStub, Pane, PaneOptions, Server, ServerOptions, SmtpSink,
};
use serde_json::{Value, json};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const BOUNDARY: &str = "medimail-read-boundary";
const READER: &str = "m.pollet@chu-exemple.fr";
const SENDER: &str = "marie.curie@chu-exemple.fr";
/// The retention job's summary line, logged after a pass that purged something.
const PURGED: &str = "envelopes past their 3 months purged";

fn marie_token(idp: &TestIdp) -> String {
    let mut claims = idp::valid_claims();
    claims["oid"] = json!("00000000-0000-0000-0000-0000000a0a1e");
    claims["name"] = json!("Marie CURIE");
    claims["preferred_username"] = json!(SENDER);
    idp::sign(&idp.current_key(), &claims)
}

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    auth: (&str, Option<&str>),
    body: Option<Value>,
) -> (u16, Value) {
    server.call(method, path, auth, body).await
}

/// Waits for a mail to `to` whose subject contains `subject`.
async fn mail_to(sink: &SmtpSink, to: &str, subject: &str) -> medimail_e2e::smtp::ReceivedMail {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(m) = sink
            .mails()
            .into_iter()
            .find(|m| m.to == to && m.subject.contains(subject))
        {
            return m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail to {to} about {subject}: {:?}",
            sink.mails()
                .iter()
                .map(|m| (&m.to, &m.subject))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs Marie in over HTTP: passphrase, code from the SMTP server, session.
async fn marie_session(server: &Server, sink: &SmtpSink, token: &str) -> String {
    let (status, body) = call(
        server,
        reqwest::Method::POST,
        "/api/auth/passphrase",
        (token, None),
        Some(json!({"passphrase": PASSPHRASE, "confirmation": PASSPHRASE})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = call(
        server,
        reqwest::Method::POST,
        "/api/auth/code",
        (token, None),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let code = mail_to(sink, SENDER, "Votre code").await.code();
    let (status, body) = call(
        server,
        reqwest::Method::POST,
        "/api/auth/session",
        (token, None),
        Some(json!({"code": code, "passphrase": PASSPHRASE})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["session"].as_str().expect("session").to_owned()
}

fn file(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn send(
    server: &Server,
    auth: (&str, &str),
    draft: Value,
    files: &[(&str, Vec<u8>)],
) -> String {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    let body = medimail_e2e::envelope_multipart(BOUNDARY, &draft, &files);
    let response = server
        .client()
        .post(server.url("/api/envelopes"))
        .bearer_auth(auth.0)
        .header("x-medimail-session", auth.1)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 201);
    let sealed: Value = response.json().await.expect("json");
    sealed["reference"].as_str().expect("reference").to_owned()
}

async fn inbox(server: &Server, auth: (&str, &str)) -> Value {
    call(
        server,
        reqwest::Method::GET,
        "/api/envelopes?folder=inbox",
        (auth.0, Some(auth.1)),
        None,
    )
    .await
    .1
}

/// Selects another mail in the (pinned) pane's Outlook: the stand-in's ItemChanged.
async fn select_mail(browser: &Browser, body_text: &str) {
    let body = serde_json::to_string(body_text).expect("json");
    browser
        .client
        .execute(
            &format!("window.__medimailSelectItem({{ subject: 'x', body: {body} }}); return true;"),
            vec![],
        )
        .await
        .expect("select the mail");
}

/// The texts of the recipient chips of the compose screen.
async fn chip_texts(browser: &Browser) -> Vec<String> {
    let mut out = Vec::new();
    for chip in browser
        .client
        .find_all(fantoccini::Locator::Css(".chip"))
        .await
        .expect("chips")
    {
        out.push(chip.text().await.expect("text"));
    }
    out
}

async fn wait_text(browser: &Browser, selector: &str, wanted: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = browser.text_of(selector).await;
        if text.contains(wanted) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{selector} never showed {wanted:?}; it shows {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn opens_the_envelope_of_the_selected_notification_reads_downloads_answers_forwards_and_deletes()
 {
    let pane = Pane::start(PaneOptions {
        identity: Identity::office().await,
        office_js: OfficeStub::url_read,
        env: Vec::new(),
    })
    .await;
    let (idp, sink, server) = (pane.idp(), &pane.sink, &pane.server);

    // Marie sends an envelope to Mickaël, with two files and a script in the body.
    let marie = marie_token(idp);
    let marie_session = marie_session(server, sink, &marie).await;
    let scan = file(1, 300_000);
    let note = file(2, 40_000);
    let reference = send(
        server,
        (&marie, &marie_session),
        json!({
            "to": [READER],
            "cc": ["secretariat@chu-exemple.fr"],
            "subject": "Compte rendu M. BLANC",
            "body_html": "<p>Bonjour, <b>voici</b> le compte rendu.</p><script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">",
        }),
        &[("scanner thorax.pdf", scan.clone()), ("note.pdf", note.clone())],
    )
    .await;
    let notification = mail_to(sink, READER, "[MEDIMAIL : Reception]").await;
    assert!(notification.text.contains(&reference));

    // The pane opens on an ordinary mail: after signing in, "Messages reçus".
    let browser = pane
        .browser(
            (360, 900),
            &[],
            &format!(
                "{} window.__medimailReadItem = {{ subject: 'Réunion', body: 'Bonjour, réunion demain à 9 h.' }};",
                pane.office_token_script()
            ),
        )
        .await;
    let downloads = tempfile::tempdir().expect("downloads");
    browser
        .cdp(
            "Browser.setDownloadBehavior",
            json!({"behavior": "allow", "downloadPath": downloads.path().display().to_string(), "eventsEnabled": false}),
        )
        .await;
    pane.show_pane(&browser).await;
    pane.sign_in(&browser, READER, PASSPHRASE).await;
    let row = wait_text(&browser, "#envelope-list", "Compte rendu M. BLANC").await;
    assert!(row.contains("Marie CURIE"), "{row}");
    browser
        .screenshot_as_pane("pane-list-320x700", (360, 900))
        .await;
    let unread = browser
        .client
        .find_all(fantoccini::Locator::Css(
            ".envelope-row.unread .envelope-clip",
        ))
        .await
        .expect("rows");
    assert_eq!(unread.len(), 1, "unread, with the attachment marker");

    // Mickaël selects the notification (pinned pane): the envelope opens directly.
    select_mail(&browser, &notification.text).await;
    assert_eq!(
        browser.text_of("#reading-subject").await,
        "Compte rendu M. BLANC"
    );
    browser
        .screenshot_as_pane("pane-reading-320x700", (360, 900))
        .await;
    // The subject is focused and at the top of the pane (issue 21, items 3 and 4).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while browser
        .eval("document.activeElement && document.activeElement.id")
        .await
        != serde_json::json!("reading-subject")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the subject never got the focus"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        browser
            .eval("(() => { const r = document.getElementById('reading-subject').getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; })()")
            .await,
        serde_json::json!(true)
    );
    assert_eq!(
        browser.text_of("#reading-from").await,
        format!("Marie CURIE ({SENDER})")
    );
    // "Destinataires": NOM Prénom (adresse) where the account has a name.
    let recipients = browser.text_of("#reading-recipients").await;
    assert!(
        recipients.contains(&format!("({READER})"))
            && recipients.ends_with("; secretariat@chu-exemple.fr"),
        "{recipients}"
    );
    let date = browser.text_of("#reading-date").await;
    assert!(
        date.starts_with("Envoyé le ") && date.contains(" à "),
        "{date}"
    );
    let html: String = browser
        .client
        .execute(
            "return document.getElementById('reading-body').innerHTML",
            vec![],
        )
        .await
        .expect("html")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(html.contains("<b>voici</b>"), "{html}");
    assert!(
        !html.contains("script") && !html.contains("onerror") && !html.contains("<img"),
        "{html}"
    );
    let pwned = browser
        .client
        .execute("return window.__pwned === undefined", vec![])
        .await
        .expect("js");
    assert_eq!(pwned, json!(true), "no script from the message ran");
    // Répondre & co. at the top, under the subject (issue 21, item 10).
    assert_eq!(
        browser
            .eval("document.getElementById('reply').getBoundingClientRect().top < document.getElementById('reading-body').getBoundingClientRect().top")
            .await,
        json!(true)
    );
    // The engine's name; the technical detail only in the tooltip (issue 21, item 10).
    assert_eq!(
        browser.text_of("#reading-engine").await,
        "Moteur de cryptage : AES-256-GCM"
    );
    assert_eq!(
        browser
            .eval("document.getElementById('reading-engine').title.includes('STREAM')")
            .await,
        json!(true)
    );
    assert!(
        browser
            .text_of("#reading-retention")
            .await
            .contains("conservé pendant 3 mois sur le serveur Medimail")
    );
    let events = wait_text(&browser, "#reading-events", "Ouverture").await;
    assert!(
        events.contains("Scellement") && events.contains(SENDER),
        "{events}"
    );
    assert!(events.contains(READER), "{events}");
    let opened = mail_to(sink, SENDER, "[MEDIMAIL : Ouverture] Votre enveloppe du ").await;
    assert!(
        !opened.subject.contains("BLANC") && !opened.text.contains("BLANC"),
        "the title never leaves by mail: {}",
        opened.subject
    );
    assert!(
        opened.text.contains(READER) || opened.text.contains("Mickaël"),
        "{}",
        opened.text
    );

    // Download: byte-identical, recorded.
    let first_id = browser
        .element(".attachment-download")
        .await
        .attr("data-id")
        .await
        .expect("attr")
        .expect("data-id");
    let direct = server
        .client()
        .get(server.url(&format!(
            "/api/envelopes/{reference}/attachments/{first_id}"
        )))
        .bearer_auth(&marie)
        .header("x-medimail-session", &marie_session)
        .send()
        .await
        .expect("download");
    // Never compressed (secret, streamed), whatever the client accepts.
    let compressed = server
        .client()
        .get(server.url(&format!(
            "/api/envelopes/{reference}/attachments/{first_id}"
        )))
        .bearer_auth(&marie)
        .header("x-medimail-session", &marie_session)
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .expect("download");
    assert!(compressed.headers().get("content-encoding").is_none());
    assert_eq!(
        compressed.bytes().await.expect("bytes").as_ref(),
        scan.as_slice()
    );
    assert_eq!(direct.headers()["x-content-type-options"], "nosniff");
    assert!(
        direct.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("filename*=UTF-8''scanner%20thorax.pdf")
    );
    assert_eq!(
        direct.bytes().await.expect("bytes").as_ref(),
        scan.as_slice()
    );
    browser.click(".attachment-download").await;
    let saved = downloads.path().join("scanner thorax.pdf");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::fs::read(&saved).map(|b| b.len()).unwrap_or(0) != scan.len() {
        if std::time::Instant::now() > deadline {
            let error = browser
                .client
                .execute("var e = document.getElementById('reading-action-error'); return e ? e.textContent : null", vec![])
                .await
                .expect("js");
            panic!(
                "no download in {:?}; pane error: {error}",
                std::fs::read_dir(downloads.path())
                    .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(std::fs::read(&saved).expect("read"), scan);
    // The events list shows the download without reopening (issue 21, item 10).
    wait_text(
        &browser,
        "#reading-events",
        "Téléchargement de « scanner thorax.pdf »",
    )
    .await;
    let (_, view) = call(
        server,
        reqwest::Method::GET,
        &format!("/api/envelopes/{reference}"),
        (&marie, Some(&marie_session)),
        None,
    )
    .await;
    let kinds: Vec<&str> = view["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["sealed", "opened", "downloaded", "downloaded", "downloaded"]
    );
    assert_eq!(
        sink.mails()
            .iter()
            .filter(|m| m.subject.starts_with("[MEDIMAIL : Ouverture]"))
            .count(),
        1,
        "one opening mail, not one per view"
    );

    // "Répondre à tous": Marie in "À", the secretariat in "CC", not Mickaël himself.
    browser.click("#reply-all").await;
    browser.element("#compose-to").await;
    let chips = chip_texts(&browser).await;
    assert_eq!(chips.len(), 2, "{chips:?}");
    assert!(
        chips[0].contains(SENDER) && chips[1].contains("secretariat@chu-exemple.fr"),
        "{chips:?}"
    );
    browser.click("#compose-close").await;

    // "Répondre": to Marie, "RE: …", the original quoted.
    browser.click("#reply").await;
    browser.element("#compose-to").await;
    let to_chips = chip_texts(&browser).await;
    assert_eq!(to_chips.len(), 1, "{to_chips:?}");
    assert!(to_chips[0].contains(SENDER), "{to_chips:?}");
    let subject = browser
        .element("#compose-subject")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(subject.as_deref(), Some("RE: Compte rendu M. BLANC"));
    browser
        .screenshot_as_pane("pane-compose-320x700", (360, 900))
        .await;
    let quoted = browser.text_of("#compose-body").await;
    assert!(
        quoted.contains("MESSAGE D'ORIGINE") && quoted.contains("voici le compte rendu"),
        "{quoted}"
    );
    browser.click("#compose-send").await;
    wait_text(&browser, "#compose-notice", "scellé et envoyé").await;
    let marie_inbox = inbox(server, (&marie, &marie_session)).await;
    assert_eq!(
        marie_inbox["items"][0]["subject"], "RE: Compte rendu M. BLANC",
        "{marie_inbox}"
    );
    browser.click("#compose-close").await;

    // "Transférer": no recipients, "TR: …", the two files carried (2/5); send to Marie.
    browser.click("#forward").await;
    assert_eq!(browser.text_of("#file-count").await, "2/5");
    assert!(browser.text_of("#gauge-text").await.contains("/ 25 Mo"));
    let subject = browser
        .element("#compose-subject")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(subject.as_deref(), Some("TR: Compte rendu M. BLANC"));
    assert!(chip_texts(&browser).await.is_empty());
    browser.fill("#compose-to", &format!("{SENDER};")).await;
    browser.click("#compose-send").await;
    wait_text(&browser, "#compose-notice", "scellé et envoyé").await;
    let marie_inbox = inbox(server, (&marie, &marie_session)).await;
    let forwarded = marie_inbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["subject"] == "TR: Compte rendu M. BLANC")
        .expect("the forward arrived")
        .clone();
    assert_eq!(forwarded["attachments"], 2);
    let fwd_ref = forwarded["reference"].as_str().expect("reference");
    let (_, fwd) = call(
        server,
        reqwest::Method::GET,
        &format!("/api/envelopes/{fwd_ref}"),
        (&marie, Some(&marie_session)),
        None,
    )
    .await;
    let first = fwd["attachments"][0]["id"].as_str().expect("id");
    let bytes = server
        .client()
        .get(server.url(&format!("/api/envelopes/{fwd_ref}/attachments/{first}")))
        .bearer_auth(&marie)
        .header("x-medimail-session", &marie_session)
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(
        bytes.as_ref(),
        scan.as_slice(),
        "forwarded file byte-identical"
    );
    browser.click("#compose-close").await;

    // An envelope whose opening window has not begun: the dates, no content. This
    // server has no test clock, so its clock is the system's: two days from now is in
    // its future whatever the day (no date is asserted).
    let later = (chrono::Utc::now() + chrono::TimeDelta::days(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let waiting = send(
        server,
        (&marie, &marie_session),
        json!({"to": [READER], "subject": "Résultats à venir", "body_html": "<p>secret</p>", "opens_from": later}),
        &[],
    )
    .await;
    let notice = mail_to(sink, READER, "Résultats à venir").await;
    assert!(notice.text.contains(&waiting));
    select_mail(&browser, &notice.text).await;
    let refusal = browser.text_of("#reading-error").await;
    assert!(
        refusal.contains("ne peut être ouverte qu'à partir du"),
        "{refusal}"
    );
    assert!(!browser.text_of("#reading").await.contains("secret"));
    browser.click("#back-to-list").await;
    wait_text(&browser, "#envelope-list", "Résultats à venir").await;
    let rows = browser
        .client
        .find_all(fantoccini::Locator::Css(".envelope-open"))
        .await
        .expect("rows");
    for row in rows {
        if row
            .text()
            .await
            .expect("text")
            .contains("Compte rendu M. BLANC")
        {
            row.click().await.expect("click");
            break;
        }
    }
    assert_eq!(
        browser.text_of("#reading-subject").await,
        "Compte rendu M. BLANC"
    );

    // "Supprimer": to "Messages supprimés", for Mickaël only; then for good.
    browser.click("#delete").await;
    wait_text(&browser, "#boite-notice", "Messages supprimés").await;
    browser.click("#folder-deleted").await;
    wait_text(&browser, "#envelope-list", "Compte rendu M. BLANC").await;
    browser.click(".envelope-open").await;
    browser.click("#remove").await;
    wait_text(&browser, "#boite-notice", "définitivement").await;
    wait_text(&browser, "#list-empty", "Aucun message").await;
    let (status, _) = call(
        server,
        reqwest::Method::GET,
        &format!("/api/envelopes/{reference}"),
        (&marie, Some(&marie_session)),
        None,
    )
    .await;
    assert_eq!(status, 200, "the sender's copy is untouched");
    browser.close().await;
}

/// The retention job on the real binary: an envelope sealed 3 months and a day before the
/// server's (injected) clock is purged at start — blobs deleted, key and body wiped,
/// attachment rows gone — while its row, events and an audit record stay.
#[tokio::test]
async fn three_months_after_sealing_the_running_server_purges_the_envelope() {
    use medimail_server::entity::audit_event;
    use medimail_server::envelope::entity::{attachment, envelope, envelope_event};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let mut server = Server::start(ServerOptions {
        env: vec![("MEDIMAIL_DEV_IDENTITY".into(), "true".into())],
        test_clock: true,
        ..Default::default()
    })
    .await;
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", PASSPHRASE)
        .await;
    let reference = send(
        &server,
        (&token, &session),
        json!({"to": ["pierre.dupond@chu-dev.fr"], "subject": "À purger", "body_html": "<p>x</p>"}),
        &[("a.pdf", file(3, 100_000)), ("b.pdf", file(4, 10_000))],
    )
    .await;
    // A witness sealed 40 days earlier (server clock): due at the two-month restart, so
    // that pass logs its summary. A pass that purges nothing logs nothing, and the
    // summary is what says the pass is over.
    server.set_clock_offset(-40 * 86_400);
    let witness = send(
        &server,
        (&token, &session),
        json!({"to": ["pierre.dupond@chu-dev.fr"], "subject": "Témoin", "body_html": "<p>t</p>"}),
        &[("c.pdf", file(5, 1_000))],
    )
    .await;
    let blobs = server.data_dir.path().join("blobs").join("blobs");
    let count_blobs = || std::fs::read_dir(&blobs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count_blobs(), 3);
    let db = server.sqlite().await;
    let envelope_row = async |reference: &str| {
        envelope::Entity::find()
            .filter(envelope::Column::Reference.eq(reference))
            .one(&db)
            .await
            .expect("q")
            .expect("the envelope's row stays")
    };

    // Two months later: the pass that purges the witness leaves the envelope untouched.
    server.set_clock_offset(61 * 86_400);
    server.restart().await;
    server.wait_for_log(PURGED, 1).await;
    assert!(envelope_row(&witness).await.purged_at.is_some());
    assert!(
        envelope_row(&reference).await.purged_at.is_none(),
        "kept before 3 months"
    );
    assert_eq!(count_blobs(), 2, "kept before 3 months");

    // Three months and a day later: purged at start.
    server.set_clock_offset(93 * 86_400);
    server.restart().await;
    server.wait_for_log(PURGED, 2).await;
    assert_eq!(count_blobs(), 0, "not purged:\n{}", server.log());
    let row = envelope_row(&reference).await;
    assert!(row.purged_at.is_some());
    assert!(
        row.body_sealed.is_empty() && row.wrapped_key.is_empty(),
        "crypto-shredded"
    );
    assert_eq!(attachment::Entity::find().count(&db).await.expect("q"), 0);
    assert!(
        envelope_event::Entity::find()
            .filter(envelope_event::Column::EnvelopeId.eq(&row.id))
            .count(&db)
            .await
            .expect("q")
            >= 1,
        "events stay"
    );
    assert_eq!(
        audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("envelope_purged"))
            .filter(audit_event::Column::Detail.contains(&row.id))
            .count(&db)
            .await
            .expect("q"),
        1
    );
}
