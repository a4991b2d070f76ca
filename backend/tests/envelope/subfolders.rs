//! « Dossiers » (issue 18; manual part 1 §6.2) through the real router on both databases:
//! sub-folders created under each folder, their rules (names unique per parent whatever
//! the case and accents, 3 deep, 100 per account, nobody else's), renamed, deleted (their
//! envelopes back to the parent); envelopes moved for the caller only, all or none, found
//! by search in their sub-folder, counted unread per sub-folder; and the limits holding
//! when the same request arrives 100 times at once.

use axum::http::StatusCode;
use medimail_server::envelope::entity::{envelope_recipient, folder};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::*;
use crate::{call, draft, get_list, multipart, post, signed_in};

/// A JSON request: status and body.
pub(crate) async fn json_call(
    state: &medimail_server::state::AppState,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let (status, _, bytes) = call_signed_in(
        state,
        auth,
        method,
        path,
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn create(
    state: &medimail_server::state::AppState,
    auth: &(String, String),
    parent: &str,
    name: &str,
) -> (StatusCode, Value) {
    json_call(
        state,
        auth,
        "POST",
        medimail_api::paths::FOLDERS,
        json!({"parent": parent, "name": name}),
    )
    .await
}

/// « Déplacer vers »: status and body.
pub(crate) async fn move_to(
    state: &medimail_server::state::AppState,
    auth: &(String, String),
    references: &[&str],
    target: &str,
) -> (StatusCode, Value) {
    json_call(
        state,
        auth,
        "POST",
        medimail_api::paths::ENVELOPES_MOVE,
        json!({"references": references, "target": target}),
    )
    .await
}

fn code(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

fn id(answer: &(StatusCode, Value)) -> String {
    assert_eq!(answer.0, StatusCode::CREATED, "{}", answer.1);
    answer.1["id"].as_str().expect("id").to_owned()
}

fn total(list: &Value) -> u64 {
    list["total"].as_u64().unwrap_or(999)
}

#[tokio::test]
async fn subfolders_keep_their_rules_and_belong_to_their_account() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;

        let cardio = id(&create(&state, &marie, "inbox", "  Cardiologie ").await);
        // Sealed at rest: the row does not show the name.
        let conn = sea_orm::Database::connect(&db.url).await.expect("db");
        let row = folder::Entity::find_by_id(cardio.clone())
            .one(&conn)
            .await
            .expect("q")
            .expect("row");
        assert!(!row.name_sealed.contains("Cardio"));
        assert_eq!(row.depth, 1);

        // Unique per parent, whatever the case and accents; the same name elsewhere is fine.
        assert_eq!(
            code(&create(&state, &marie, "inbox", "CARDIOLOGIE").await),
            (StatusCode::CONFLICT, Some("folder_name_taken"))
        );
        id(&create(&state, &marie, "sent", "Cardiologie").await);
        let resultats = id(&create(&state, &marie, "inbox", "Résultats").await);
        assert_eq!(
            code(&create(&state, &marie, "inbox", "resultats").await),
            (StatusCode::CONFLICT, Some("folder_name_taken"))
        );
        assert_eq!(
            code(&create(&state, &marie, "inbox", " \n ").await),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("folder_name_missing")
            )
        );
        assert_eq!(
            code(&create(&state, &marie, "inbox", &"é".repeat(61)).await),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("folder_name_too_long")
            )
        );

        // Three deep at most.
        let two = id(&create(&state, &marie, &cardio, "Échographies").await);
        let three = id(&create(&state, &marie, &two, "2026").await);
        assert_eq!(
            code(&create(&state, &marie, &three, "Janvier").await),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("folder_too_deep"))
        );

        // Nobody else's folders: not found, whatever the request.
        assert_eq!(
            code(&create(&state, &pierre, &cardio, "Intrus").await),
            (StatusCode::NOT_FOUND, Some("folder_not_found"))
        );
        assert_eq!(
            code(&create(&state, &marie, "corbeille", "x").await),
            (StatusCode::NOT_FOUND, Some("folder_not_found"))
        );
        let path = format!("{}/{cardio}", medimail_api::paths::FOLDERS);
        assert_eq!(
            code(&json_call(&state, &pierre, "PATCH", &path, json!({"name": "Intrus"})).await),
            (StatusCode::NOT_FOUND, Some("folder_not_found"))
        );
        assert_eq!(
            call(&state, &pierre, "DELETE", &path).await,
            StatusCode::NOT_FOUND
        );
        let (status, body) = get_list(&state, &pierre, &format!("folder={cardio}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("folder_not_found"))
        );
        let (_, tree) = json_call(
            &state,
            &pierre,
            "GET",
            medimail_api::paths::FOLDERS,
            Value::Null,
        )
        .await;
        assert_eq!(tree["folders"], json!([]));

        // The tree: each folder after its parent, by name, under its top folder.
        let (status, tree) = json_call(
            &state,
            &marie,
            "GET",
            medimail_api::paths::FOLDERS,
            Value::Null,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let names: Vec<(String, String, u64)> = tree["folders"]
            .as_array()
            .expect("folders")
            .iter()
            .map(|f| {
                (
                    f["root"].as_str().unwrap_or("").to_owned(),
                    f["name"].as_str().unwrap_or("").to_owned(),
                    f["depth"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        let expected = [
            ("inbox", "Cardiologie", 1),
            ("inbox", "Échographies", 2),
            ("inbox", "2026", 3),
            ("inbox", "Résultats", 1),
            ("sent", "Cardiologie", 1),
        ];
        assert_eq!(
            names,
            expected
                .iter()
                .map(|(r, n, d)| (r.to_string(), n.to_string(), *d))
                .collect::<Vec<_>>()
        );

        // Renamed; not to a sibling's name; the top folders keep theirs.
        let (status, renamed) =
            json_call(&state, &marie, "PATCH", &path, json!({"name": "Cardio"})).await;
        assert_eq!(
            (status, renamed["name"].as_str()),
            (StatusCode::OK, Some("Cardio"))
        );
        assert_eq!(
            code(&json_call(&state, &marie, "PATCH", &path, json!({"name": "RÉSULTATS"})).await),
            (StatusCode::CONFLICT, Some("folder_name_taken"))
        );
        assert_eq!(
            code(
                &json_call(
                    &state,
                    &marie,
                    "PATCH",
                    &format!("{}/inbox", medimail_api::paths::FOLDERS),
                    json!({"name": "Boîte"})
                )
                .await
            ),
            (StatusCode::NOT_FOUND, Some("folder_not_found"))
        );

        // A folder holding sub-folders stays; emptied, it goes.
        assert_eq!(
            code(&json_call(&state, &marie, "DELETE", &path, Value::Null).await),
            (StatusCode::CONFLICT, Some("folder_has_children"))
        );
        for leaf in [&three, &two, &cardio, &resultats] {
            let (status, body) = json_call(
                &state,
                &marie,
                "DELETE",
                &format!("{}/{leaf}", medimail_api::paths::FOLDERS),
                Value::Null,
            )
            .await;
            assert_eq!((status, body["moved"].as_u64()), (StatusCode::OK, Some(0)));
        }
        let (_, tree) = json_call(
            &state,
            &marie,
            "GET",
            medimail_api::paths::FOLDERS,
            Value::Null,
        )
        .await;
        assert_eq!(tree["folders"].as_array().map(Vec::len), Some(1));
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn envelopes_are_filed_for_the_caller_only_and_come_back_when_their_folder_goes() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let mut references = Vec::new();
        for n in 0..3 {
            let mut d = draft();
            d["subject"] = json!(format!("Résultat d'analyse n°{n}"));
            let (status, sent) = post(&state, &marie, multipart(&d, &[])).await;
            assert_eq!(status, StatusCode::CREATED, "{sent}");
            references.push(sent["reference"].as_str().expect("reference").to_owned());
            state.clock.advance(chrono::Duration::seconds(1));
        }
        let refs: Vec<&str> = references.iter().map(String::as_str).collect();
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let labo = id(&create(&state, &pierre, "inbox", "Laboratoire").await);

        let (status, moved) = move_to(&state, &pierre, &refs[..2], &labo).await;
        assert_eq!(
            (status, moved["moved"].as_u64()),
            (StatusCode::OK, Some(2)),
            "{moved}"
        );
        let (_, inbox) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!(total(&inbox), 1);
        assert_eq!(inbox["unread"], 1, "the top folder counts its own");
        assert_eq!(inbox["folders"][0]["name"], "Laboratoire");
        assert_eq!(inbox["folders"][0]["unread"], 2, "{inbox}");
        let (status, filed) = get_list(&state, &pierre, &format!("folder={labo}")).await;
        assert_eq!(status, StatusCode::OK, "{filed}");
        assert_eq!((total(&filed), filed["root"].as_str()), (2, Some("inbox")));
        assert_eq!(filed["folder"], labo.as_str());
        // Found by search in its sub-folder, accents and case ignored.
        let (_, found) = get_list(&state, &pierre, &format!("folder={labo}&q=RESULTAT")).await;
        assert_eq!(total(&found), 2, "{found}");
        let (_, found) = get_list(&state, &pierre, "folder=inbox&q=resultat").await;
        assert_eq!(total(&found), 1);
        // A query with a space goes by its tags alone (the few candidates looked up by
        // id): still only what is filed where the search looks.
        for (folder, q, n) in [
            (labo.as_str(), "analyse%20n%C2%B01", 1),
            ("inbox", "analyse%20n%C2%B01", 0),
            ("inbox", "analyse%20n%C2%B02", 1),
            (labo.as_str(), "analyse%20n%C2%B02", 0),
        ] {
            let (_, found) = get_list(&state, &pierre, &format!("folder={folder}&q={q}")).await;
            assert_eq!(total(&found), n, "{folder} {q}: {found}");
        }
        // The sender's view and the other recipient's are untouched.
        assert_eq!(total(&get_list(&state, &marie, "folder=sent").await.1), 3);
        let sophie = signed_in(&state, "s.pateney@chu-dev.fr").await;
        assert_eq!(total(&get_list(&state, &sophie, "folder=inbox").await.1), 3);

        // A received envelope does not go under « Messages envoyés »; all or none.
        let classe = id(&create(&state, &pierre, "sent", "Classé").await);
        assert_eq!(
            code(&move_to(&state, &pierre, &refs, &classe).await),
            (StatusCode::CONFLICT, Some("move_not_allowed"))
        );
        let mine = id(&create(&state, &marie, "sent", "Biologie").await);
        // An envelope Marie has no part in.
        let mut elsewhere = draft();
        elsewhere["to"] = json!(["autre@chu-dev.fr"]);
        let (_, sophies) = post(&state, &sophie, multipart(&elsewhere, &[])).await;
        let foreign = sophies["reference"].as_str().expect("reference");
        assert_eq!(
            move_to(&state, &marie, &[refs[0], foreign], &mine).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            total(&get_list(&state, &marie, &format!("folder={mine}")).await.1),
            0,
            "nothing moved"
        );
        assert_eq!(
            code(&move_to(&state, &marie, &refs, &labo).await),
            (StatusCode::NOT_FOUND, Some("folder_not_found")),
            "nobody else's folder"
        );
        assert_eq!(
            code(&move_to(&state, &pierre, &[], &labo).await),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("move_empty"))
        );
        let many: Vec<String> = (0..101).map(|n| format!("ref{n}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            code(&move_to(&state, &pierre, &many, &labo).await),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("move_too_many"))
        );
        let (status, moved) = move_to(&state, &marie, &refs, &mine).await;
        assert_eq!((status, moved["moved"].as_u64()), (StatusCode::OK, Some(3)));
        assert_eq!(total(&get_list(&state, &marie, "folder=sent").await.1), 0);
        assert_eq!(
            total(&get_list(&state, &pierre, &format!("folder={labo}")).await.1),
            2
        );

        // Under « Messages supprimés »: filed there; « Supprimer » and back go to the top.
        let anciens = id(&create(&state, &pierre, "deleted", "Anciens").await);
        move_to(&state, &pierre, &refs[..1], &anciens).await;
        assert_eq!(
            total(
                &get_list(&state, &pierre, &format!("folder={anciens}"))
                    .await
                    .1
            ),
            1
        );
        assert_eq!(
            total(&get_list(&state, &pierre, "folder=deleted").await.1),
            0
        );
        assert_eq!(
            call(
                &state,
                &pierre,
                "POST",
                &format!("/api/envelopes/{}/restore", refs[0])
            )
            .await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(total(&get_list(&state, &pierre, "folder=inbox").await.1), 2);
        assert_eq!(
            total(
                &get_list(&state, &pierre, &format!("folder={anciens}"))
                    .await
                    .1
            ),
            0
        );
        assert_eq!(
            call(
                &state,
                &pierre,
                "POST",
                &format!("/api/envelopes/{}/delete", refs[1])
            )
            .await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            total(&get_list(&state, &pierre, "folder=deleted").await.1),
            1
        );
        assert_eq!(
            total(&get_list(&state, &pierre, &format!("folder={labo}")).await.1),
            0
        );
        // Moved back under « Messages reçus » from « Messages supprimés »: no longer deleted.
        move_to(&state, &pierre, &refs[1..2], &labo).await;
        assert_eq!(
            total(&get_list(&state, &pierre, "folder=deleted").await.1),
            0
        );
        assert_eq!(
            total(&get_list(&state, &pierre, &format!("folder={labo}")).await.1),
            1
        );

        // Deleting the folder brings its envelopes back to its parent.
        let (status, gone) = json_call(
            &state,
            &pierre,
            "DELETE",
            &format!("{}/{labo}", medimail_api::paths::FOLDERS),
            Value::Null,
        )
        .await;
        assert_eq!((status, gone["moved"].as_u64()), (StatusCode::OK, Some(1)));
        let (_, inbox) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!((total(&inbox), inbox["unread"].as_u64()), (3, Some(3)));
        let (status, _) = get_list(&state, &pierre, &format!("folder={labo}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn folder_limits_hold_when_the_same_request_arrives_100_times_at_once() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;

        // The same name 100 times at once: one folder.
        let answers = futures::future::join_all(
            (0..100).map(|_| create(&state, &marie, "inbox", "Urgences")),
        )
        .await;
        let created = answers
            .iter()
            .filter(|a| a.0 == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1);
        assert!(
            answers
                .iter()
                .all(|a| a.0 == StatusCode::CREATED || code(a).1 == Some("folder_name_taken"))
        );

        // 120 different names at once: 100 folders in all, the others refused.
        let names: Vec<String> = (0..120).map(|n| format!("Dossier {n}")).collect();
        let answers = futures::future::join_all(
            names
                .iter()
                .map(|name| create(&state, &marie, "sent", name)),
        )
        .await;
        let created = answers
            .iter()
            .filter(|a| a.0 == StatusCode::CREATED)
            .count();
        assert_eq!(created, 99);
        assert!(
            answers
                .iter()
                .all(|a| a.0 == StatusCode::CREATED || code(a).1 == Some("folder_limit_reached"))
        );
        let conn = sea_orm::Database::connect(&db.url).await.expect("db");
        assert_eq!(
            folder::Entity::find().count(&conn).await.expect("count"),
            100
        );

        // 100 moves into a folder while it is deleted: no envelope is left in a folder
        // that no longer exists.
        let (_, tree) = json_call(
            &state,
            &marie,
            "GET",
            medimail_api::paths::FOLDERS,
            Value::Null,
        )
        .await;
        let urgences = tree["folders"][0]["id"].as_str().expect("id").to_owned();
        let (_, sent) = post(&state, &marie, multipart(&draft(), &[])).await;
        let reference = sent["reference"].as_str().expect("reference").to_owned();
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let target = id(&create(&state, &pierre, "inbox", "Tri").await);
        let path = format!("{}/{target}", medimail_api::paths::FOLDERS);
        let one = [reference.as_str()];
        let moves =
            futures::future::join_all((0..100).map(|_| move_to(&state, &pierre, &one, &target)));
        let deletion = json_call(&state, &pierre, "DELETE", &path, Value::Null);
        let (moves, deleted) = futures::future::join(moves, deletion).await;
        assert_eq!(deleted.0, StatusCode::OK, "{}", deleted.1);
        assert!(moves.iter().all(|m| m.0 == StatusCode::OK
            || code(m) == (StatusCode::NOT_FOUND, Some("folder_not_found"))));
        let row = envelope_recipient::Entity::find()
            .filter(envelope_recipient::Column::Address.eq("pierre.dupond@chu-dev.fr"))
            .one(&conn)
            .await
            .expect("q")
            .expect("row");
        assert_eq!(row.folder_id, None, "filed in a folder that is gone");
        assert_eq!(total(&get_list(&state, &pierre, "folder=inbox").await.1), 1);
        // Marie's folder is another account's: Pierre's requests never touched it.
        assert!(!urgences.is_empty());
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn pages_follow_positions_and_stay_stable_while_envelopes_arrive() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        // 105 envelopes sealed at the same instant (the test clock stands still): the
        // order is by (sealing time, id), so ties never repeat or skip a row.
        let mut to_pierre = draft();
        to_pierre["to"] = json!(["pierre.dupond@chu-dev.fr"]);
        for _ in 0..105 {
            let (status, sent) = post(&state, &marie, multipart(&to_pierre, &[])).await;
            assert_eq!(status, StatusCode::CREATED, "{sent}");
        }
        let references = |list: &Value| -> Vec<String> {
            list["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["reference"].as_str().expect("reference").to_owned())
                .collect()
        };
        let (status, first) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (total(&first), first["page"].as_u64(), first.get("previous")),
            (105, Some(1), None)
        );
        let next = first["next"].as_str().expect("a next page").to_owned();

        // Ten more arrive: the next pages do not move.
        state.clock.advance(chrono::Duration::seconds(1));
        for _ in 0..10 {
            post(&state, &marie, multipart(&to_pierre, &[])).await;
        }
        let (status, second) = get_list(
            &state,
            &pierre,
            &format!("folder=inbox&page=2&after={next}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!((second["page"].as_u64(), total(&second)), (Some(2), 105));
        let next = second["next"].as_str().expect("a third page").to_owned();
        let (_, third) = get_list(
            &state,
            &pierre,
            &format!("folder=inbox&page=3&after={next}"),
        )
        .await;
        assert_eq!(references(&third).len(), 5);
        assert!(third.get("next").is_none());
        let mut all: Vec<String> = [&first, &second, &third]
            .iter()
            .flat_map(|l| references(l))
            .collect();
        assert_eq!(all.len(), 105);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 105, "no envelope twice");

        // « Précédent » from page 3 shows page 2 again.
        let previous = third["previous"].as_str().expect("previous");
        let (_, back) = get_list(
            &state,
            &pierre,
            &format!("folder=inbox&page=2&before={previous}"),
        )
        .await;
        assert_eq!(back["page"].as_u64(), Some(2));
        assert_eq!(references(&back), references(&second));
        // Back to the top: the ten new ones are there, and page 1 says so.
        let previous = back["previous"].as_str().expect("previous");
        let (_, top) = get_list(
            &state,
            &pierre,
            &format!("folder=inbox&page=1&before={previous}"),
        )
        .await;
        assert_eq!(references(&top).len(), 50);
        assert_eq!(
            top["page"].as_u64(),
            Some(2),
            "newer envelopes above: not page 1"
        );
        let (_, fresh) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!(total(&fresh), 115);

        // Positions the list did not give are refused.
        for query in [
            "after=nimporte",
            "before=%2F%2F",
            &format!("after={next}&before={next}"),
        ] {
            let (status, body) = get_list(&state, &pierre, &format!("folder=inbox&{query}")).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::BAD_REQUEST, Some("cursor_invalid")),
                "{query}"
            );
        }
        db.drop_postgres().await;
    }
}
