//! The folders of a mailbox: "Messages envoyés" for the sender, "Boîte de réception" for
//! each recipient, the search inside a folder, and the moves to "Messages supprimés",
//! back, and out for good, each for the caller only.

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::{call, draft, file, get_list, get_raw, multipart, post, signed_in};

#[tokio::test]
async fn the_sender_finds_it_in_sent_and_each_recipient_in_their_inbox_only() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let (status, sent) = post(
            &state,
            &marie,
            multipart(&draft(), &[("a.pdf", "application/pdf", file(1, 100))]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let reference = sent["reference"].as_str().expect("reference");

        let (status, list) = get_list(&state, &marie, "folder=sent").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["reference"], reference);
        assert_eq!(list["items"][0]["subject"], "Compte rendu M. BLANC");
        assert_eq!(list["items"][0]["attachments"], 1);
        // "Messages envoyés" names who it went to (no account name yet: the addresses).
        assert_eq!(
            list["items"][0]["recipients"],
            serde_json::json!(["pierre.dupond@chu-dev.fr", "s.pateney@chu-dev.fr"])
        );
        assert_eq!(get_list(&state, &marie, "folder=inbox").await.1["total"], 0);

        // The recipient signs in later: the placeholder account is adopted, the envelope waits.
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let (_, inbox) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!(inbox["total"], 1, "{inbox}");
        assert_eq!(inbox["items"][0]["unread"], true);
        assert_eq!(inbox["items"][0]["sender"], "marie.curie@chu-dev.fr");
        assert!(
            inbox["items"][0].get("recipients").is_none(),
            "only in the sent folder"
        );
        // Once Pierre's account has his name (the helper names everyone Marie CURIE),
        // the sent folder shows it.
        let (_, sent) = get_list(&state, &marie, "folder=sent").await;
        assert_eq!(sent["items"][0]["recipients"][0], "Marie CURIE", "{sent}");
        assert_eq!(
            get_list(&state, &pierre, "folder=inbox&q=blanc").await.1["total"],
            1
        );
        assert_eq!(
            get_list(&state, &pierre, "folder=inbox&q=MARIE.CURIE")
                .await
                .1["total"],
            1
        );
        assert_eq!(
            get_list(&state, &pierre, "folder=inbox&q=zzz").await.1["total"],
            0
        );
        assert_eq!(
            get_list(&state, &pierre, "folder=inbox&q=%25").await.1["total"],
            0,
            "% is literal"
        );

        // Someone else sees nothing.
        let other = signed_in(&state, "autre@chu-dev.fr").await;
        assert_eq!(get_list(&state, &other, "folder=inbox").await.1["total"], 0);
        assert_eq!(get_list(&state, &other, "folder=sent").await.1["total"], 0);
        let (status, body) = get_list(&state, &other, "folder=corbeille").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("folder_unknown"))
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn delete_restore_and_remove_for_good_act_for_the_caller_only() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let (_, sent) = post(&state, &marie, multipart(&draft(), &[])).await;
        let reference = sent["reference"].as_str().expect("reference").to_owned();
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let total = |list: Value| list["total"].as_u64().unwrap_or(99);

        // Not in "Messages supprimés" yet: cannot be removed for good.
        assert_eq!(
            call(
                &state,
                &pierre,
                "DELETE",
                &format!("/api/envelopes/{reference}")
            )
            .await,
            StatusCode::CONFLICT
        );
        assert_eq!(
            call(
                &state,
                &pierre,
                "POST",
                &format!("/api/envelopes/{reference}/delete")
            )
            .await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(total(get_list(&state, &pierre, "folder=inbox").await.1), 0);
        assert_eq!(
            total(get_list(&state, &pierre, "folder=deleted").await.1),
            1
        );
        assert_eq!(
            total(get_list(&state, &marie, "folder=sent").await.1),
            1,
            "the sender's folder is untouched"
        );
        assert_eq!(
            call(
                &state,
                &pierre,
                "POST",
                &format!("/api/envelopes/{reference}/restore")
            )
            .await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(total(get_list(&state, &pierre, "folder=inbox").await.1), 1);

        assert_eq!(
            call(
                &state,
                &pierre,
                "POST",
                &format!("/api/envelopes/{reference}/delete")
            )
            .await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            call(
                &state,
                &pierre,
                "DELETE",
                &format!("/api/envelopes/{reference}")
            )
            .await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            total(get_list(&state, &pierre, "folder=deleted").await.1),
            0
        );
        assert_eq!(
            get_raw(&state, &pierre, &format!("/api/envelopes/{reference}"))
                .await
                .0,
            StatusCode::NOT_FOUND,
            "gone for him"
        );
        assert_eq!(
            get_raw(&state, &marie, &format!("/api/envelopes/{reference}"))
                .await
                .0,
            StatusCode::OK,
            "not for her"
        );

        // Strangers cannot act on it.
        state.clock.advance(chrono::Duration::seconds(61));
        let other = signed_in(&state, "autre@chu-dev.fr").await;
        for (method, action) in [("POST", "/delete"), ("POST", "/restore"), ("DELETE", "")] {
            assert_eq!(
                call(
                    &state,
                    &other,
                    method,
                    &format!("/api/envelopes/{reference}{action}")
                )
                .await,
                StatusCode::NOT_FOUND
            );
        }
        db.drop_postgres().await;
    }
}
