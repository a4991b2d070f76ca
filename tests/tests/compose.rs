//! "Nouveau message" end to end: the real server (development identity, SQLite), a real
//! SMTP server and headless Chromium. Sign in, compose to two recipients with three
//! files, watch the gauge and the count, send; then check the rows, that the stored
//! blobs are ciphertext that decrypts back byte-identical, and one notification per
//! recipient whose link carries the envelope's reference.

use std::time::Duration;

use base64::Engine;
use fantoccini::Locator;
use medimail_e2e::{Browser, Identity, OfficeStub, Pane, PaneOptions};
use medimail_server::crypto::DataKey;
use medimail_server::envelope::entity::{attachment, envelope, envelope_recipient};
use medimail_server::keys::Keys;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";

/// A server (development identity, real SMTP) and a browser signed in to it.
async fn signed_in() -> (Pane, Browser) {
    let pane = Pane::start(PaneOptions {
        identity: Identity::Development,
        office_js: OfficeStub::url_outside_office,
        env: Vec::new(),
    })
    .await;
    let browser = pane.open_pane((360, 900), &[], "").await;
    browser.click("#dev-continue").await;
    pane.sign_in(&browser, "marie.curie@chu-dev.fr", PASSPHRASE)
        .await;
    browser.element("#signed-in").await;
    (pane, browser)
}

#[tokio::test]
async fn a_refused_send_keeps_everything_and_says_why_next_to_the_field() {
    let (pane, browser) = signed_in().await;
    let server = &pane.server;
    browser.click("#new-message").await;
    // Plausible to the pane, refused by the server (two dots in a row).
    browser
        .fill("#compose-to", "pierre..dupond@chu-dev.fr;")
        .await;
    browser.fill("#compose-subject", "Compte rendu").await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cr.pdf");
    std::fs::write(&path, b"%PDF-1.4 compte rendu").expect("write");
    browser
        .element("#file-input")
        .await
        .send_keys(&path.display().to_string())
        .await
        .expect("attach");
    assert_eq!(browser.text_of("#file-count").await, "1/5");
    // The hidden file input is no Tab stop and reads nothing in English (issue 21, item 4).
    assert_eq!(
        browser
            .eval("[document.getElementById('file-input').tabIndex, document.getElementById('file-input').getAttribute('aria-hidden')]")
            .await,
        serde_json::json!([-1, "true"])
    );
    // Small files in Ko, not "0,00 Mo" (issue 21, item 7).
    assert_eq!(browser.text_of(".file-size").await, "1 Ko");
    // A file and no text: "Envoyer sans message ?" first (issue 21); "Annuler" goes back
    // to the message and sends nothing.
    browser.click("#compose-send").await;
    assert!(
        browser
            .dialog_text()
            .await
            .starts_with("Envoyer sans message ?")
    );
    browser.client.dismiss_alert().await.expect("dismiss");
    wait_for_focus(&browser, "compose-body").await;
    browser.click("#compose-send").await;
    browser.dialog_text().await;
    browser.client.accept_alert().await.expect("accept");
    let error = browser.text_of("#compose-to-error").await;
    assert!(error.contains("pierre..dupond@chu-dev.fr"), "{error}");
    // Nothing lost: subject, chip and file are still there.
    let subject = browser
        .element("#compose-subject")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(subject.as_deref(), Some("Compte rendu"));
    assert_eq!(browser.text_of("#file-count").await, "1/5");
    assert_eq!(
        browser
            .client
            .find_all(Locator::Css(".chip"))
            .await
            .expect("chips")
            .len(),
        1
    );

    // The pane's own checks: of six more files, four join (5 in all) and the two others
    // are named with the manual's limit.
    let paths: Vec<String> = (0..6)
        .map(|i| {
            let p = dir.path().join(format!("f{i}.txt"));
            std::fs::write(&p, b"x").expect("write");
            p.display().to_string()
        })
        .collect();
    browser
        .element("#file-input")
        .await
        .send_keys(&paths.join("\n"))
        .await
        .expect("attach");
    let said = browser.text_of("#compose-files-error").await;
    assert!(
        said.contains("au plus 5") && said.contains("« f4.txt »") && said.contains("« f5.txt »"),
        "{said}"
    );
    assert!(!said.contains("« f3.txt »"), "{said}");
    assert_eq!(
        browser.text_of("#file-count").await,
        "5/5",
        "the files that fit are joined"
    );
    let db = server.sqlite().await;
    assert!(
        envelope::Entity::find()
            .one(&db)
            .await
            .expect("q")
            .is_none(),
        "nothing sealed"
    );
    browser.close().await;
}

/// Entrée in "Objet" goes on to the message instead of sending; an envelope with no
/// text and no file is not sent (issue 21, item 1).
#[tokio::test]
async fn entree_in_the_subject_does_not_send_and_an_empty_message_is_refused() {
    let (pane, browser) = signed_in().await;
    // The welcome card is for signed-out users only (issue 21, item 10).
    assert_eq!(
        browser
            .eval("document.getElementById('accueil-titre') === null")
            .await,
        serde_json::json!(true)
    );
    // The manual's placeholders and label (issue 21, item 10).
    browser.click("#new-message").await;
    // The new screen starts at its first field (issue 21, item 4).
    wait_for_focus(&browser, "compose-to").await;
    assert_eq!(
        browser
            .eval("[document.getElementById('compose-to').placeholder, document.getElementById('compose-subject').placeholder, document.getElementById('attachments-label').innerText]")
            .await,
        serde_json::json!([
            "Saisissez l'adresse de votre/vos destinataires",
            "Saisissez l'objet de votre message",
            "Pièces jointes :"
        ])
    );
    // « Envoyer » on an empty form: every error at once, each under its field, the
    // first one focused (issue 21, item 8).
    browser.click("#compose-send").await;
    for (id, words) in [
        ("#compose-to-error", "au moins un destinataire"),
        ("#compose-subject-error", "l'objet"),
        ("#compose-body-error", "Votre message est vide"),
    ] {
        assert!(browser.text_of(id).await.contains(words), "{id}");
    }
    assert_eq!(
        browser.eval("document.activeElement.id").await,
        serde_json::json!("compose-to")
    );
    // The directory's search fields look like the others (issue 21, item 10).
    browser.click("#directory-toggle").await;
    browser.element("#directory-last-name").await;
    assert_eq!(
        browser
            .eval("(() => { const a = getComputedStyle(document.getElementById('directory-last-name')), b = getComputedStyle(document.getElementById('compose-subject')); return [a.paddingTop === b.paddingTop, a.borderTopColor === b.borderTopColor, a.fontSize === b.fontSize]; })()")
            .await,
        serde_json::json!([true, true, true])
    );
    browser.click("#directory-toggle").await;
    // « Envoyer » is at the top of the form, as in the manual (issue 21, item 10).
    assert_eq!(
        browser
            .eval("document.getElementById('compose-send').getBoundingClientRect().top < document.getElementById('compose-subject').getBoundingClientRect().top")
            .await,
        serde_json::json!(true)
    );
    browser.click("#compose-close").await;
    // Help stays one click away.
    assert_eq!(
        browser
            .eval("document.getElementById('help-link').getAttribute('href')")
            .await,
        serde_json::json!("#/aide")
    );
    browser.click("#new-message").await;
    browser
        .fill("#compose-to", "pierre.dupond@chu-dev.fr;")
        .await;
    browser
        .element("#compose-subject")
        .await
        .send_keys("Compte rendu\u{E007}")
        .await
        .expect("type");
    // The signal: the caret went on to the message.
    browser
        .wait_until("document.activeElement && document.activeElement.id === 'compose-body'")
        .await;
    // Nothing written and nothing attached: « Envoyer » says so next to the message.
    browser.click("#compose-send").await;
    let error = browser.text_of("#compose-body-error").await;
    assert!(error.contains("Votre message est vide"), "{error}");
    let db = pane.server.sqlite().await;
    assert!(
        envelope::Entity::find()
            .one(&db)
            .await
            .expect("q")
            .is_none(),
        "nothing sealed"
    );
    // With a text it goes, by Ctrl+Entrée as announced next to « Envoyer ».
    assert_eq!(
        browser.text_of("#compose-send-keys").await,
        "Ctrl+Entrée pour envoyer"
    );
    let body = browser.element("#compose-body").await;
    body.send_keys("Bonjour").await.expect("type");
    body.send_keys("\u{E009}\u{E007}\u{E009}")
        .await
        .expect("Ctrl+Entrée");
    browser
        .wait_until("document.body.innerText.includes('a été scellé et envoyé')")
        .await;
    assert!(
        envelope::Entity::find()
            .one(&db)
            .await
            .expect("q")
            .is_some()
    );
    // "Messages envoyés" names the recipient, not the sender (issue 21, item 9).
    browser.click("#compose-close").await;
    browser.click("#folder-sent").await;
    browser
        .wait_until(
            "document.querySelector('#envelope-list .envelope-from') && \
             document.querySelector('#envelope-list .envelope-from').innerText \
             === 'À : pierre.dupond@chu-dev.fr'",
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn composes_and_sends_an_envelope_with_three_files_to_two_recipients() {
    let (pane, browser) = signed_in().await;
    let (sink, server) = (&pane.sink, &pane.server);

    // Compose.
    browser.click("#new-message").await;
    let from = browser
        .element("#compose-from")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        from.as_deref(),
        Some("Marie CURIE (marie.curie@chu-dev.fr)")
    );
    browser
        .fill("#compose-to", "pierre.dupond@chu-dev.fr;")
        .await;
    browser
        .element("#compose-to")
        .await
        .send_keys("s.pateney@chu-dev.fr\u{E007}")
        .await
        .expect("enter");
    let chips = browser
        .client
        .find_all(Locator::Css(".chip"))
        .await
        .expect("chips");
    assert_eq!(chips.len(), 2, "two chips");
    browser
        .fill("#compose-subject", "Compte rendu M. BLANC")
        .await;
    let editor = browser.element("#compose-body").await;
    editor.click().await.expect("focus");
    editor.send_keys("Bonjour, ").await.expect("type");
    browser.click("#format-bold").await;
    editor.send_keys("important").await.expect("type");
    browser.click("#format-bold").await;
    browser.click("#format-color").await;
    editor.send_keys(" rouge").await.expect("type");

    let dir = tempfile::tempdir().expect("dir");
    let contents: Vec<(String, Vec<u8>)> = vec![
        (
            "Compte rendu.pdf".into(),
            (0..2_000_000u32).map(|i| (i % 251) as u8).collect(),
        ),
        (
            "radio.png".into(),
            (0..100_000u32).map(|i| (i % 13) as u8).collect(),
        ),
        ("note é.txt".into(), b"Rendez-vous lundi".to_vec()),
    ];
    let paths: Vec<String> = contents
        .iter()
        .map(|(name, data)| {
            let p = dir.path().join(name);
            std::fs::write(&p, data).expect("write");
            p.display().to_string()
        })
        .collect();
    browser
        .element("#file-input")
        .await
        .send_keys(&paths.join("\n"))
        .await
        .expect("attach");
    assert_eq!(browser.text_of("#file-count").await, "3/5");
    let total: u64 = contents.iter().map(|(_, d)| d.len() as u64).sum();
    assert_eq!(
        browser.text_of("#gauge-text").await,
        medimail_taskpane::compose::gauge_text(total)
    );
    assert_eq!(
        browser.text_of("#gauge-text").await,
        "Total : 2,00 Mo / 25 Mo"
    );

    browser.click("#compose-send").await;
    let notice = browser.text_of("#compose-notice").await;
    assert!(
        notice.contains("scellé et envoyé à 2 destinataires"),
        "{notice}"
    );
    // The confirmation is focused and in view (issue 21, item 3).
    wait_for_focus(&browser, "compose-notice").await;
    assert_eq!(
        browser
            .eval("(() => { const r = document.getElementById('compose-notice').getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })()")
            .await,
        serde_json::json!(true)
    );
    // Cleared after success.
    assert_eq!(browser.text_of("#file-count").await, "0/5");

    // One notification per recipient, linking to the envelope.
    let mails = sink.wait_for(3, Duration::from_secs(30)).await;
    let notes: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "[MEDIMAIL : Reception] Compte rendu M. BLANC")
        .collect();
    assert_eq!(notes.len(), 2);
    let mut to: Vec<&str> = notes.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, vec!["pierre.dupond@chu-dev.fr", "s.pateney@chu-dev.fr"]);

    // The rows, and the blobs: ciphertext that decrypts back byte-identical.
    let db = server.sqlite().await;
    let env = envelope::Entity::find()
        .one(&db)
        .await
        .expect("q")
        .expect("an envelope");
    for note in &notes {
        assert!(
            note.text
                .contains(&format!("#/inbox/open/{}", env.reference)),
            "{}",
            note.text
        );
    }
    assert_eq!(
        envelope_recipient::Entity::find()
            .filter(envelope_recipient::Column::EnvelopeId.eq(&env.id))
            .all(&db)
            .await
            .expect("q")
            .len(),
        2
    );
    let keys = Keys::load(None, server.data_dir.path()).expect("master key");
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = DataKey::unwrap(&keys, &env.id, &b64.decode(&env.wrapped_key).expect("b64"))
        .expect("unwrap");
    let body = key
        .open(
            &format!("{}/body", env.id),
            &b64.decode(&env.body_sealed).expect("b64"),
        )
        .expect("body");
    let body = String::from_utf8(body).expect("utf-8");
    assert!(body.contains("<b>important</b>"), "{body}");
    assert!(
        body.contains(r#"<span style="color: rgb(192, 0, 0)">"#) && body.contains("rouge</span>"),
        "the colour survives as a span: {body}"
    );
    let atts = attachment::Entity::find()
        .filter(attachment::Column::EnvelopeId.eq(&env.id))
        .all(&db)
        .await
        .expect("q");
    assert_eq!(atts.len(), 3);
    for att in atts {
        let (name, data) = &contents[att.position as usize];
        assert_eq!(
            &medimail_server::envelope::at_rest::attachment_meta(&key, &att)
                .expect("opens")
                .name,
            name
        );
        let stored = std::fs::read(
            server
                .data_dir
                .path()
                .join("blobs")
                .join("blobs")
                .join(&att.blob_id),
        )
        .expect("blob file");
        assert_ne!(&stored, data);
        let mut dec = key.decryptor(&att.blob_id);
        let mut back = dec.push(&stored).expect("opens");
        back.extend(dec.finish().expect("complete"));
        assert_eq!(&back, data, "{name}");
    }
    browser.close().await;
}

#[tokio::test]
async fn opened_from_an_outlook_message_being_written_it_starts_from_its_recipients_and_subject() {
    let pane = Pane::start(PaneOptions {
        identity: Identity::office().await,
        office_js: OfficeStub::url_compose,
        env: Vec::new(),
    })
    .await;
    let browser = pane
        .open_pane(
            (360, 900),
            &[],
            &format!(
                "{} window.__medimailComposeItem = \
                 {{ to: ['Pierre.Dupond@chu-exemple.fr'], cc: ['s.pateney@chu-exemple.fr'], subject: 'Résultats de M. BLANC' }};",
                pane.office_token_script()
            ),
        )
        .await;
    pane.sign_in(&browser, "m.pollet@chu-exemple.fr", PASSPHRASE)
        .await;

    // "Nouveau message" opens by itself, filled from the Outlook message.
    let subject = browser
        .element("#compose-subject")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(subject.as_deref(), Some("Résultats de M. BLANC"));
    let chips: Vec<String> = {
        let mut out = Vec::new();
        for chip in browser
            .client
            .find_all(Locator::Css(".chip"))
            .await
            .expect("chips")
        {
            out.push(chip.text().await.expect("text"));
        }
        out
    };
    assert!(
        chips
            .iter()
            .any(|c| c.starts_with("pierre.dupond@chu-exemple.fr")),
        "{chips:?}"
    );
    assert!(
        chips
            .iter()
            .any(|c| c.starts_with("s.pateney@chu-exemple.fr")),
        "{chips:?}"
    );
    // An envelope needs a text or a file.
    browser
        .element("#compose-body")
        .await
        .send_keys("Voici les résultats.")
        .await
        .expect("type");
    browser.click("#compose-send").await;
    assert!(
        browser
            .text_of("#compose-notice")
            .await
            .contains("2 destinataires")
    );
    browser.close().await;
}

/// Waits until the element `id` has the focus (it is given at the next frame).
async fn wait_for_focus(browser: &medimail_e2e::Browser, id: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let focused = browser
            .eval("document.activeElement && document.activeElement.id")
            .await;
        if focused == serde_json::json!(id) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "#{id} never got the focus (it is on {focused})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the browser's dialog and returns its text.

#[tokio::test]
async fn leaving_a_written_message_asks_first_and_an_untouched_one_does_not() {
    let (_pane, browser) = signed_in().await;
    // Untouched: "Fermer" closes at once, back to the lists, focus on the folder.
    browser.click("#new-message").await;
    browser.click("#compose-close").await;
    browser.element("#folder-inbox").await;
    wait_for_focus(&browser, "folder-inbox").await;
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "nothing asked"
    );

    // Written: "Fermer" asks (issue 21, item 5); "Annuler" keeps everything.
    browser.click("#new-message").await;
    browser
        .fill("#compose-subject", "Compte rendu à finir")
        .await;
    browser.click("#compose-close").await;
    assert!(
        browser
            .dialog_text()
            .await
            .contains("Abandonner ce message")
    );
    browser.client.dismiss_alert().await.expect("dismiss");
    let subject = browser
        .element("#compose-subject")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(subject.as_deref(), Some("Compte rendu à finir"));
    // "Déconnexion" asks too, and stays signed in when refused.
    browser.click("#sign-out").await;
    assert!(
        browser
            .dialog_text()
            .await
            .contains("Abandonner ce message")
    );
    browser.client.dismiss_alert().await.expect("dismiss");
    browser.element("#signed-in").await;
    browser.element("#compose-subject").await;
    // Confirmed: the message goes, back to the lists.
    browser.click("#compose-close").await;
    browser.dialog_text().await;
    browser.client.accept_alert().await.expect("accept");
    browser.element("#folder-inbox").await;
    browser.close().await;
}

/// The answer to « Envoyer » is lost after the server sealed the envelope (the network
/// dropped it): the pane says the send failed; « Envoyer » again answers that same
/// envelope, never a second one (issue 15, item 8: the pane's Idempotency-Key).
#[tokio::test]
async fn sending_again_after_a_lost_answer_seals_one_envelope() {
    let (pane, browser) = signed_in().await;
    // The first answer of « Envoyer » is lost once the server has it.
    browser
        .eval(
            "(() => { let lost = false; \
             const open = XMLHttpRequest.prototype.open; \
             XMLHttpRequest.prototype.open = function (m, u) { \
               this.__medimailSend = m === 'POST' && /\\/api\\/envelopes$/.test(u); \
               return open.apply(this, arguments); }; \
             const send = XMLHttpRequest.prototype.send; \
             XMLHttpRequest.prototype.send = function () { \
               if (this.__medimailSend && !lost) { lost = true; \
                 const xhr = this, failed = xhr.onerror; \
                 xhr.onload = function () { window.__medimailLost = true; \
                   failed.call(xhr, new ProgressEvent('error')); }; } \
               return send.apply(this, arguments); }; \
             return true; })()",
        )
        .await;
    browser.click("#new-message").await;
    browser
        .fill("#compose-to", "pierre.dupond@chu-dev.fr;")
        .await;
    browser.fill("#compose-subject", "Résultats").await;
    browser
        .element("#compose-body")
        .await
        .send_keys("Bonjour")
        .await
        .expect("type");
    browser.click("#compose-send").await;
    browser.wait_until("window.__medimailLost === true").await;
    let failed = browser.text_of("#compose-form-error").await;
    assert!(failed.contains("ne répond pas"), "{failed}");
    let db = pane.server.sqlite().await;
    let keys = Keys::load(None, pane.server.data_dir.path()).expect("master key");
    // Titles are sealed at rest: the envelopes whose title opens to « Résultats ».
    let sealed = || async {
        envelope::Entity::find()
            .all(&db)
            .await
            .expect("q")
            .into_iter()
            .filter(|e| {
                medimail_server::envelope::at_rest::shown(&keys, e)
                    .is_ok_and(|s| s.subject == "Résultats")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(sealed().await.len(), 1, "the server did seal it");
    // « Envoyer » again: the same envelope is the answer.
    browser.click("#compose-send").await;
    browser
        .wait_until("document.body.innerText.includes('a été scellé et envoyé')")
        .await;
    let rows = sealed().await;
    assert_eq!(rows.len(), 1, "one envelope, not two");
    assert!(rows[0].idempotency_key.is_some());
    browser.close().await;
}

#[tokio::test]
async fn in_the_webmail_a_draft_is_saved_recovered_after_a_reload_sent_and_deleted() {
    draft_saved_recovered_sent_and_deleted("/", (1280, 800)).await;
}

#[tokio::test]
async fn in_the_pane_a_draft_is_saved_recovered_after_reopening_sent_and_deleted() {
    draft_saved_recovered_sent_and_deleted("/taskpane.html", (360, 900)).await;
}

/// « Sauvegarder », « Récupérer », « Supprimer » (manual part 1 §4.1) in the page at
/// `path` (the webmail's or the pane's), signed in as an Outlook user with the
/// development identity.
async fn draft_saved_recovered_sent_and_deleted(path: &str, size: (u32, u32)) {
    use sea_orm::PaginatorTrait;
    let pane = Pane::start(PaneOptions {
        identity: Identity::Development,
        office_js: OfficeStub::url_outside_office,
        env: vec![("MEDIMAIL_WEBMAIL".into(), "all".into())],
    })
    .await;
    let browser = pane.browser(size, &[], "").await;
    browser.open_pane(&pane.server.url(path)).await;
    browser.click("#dev-continue").await;
    pane.sign_in(&browser, "marie.curie@chu-dev.fr", PASSPHRASE)
        .await;
    browser.element("#signed-in").await;
    let db = pane.server.sqlite().await;
    browser.click("#new-message").await;
    // No draft yet: « Sauvegarder » only (manual part 1 §4.1).
    browser.element("#draft-save").await;
    assert_eq!(
        browser
            .eval("document.getElementById('draft-recover') === null")
            .await,
        serde_json::json!(true)
    );
    browser
        .fill("#compose-to", "pierre.dupond@chu-dev.fr;")
        .await;
    browser
        .fill("#compose-subject", "Brouillon pour M. BLANC")
        .await;
    let body = browser.element("#compose-body").await;
    body.click().await.expect("focus");
    body.send_keys("Ceci est un test.").await.expect("type");
    browser.click("#draft-save").await;
    browser
        .wait_until(
            "document.getElementById('compose-notice') && \
             document.getElementById('compose-notice').innerText.includes('Brouillon sauvegardé')",
        )
        .await;
    browser.element("#draft-recover").await;
    // Saved: « Fermer » asks nothing.
    browser.click("#compose-close").await;
    browser.element("#new-message").await;

    // After a reload, « Récupérer » brings it back, and it is sent.
    browser.open_pane(&pane.server.url(path)).await;
    browser.click("#dev-continue").await;
    browser.element("#signed-in").await;
    browser.click("#new-message").await;
    browser.click("#draft-recover").await;
    browser
        .wait_until(
            "document.getElementById('compose-subject').value === 'Brouillon pour M. BLANC'",
        )
        .await;
    assert_eq!(browser.text_of("#compose-body").await, "Ceci est un test.");
    assert_eq!(
        browser
            .client
            .find_all(Locator::Css(".chip"))
            .await
            .expect("chips")
            .len(),
        1
    );
    browser.click("#compose-send").await;
    browser
        .wait_until("document.body.innerText.includes('a été scellé et envoyé')")
        .await;
    assert_eq!(envelope::Entity::find().count(&db).await.expect("count"), 1);

    // « Supprimer », confirmed: the draft is gone, and so are its buttons.
    browser.click("#draft-delete").await;
    assert!(
        browser
            .dialog_text()
            .await
            .starts_with("Supprimer le brouillon")
    );
    browser.client.accept_alert().await.expect("accept");
    browser
        .wait_until("document.getElementById('draft-recover') === null")
        .await;
    use medimail_server::envelope::entity::draft;
    assert_eq!(draft::Entity::find().count(&db).await.expect("count"), 0);
    browser.close().await;
}
