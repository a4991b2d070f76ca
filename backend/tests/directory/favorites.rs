//! Favorites: a contact of a directory starred by the caller, listed when the search is
//! empty and by `GET /api/directory/favorites` (by name), kept per directory and per
//! account, hidden once the contact goes on the liste rouge.

use serde_json::json;

use crate::common::*;
use crate::{Directories, SEARCH, addresses_of, get_json, national_search};

impl Directories {
    /// Pierre stars `address` of `annuaire`; the star is set-up, so it must succeed.
    async fn starred(&self, annuaire: &str, address: &str) {
        let (status, body) = self
            .as_me(
                "POST",
                "/api/directory/favorites",
                Some(json!({"annuaire": annuaire, "address": address})),
            )
            .await;
        assert_eq!(status, 201, "set-up: {address} starred: {body}");
    }

    /// Pierre's favorites, in the order the server lists them.
    async fn favorites(&self) -> Vec<String> {
        let (_, body) = self.as_me("GET", "/api/directory/favorites", None).await;
        addresses_of(&body)
    }
}

#[tokio::test]
async fn with_no_favorite_an_empty_search_says_so() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, body) = d.as_me("GET", &national_search(""), None).await;
        assert_eq!(status, 200);
        assert_eq!(body["favorites_only"], true);
        assert!(
            body["hint"]
                .as_str()
                .expect("hint")
                .starts_with("Aucun favori")
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_starred_contact_is_listed_by_an_empty_search_with_its_directory_details() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, body) = d
            .as_me(
                "POST",
                "/api/directory/favorites",
                Some(json!({"annuaire": "mssante", "address": "B.Dupont@chu-toulouse.mssante.fr"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body["last_name"], "DUPONT-MOREAU",
            "details from the directory"
        );
        let (_, body) = d.as_me("GET", &national_search(""), None).await;
        assert_eq!(addresses_of(&body), ["b.dupont@chu-toulouse.mssante.fr"]);
        assert_eq!(body["results"][0]["favorite"], true);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn only_a_contact_of_the_directory_not_on_the_liste_rouge_can_be_starred() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        for unknown in ["personne@nulle.part", "rose.rouge@chu-dev.fr"] {
            let (status, body) = d
                .as_me(
                    "POST",
                    "/api/directory/favorites",
                    Some(json!({"annuaire": "mssante", "address": unknown})),
                )
                .await;
            assert_eq!(status, 404, "{unknown}");
            assert_eq!(body["code"], "directory_contact_unknown");
        }
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn favorites_are_listed_by_name_and_hide_a_contact_gone_on_the_liste_rouge() {
    use medimail_server::account::entity::account;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    for db in databases().await {
        let d = Directories::activated(&db).await;
        d.starred("mssante", "B.Dupont@chu-toulouse.mssante.fr")
            .await;
        let (status, _) = d
            .as_me(
                "POST",
                "/api/directory/favorites",
                Some(json!({"annuaire": "medimail", "address": "pierre.dupond@chu-dev.fr"})),
            )
            .await;
        assert_eq!(status, 201);
        // By name: DUPOND before DUPONT-MOREAU.
        assert_eq!(
            d.favorites().await,
            [
                "pierre.dupond@chu-dev.fr",
                "b.dupont@chu-toulouse.mssante.fr"
            ]
        );
        // A starred contact who goes on the liste rouge disappears from the favorites.
        let mine = account::Entity::find()
            .filter(account::Column::Mailbox.eq("pierre.dupond@chu-dev.fr"))
            .one(&d.state.db)
            .await
            .expect("q")
            .expect("account");
        let mut red_now: account::ActiveModel = mine.into();
        red_now.liste_rouge = Set(true);
        red_now.update(&d.state.db).await.expect("updated");
        assert_eq!(d.favorites().await, ["b.dupont@chu-toulouse.mssante.fr"]);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn removing_a_favorite_of_one_directory_keeps_those_of_the_other() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        d.starred("mssante", "B.Dupont@chu-toulouse.mssante.fr")
            .await;
        d.starred("medimail", "pierre.dupond@chu-dev.fr").await;
        let (status, _) = d
            .as_me(
                "DELETE",
                "/api/directory/favorites/medimail/pierre.dupond@chu-dev.fr",
                None,
            )
            .await;
        assert_eq!(status, 204);
        let (_, body) = d
            .as_me("GET", &format!("{SEARCH}?annuaire=medimail"), None)
            .await;
        assert_eq!(addresses_of(&body), Vec::<String>::new(), "per directory");
        let (_, body) = d.as_me("GET", &national_search("nom=dupont"), None).await;
        assert_eq!(body["results"][1]["favorite"], true);
        assert_eq!(body["results"][0]["favorite"], false);
        let (status, _) = d
            .as_me(
                "DELETE",
                "/api/directory/favorites/mssante/b.dupont@chu-toulouse.mssante.fr",
                None,
            )
            .await;
        assert_eq!(status, 204);
        let (_, body) = d.as_me("GET", &national_search(""), None).await;
        assert_eq!(addresses_of(&body), Vec::<String>::new());
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn another_account_does_not_see_my_favorites() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        d.starred("mssante", "B.Dupont@chu-toulouse.mssante.fr")
            .await;
        let (_, body) = get_json(&d.state, &d.red, "GET", &national_search(""), None).await;
        assert_eq!(addresses_of(&body), Vec::<String>::new());
        db.drop_postgres().await;
    }
}

/// The 200-favorite limit holds when the stars arrive all at once: 250 different contacts
/// starred concurrently, exactly 200 kept, every other request refused `favorites_full`.
#[tokio::test]
async fn the_favorites_limit_holds_under_concurrent_stars() {
    use medimail_server::directory::import::{ExtractionFile, import_extraction};
    const CONTACTS: usize = 250;
    const LIMIT: usize = medimail_api::directory::MAX_FAVORITES as usize;
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let lines: Vec<String> = (0..CONTACTS)
            .map(|i| {
                crate::line(
                    "PER",
                    &format!("contact{i:03}@chu-test.mssante.fr"),
                    &format!("NOM{i:03}"),
                    "Prénom",
                )
            })
            .collect();
        import_extraction(
            &state.db,
            "regional",
            ExtractionFile::Bytes(std::sync::Arc::new(crate::file(&lines))),
            state.clock.now(),
            |_| {},
        )
        .await
        .expect("imported");
        let stars = (0..CONTACTS).map(|i| {
            let (state, me) = (state.clone(), me.clone());
            tokio::spawn(async move {
                get_json(
                    &state,
                    &me,
                    "POST",
                    "/api/directory/favorites",
                    Some(json!({
                        "annuaire": "medimail",
                        "address": format!("contact{i:03}@chu-test.mssante.fr"),
                    })),
                )
                .await
            })
        });
        let mut created = 0;
        let mut full = 0;
        for answer in futures::future::join_all(stars).await {
            let (status, body) = answer.expect("task");
            match status.as_u16() {
                201 => created += 1,
                409 if body["code"] == "favorites_full" => full += 1,
                other => panic!("unexpected answer {other}: {body}"),
            }
        }
        assert_eq!((created, full), (LIMIT, CONTACTS - LIMIT));
        let (_, body) = get_json(&state, &me, "GET", "/api/directory/favorites", None).await;
        assert_eq!(addresses_of(&body).len(), LIMIT);
        db.drop_postgres().await;
    }
}
