//! "Envoyer": a sealed envelope's rows, its encrypted blobs and the notifications in the
//! outbox; forwards re-encrypting the original files; every refusal leaving no envelope
//! and no blob.

use axum::http::StatusCode;
use base64::Engine;
use medimail_server::crypto::DataKey;
use medimail_server::entity::outbox;
use medimail_server::envelope::at_rest;
use medimail_server::envelope::entity::{attachment, envelope, envelope_event, envelope_recipient};
use medimail_server::state::AppState;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::*;
use crate::{File, blob_count, draft, file, get_raw, multipart, post, signed_in, stored_blob};

#[tokio::test]
async fn seals_an_envelope_with_encrypted_files() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let auth = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let files = vec![
            ("Compte rendu.pdf", "application/pdf", file(1, 300_000)),
            ("radio 1.png", "image/png", file(2, 65_536)),
            ("ordonnance\u{301}.txt", "text/plain", file(3, 10)),
        ];
        let (status, body) = post(&state, &auth, multipart(&draft(), &files)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let reference = body["reference"].as_str().expect("reference").to_owned();
        assert_eq!(reference.len(), 32);
        assert_eq!(
            (body["recipients"].as_u64(), body["attachments"].as_u64()),
            (Some(2), Some(3))
        );

        let env = envelope::Entity::find()
            .filter(envelope::Column::Reference.eq(&reference))
            .one(&state.db)
            .await
            .expect("q")
            .expect("row");
        // Sealed at rest: the clear column is blank, the sealed one opens to the title.
        assert_eq!(env.subject, "");
        assert_eq!(env.sender_name, None);
        assert!(
            !env.subject_sealed
                .as_deref()
                .expect("sealed")
                .contains("BLANC")
        );
        assert_eq!(
            at_rest::shown(&state.keys, &env).expect("opens").subject,
            "Compte rendu M. BLANC"
        );
        assert!(env.engine.starts_with("AES-256-GCM"));
        // The default window: from the sealing time (the test clock) to 3 calendar months
        // later, computed here from the same start (never from today's date).
        assert_eq!(env.opens_from, env.sealed_at);
        assert_eq!(
            Some(env.opens_until),
            env.sealed_at.checked_add_months(chrono::Months::new(3)),
            "3 months after sealing"
        );
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = DataKey::unwrap(
            &state.keys,
            &env.id,
            &b64.decode(&env.wrapped_key).expect("b64"),
        )
        .expect("unwraps");
        let body_html = String::from_utf8(
            key.open(
                &format!("{}/body", env.id),
                &b64.decode(&env.body_sealed).expect("b64"),
            )
            .expect("opens"),
        )
        .expect("utf8");
        assert!(body_html.contains("<b>voici</b>"));
        assert!(
            !body_html.contains("script") && !body_html.contains("onerror"),
            "{body_html}"
        );

        let recipients = envelope_recipient::Entity::find()
            .filter(envelope_recipient::Column::EnvelopeId.eq(&env.id))
            .all(&state.db)
            .await
            .expect("q");
        assert_eq!(recipients.len(), 2);
        let attachments = attachment::Entity::find()
            .filter(attachment::Column::EnvelopeId.eq(&env.id))
            .all(&state.db)
            .await
            .expect("q");
        assert_eq!(attachments.len(), 3);
        for att in &attachments {
            let (name, _, plain) = &files[att.position as usize];
            assert_eq!(att.size as usize, plain.len());
            assert_eq!(
                (att.display_name.as_str(), att.content_type.as_str()),
                ("", ""),
                "sealed at rest"
            );
            let meta = at_rest::attachment_meta(&key, att).expect("opens");
            if att.position == 2 {
                assert_eq!(meta.name, "ordonnancé.txt", "NFC");
            } else {
                assert_eq!(&meta.name, name);
            }
            // Stored: ciphertext, which decrypts back byte-identical.
            let stored = stored_blob(&state, &att.blob_id).await;
            assert_ne!(&stored, plain);
            let mut dec = key.decryptor(&att.blob_id);
            let mut back = dec.push(&stored).expect("opens");
            back.extend(dec.finish().expect("complete"));
            assert_eq!(&back, plain);
        }
        let events = envelope_event::Entity::find()
            .filter(envelope_event::Column::EnvelopeId.eq(&env.id))
            .all(&state.db)
            .await
            .expect("q");
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].kind.as_str(), events[0].actor.as_str()),
            ("sealed", "marie.curie@chu-dev.fr")
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn each_recipient_is_notified_with_the_link_and_without_the_body() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let auth = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let (status, body) = post(
            &state,
            &auth,
            multipart(&draft(), &[("a.pdf", "application/pdf", file(1, 1000))]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let reference = body["reference"].as_str().expect("reference").to_owned();

        // One notification per recipient, with the link and without the body.
        state.mail_worker().drain_once().await.expect("drained");
        let notes = outbox::Entity::find()
            .filter(outbox::Column::Purpose.eq("notification"))
            .all(&state.db)
            .await
            .expect("q");
        assert_eq!(notes.len(), 2);
        assert!(notes.iter().all(|n| n.status == "sent"));
        let dir = state.mailer.file_dir().expect("dir");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("dir") {
            let raw = std::fs::read(entry.expect("e").path()).expect("read");
            let m = mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("mail");
            if m.subject() == Some("[MEDIMAIL : Reception] Compte rendu M. BLANC") {
                let text = m.body_text(0).expect("text");
                assert!(
                    text.contains(&format!("#/inbox/open/{reference}")),
                    "{text}"
                );
                assert!(!text.contains("voici"));
                seen += 1;
            }
        }
        assert_eq!(seen, 2);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn every_refusal_leaves_no_envelope_and_no_blob() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let auth = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let six: Vec<(&str, &str, Vec<u8>)> = (0..6)
            .map(|i| ("f.txt", "text/plain", file(i, 1000)))
            .collect();
        let limit = medimail_api::limits::MAX_ATTACHMENTS_TOTAL_BYTES as usize;
        let over = vec![
            ("a.bin", "application/octet-stream", file(1, limit / 2)),
            ("b.bin", "application/octet-stream", file(2, limit / 2 + 1)),
        ];
        let long_name = format!("{}.pdf", "n".repeat(252));
        let cases: Vec<(&str, Value, Vec<File>)> = vec![
            ("attachments_too_many", draft(), six),
            ("attachments_too_large", draft(), over),
            (
                "subject_missing",
                {
                    let mut d = draft();
                    d["subject"] = json!("  ");
                    d
                },
                vec![],
            ),
            (
                "recipient_invalid",
                {
                    let mut d = draft();
                    d["to"] = json!(["pierre@@chu"]);
                    d
                },
                vec![],
            ),
            (
                "attachment_name_too_long",
                draft(),
                vec![(long_name.as_str(), "application/pdf", file(1, 10))],
            ),
            (
                "attachment_empty",
                draft(),
                vec![("vide.txt", "text/plain", vec![])],
            ),
            // Nothing to read: no text (only tags and spaces) and no file.
            (
                "body_missing",
                {
                    let mut d = draft();
                    d["body_html"] = json!("<p>&nbsp; </p><div><br></div><script>x</script>");
                    d
                },
                vec![],
            ),
        ];
        for (code, d, files) in cases {
            let (status, body) = post(&state, &auth, multipart(&d, &files)).await;
            assert!(status.is_client_error(), "{code}: {status} {body}");
            assert_eq!(body["code"], code, "{body}");
            assert!(body["message"].as_str().unwrap_or("").len() > 10);
        }
        // An upload cut halfway: the multipart body ends inside a file.
        let mut cut = multipart(
            &draft(),
            &[("a.bin", "application/octet-stream", file(1, 500_000))],
        );
        cut.truncate(cut.len() / 2);
        let (status, body) = post(&state, &auth, cut).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("upload_interrupted"))
        );

        assert_eq!(
            envelope::Entity::find().count(&state.db).await.expect("q"),
            0
        );
        assert_eq!(
            attachment::Entity::find()
                .count(&state.db)
                .await
                .expect("q"),
            0
        );
        assert_eq!(blob_count(&state).await, 0, "no blob left behind");
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn sending_without_a_session_is_refused_before_anything_is_read() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let auth = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let (status, body) = post(
            &state,
            &(auth.0.clone(), "nope".into()),
            multipart(&draft(), &[]),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("session_invalid"))
        );
        db.drop_postgres().await;
    }
}

/// An envelope from Marie with two files, which Pierre received: what a forward starts from.
struct Received {
    /// The original envelope's reference.
    reference: String,
    /// The ids of its attachments, in order (the scanner, then the note).
    ids: Vec<String>,
    /// The scanner's bytes.
    scan: Vec<u8>,
    /// Pierre, a recipient.
    pierre: (String, String),
    /// Someone who is neither sender nor recipient.
    other: (String, String),
}

async fn received(state: &AppState) -> Received {
    let marie = signed_in(state, "marie.curie@chu-dev.fr").await;
    let scan = file(3, 300_000);
    let note = file(4, 70_000);
    let (status, sent) = post(
        state,
        &marie,
        multipart(
            &draft(),
            &[
                ("scanner.pdf", "application/pdf", scan.clone()),
                ("note.txt", "text/plain", note.clone()),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let reference = sent["reference"].as_str().expect("reference").to_owned();
    state.clock.advance(chrono::Duration::seconds(61));
    let pierre = signed_in(state, "pierre.dupond@chu-dev.fr").await;
    state.clock.advance(chrono::Duration::seconds(61));
    let other = signed_in(state, "autre@chu-dev.fr").await;
    let (_, _, body) = get_raw(state, &pierre, &format!("/api/envelopes/{reference}")).await;
    let original: Value = serde_json::from_slice(&body).expect("json");
    let ids: Vec<String> = original["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    Received {
        reference,
        ids,
        scan,
        pierre,
        other,
    }
}

/// A forward of `reference` keeping the attachments `ids`.
fn forward(reference: &str, ids: Vec<String>) -> Value {
    json!({
        "to": ["chef.service@chu-dev.fr"],
        "subject": "TR: Compte rendu M. BLANC",
        "body_html": "<p>Pour avis</p>",
        "forward": {"reference": reference, "attachments": ids},
    })
}

#[tokio::test]
async fn a_forward_carries_the_original_files_re_encrypted() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let Received {
            reference,
            ids,
            scan,
            pierre,
            ..
        } = received(&state).await;

        // Pierre forwards the scanner only, with one new file.
        let extra = file(5, 1000);
        let (status, fwd) = post(
            &state,
            &pierre,
            multipart(
                &forward(&reference, vec![ids[0].clone()]),
                &[("avis.txt", "text/plain", extra.clone())],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{fwd}");
        let fwd_ref = fwd["reference"].as_str().expect("reference").to_owned();
        let (_, _, body) = get_raw(&state, &pierre, &format!("/api/envelopes/{fwd_ref}")).await;
        let view: Value = serde_json::from_slice(&body).expect("json");
        let names: Vec<&str> = view["attachments"]
            .as_array()
            .expect("attachments")
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        assert_eq!(names, ["scanner.pdf", "avis.txt"]);
        let new_id = view["attachments"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        assert_ne!(new_id, ids[0], "a new blob, not a shared one");
        let (status, _, bytes) = get_raw(
            &state,
            &pierre,
            &format!("/api/envelopes/{fwd_ref}/attachments/{new_id}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, scan, "forwarded file byte-identical");
        // Under the new envelope's key: the original key cannot open the copy.
        let fwd_row = envelope::Entity::find()
            .filter(envelope::Column::Reference.eq(&fwd_ref))
            .one(&state.db)
            .await
            .expect("q")
            .expect("row");
        let orig_row = envelope::Entity::find()
            .filter(envelope::Column::Reference.eq(&reference))
            .one(&state.db)
            .await
            .expect("q")
            .expect("row");
        assert_ne!(fwd_row.wrapped_key, orig_row.wrapped_key);
        let b64 = base64::engine::general_purpose::STANDARD;
        let orig_key = DataKey::unwrap(
            &state.keys,
            &orig_row.id,
            &b64.decode(&orig_row.wrapped_key).expect("b64"),
        )
        .expect("key");
        let stored = stored_blob(&state, &new_id).await;
        let mut dec = orig_key.decryptor(&new_id);
        assert!(
            dec.push(&stored).and_then(|_| dec.finish()).is_err(),
            "the copy is not under the original key"
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_forward_counts_its_files_in_the_limits_and_only_a_reader_can_forward() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let Received {
            reference,
            ids,
            pierre,
            other,
            ..
        } = received(&state).await;

        // Limits count the forwarded files: 2 forwarded + 4 new = 6.
        let four: Vec<File> = (0..4)
            .map(|i| ("x.txt", "text/plain", file(i, 10)))
            .collect();
        let before = blob_count(&state).await;
        let (status, body) = post(
            &state,
            &pierre,
            multipart(&forward(&reference, ids.clone()), &four),
        )
        .await;
        assert!(status.is_client_error());
        assert_eq!(body["code"], "attachments_too_many", "{body}");
        assert_eq!(blob_count(&state).await, before, "no blob left");
        // An attachment of another envelope, and an envelope the caller cannot read.
        let (status, body) = post(
            &state,
            &pierre,
            multipart(&forward(&reference, vec!["not-an-id".into()]), &[]),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("forward_attachment_unknown")
            )
        );
        let (status, _) = post(
            &state,
            &other,
            multipart(&forward(&reference, ids.clone()), &[]),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a stranger cannot forward it"
        );
        assert_eq!(blob_count(&state).await, before);
        db.drop_postgres().await;
    }
}

/// "Envoyer" with an `Idempotency-Key`, as the pane sends it.
async fn post_with_key(
    state: &AppState,
    auth: &(String, String),
    key: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::post("/api/envelopes")
        .header("authorization", format!("Bearer {}", auth.0))
        .header(medimail_api::SESSION_HEADER, &auth.1)
        .header("idempotency-key", key)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={}", crate::BOUNDARY),
        )
        .body(Body::from(body))
        .expect("request");
    let response = medimail_server::http::app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A send retried after its answer was lost, or the same send arriving 100 times at
/// once, seals one envelope: every answer names it (issue 15, item 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_idempotency_key_seals_one_envelope_even_100_times_at_once() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let body = multipart(&draft(), &[("a.pdf", "application/pdf", file(1, 3000))]);

        let (status, first) = post_with_key(&state, &marie, "envoi-1", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let (status, again) = post_with_key(&state, &marie, "envoi-1", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        assert_eq!(again, first, "the same answer");
        assert_eq!(
            envelope::Entity::find().count(&state.db).await.expect("q"),
            1
        );

        let answers = futures::future::join_all((0..100).map(|_| {
            let (state, marie, body) = (state.clone(), marie.clone(), body.clone());
            async move { post_with_key(&state, &marie, "envoi-2", body).await }
        }))
        .await;
        let references: std::collections::HashSet<String> = answers
            .iter()
            .map(|(status, answer)| {
                assert_eq!(*status, StatusCode::CREATED, "{answer}");
                answer["reference"].as_str().expect("reference").to_owned()
            })
            .collect();
        assert_eq!(references.len(), 1, "one envelope for the 100 sends");
        assert_ne!(
            references.iter().next(),
            first["reference"].as_str().map(str::to_owned).as_ref()
        );
        assert_eq!(
            envelope::Entity::find().count(&state.db).await.expect("q"),
            2
        );
        assert_eq!(blob_count(&state).await, 2, "the losers' files are deleted");
        assert_eq!(
            attachment::Entity::find()
                .count(&state.db)
                .await
                .expect("q"),
            2
        );

        // Another key is another envelope; a malformed one is refused, nothing stored.
        let (status, _) = post_with_key(&state, &marie, "envoi-3", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, refused) = post_with_key(&state, &marie, "pas une clé !", body.clone()).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("idempotency_key_invalid"))
        );
        assert_eq!(
            envelope::Entity::find().count(&state.db).await.expect("q"),
            3
        );
        // The key belongs to its sender: Pierre's "envoi-1" is his own envelope.
        let (status, his) = post_with_key(&state, &pierre, "envoi-1", body).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_ne!(his["reference"], first["reference"]);
        db.drop_postgres().await;
    }
}

/// One sender cannot flood recipients (and the outbox) with notifications: past the
/// hourly quota of envelopes (or of recipients) « Envoyer » is refused with the time it
/// works again, and the quota holds when 100 sends arrive at once (issue 15, item 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hourly_sending_quota_holds_even_for_100_sends_at_once() {
    for db in databases().await {
        let mut state = state_with(&db, true).await;
        let mut config = (*state.config).clone();
        config.send_envelopes_per_hour = 5;
        config.send_recipients_per_hour = 7;
        state.config = std::sync::Arc::new(config);
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let one = |n: usize| {
            multipart(
                &json!({
                    "to": ["pierre.dupond@chu-dev.fr"],
                    "cc": [],
                    "subject": format!("Envoi {n}"),
                    "body_html": "<p>Bonjour</p>",
                }),
                &[("a.pdf", "application/pdf", file(n, 500))],
            )
        };
        let answers = futures::future::join_all((0..100).map(|n| {
            let (state, marie, body) = (state.clone(), marie.clone(), one(n));
            async move { post(&state, &marie, body).await }
        }))
        .await;
        let sealed = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::CREATED)
            .count();
        assert_eq!(sealed, 5, "exactly the quota, whatever the concurrency");
        let refused = answers
            .iter()
            .find(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
            .expect("refusals");
        assert_eq!(refused.1["code"], "send_quota_exceeded");
        assert!(
            refused.1["message"]
                .as_str()
                .unwrap_or("")
                .contains("5 enveloppes par heure"),
            "{}",
            refused.1
        );
        assert_eq!(refused.1["retry_after_seconds"], 3600);
        assert_eq!(
            envelope::Entity::find().count(&state.db).await.expect("q"),
            5
        );
        assert_eq!(
            blob_count(&state).await,
            5,
            "the refused sends left no file"
        );

        // An hour later the envelopes may go again, but not to more than 7 recipients
        // in the hour: 5 + 3 would pass it.
        // (Used every 21 minutes, the session outlives the hour.)
        for _ in 0..3 {
            state.clock.advance(chrono::Duration::minutes(21));
            let (status, _) = crate::get_list(&state, &marie, "folder=sent").await;
            assert_eq!(status, StatusCode::OK);
        }
        let (status, _) = post(&state, &marie, one(100)).await;
        assert_eq!(status, StatusCode::CREATED);
        let three = multipart(
            &json!({
                "to": ["a@chu-dev.fr; b@chu-dev.fr; c@chu-dev.fr; d@chu-dev.fr; e@chu-dev.fr; f@chu-dev.fr; g@chu-dev.fr"],
                "cc": [],
                "subject": "Sept",
                "body_html": "<p>Bonjour</p>",
            }),
            &[],
        );
        let (status, refused) = post(&state, &marie, three).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap_or("")
                .contains("7 destinataires par heure"),
            "{refused}"
        );
        db.drop_postgres().await;
    }
}
