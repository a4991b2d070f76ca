//! « Activité » (issue 17; manual part 1 §6.4): one stamp per envelope sent; an account
//! with stamps allocated sends no more than that — refused with `stamps_exhausted` and
//! nothing written — also when 100 sends arrive at once.

use axum::http::StatusCode;
use medimail_server::account::settings::{OperatorChange, set_by_operator};
use medimail_server::state::AppState;
use serde_json::{Value, json};

use crate::common::*;
use crate::{draft, multipart, post, signed_in};

async fn allocate(state: &AppState, mailbox: &str, stamps: Option<i64>) {
    let change = OperatorChange {
        stamps: Some(stamps),
        ..OperatorChange::default()
    };
    set_by_operator(&state.db, &state.keys, mailbox, change)
        .await
        .expect("set")
        .expect("account");
}

async fn activity(state: &AppState, auth: &(String, String)) -> Value {
    let (status, _, bytes) = call_signed_in(
        state,
        auth,
        "GET",
        medimail_api::paths::ACCOUNT_ACTIVITY,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&bytes).expect("json")
}

async fn envelopes_sent(state: &AppState) -> u64 {
    use medimail_server::envelope::entity::envelope;
    use sea_orm::{EntityTrait, PaginatorTrait};
    envelope::Entity::find()
        .count(&state.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn each_envelope_uses_a_stamp_and_none_is_sent_past_the_allocation() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        assert_eq!(
            activity(&state, &marie).await,
            json!({"allocated": null, "used": 0}),
            "illimité by default"
        );
        allocate(&state, "marie.curie@chu-dev.fr", Some(2)).await;
        for _ in 0..2 {
            let (status, body) = post(&state, &marie, multipart(&draft(), &[])).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let (status, body) = post(&state, &marie, multipart(&draft(), &[])).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("stamps_exhausted")),
            "{body}"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("les 2 timbres alloués à votre compte")),
            "{body}"
        );
        assert_eq!(envelopes_sent(&state).await, 2, "nothing written");
        assert_eq!(
            activity(&state, &marie).await,
            json!({"allocated": 2, "used": 2})
        );
        // Illimité again: sending goes on, still counted.
        allocate(&state, "marie.curie@chu-dev.fr", None).await;
        let (status, _) = post(&state, &marie, multipart(&draft(), &[])).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            activity(&state, &marie).await,
            json!({"allocated": null, "used": 3})
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn ten_stamps_send_ten_envelopes_when_100_sends_arrive_at_once() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        allocate(&state, "marie.curie@chu-dev.fr", Some(10)).await;
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (state, marie) = (state.clone(), marie.clone());
            tasks.push(tokio::spawn(async move {
                post(&state, &marie, multipart(&draft(), &[])).await
            }));
        }
        let (mut sent, mut refused) = (0, 0);
        for task in tasks {
            let (status, body) = task.await.expect("task");
            match status {
                StatusCode::CREATED => sent += 1,
                StatusCode::FORBIDDEN if body["code"] == "stamps_exhausted" => refused += 1,
                other => panic!("{other}: {body}"),
            }
        }
        assert_eq!((sent, refused), (10, 90));
        assert_eq!(envelopes_sent(&state).await, 10);
        assert_eq!(
            activity(&state, &marie).await,
            json!({"allocated": 10, "used": 10})
        );
        db.drop_postgres().await;
    }
}
