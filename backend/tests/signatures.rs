//! « Signature de mail » (issue 17; manual part 1 §6.5) through the real router on
//! SQLite and PostgreSQL: signatures created, modified, deleted; sanitised like message
//! bodies; names unique per account; one default at most; 20 at most, held when a hundred
//! creations arrive at once; nobody else's signatures reached.

use axum::http::StatusCode;
use medimail_server::account::entity::signature;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

mod common;
use common::*;

const PATH: &str = "/api/account/signatures";

async fn call(
    state: &medimail_server::state::AppState,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = call_signed_in(
        state,
        auth,
        method,
        path,
        body.map(|b| ("application/json", b.to_string().into_bytes())),
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn signatures_are_created_modified_and_deleted_sanitised_with_one_default() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let (status, body) = call(&state, &me, "GET", PATH, None).await;
        assert_eq!((status.as_u16(), body), (200, json!([])));

        let (status, first) = call(
            &state,
            &me,
            "POST",
            PATH,
            Some(json!({"name": "Cabinet", "default": true,
                "body_html": "<p><b>Dr Pierre DUPOND</b></p><script>alert(1)</script><p onclick=\"x()\">Cardiologie</p>"})),
        )
        .await;
        assert_eq!(status, 201, "{first}");
        let html = first["body_html"].as_str().expect("html");
        assert!(html.contains("<b>Dr Pierre DUPOND</b>"), "{html}");
        assert!(
            !html.contains("script") && !html.contains("onclick"),
            "{html}"
        );
        assert_eq!(first["default"], true);

        // A second default takes the place of the first.
        let (status, second) = call(
            &state,
            &me,
            "POST",
            PATH,
            Some(json!({"name": "Hôpital", "default": true, "body_html": "<p>CHU</p>"})),
        )
        .await;
        assert_eq!(status, 201, "{second}");
        let (_, all) = call(&state, &me, "GET", PATH, None).await;
        let defaults: Vec<&str> = all
            .as_array()
            .expect("list")
            .iter()
            .filter(|s| s["default"] == true)
            .map(|s| s["name"].as_str().expect("name"))
            .collect();
        assert_eq!(defaults, ["Hôpital"]);

        // Refusals, nothing written.
        for (request, status, code) in [
            (
                json!({"name": " ", "body_html": "<p>x</p>"}),
                422,
                "signature_name_missing",
            ),
            (
                json!({"name": "x".repeat(61), "body_html": "<p>x</p>"}),
                422,
                "signature_name_too_long",
            ),
            (
                json!({"name": "cabinet", "body_html": "<p>x</p>"}),
                409,
                "signature_name_taken",
            ),
            (
                json!({"name": "Vide", "body_html": "<p> <script>x</script></p>"}),
                422,
                "signature_empty",
            ),
            (
                json!({"name": "Longue", "body_html": format!("<p>{}</p>", "a".repeat(20_001))}),
                422,
                "signature_too_large",
            ),
        ] {
            let (got, body) = call(&state, &me, "POST", PATH, Some(request)).await;
            assert_eq!(
                (got.as_u16(), body["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
        }
        let (_, all) = call(&state, &me, "GET", PATH, None).await;
        assert_eq!(all.as_array().expect("list").len(), 2);

        // Modify: a new name and text; another's name refused.
        let id = first["id"].as_str().expect("id");
        let (status, modified) = call(
            &state,
            &me,
            "PUT",
            &format!("{PATH}/{id}"),
            Some(json!({"name": "Cabinet des Carmes", "body_html": "<p><i>Dr DUPOND</i></p>", "default": false})),
        )
        .await;
        assert_eq!(status, 200, "{modified}");
        assert_eq!(modified["name"], "Cabinet des Carmes");
        let (status, body) = call(
            &state,
            &me,
            "PUT",
            &format!("{PATH}/{id}"),
            Some(json!({"name": "HOPITAL", "body_html": "<p>x</p>"})),
        )
        .await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (409, &json!("signature_name_taken"))
        );

        // Another account reaches none of them.
        let other = signed_in_as(&state, "rose.rouge@chu-dev.fr", "Rose ROUGE").await;
        let (_, theirs) = call(&state, &other, "GET", PATH, None).await;
        assert_eq!(theirs, json!([]));
        for method in ["PUT", "DELETE"] {
            let (status, body) = call(
                &state,
                &other,
                method,
                &format!("{PATH}/{id}"),
                Some(json!({"name": "Volée", "body_html": "<p>x</p>"})),
            )
            .await;
            assert_eq!(
                (status.as_u16(), &body["code"]),
                (404, &json!("signature_not_found"))
            );
        }

        // Delete.
        let (status, _) = call(&state, &me, "DELETE", &format!("{PATH}/{id}"), None).await;
        assert_eq!(status, 204);
        let (_, all) = call(&state, &me, "GET", PATH, None).await;
        assert_eq!(all.as_array().expect("list").len(), 1);
        let (status, _) = call(&state, &me, "DELETE", &format!("{PATH}/{id}"), None).await;
        assert_eq!(status, 404);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_hundred_creations_at_once_keep_twenty_signatures() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let all = (0..100).map(|i| {
            let state = state.clone();
            let me = me.clone();
            async move {
                call(
                    &state,
                    &me,
                    "POST",
                    PATH,
                    Some(json!({"name": format!("Signature {i}"), "body_html": "<p>Dr DUPOND</p>", "default": true})),
                )
                .await
            }
        });
        let answers = futures::future::join_all(all).await;
        let created = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        let full = answers
            .iter()
            .filter(|(s, b)| *s == StatusCode::CONFLICT && b["code"] == "signatures_full")
            .count();
        assert_eq!((created, full), (20, 80));
        let account =
            medimail_server::account::registry::by_mailbox(&state.db, "pierre.dupond@chu-dev.fr")
                .await
                .expect("q")
                .expect("account");
        let stored = signature::Entity::find()
            .filter(signature::Column::AccountId.eq(account.id.as_str()))
            .count(&state.db)
            .await
            .expect("count");
        assert_eq!(stored, 20);
        let defaults = signature::Entity::find()
            .filter(signature::Column::AccountId.eq(account.id.as_str()))
            .filter(signature::Column::IsDefault.eq(true))
            .count(&state.db)
            .await
            .expect("count");
        assert_eq!(defaults, 1, "one default, however many asked at once");
        db.drop_postgres().await;
    }
}
