//! « Sauvegarder un brouillon » (issue 18; manual part 1 §4.1) through the real router on
//! SQLite and PostgreSQL: one draft per account, replaced by the next « Sauvegarder »
//! (the answer says so), recovered, deleted; the message sanitised and the whole draft
//! sealed at rest; limits refused with nothing saved; 100 saves at once leave one draft;
//! nobody else reads it.

use axum::http::StatusCode;
use medimail_server::envelope::entity::draft;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

mod common;
use common::*;

async fn call(
    state: &medimail_server::state::AppState,
    auth: &(String, String),
    method: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = call_signed_in(
        state,
        auth,
        method,
        medimail_api::paths::DRAFT,
        body.map(|b| ("application/json", b.to_string().into_bytes())),
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn one_draft_is_saved_replaced_recovered_and_deleted_sealed_at_rest() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in_as(&state, "marie.curie@chu-exemple.fr", "Marie CURIE").await;
        let pierre = signed_in_as(&state, "pierre.dupond@chu-exemple.fr", "Pierre DUPOND").await;

        let (status, body) = call(&state, &marie, "GET", None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("draft_none"))
        );

        let first = json!({
            "to": ["pierre.dupond@chu-exemple.fr"], "cc": [],
            "subject": "Résultats de Monsieur BLANC",
            "body_html": "<p>Bonjour,</p><script>alert(1)</script><p>Ceci est un test.</p>",
            "opens_from": "2026-01-20T08:00:00Z",
        });
        let (status, saved) = call(&state, &marie, "PUT", Some(first)).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert_eq!(saved["replaced"], false);
        assert!(
            !saved["draft"]["body_html"]
                .as_str()
                .unwrap_or("")
                .contains("script")
        );

        // Sealed at rest: the row shows neither the title nor the message.
        let conn = sea_orm::Database::connect(&db.url).await.expect("db");
        let row = draft::Entity::find()
            .one(&conn)
            .await
            .expect("q")
            .expect("row");
        assert!(!row.sealed.contains("BLANC") && !row.sealed.contains("Bonjour"));

        let (status, got) = call(&state, &marie, "GET", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["draft"]["subject"], "Résultats de Monsieur BLANC");
        assert_eq!(got["draft"]["to"][0], "pierre.dupond@chu-exemple.fr");
        assert_eq!(got["draft"]["opens_from"], "2026-01-20T08:00:00Z");
        // Nobody else reads it.
        let (status, _) = call(&state, &pierre, "GET", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Refused drafts save nothing.
        let too_many: Vec<String> = (0..101).map(|n| format!("d{n}@chu.fr")).collect();
        let (status, body) = call(
            &state,
            &marie,
            "PUT",
            Some(json!({"to": too_many, "subject": "x"})),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("recipients_too_many")
            )
        );
        let (status, body) = call(
            &state,
            &marie,
            "PUT",
            Some(json!({"to": [], "subject": "é".repeat(256)})),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("subject_too_long"))
        );
        let (status, body) = call(
            &state,
            &marie,
            "PUT",
            Some(json!({"to": [], "subject": "x", "opens_until": "demain"})),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("opening_window_invalid")
            )
        );
        let (_, got) = call(&state, &marie, "GET", None).await;
        assert_eq!(got["draft"]["subject"], "Résultats de Monsieur BLANC");

        // A second « Sauvegarder » replaces it, and says so.
        let (status, saved) = call(
            &state,
            &marie,
            "PUT",
            Some(json!({"to": [], "subject": "Deuxième brouillon", "body_html": ""})),
        )
        .await;
        assert_eq!(
            (status, saved["replaced"].as_bool()),
            (StatusCode::OK, Some(true))
        );
        let (_, got) = call(&state, &marie, "GET", None).await;
        assert_eq!(got["draft"]["subject"], "Deuxième brouillon");

        // 100 saves at once: one draft, one of them.
        let saves = futures::future::join_all((0..100).map(|n| {
            let state = state.clone();
            let marie = marie.clone();
            async move {
                call(
                    &state,
                    &marie,
                    "PUT",
                    Some(json!({"to": [], "subject": format!("Version {n}")})),
                )
                .await
                .0
            }
        }))
        .await;
        assert!(saves.iter().all(|s| *s == StatusCode::OK), "{saves:?}");
        assert_eq!(draft::Entity::find().count(&conn).await.expect("count"), 1);
        let (_, got) = call(&state, &marie, "GET", None).await;
        assert!(
            got["draft"]["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Version "))
        );

        // « Supprimer ».
        let (status, _) = call(&state, &marie, "DELETE", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(&state, &marie, "GET", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}
