//! Importing the national extraction, on SQLite and on PostgreSQL when `DATABASE_URL` is
//! set: rows and name keys written, malformed lines reported and skipped, duplicates
//! counted, a bad header refused before anything is written, and a re-import replacing
//! the snapshot.

use medimail_server::directory::extraction::COLUMNS;
use medimail_server::directory::import::{
    ExtractionFile, ImportError, Progress, import_extraction,
};
use medimail_server::entity::{directory_entry, directory_key, directory_snapshot};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

mod common;
use common::*;

fn line(kind: &str, address: &str, last: &str, first: &str) -> String {
    let mut cols = vec![String::new(); 31];
    cols[0] = kind.into();
    cols[1] = address.into();
    cols[9] = last.into();
    cols[10] = first.into();
    cols[28] = "75012".into();
    cols.join("|")
}

fn file(lines: &[String]) -> Vec<u8> {
    let mut out = COLUMNS.join("|").into_bytes();
    out.extend_from_slice(b"\r\n");
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[tokio::test]
async fn imports_reports_bad_lines_and_replaces_the_snapshot_on_reimport() {
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let mut bytes = file(&[
            line(
                "PER",
                "benedicte.dupont@chu.mssante.fr",
                "DUPONT-MOREAU",
                "Bénédicte",
            ),
            line("PER", "jeanne.darc@chu.mssante.fr", "d'Arc", "Jeanne"),
            "PER|trop|court".to_owned(),
            line("PER", "Benedicte.Dupont@chu.mssante.fr", "DUPONT", "B"),
            line("ORG", "pas-une-adresse", "", ""),
        ]);
        bytes.extend_from_slice(b"PER|\xff\xfe|x\r\n");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let report = import_extraction(
            &conn,
            "mssante",
            ExtractionFile::Bytes(bytes.into()),
            chrono::Utc::now(),
            {
                let seen = seen.clone();
                move |p| seen.lock().expect("lock").push(p)
            },
        )
        .await
        .expect("imported");
        assert_eq!(report.imported, 2);
        assert_eq!(report.duplicates, 1);
        let reasons: Vec<(u64, &str)> = report
            .rejected
            .iter()
            .map(|(n, r)| (*n, r.as_str()))
            .collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert_eq!(reasons[0], (4, "3 colonnes au lieu de 31"));
        assert_eq!(reasons[1].0, 6);
        assert!(reasons[2].1.contains("UTF-8"), "{reasons:?}");
        let seen = seen.lock().expect("lock").clone();
        assert!(
            seen.contains(&Progress::Writing {
                written: 2,
                total: 2
            }),
            "progress reported: {seen:?}"
        );
        let keys: Vec<String> = directory_key::Entity::find()
            .filter(directory_key::Column::SnapshotId.eq(report.snapshot_id))
            .all(&conn)
            .await
            .expect("q")
            .into_iter()
            .map(|k| k.key)
            .collect();
        for wanted in [
            "n:dupont",
            "n:moreau",
            "n:dupontmoreau",
            "p:benedicte",
            "n:darc",
        ] {
            assert!(keys.iter().any(|k| k == wanted), "{wanted} in {keys:?}");
        }

        // A bad header: refused, nothing written, the active snapshot untouched.
        let mut cols = COLUMNS.to_vec();
        cols.swap(9, 10);
        let bad = format!("{}\n{}\n", cols.join("|"), line("PER", "x@y.fr", "A", "B"));
        let refused = import_extraction(
            &conn,
            "mssante",
            ExtractionFile::Bytes(bad.into_bytes().into()),
            chrono::Utc::now(),
            |_| {},
        )
        .await;
        assert!(matches!(refused, Err(ImportError::Header(_))));
        assert_eq!(
            directory_entry::Entity::find()
                .count(&conn)
                .await
                .expect("q"),
            2
        );

        // A re-import replaces the snapshot.
        let second = import_extraction(
            &conn,
            "mssante",
            ExtractionFile::Bytes(
                file(&[line("PER", "nouveau@chu.mssante.fr", "NOUVEAU", "Né")]).into(),
            ),
            chrono::Utc::now(),
            |_| {},
        )
        .await
        .expect("imported");
        assert_ne!(second.snapshot_id, report.snapshot_id);
        let snapshots = directory_snapshot::Entity::find()
            .all(&conn)
            .await
            .expect("q");
        assert_eq!(snapshots.len(), 1, "the old snapshot is gone");
        assert_eq!(snapshots[0].state, "active");
        assert_eq!(snapshots[0].rows, 1);
        let entries = directory_entry::Entity::find().all(&conn).await.expect("q");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].address, "nouveau@chu.mssante.fr");
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn finds_names_by_any_part_ignoring_accents_and_punctuation_exact_first() {
    use medimail_server::directory::search::{Criteria, SearchError, search};
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let mut lines = vec![
            line(
                "PER",
                "b.dupont@chu.mssante.fr",
                "DUPONT-MOREAU",
                "Bénédicte",
            ),
            line("PER", "j.darc@chu.mssante.fr", "d'Arc", "Jeanne"),
            line("PER", "jp.tour@chu.mssante.fr", "DE LA TOUR", "Jean-Pierre"),
            line("PER", "dup@chu.mssante.fr", "DUP", "Zoé"),
            line("PER", "dupuis@chu.mssante.fr", "DUPUIS", "Agnès"),
        ];
        for i in 0..70 {
            lines.push(line(
                "PER",
                &format!("m{i}@chu.mssante.fr"),
                "MARTIN",
                &format!("Léa{i:02}"),
            ));
        }
        lines.push(line("PER", "demarco@chu.mssante.fr", "DE MARCO", "Luigi"));
        lines.push(line("PER", "mar2@chu.mssante.fr", "MAR", "Paul"));
        lines.push(line("PER", "mar1@chu.mssante.fr", "MAR", "Anne"));
        import_extraction(
            &conn,
            "mssante",
            ExtractionFile::Bytes(file(&lines).into()),
            chrono::Utc::now(),
            |_| {},
        )
        .await
        .expect("imported");
        let find = |last: &str, first: &str| {
            let criteria = Criteria {
                last_name: last.into(),
                first_name: first.into(),
                ..Default::default()
            };
            let conn = conn.clone();
            async move { search(&conn, "mssante", &criteria).await }
        };
        let addresses = |found: &medimail_server::directory::search::Found| {
            found
                .contacts
                .iter()
                .map(|e| e.address.clone())
                .collect::<Vec<_>>()
        };
        let f = find("", "benedicte").await.expect("found");
        assert_eq!(addresses(&f), ["b.dupont@chu.mssante.fr"]);
        let f = find("moreau", "").await.expect("found");
        assert_eq!(
            addresses(&f),
            ["b.dupont@chu.mssante.fr"],
            "any part of the name"
        );
        let f = find("darc", "").await.expect("found");
        assert_eq!(addresses(&f), ["j.darc@chu.mssante.fr"]);
        let f = find("tour", "jean pierre").await.expect("found");
        assert_eq!(addresses(&f), ["jp.tour@chu.mssante.fr"]);
        // "dup": the exact word first, then the prefixes by name.
        let f = find("dup", "").await.expect("found");
        assert_eq!(
            addresses(&f),
            [
                "dup@chu.mssante.fr",
                "b.dupont@chu.mssante.fr",
                "dupuis@chu.mssante.fr"
            ]
        );
        // At most 50, with the hint flag.
        let f = find("martin", "").await.expect("found");
        assert_eq!((f.contacts.len(), f.more), (50, true));
        // A common prefix (more than `TOP` entries: read from its `directory_top` row):
        // the exact word first, then every other match in name order — "DE MARCO" sorts
        // under "d", before the MARTINs.
        let f = find("mar", "").await.expect("found");
        let shown = addresses(&f);
        assert_eq!(
            &shown[..4],
            [
                "mar1@chu.mssante.fr",
                "mar2@chu.mssante.fr",
                "demarco@chu.mssante.fr",
                "m0@chu.mssante.fr"
            ],
            "{shown:?}"
        );
        assert_eq!((shown.len(), f.more), (50, true));
        let top_rows = medimail_server::entity::directory_top::Entity::find()
            .filter(medimail_server::entity::directory_top::Column::Key.eq("n:mar"))
            .count(&conn)
            .await
            .expect("q");
        assert_eq!(top_rows, 1, "the prefix list exists");
        // The 3-character rule.
        assert!(matches!(find("du", "le").await, Err(SearchError::TooShort)));
        assert!(
            SearchError::TooShort
                .to_string()
                .contains("3 caractères minimum dans un champ")
        );
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}

/// A line with every field the webmail searches.
#[allow(clippy::too_many_arguments)]
fn full_line(
    kind: &str,
    address: &str,
    last: &str,
    first: &str,
    rpps: &str,
    profession: &str,
    speciality: &str,
    organisation: &str,
    postal: &str,
    city: &str,
) -> String {
    let mut cols = vec![String::new(); 31];
    cols[0] = kind.into();
    cols[1] = address.into();
    cols[4] = rpps.into();
    cols[9] = last.into();
    cols[10] = first.into();
    cols[14] = profession.into();
    cols[16] = speciality.into();
    cols[18] = organisation.into();
    cols[27] = format!("{postal} {city}");
    cols[28] = postal.into();
    cols[29] = postal.chars().take(2).collect();
    cols.join("|")
}

#[tokio::test]
async fn the_published_zip_imports_like_its_text_and_a_wrong_archive_is_refused() {
    use std::io::Write;
    let zip_of = |files: &[(&str, &[u8])]| {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("start");
            w.write_all(bytes).expect("write");
        }
        w.finish().expect("finish").into_inner()
    };
    let text = file(&[
        line("PER", "a.martin@chu.mssante.fr", "MARTIN", "Anne"),
        line("ORG", "secretariat@chu.mssante.fr", "", ""),
    ]);
    let db = TestDb::sqlite().await;
    let conn = medimail_server::db::connect_and_migrate(&db.url)
        .await
        .expect("migrated");
    let report = import_extraction(
        &conn,
        "mssante",
        ExtractionFile::Bytes(zip_of(&[("Extraction_Correspondance_MSSante.txt", &text)]).into()),
        chrono::Utc::now(),
        |_| {},
    )
    .await
    .expect("imported from the zip");
    assert_eq!(report.imported, 2);
    let refused = import_extraction(
        &conn,
        "mssante",
        ExtractionFile::Bytes(zip_of(&[("a.txt", &text), ("b.txt", &text)]).into()),
        chrono::Utc::now(),
        |_| {},
    )
    .await;
    match refused {
        Err(ImportError::Zip(reason)) => {
            assert!(reason.contains("un seul fichier .txt"), "{reason}")
        }
        other => panic!("refused expected, got {other:?}"),
    }
    let truncated = zip_of(&[("x.txt", &text)]);
    let refused = import_extraction(
        &conn,
        "mssante",
        ExtractionFile::Bytes(truncated[..truncated.len() / 2].to_vec().into()),
        chrono::Utc::now(),
        |_| {},
    )
    .await;
    assert!(matches!(refused, Err(ImportError::Zip(_))), "{refused:?}");
    assert_eq!(
        directory_entry::Entity::find()
            .count(&conn)
            .await
            .expect("q"),
        2,
        "the refused archives changed nothing"
    );
}

async fn get_json(
    state: &medimail_server::state::AppState,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (axum::http::StatusCode, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", auth.0))
        .header(medimail_api::SESSION_HEADER, &auth.1);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(axum::body::Body::from(
            body.map(|b| b.to_string()).unwrap_or_default(),
        ))
        .expect("request");
    let r = medimail_server::http::app(state.clone())
        .oneshot(request)
        .await
        .expect("answer");
    let status = r.status();
    let bytes = r.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn addresses_of(v: &serde_json::Value) -> Vec<String> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| c["address"].as_str().expect("address").to_owned())
        .collect()
}

#[tokio::test]
async fn the_api_searches_both_directories_with_the_webmail_criteria_liste_rouge_and_favorites() {
    use medimail_server::entity::account;
    use sea_orm::{ActiveModelTrait, Set};
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let red = signed_in_as(&state, "rose.rouge@chu-dev.fr", "Rose ROUGE").await;
        let _ = red;
        let national = file(&[
            full_line(
                "PER",
                "b.dupont@chu-toulouse.mssante.fr",
                "DUPONT-MOREAU",
                "Bénédicte",
                "810001234567",
                "Médecin",
                "Cardiologie",
                "CHU DE TOULOUSE",
                "31059",
                "TOULOUSE CEDEX 9",
            ),
            full_line(
                "PER",
                "l.dupont@clinique.mssante.fr",
                "DUPONT",
                "Luc",
                "810009999999",
                "Infirmier",
                "",
                "CLINIQUE PASTEUR",
                "31300",
                "TOULOUSE",
            ),
            full_line(
                "PER",
                "rose.rouge@chu-dev.fr",
                "ROUGE",
                "Rose",
                "810005555555",
                "Médecin",
                "",
                "CHU DEV",
                "75012",
                "PARIS",
            ),
            full_line(
                "ORG",
                "secretariat.cardio@chu-toulouse.mssante.fr",
                "",
                "",
                "",
                "",
                "",
                "CHU DE TOULOUSE",
                "31059",
                "TOULOUSE CEDEX 9",
            ),
        ]);
        let regional = file(&[full_line(
            "PER",
            "m.dupontel@ght-ouest.fr",
            "DUPONTEL",
            "Marc",
            "",
            "Pharmacien",
            "",
            "GHT OUEST",
            "35000",
            "RENNES",
        )]);
        import_extraction(
            &state.db,
            "mssante",
            ExtractionFile::Bytes(national.into()),
            chrono::Utc::now(),
            |_| {},
        )
        .await
        .expect("national");
        import_extraction(
            &state.db,
            "regional",
            ExtractionFile::Bytes(regional.into()),
            chrono::Utc::now(),
            |_| {},
        )
        .await
        .expect("regional");
        let search = "/api/directory/search";

        // The national directory needs MSSanté activated.
        let (status, body) = get_json(
            &state,
            &me,
            "GET",
            &format!("{search}?annuaire=mssante&nom=dupont"),
            None,
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "directory_mssante_not_enabled");
        let mut rows = account::Entity::find().all(&state.db).await.expect("q");
        for a in rows.drain(..) {
            let mut a: account::ActiveModel = a.into();
            let mailbox = a.mailbox.clone().unwrap().unwrap_or_default();
            a.mssante_enabled = Set(true);
            a.liste_rouge = Set(mailbox == "rose.rouge@chu-dev.fr");
            a.update(&state.db).await.expect("updated");
        }
        let national_search = |q: &str| format!("{search}?annuaire=mssante&{q}");

        // Names, exact before prefix; the liste rouge never comes back.
        let (status, body) =
            get_json(&state, &me, "GET", &national_search("nom=dupont"), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            addresses_of(&body),
            [
                "l.dupont@clinique.mssante.fr",
                "b.dupont@chu-toulouse.mssante.fr"
            ]
        );
        assert_eq!(body["more"], false);
        let first = &body["results"][1];
        assert_eq!(first["last_name"], "DUPONT-MOREAU");
        assert_eq!(first["postal_code"], "31059");
        assert_eq!(first["city"], "TOULOUSE CEDEX 9");
        assert_eq!(first["speciality"], "Cardiologie");
        assert_eq!(first["organisation"], "CHU DE TOULOUSE");
        let (_, body) = get_json(&state, &me, "GET", &national_search("nom=rouge"), None).await;
        assert_eq!(addresses_of(&body), Vec::<String>::new(), "liste rouge");
        let (_, body) = get_json(&state, &me, "GET", &national_search("rpps=810005"), None).await;
        assert_eq!(addresses_of(&body), Vec::<String>::new(), "liste rouge");

        // The webmail's other criteria.
        for (query, expected) in [
            // An organisation's mailbox is ranked by its raison sociale.
            (
                "raison_sociale=chu%20toulouse",
                vec![
                    "secretariat.cardio@chu-toulouse.mssante.fr",
                    "b.dupont@chu-toulouse.mssante.fr",
                ],
            ),
            (
                "raison_sociale=pasteur",
                vec!["l.dupont@clinique.mssante.fr"],
            ),
            ("rpps=8100012", vec!["b.dupont@chu-toulouse.mssante.fr"]),
            ("code_postal=313", vec!["l.dupont@clinique.mssante.fr"]),
            (
                "ville=toulouse&nom=dup",
                vec![
                    "l.dupont@clinique.mssante.fr",
                    "b.dupont@chu-toulouse.mssante.fr",
                ],
            ),
            (
                "nom=dupont&profession=infirm",
                vec!["l.dupont@clinique.mssante.fr"],
            ),
            (
                "nom=dupont&specialite=cardio",
                vec!["b.dupont@chu-toulouse.mssante.fr"],
            ),
            (
                "nom=dupont&departement=31",
                vec![
                    "l.dupont@clinique.mssante.fr",
                    "b.dupont@chu-toulouse.mssante.fr",
                ],
            ),
            ("nom=dupont&departement=75", vec![]),
            ("prenom=benedicte", vec!["b.dupont@chu-toulouse.mssante.fr"]),
        ] {
            let (status, body) = get_json(&state, &me, "GET", &national_search(query), None).await;
            assert_eq!(status, 200, "{query}: {body}");
            assert_eq!(addresses_of(&body), expected, "{query}");
        }

        // The 3-character rule, in French, with a stable code.
        let (status, body) = get_json(
            &state,
            &me,
            "GET",
            &national_search("nom=du&prenom=lu"),
            None,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["code"], "directory_criteria_too_short");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("3 caractères minimum dans un champ")
        );
        let (status, body) = get_json(
            &state,
            &me,
            "GET",
            &format!("{search}?annuaire=autre&nom=dupont"),
            None,
        )
        .await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("directory_unknown"))
        );

        // Annuaire Medimail: accounts (not on the liste rouge) and regional entries.
        let (status, body) =
            get_json(&state, &me, "GET", &format!("{search}?nom=dupon"), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            addresses_of(&body),
            ["pierre.dupond@chu-dev.fr", "m.dupontel@ght-ouest.fr"]
        );
        assert_eq!(body["results"][0]["kind"], "COMPTE");
        assert_eq!(body["results"][0]["last_name"], "DUPOND");
        assert_eq!(body["results"][0]["first_name"], "Pierre");
        let (_, body) = get_json(&state, &me, "GET", &format!("{search}?nom=rouge"), None).await;
        assert_eq!(
            addresses_of(&body),
            Vec::<String>::new(),
            "liste rouge account"
        );

        // Favorites: none, then one starred, listed when the search is empty.
        let (status, body) = get_json(&state, &me, "GET", &national_search(""), None).await;
        assert_eq!(status, 200);
        assert_eq!(body["favorites_only"], true);
        assert!(
            body["hint"]
                .as_str()
                .expect("hint")
                .starts_with("Aucun favori")
        );
        let (status, body) = get_json(
            &state,
            &me,
            "POST",
            "/api/directory/favorites",
            Some(serde_json::json!({"annuaire": "mssante", "address": "B.Dupont@chu-toulouse.mssante.fr"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body["last_name"], "DUPONT-MOREAU",
            "details from the directory"
        );
        for unknown in ["personne@nulle.part", "rose.rouge@chu-dev.fr"] {
            let (status, body) = get_json(
                &state,
                &me,
                "POST",
                "/api/directory/favorites",
                Some(serde_json::json!({"annuaire": "mssante", "address": unknown})),
            )
            .await;
            assert_eq!(status, 404, "{unknown}");
            assert_eq!(body["code"], "directory_contact_unknown");
        }
        let (_, body) = get_json(&state, &me, "GET", &national_search(""), None).await;
        assert_eq!(addresses_of(&body), ["b.dupont@chu-toulouse.mssante.fr"]);
        assert_eq!(body["results"][0]["favorite"], true);
        // A starred contact who goes on the liste rouge disappears from the favorites.
        let (status, _) = get_json(
            &state,
            &me,
            "POST",
            "/api/directory/favorites",
            Some(
                serde_json::json!({"annuaire": "medimail", "address": "pierre.dupond@chu-dev.fr"}),
            ),
        )
        .await;
        assert_eq!(status, 201);
        let favorites = |state: &medimail_server::state::AppState| {
            let state = state.clone();
            let me = me.clone();
            async move {
                let (_, body) =
                    get_json(&state, &me, "GET", "/api/directory/favorites", None).await;
                addresses_of(&body)
            }
        };
        // By name: DUPOND before DUPONT-MOREAU.
        assert_eq!(
            favorites(&state).await,
            [
                "pierre.dupond@chu-dev.fr",
                "b.dupont@chu-toulouse.mssante.fr"
            ]
        );
        let mine = account::Entity::find()
            .filter(account::Column::Mailbox.eq("pierre.dupond@chu-dev.fr"))
            .one(&state.db)
            .await
            .expect("q")
            .expect("account");
        let mut red_now: account::ActiveModel = mine.into();
        red_now.liste_rouge = Set(true);
        let mine = red_now.update(&state.db).await.expect("updated");
        assert_eq!(
            favorites(&state).await,
            ["b.dupont@chu-toulouse.mssante.fr"]
        );
        let mut back: account::ActiveModel = mine.into();
        back.liste_rouge = Set(false);
        back.update(&state.db).await.expect("updated");
        let (status, _) = get_json(
            &state,
            &me,
            "DELETE",
            "/api/directory/favorites/medimail/pierre.dupond@chu-dev.fr",
            None,
        )
        .await;
        assert_eq!(status, 204);
        let (_, body) = get_json(
            &state,
            &me,
            "GET",
            &format!("{search}?annuaire=medimail"),
            None,
        )
        .await;
        assert_eq!(addresses_of(&body), Vec::<String>::new(), "per directory");
        let (_, body) = get_json(&state, &me, "GET", &national_search("nom=dupont"), None).await;
        assert_eq!(body["results"][1]["favorite"], true);
        assert_eq!(body["results"][0]["favorite"], false);
        // Another account does not see them.
        let (_, body) = get_json(&state, &red, "GET", &national_search(""), None).await;
        assert_eq!(addresses_of(&body), Vec::<String>::new());
        let (status, _) = get_json(
            &state,
            &me,
            "DELETE",
            "/api/directory/favorites/mssante/b.dupont@chu-toulouse.mssante.fr",
            None,
        )
        .await;
        assert_eq!(status, 204);
        let (_, body) = get_json(&state, &me, "GET", &national_search(""), None).await;
        assert_eq!(addresses_of(&body), Vec::<String>::new());

        // "Visibilité dans l'annuaire": the user puts themself on the liste rouge, and back.
        let (status, body) = get_json(
            &state,
            &me,
            "PUT",
            "/api/account/visibility",
            Some(serde_json::json!({"liste_rouge": true})),
        )
        .await;
        assert_eq!(
            (status.as_u16(), &body["liste_rouge"]),
            (200, &serde_json::json!(true))
        );
        let (_, body) = get_json(&state, &me, "GET", &format!("{search}?nom=dupon"), None).await;
        assert_eq!(addresses_of(&body), ["m.dupontel@ght-ouest.fr"], "hidden");
        let (_, body) = get_json(&state, &me, "GET", "/api/me", None).await;
        assert_eq!(body["liste_rouge"], true);
        let (status, _) = get_json(
            &state,
            &me,
            "PUT",
            "/api/account/visibility",
            Some(serde_json::json!({"liste_rouge": false})),
        )
        .await;
        assert_eq!(status, 200);
        let (_, body) = get_json(&state, &me, "GET", &format!("{search}?nom=dupon"), None).await;
        assert_eq!(
            addresses_of(&body),
            ["pierre.dupond@chu-dev.fr", "m.dupontel@ght-ouest.fr"],
            "visible again"
        );
        let (status, body) = get_json(
            &state,
            &(me.0.clone(), "pas-une-session".into()),
            "PUT",
            "/api/account/visibility",
            Some(serde_json::json!({"liste_rouge": true})),
        )
        .await;
        assert_eq!(status, 401, "{body}");

        // Without a session: nothing.
        let (status, _) = get_json(
            &state,
            &(me.0.clone(), "pas-une-session".into()),
            "GET",
            &national_search("nom=dupont"),
            None,
        )
        .await;
        assert_eq!(status, 401);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_search_during_a_reimport_sees_the_old_or_the_new_snapshot_never_a_mix() {
    use medimail_server::directory::search::{Criteria, search};
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let version = |tag: &str| {
            let lines: Vec<String> = (0..6_000)
                .map(|i| {
                    line(
                        "PER",
                        &format!("martin{i}@{tag}.mssante.fr"),
                        "MARTIN",
                        &format!("Prénom{i:05}"),
                    )
                })
                .collect();
            ExtractionFile::Bytes(file(&lines).into())
        };
        import_extraction(
            &conn,
            "mssante",
            version("ancien"),
            chrono::Utc::now(),
            |_| {},
        )
        .await
        .expect("first");
        let importing = {
            let conn = conn.clone();
            tokio::spawn(async move {
                for tag in ["nouveau", "ancien", "nouveau"] {
                    import_extraction(&conn, "mssante", version(tag), chrono::Utc::now(), |_| {})
                        .await
                        .expect("re-import");
                }
            })
        };
        let criteria = Criteria {
            last_name: "mart".into(),
            ..Default::default()
        };
        let mut searches = 0;
        let mut seen = std::collections::HashSet::new();
        while !importing.is_finished() {
            let found = search(&conn, "mssante", &criteria).await.expect("search");
            assert_eq!(
                found.contacts.len(),
                50,
                "a whole page, never a half directory"
            );
            assert!(found.more);
            let domains: std::collections::HashSet<&str> = found
                .contacts
                .iter()
                .map(|c| c.address.split('@').nth(1).expect("domain"))
                .collect();
            assert_eq!(domains.len(), 1, "one snapshot per search: {domains:?}");
            seen.extend(domains.into_iter().map(str::to_owned));
            // Name order: Prénom00000, Prénom00001…
            assert_eq!(found.contacts[0].first_name.as_deref(), Some("Prénom00000"));
            searches += 1;
        }
        importing.await.expect("imports");
        assert!(searches > 5, "searches ran during the imports ({searches})");
        let found = search(&conn, "mssante", &criteria).await.expect("search");
        assert!(found.contacts[0].address.ends_with("@nouveau.mssante.fr"));
        eprintln!("{searches} searches during 3 re-imports saw {seen:?}");
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}
