//! `medimail directory import` on the real binary: counts and rejected lines printed, a
//! changed header refused with exit code 1 and a French explanation.

use medimail_e2e::{ServerOptions, base_command, free_port, run_to_end};
use medimail_server::directory::extraction::COLUMNS;

fn line(address: &str, last: &str) -> String {
    let mut cols = vec![""; 31];
    cols[0] = "PER";
    cols[1] = address;
    cols[9] = last;
    cols.join("|")
}

#[tokio::test]
async fn imports_a_file_and_refuses_a_changed_header() {
    let data = tempfile::tempdir().expect("data");
    let file = data.path().join("Extraction_Correspondance_MSSante.txt");
    let content = format!(
        "{}\n{}\n{}\nPER|court\n",
        COLUMNS.join("|"),
        line("a.martin@chu.mssante.fr", "MARTIN"),
        line("b.leroy@chu.mssante.fr", "LE ROY")
    );
    std::fs::write(&file, content).expect("write");
    let mut command = base_command(&data, free_port(), &ServerOptions::default());
    command
        .args(["directory", "import", "--source", "mssante"])
        .arg(&file);
    let out = run_to_end(command).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 entrées importées"), "{stdout}");
    assert!(
        stdout.contains("ligne 4 : 2 colonnes au lieu de 31"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("lignes/s"));

    let mut cols = COLUMNS.to_vec();
    cols.swap(0, 1);
    std::fs::write(&file, format!("{}\n", cols.join("|"))).expect("write");
    let mut command = base_command(&data, free_port(), &ServerOptions::default());
    command
        .args(["directory", "import", "--source", "mssante"])
        .arg(&file);
    let out = run_to_end(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("colonne 1") && stderr.contains("rien n'a été importé"),
        "{stderr}"
    );
}

fn full_line(address: &str, last: &str, first: &str, speciality: &str, postal: &str) -> String {
    let mut cols = vec![String::new(); 31];
    cols[0] = "PER".into();
    cols[1] = address.into();
    cols[9] = last.into();
    cols[10] = first.into();
    cols[14] = "Médecin".into();
    cols[16] = speciality.into();
    cols[18] = "CHU DE TOULOUSE".into();
    cols[27] = format!("{postal} TOULOUSE");
    cols[28] = postal.into();
    cols.join("|")
}

/// Runs `medimail ARGS…` on the server's data directory (its SQLite database).
async fn medimail(server: &medimail_e2e::Server, args: &[&str]) -> String {
    let mut command = base_command(&server.data_dir, free_port(), &ServerOptions::default());
    command.args(args);
    let out = run_to_end(command).await;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The addresses of the chips of the compose field `id`.
async fn chips(browser: &medimail_e2e::Browser, id: &str) -> Vec<String> {
    let value = browser
        .eval(&format!(
            "Array.from(document.getElementById('{id}').parentElement.querySelectorAll('.chip'))\
             .map(c => c.firstChild.textContent.trim())"
        ))
        .await;
    serde_json::from_value(value).expect("chips")
}

#[tokio::test]
async fn in_the_compose_screen_the_directory_finds_a_contact_and_adds_it_to_a_and_cc() {
    use medimail_e2e::{Identity, OfficeStub, Pane, PaneOptions};
    use std::time::Duration;
    const PASSPHRASE: &str = "Le chat dort sur le radiateur";
    let pane = Pane::start(PaneOptions {
        identity: Identity::Development,
        office_js: OfficeStub::url_outside_office,
        env: Vec::new(),
    })
    .await;
    let (sink, server) = (&pane.sink, &pane.server);
    let files = tempfile::tempdir().expect("files");
    let national = files.path().join("Extraction_Correspondance_MSSante.txt");
    std::fs::write(
        &national,
        format!(
            "{}\n{}\n{}\n",
            COLUMNS.join("|"),
            full_line("l.dupont@clinique.mssante.fr", "DUPONT", "Luc", "", "31300"),
            full_line(
                "b.dupont@chu-toulouse.mssante.fr",
                "DUPONT-MOREAU",
                "Bénédicte",
                "Cardiologie",
                "31059"
            ),
        ),
    )
    .expect("write");
    let regional = files.path().join("regional.txt");
    std::fs::write(
        &regional,
        format!(
            "{}\n{}\n",
            COLUMNS.join("|"),
            full_line("m.dupontel@ght-ouest.fr", "DUPONTEL", "Marc", "", "35000")
        ),
    )
    .expect("write");
    let national = national.display().to_string();
    let regional = regional.display().to_string();
    medimail(
        server,
        &["directory", "import", "--source", "mssante", &national],
    )
    .await;
    medimail(
        server,
        &["directory", "import", "--source", "regional", &regional],
    )
    .await;

    let browser = pane.open_pane((360, 900), &[], "").await;
    browser.click("#dev-continue").await;
    browser.fill("#choose-passphrase", PASSPHRASE).await;
    // The account exists now: MSSanté activated by the administrator.
    let said = medimail(
        server,
        &[
            "account",
            "set",
            "--mailbox",
            "marie.curie@chu-dev.fr",
            "--mssante",
            "on",
        ],
    )
    .await;
    assert!(said.contains("MSSanté activée"), "{said}");
    browser.fill("#choose-confirmation", PASSPHRASE).await;
    browser.click("#choose-submit").await;
    browser.click("#request-code").await;
    let code = sink.wait_for(1, Duration::from_secs(30)).await[0].code();
    browser.authenticate(&code, PASSPHRASE).await;
    browser.element("#signed-in").await;

    browser.click("#new-message").await;
    browser.click("#directory-toggle").await;
    browser.element("#directory").await;
    browser
        .wait_until(
            "document.getElementById('directory-status').textContent.startsWith('Aucun favori')",
        )
        .await;
    // Fewer than 3 characters: the manual's message, no search.
    browser.fill("#directory-last-name", "du").await;
    browser
        .wait_until(
            "document.getElementById('directory-status').textContent.includes('3 caractères minimum dans un champ')",
        )
        .await;
    // Annuaire Medimail: the regional entry, added to "À" with its button.
    browser.fill("#directory-last-name", "dupon").await;
    browser
        .wait_until("document.querySelectorAll('#directory-results .directory-row').length === 1")
        .await;
    assert_eq!(
        browser
            .text_of("#directory-results .directory-row .directory-name")
            .await,
        "DUPONTEL Marc 35000"
    );
    browser
        .click("#directory-results .directory-row .directory-add-to")
        .await;
    assert_eq!(
        chips(&browser, "compose-to").await,
        ["m.dupontel@ght-ouest.fr"]
    );

    // Annuaire MSSanté: the national entries, exact name first; keyboard only.
    browser.click("#directory-mssante").await;
    browser
        .wait_until(
            "Array.from(document.querySelectorAll('#directory-results .directory-row')).map(r => r.dataset.address).join() === 'l.dupont@clinique.mssante.fr,b.dupont@chu-toulouse.mssante.fr'",
        )
        .await;
    let rows: Vec<String> = serde_json::from_value(
        browser
            .eval("Array.from(document.querySelectorAll('#directory-results .directory-name')).map(r => r.textContent)")
            .await,
    )
    .expect("rows");
    assert_eq!(rows, ["DUPONT Luc 31300", "DUPONT-MOREAU Bénédicte 31059"]);
    browser
        .eval("document.querySelector('#directory-results .directory-row').focus()")
        .await;
    browser
        .element(":focus")
        .await
        .send_keys("\u{E015}")
        .await
        .expect("arrow down");
    assert_eq!(
        browser.eval("document.activeElement.dataset.address").await,
        "b.dupont@chu-toulouse.mssante.fr"
    );
    // Focus shows the details: speciality, organisation, MSSanté address.
    let details = browser
        .eval("(() => { const d = document.activeElement.querySelector('.directory-details'); return getComputedStyle(d).display + ' ' + d.textContent; })()")
        .await;
    let details = details.as_str().expect("details");
    assert!(details.starts_with("grid"), "{details}");
    for wanted in [
        "Cardiologie",
        "CHU DE TOULOUSE",
        "Adresse MSSanté",
        "b.dupont@chu-toulouse.mssante.fr",
        "Médecin",
    ] {
        assert!(details.contains(wanted), "{wanted} in {details}");
    }
    let hidden = browser
        .eval("getComputedStyle(document.querySelector('#directory-results .directory-row .directory-details')).display")
        .await;
    assert_eq!(hidden, "none", "details of an unfocused row stay hidden");
    browser
        .element(":focus")
        .await
        .send_keys("\u{E007}")
        .await
        .expect("enter");
    assert_eq!(
        chips(&browser, "compose-to").await,
        [
            "m.dupontel@ght-ouest.fr",
            "b.dupont@chu-toulouse.mssante.fr"
        ]
    );
    browser
        .click("#directory-results .directory-row .directory-add-cc")
        .await;
    assert_eq!(
        chips(&browser, "compose-cc").await,
        ["l.dupont@clinique.mssante.fr"]
    );

    // A favorite: starred, then listed when the fields are empty.
    browser
        .click("#directory-results .directory-row .directory-star")
        .await;
    browser
        .wait_until("document.getElementById('directory-status').textContent.includes('ajouté aux favoris')")
        .await;
    browser.fill("#directory-last-name", "d").await;
    browser
        .element("#directory-last-name")
        .await
        .send_keys("\u{E003}")
        .await
        .expect("backspace");
    browser
        .wait_until("document.getElementById('directory-status').textContent.startsWith('Favoris')")
        .await;
    assert_eq!(
        browser.eval("Array.from(document.querySelectorAll('#directory-results .directory-row')).map(r => r.dataset.address + ' ' + r.querySelector('.directory-star').getAttribute('aria-pressed')).join()").await,
        "l.dupont@clinique.mssante.fr true"
    );
    // Échap closes the directory; the recipients stay.
    browser
        .element("#directory-first-name")
        .await
        .send_keys("\u{E00C}")
        .await
        .expect("escape");
    browser
        .wait_until("document.getElementById('directory') === null && document.activeElement.id === 'directory-toggle'")
        .await;
    assert_eq!(chips(&browser, "compose-to").await.len(), 2);

    // « Liste rouge : ne pas apparaître dans les annuaires », in « Paramètres du compte »
    // › « Identité » (the webmail's screen, framed over the pane).
    browser.click("#open-parametres").await;
    let frame = browser.element("iframe#parametres-frame").await;
    frame.enter_frame().await.expect("into the settings");
    browser.click("#identite > summary").await;
    browser.element("#identite-form").await;
    browser.click("#identite-liste-rouge").await;
    browser.click("#identite-save").await;
    browser
        .wait_until(
            "((document.getElementById('identite-saved') || {}).textContent || '').includes('enregistrées')",
        )
        .await;
    browser.click("#parametres-retour").await;
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("back to the pane");
    browser
        .wait_until("document.getElementById('parametres-frame') === null")
        .await;
    // What the pane leaves to the webmail (sub-folders managed, the draft) is one link
    // away, in the browser.
    assert_eq!(
        browser
            .eval("(l => [new URL(l.href).pathname, l.target, l.rel])(document.getElementById('open-webmail'))")
            .await,
        serde_json::json!(["/", "_blank", "noopener"])
    );
    let db = server.sqlite().await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let account = medimail_server::account::entity::account::Entity::find()
        .filter(
            medimail_server::account::entity::account::Column::Mailbox.eq("marie.curie@chu-dev.fr"),
        )
        .one(&db)
        .await
        .expect("q")
        .expect("account");
    assert!(account.liste_rouge, "stored");
    browser.close().await;
}
