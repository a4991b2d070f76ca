//! « Dossiers » end to end in the webmail (issue 18; manual part 1 §6.2): the real server
//! (development identity, SQLite) and headless Chromium. Create a sub-folder under
//! « Messages reçus », select a received envelope and move it there (its unread count
//! follows), find it there by a search without accents, move it from the reading screen
//! to « Messages supprimés », rename the sub-folder, delete it after the confirmation
//! that says where its messages go. And a long inbox turned with « Suivant » and
//! « Précédent » (from the positions the list gives).

use medimail_e2e::{Identity, OfficeStub, Pane, PaneOptions};
use medimail_server::envelope::entity::folder;
use sea_orm::{EntityTrait, PaginatorTrait};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";

/// The webmail's page (development identity), signed in as Marie.
async fn webmail_as_marie() -> (Pane, medimail_e2e::Browser) {
    let pane = Pane::start(PaneOptions {
        identity: Identity::Development,
        office_js: OfficeStub::url_outside_office,
        env: vec![("MEDIMAIL_WEBMAIL".into(), "all".into())],
    })
    .await;
    let browser = pane.browser((1280, 800), &[], "").await;
    browser.open_pane(&pane.server.url("/")).await;
    browser.click("#dev-continue").await;
    pane.sign_in(&browser, "marie.curie@chu-dev.fr", PASSPHRASE)
        .await;
    browser.element("#signed-in").await;
    (pane, browser)
}

/// Chooses `value` in the `<select>` `selector` as a user would (its change event).
async fn choose(browser: &medimail_e2e::Browser, selector: &str, value: &str) {
    browser.element(selector).await;
    browser
        .eval(&format!(
            "(() => {{ const s = document.querySelector({selector:?}); s.value = {value:?}; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value; }})()"
        ))
        .await;
}

fn notice_says(text: &str) -> String {
    format!(
        "document.getElementById('boite-notice') && \
         document.getElementById('boite-notice').innerText.includes({text:?})"
    )
}

#[tokio::test]
async fn in_the_webmail_a_subfolder_is_created_filled_searched_renamed_and_deleted() {
    let (pane, browser) = webmail_as_marie().await;
    let server = &pane.server;

    // Pierre sends Marie an envelope.
    let (token, session) = pane
        .dev_sign_in("pierre.dupond@chu-dev.fr", PASSPHRASE)
        .await;
    let sent = server
        .send_envelope(
            (&token, &session),
            &serde_json::json!({
                "to": ["marie.curie@chu-dev.fr"], "cc": [],
                "subject": "Résultats de M. BLANC",
                "body_html": "<p>Bonjour</p>",
            }),
            &[],
        )
        .await;
    assert_eq!(sent.status(), 201);
    browser.click("#folder-sent").await;
    browser.click("#folder-inbox").await;
    browser
        .wait_until("document.querySelectorAll('.envelope-row').length === 1")
        .await;

    // « Gérer les dossiers »: « Cardiologie » under « Messages reçus ».
    browser.click("#folders-manage").await;
    browser.element("#dossiers").await;
    assert!(
        browser
            .text_of("#dossiers")
            .await
            .contains("Pas de sous-dossier")
    );
    choose(&browser, "#folder-parent", "inbox").await;
    browser.fill("#folder-name", "Cardiologie").await;
    browser.click("#folder-create").await;
    browser
        .wait_until(&notice_says("Le sous-dossier « Cardiologie » a été créé."))
        .await;
    // The menu shows it once the list is read again.
    browser
        .wait_until(
            "[...document.querySelectorAll('.folders .folder')].some(b => b.innerText.includes('Cardiologie'))",
        )
        .await;
    let id = browser
        .eval(
            "(() => { const b = [...document.querySelectorAll('.folders .folder')]\
             .find(b => b.innerText.includes('Cardiologie')); return b ? b.id.slice(7) : ''; })()",
        )
        .await;
    let id = id.as_str().expect("the sub-folder in the menu").to_owned();
    assert_eq!(id.len(), 36, "{id}");

    // Selected and moved there; the inbox is empty, the sub-folder shows one unread.
    browser.click(".envelope-select").await;
    choose(&browser, "#move-target", &id).await;
    browser.click("#move-submit").await;
    browser
        .wait_until(&notice_says(
            "Le message a été déplacé dans « Cardiologie ».",
        ))
        .await;
    browser.element("#list-empty").await;
    browser
        .wait_until(&format!(
            "document.getElementById('folder-{id}').innerText.includes('(1)')"
        ))
        .await;

    // Found there by a search without accents.
    browser.click(&format!("#folder-{id}")).await;
    browser.fill("#search", "resultats").await;
    browser.click("#search-submit").await;
    browser
        .wait_until(
            "document.querySelectorAll('.envelope-row').length === 1 && \
             document.querySelector('.envelope-subject').innerText === 'Résultats de M. BLANC'",
        )
        .await;

    // From the reading screen, to « Messages supprimés ».
    browser.click(".envelope-open").await;
    browser.element("#reading-subject").await;
    choose(&browser, "#reading-move-target", "deleted").await;
    browser.click("#reading-move-submit").await;
    browser
        .wait_until(&notice_says(
            "Le message a été déplacé dans « Messages supprimés ».",
        ))
        .await;
    browser.click("#folder-deleted").await;
    browser
        .wait_until("document.querySelectorAll('.envelope-row').length === 1")
        .await;

    // Renamed in place, then deleted once confirmed.
    browser.click("#folders-manage").await;
    browser.click(".folder-rename-start").await;
    browser.fill(".folder-rename", "Cardio").await;
    browser.click(".folder-rename-save").await;
    browser
        .wait_until(&notice_says("désormais « Cardio »"))
        .await;
    // The panel shows the new name once the list is read again.
    browser
        .wait_until(
            "document.querySelector('.subfolder-name') && \
             document.querySelector('.subfolder-name').innerText === 'Cardio'",
        )
        .await;
    browser.click(".folder-delete").await;
    let asked = browser.dialog_text().await;
    assert!(
        asked.starts_with("Supprimer le sous-dossier « Cardio » ? Les messages qu'il contient retourneront dans « Messages reçus »."),
        "{asked}"
    );
    browser.client.accept_alert().await.expect("accept");
    browser
        .wait_until(&notice_says("Le sous-dossier « Cardio » a été supprimé."))
        .await;
    browser
        .wait_until(&format!("document.getElementById('folder-{id}') === null"))
        .await;
    let db = server.sqlite().await;
    assert_eq!(folder::Entity::find().count(&db).await.expect("count"), 0);
    browser.close().await;
}

#[tokio::test]
async fn a_long_inbox_pages_with_suivant_and_precedent() {
    let (pane, browser) = webmail_as_marie().await;
    let server = &pane.server;
    let (token, session) = pane
        .dev_sign_in("pierre.dupond@chu-dev.fr", PASSPHRASE)
        .await;
    for n in 0..55 {
        let sent = server
            .send_envelope(
                (&token, &session),
                &serde_json::json!({
                    "to": ["marie.curie@chu-dev.fr"], "cc": [],
                    "subject": format!("Compte rendu n° {n}"),
                    "body_html": "<p>Bonjour</p>",
                }),
                &[],
            )
            .await;
        assert_eq!(sent.status(), 201);
    }
    browser.click("#folder-sent").await;
    browser.click("#folder-inbox").await;
    browser
        .wait_until(
            "document.querySelectorAll('.envelope-row').length === 50 && \
             document.getElementById('page-position').innerText === 'Page 1 sur 2'",
        )
        .await;
    let newest = browser.text_of(".envelope-subject").await;
    assert_eq!(newest, "Compte rendu n° 54");
    browser.click("#page-next").await;
    browser
        .wait_until(
            "document.querySelectorAll('.envelope-row').length === 5 && \
             document.getElementById('page-position').innerText === 'Page 2 sur 2'",
        )
        .await;
    assert_eq!(
        browser.text_of(".envelope-subject").await,
        "Compte rendu n° 4"
    );
    browser.click("#page-previous").await;
    browser
        .wait_until(
            "document.querySelectorAll('.envelope-row').length === 50 && \
             document.getElementById('page-position').innerText === 'Page 1 sur 2'",
        )
        .await;
    assert_eq!(browser.text_of(".envelope-subject").await, newest);
    browser.close().await;
}
