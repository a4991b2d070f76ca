//! Searching the directories: names by any part, ignoring accents and punctuation, exact
//! word first; through the router, the MSSanté gate of the national directory, every
//! webmail criterion, the 3-character rule, the Medimail directory (accounts and the
//! regional extraction) and the liste rouge, which never comes back.

use medimail_server::directory::import::{ExtractionFile, import_extraction};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::common::*;
use crate::{Directories, SEARCH, addresses_of, file, get_json, line, national_search};

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
            test_start(),
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
        let top_rows = medimail_server::directory::entity::directory_top::Entity::find()
            .filter(medimail_server::directory::entity::directory_top::Column::Key.eq("n:mar"))
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

#[tokio::test]
async fn the_national_directory_needs_mssante_activated() {
    for db in databases().await {
        let d = Directories::imported(&db).await;
        let (status, body) = d
            .as_me(
                "GET",
                &format!("{SEARCH}?annuaire=mssante&nom=dupont"),
                None,
            )
            .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "directory_mssante_not_enabled");
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn national_names_come_exact_word_first_with_their_details() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, body) = d.as_me("GET", &national_search("nom=dupont"), None).await;
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
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn the_liste_rouge_never_comes_back_from_the_national_directory() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (_, body) = d.as_me("GET", &national_search("nom=rouge"), None).await;
        assert_eq!(addresses_of(&body), Vec::<String>::new(), "liste rouge");
        let (_, body) = d.as_me("GET", &national_search("rpps=810005"), None).await;
        assert_eq!(addresses_of(&body), Vec::<String>::new(), "liste rouge");
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn every_webmail_criterion_narrows_the_national_search() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
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
            let (status, body) = d.as_me("GET", &national_search(query), None).await;
            assert_eq!(status, 200, "{query}: {body}");
            assert_eq!(addresses_of(&body), expected, "{query}");
        }
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_criterion_under_three_characters_is_refused_in_french_with_a_stable_code() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, body) = d
            .as_me("GET", &national_search("nom=du&prenom=lu"), None)
            .await;
        assert_eq!(status, 400);
        assert_eq!(body["code"], "directory_criteria_too_short");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("3 caractères minimum dans un champ")
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn an_unknown_directory_is_refused() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, body) = d
            .as_me("GET", &format!("{SEARCH}?annuaire=autre&nom=dupont"), None)
            .await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("directory_unknown"))
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn the_medimail_directory_lists_the_accounts_then_the_regional_entries() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, body) = d.as_me("GET", &format!("{SEARCH}?nom=dupon"), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            addresses_of(&body),
            ["pierre.dupond@chu-dev.fr", "m.dupontel@ght-ouest.fr"]
        );
        assert_eq!(body["results"][0]["kind"], "COMPTE");
        assert_eq!(body["results"][0]["last_name"], "DUPOND");
        assert_eq!(body["results"][0]["first_name"], "Pierre");
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn an_account_on_the_liste_rouge_is_not_in_the_medimail_directory() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (_, body) = d.as_me("GET", &format!("{SEARCH}?nom=rouge"), None).await;
        assert_eq!(
            addresses_of(&body),
            Vec::<String>::new(),
            "liste rouge account"
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn searching_needs_a_session() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, _) = get_json(
            &d.state,
            &(d.me.0.clone(), "pas-une-session".into()),
            "GET",
            &national_search("nom=dupont"),
            None,
        )
        .await;
        assert_eq!(status, 401);
        db.drop_postgres().await;
    }
}

/// What one session can make the directory do is bounded (issue 15, item 4): "m m m …"
/// is not 3 characters; 50 words typed drive the index by their 3 longest only and
/// still find the right contact; 100 searches at once from one session get the
/// minute's allowance, the rest a clear refusal with the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn searches_are_bounded_in_words_and_pace() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let spaced = vec!["m"; 50].join("%20");
        let (status, body) = d
            .as_me("GET", &national_search(&format!("nom={spaced}")), None)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "directory_criteria_too_short");

        // Fifty words, the real name among them: found, and as fast as a normal search.
        let mut words = vec!["dupont".to_owned(), "luc".to_owned()];
        words.extend((0..48u8).map(|i| ((b'a' + i % 26) as char).to_string()));
        let (status, body) = d
            .as_me(
                "GET",
                &national_search(&format!("nom={}", words[..1].join("%20"))),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let started = std::time::Instant::now();
        let (status, body) = d
            .as_me(
                "GET",
                &national_search(&format!(
                    "nom=dupont%20dupont%20dupont&prenom={}",
                    words[1..].join("%20")
                )),
                None,
            )
            .await;
        eprintln!("BENCH directory: 50 words typed: {:?}", started.elapsed());
        assert_eq!(status, 200, "{body}");
        // Every typed word must match: "a", "b"… are prefixes of nothing in Luc DUPONT.
        assert_eq!(addresses_of(&body), Vec::<String>::new());
        let (status, body) = d
            .as_me(
                "GET",
                &national_search("nom=dupont%20dupont%20dup%20d&prenom=luc%20lu%20l"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(addresses_of(&body), ["l.dupont@clinique.mssante.fr"]);

        // The pace: 100 at once from one session (4 were run above).
        let path = national_search("nom=dupont");
        let answers =
            futures::future::join_all((0..100).map(|_| d.as_me("GET", &path, None))).await;
        let ok = answers.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(
            ok,
            medimail_api::directory::SEARCHES_PER_MINUTE as usize - 4,
            "the minute's allowance, whatever the concurrency"
        );
        let refused = answers
            .iter()
            .find(|(s, _)| *s == 429)
            .expect("refused searches");
        assert_eq!(refused.1["code"], "directory_rate_limited");
        assert!(
            refused.1["message"]
                .as_str()
                .unwrap_or("")
                .contains("patientez"),
            "{}",
            refused.1
        );
        // A minute later the session searches again.
        d.state.clock.advance(chrono::Duration::seconds(61));
        let (status, _) = d.as_me("GET", &national_search("nom=dupont"), None).await;
        assert_eq!(status, 200);
        db.drop_postgres().await;
    }
}
