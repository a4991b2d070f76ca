//! Reading and downloading: only the sender and the recipients, the first opening
//! recorded once and told to the sender, the files decrypted byte-identical, and nothing
//! for a recipient outside the opening window.

use axum::http::StatusCode;
use medimail_server::entity::outbox;
use medimail_server::envelope::entity::envelope_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::*;
use crate::{draft, file, get_raw, multipart, post, signed_in};

#[tokio::test]
async fn only_sender_and_recipients_read_and_download_and_the_first_opening_is_recorded_once() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let pdf = file(9, 200_000);
        let (_, sent) = post(
            &state,
            &marie,
            multipart(
                &draft(),
                &[("résultat.pdf", "application/pdf", pdf.clone())],
            ),
        )
        .await;
        let reference = sent["reference"].as_str().expect("reference").to_owned();
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        state.clock.advance(chrono::Duration::seconds(61));
        let other = signed_in(&state, "autre@chu-dev.fr").await;

        // The sender reads it without recording an opening.
        let (status, _, body) =
            get_raw(&state, &marie, &format!("/api/envelopes/{reference}")).await;
        assert_eq!(status, StatusCode::OK);
        let view: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(view["events"].as_array().map(Vec::len), Some(1));
        assert!(
            view["body_html"]
                .as_str()
                .unwrap_or("")
                .contains("<b>voici</b>")
        );

        // The recipient opens it twice: one "Ouverture", one mail to the sender.
        for _ in 0..2 {
            let (status, _, _) =
                get_raw(&state, &pierre, &format!("/api/envelopes/{reference}")).await;
            assert_eq!(status, StatusCode::OK);
        }
        let (_, _, body) = get_raw(&state, &pierre, &format!("/api/envelopes/{reference}")).await;
        let view: Value = serde_json::from_slice(&body).expect("json");
        let kinds: Vec<&str> = view["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        assert_eq!(kinds, vec!["sealed", "opened"]);
        assert_eq!(
            view["to"],
            json!(["pierre.dupond@chu-dev.fr", "s.pateney@chu-dev.fr"])
        );
        assert!(
            view["engine"]
                .as_str()
                .unwrap_or("")
                .starts_with("AES-256-GCM")
        );
        let openings = outbox::Entity::find()
            .filter(outbox::Column::Purpose.eq("opening_notification"))
            .all(&state.db)
            .await
            .expect("q");
        assert_eq!(openings.len(), 1);
        assert_eq!(openings[0].recipient, "marie.curie@chu-dev.fr");
        // The "Ouverture" mail says which envelope by its date, never by its title.
        let opening: serde_json::Value = {
            use base64::Engine;
            let sealed = base64::engine::general_purpose::STANDARD
                .decode(&openings[0].payload)
                .expect("b64");
            serde_json::from_slice(
                &state
                    .keys
                    .open_outbox(&openings[0].id, &sealed)
                    .expect("opens"),
            )
            .expect("json")
        };
        let subject = opening["subject"].as_str().expect("subject");
        assert!(
            subject.starts_with("[MEDIMAIL : Ouverture] Votre enveloppe du "),
            "{subject}"
        );
        assert!(!opening.to_string().contains("BLANC"), "{opening}");

        // Download: decrypted, byte-identical, as an attachment named per RFC 6266.
        let att = view["attachments"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let (status, headers, bytes) = get_raw(
            &state,
            &pierre,
            &format!("/api/envelopes/{reference}/attachments/{att}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, pdf);
        let disposition = headers["content-disposition"].to_str().expect("ascii");
        assert!(
            disposition.starts_with("attachment;")
                && disposition.contains("filename*=UTF-8''r%C3%A9sultat.pdf"),
            "{disposition}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");

        // Anyone else: 404 everywhere, as if it did not exist.
        for path in [
            format!("/api/envelopes/{reference}"),
            format!("/api/envelopes/{reference}/attachments/{att}"),
            "/api/envelopes/nope".to_owned(),
        ] {
            let (status, _, _) = get_raw(&state, &other, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let events = envelope_event::Entity::find()
            .all(&state.db)
            .await
            .expect("q");
        assert_eq!(events.iter().filter(|e| e.kind == "downloaded").count(), 1);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn recipients_see_nothing_outside_the_opening_window() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let now = state.clock.now();
        let mut d = draft();
        d["opens_from"] = json!((now + chrono::Duration::minutes(10)).to_rfc3339());
        d["opens_until"] = json!((now + chrono::Duration::minutes(20)).to_rfc3339());
        let (status, sent) = post(&state, &marie, multipart(&d, &[])).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        let path = format!(
            "/api/envelopes/{}",
            sent["reference"].as_str().expect("reference")
        );
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let (status, _, body) = get_raw(&state, &pierre, &path).await;
        let error: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("envelope_not_open_yet"))
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap_or("")
                .contains("à partir du")
        );
        assert!(
            !String::from_utf8_lossy(&body).contains("voici"),
            "no content"
        );
        assert_eq!(
            get_raw(&state, &marie, &path).await.0,
            StatusCode::OK,
            "the sender always can"
        );
        state.clock.advance(chrono::Duration::minutes(9));
        assert_eq!(get_raw(&state, &pierre, &path).await.0, StatusCode::OK);
        state.clock.advance(chrono::Duration::minutes(10));
        let (status, _, body) = get_raw(&state, &pierre, &path).await;
        let error: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("envelope_closed"))
        );
        db.drop_postgres().await;
    }
}

/// A file named to look like another (U+202E RIGHT-TO-LEFT OVERRIDE before `fdp.html`
/// shows "facturelmth.pdf" on screen) and typed `text/html`: shown and downloaded under its
/// cleaned name, served as `application/octet-stream` so that nothing renders it on the
/// pane's origin; the reader still sees the type the sender gave (issue 15, item 6).
#[tokio::test]
async fn downloads_are_octet_streams_named_without_format_characters() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let page = b"<script>alert(document.cookie)</script>".to_vec();
        let (status, sent) = post(
            &state,
            &marie,
            multipart(
                &draft(),
                &[("facture\u{202E}fdp.html", "text/html", page.clone())],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        let reference = sent["reference"].as_str().expect("reference").to_owned();
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let (_, _, body) = get_raw(&state, &pierre, &format!("/api/envelopes/{reference}")).await;
        let view: Value = serde_json::from_slice(&body).expect("json");
        let attachment = &view["attachments"][0];
        assert_eq!(attachment["name"], "facturefdp.html");
        assert_eq!(attachment["content_type"], "text/html");
        let id = attachment["id"].as_str().expect("id");
        let (status, headers, bytes) = get_raw(
            &state,
            &pierre,
            &format!("/api/envelopes/{reference}/attachments/{id}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, page);
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"facturefdp.html\"; filename*=UTF-8''facturefdp.html"
        );
        db.drop_postgres().await;
    }
}

/// An envelope downloaded thousands of times does not make an unbounded answer: its
/// first 200 events, and how many there are in all (issue 15, item 8).
#[tokio::test]
async fn the_reading_answer_carries_at_most_200_events_and_their_count() {
    use medimail_server::envelope::entity::envelope;
    use sea_orm::{ActiveModelTrait, Set};
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let (_, sent) = post(
            &state,
            &marie,
            multipart(&draft(), &[("a.pdf", "application/pdf", file(1, 100))]),
        )
        .await;
        let reference = sent["reference"].as_str().expect("reference").to_owned();
        let row = envelope::Entity::find()
            .filter(envelope::Column::Reference.eq(&reference))
            .one(&state.db)
            .await
            .expect("q")
            .expect("envelope");
        for n in 0..250 {
            envelope_event::ActiveModel {
                envelope_id: Set(row.id.clone()),
                kind: Set("downloaded".into()),
                account_id: Set(None),
                actor: Set(format!("lecteur{n}@chu-dev.fr")),
                occurred_at: Set(state.clock.now()),
                detail: Set("{}".into()),
                ..Default::default()
            }
            .insert(&state.db)
            .await
            .expect("event");
        }
        let (status, _, body) =
            get_raw(&state, &marie, &format!("/api/envelopes/{reference}")).await;
        assert_eq!(status, StatusCode::OK);
        let view: Value = serde_json::from_slice(&body).expect("json");
        let events = view["events"].as_array().expect("events");
        assert_eq!(events.len(), 200);
        assert_eq!(events[0]["kind"], "sealed", "the first ones, in order");
        assert_eq!(view["events_total"], 251);
        db.drop_postgres().await;
    }
}
