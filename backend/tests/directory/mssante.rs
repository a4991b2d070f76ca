//! « Paramètres du compte » › « MSSanté » (manual part 2 §2): the three conditions of the
//! activation and their state, `GET /api/account/mssante`. The route is the account
//! feature's; it sits beside the directory's visibility, whose national directory it opens.

use medimail_server::account::settings::{OperatorChange, set_by_operator};
use serde_json::json;

use crate::common::*;
use crate::get_json;

const PATH: &str = "/api/account/mssante";

#[tokio::test]
async fn each_condition_is_shown_as_it_stands_for_the_caller() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let (status, body) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"eligible": false, "identifier": false, "strong": true, "method": "otp",
                   "activated": false}),
            "a session opened by a code is strong; nothing else is met yet"
        );

        // The operator makes the account eligible; the RPPS is filled (by the card's link
        // or « Identité »): every condition is met.
        let change = OperatorChange {
            eligible: Some(true),
            ..OperatorChange::default()
        };
        let updated = set_by_operator(&state.db, &state.keys, "pierre.dupond@chu-dev.fr", change)
            .await
            .expect("set")
            .expect("account");
        assert!(updated.mssante_eligible);
        {
            use medimail_server::account::entity::account;
            use sea_orm::{ActiveModelTrait, Set};
            let mut a: account::ActiveModel = updated.into();
            a.rpps = Set(Some("10001234567".into()));
            a.update(&state.db).await.expect("rpps");
        }
        let (_, body) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(
            (&body["eligible"], &body["identifier"], &body["strong"]),
            (&json!(true), &json!(true), &json!(true)),
            "{body}"
        );

        // Someone else's conditions are their own.
        let other = signed_in_as(&state, "rose.rouge@chu-dev.fr", "Rose ROUGE").await;
        let (_, body) = get_json(&state, &other, "GET", PATH, None).await;
        assert_eq!(
            (&body["eligible"], &body["identifier"]),
            (&json!(false), &json!(false))
        );

        // No session, no answer.
        let (status, _) = get_json(
            &state,
            &(me.0.clone(), "pas-une-session".into()),
            "GET",
            PATH,
            None,
        )
        .await;
        assert_eq!(status, 401);
        db.drop_postgres().await;
    }
}
