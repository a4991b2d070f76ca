//! Unread counts maintained (issue 18): « Messages reçus (n) » and each sub-folder's
//! « (n) » come from counters kept in the transaction of every change — arrival, opening,
//! move, deletion, restoration, a sub-folder's deletion, the purge — and always equal what
//! the rows say, also when those changes hit the same envelopes 100 at once.

use std::collections::HashMap;

use axum::http::StatusCode;
use medimail_server::envelope::unread;
use medimail_server::state::AppState;
use serde_json::{Value, json};

use crate::common::*;
use crate::subfolders::{json_call, move_to};
use crate::{call, draft, get_list, get_raw, multipart, post, signed_in};

async fn account_id(state: &AppState, mailbox: &str) -> String {
    use medimail_server::account::entity::account;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    account::Entity::find()
        .filter(account::Column::Mailbox.eq(mailbox))
        .one(&state.db)
        .await
        .expect("q")
        .expect("account")
        .id
}

/// The counters of `account`, checked against the rows; (« Messages reçus », per
/// sub-folder).
async fn counts(state: &AppState, account: &str) -> (u64, HashMap<String, u64>) {
    let kept = unread::of(&state.db, account).await.expect("counters");
    let rows = unread::recount(&state.db, account).await.expect("rows");
    assert_eq!(kept, rows, "the counters equal the rows");
    let root = kept.get(&None).copied().unwrap_or(0);
    let subs = kept
        .into_iter()
        .filter_map(|(k, n)| k.map(|k| (k, n)))
        .collect();
    (root, subs)
}

/// `n` envelopes from Marie to Pierre (and Sophie), one second apart.
async fn sent(state: &AppState, marie: &(String, String), n: usize) -> Vec<String> {
    let mut references = Vec::new();
    for i in 0..n {
        let mut d = draft();
        d["subject"] = json!(format!("Compte rendu n°{i}"));
        let (status, sent) = post(state, marie, multipart(&d, &[])).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        references.push(sent["reference"].as_str().expect("reference").to_owned());
        state.clock.advance(chrono::Duration::seconds(1));
    }
    references
}

#[tokio::test]
async fn the_unread_counts_follow_every_change_and_equal_the_rows() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let refs = sent(&state, &marie, 6).await;
        let r: Vec<&str> = refs.iter().map(String::as_str).collect();
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let me = account_id(&state, "pierre.dupond@chu-dev.fr").await;
        let shown = |list: &Value| list["unread"].as_u64().expect("unread");
        assert_eq!(counts(&state, &me).await.0, 6, "six arrivals");
        assert_eq!(shown(&get_list(&state, &pierre, "folder=inbox").await.1), 6);

        // Opened: one less, once, however often it is read.
        for _ in 0..2 {
            let (status, _, _) =
                get_raw(&state, &pierre, &format!("/api/envelopes/{}", r[0])).await;
            assert_eq!(status, StatusCode::OK);
        }
        assert_eq!(counts(&state, &me).await.0, 5);

        // Moved into a sub-folder: counted there.
        let (_, labo) = json_call(
            &state,
            &pierre,
            "POST",
            medimail_api::paths::FOLDERS,
            json!({"parent": "inbox", "name": "Laboratoire"}),
        )
        .await;
        let labo = labo["id"].as_str().expect("id").to_owned();
        assert_eq!(
            move_to(&state, &pierre, &r[1..3], &labo).await.0,
            StatusCode::OK
        );
        let (root, subs) = counts(&state, &me).await;
        assert_eq!((root, subs.get(&labo).copied()), (3, Some(2)));
        let (_, list) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!(
            (shown(&list), &list["folders"][0]["unread"]),
            (3, &json!(2))
        );

        // Deleted from the sub-folder, restored to « Messages reçus ».
        let path = |action: &str| format!("/api/envelopes/{}/{action}", r[1]);
        assert_eq!(
            call(&state, &pierre, "POST", &path("delete")).await,
            StatusCode::NO_CONTENT
        );
        let (root, subs) = counts(&state, &me).await;
        assert_eq!((root, subs.get(&labo).copied()), (3, Some(1)));
        assert_eq!(
            call(&state, &pierre, "POST", &path("restore")).await,
            StatusCode::NO_CONTENT
        );
        let (root, subs) = counts(&state, &me).await;
        assert_eq!((root, subs.get(&labo).copied()), (4, Some(1)));

        // Moved under « Messages supprimés »: no longer counted; back: counted again.
        assert_eq!(
            move_to(&state, &pierre, &r[3..4], "deleted").await.0,
            StatusCode::OK
        );
        assert_eq!(counts(&state, &me).await.0, 3);
        assert_eq!(
            move_to(&state, &pierre, &r[3..4], "inbox").await.0,
            StatusCode::OK
        );
        assert_eq!(counts(&state, &me).await.0, 4);

        // The sub-folder deleted: its unread envelope counts in its parent again.
        let (status, _) = json_call(
            &state,
            &pierre,
            "DELETE",
            &format!("{}/{labo}", medimail_api::paths::FOLDERS),
            Value::Null,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (root, subs) = counts(&state, &me).await;
        assert_eq!((root, subs.get(&labo).copied()), (5, None));

        // Nobody else's counts moved: Sophie still has her six.
        let sophie = account_id(&state, "s.pateney@chu-dev.fr").await;
        assert_eq!(counts(&state, &sophie).await.0, 6);

        // Purged after three months: nothing left to open.
        state.clock.advance(chrono::Duration::days(92));
        medimail_server::envelope::retention::purge_all_due(
            &state.db,
            &state.keys,
            &state.blobs,
            state.clock.now(),
            4,
        )
        .await
        .expect("purge");
        assert_eq!(counts(&state, &me).await.0, 0);
        assert_eq!(counts(&state, &sophie).await.0, 0);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn the_counts_stay_exact_when_100_changes_hit_the_same_envelopes_at_once() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let refs = sent(&state, &marie, 5).await;
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let me = account_id(&state, "pierre.dupond@chu-dev.fr").await;
        let (_, folder) = json_call(
            &state,
            &pierre,
            "POST",
            medimail_api::paths::FOLDERS,
            json!({"parent": "inbox", "name": "Cardiologie"}),
        )
        .await;
        let folder = folder["id"].as_str().expect("id").to_owned();

        // Openings, moves there and back, deletions, restorations and new arrivals, all
        // at once on the same five envelopes.
        let mut tasks = Vec::new();
        for n in 0..100usize {
            let (state, pierre, marie) = (state.clone(), pierre.clone(), marie.clone());
            let (reference, folder) = (refs[n % refs.len()].clone(), folder.clone());
            tasks.push(tokio::spawn(async move {
                match n % 6 {
                    0 => {
                        get_raw(&state, &pierre, &format!("/api/envelopes/{reference}"))
                            .await
                            .0
                    }
                    1 => move_to(&state, &pierre, &[&reference], &folder).await.0,
                    2 => move_to(&state, &pierre, &[&reference], "inbox").await.0,
                    3 => {
                        call(
                            &state,
                            &pierre,
                            "POST",
                            &format!("/api/envelopes/{reference}/delete"),
                        )
                        .await
                    }
                    4 => {
                        call(
                            &state,
                            &pierre,
                            "POST",
                            &format!("/api/envelopes/{reference}/restore"),
                        )
                        .await
                    }
                    _ => post(&state, &marie, multipart(&draft(), &[])).await.0,
                }
            }));
        }
        for task in tasks {
            let status = task.await.expect("task");
            assert!(
                status.is_success() || status == StatusCode::TOO_MANY_REQUESTS,
                "{status}"
            );
        }
        // `counts` compares the counters with the rows.
        let (root, subs) = counts(&state, &me).await;
        let (_, list) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!(list["unread"].as_u64(), Some(root));
        assert_eq!(
            list["folders"][0]["unread"].as_u64(),
            Some(subs.get(&folder).copied().unwrap_or(0))
        );
        db.drop_postgres().await;
    }
}
