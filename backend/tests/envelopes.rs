//! "Envoyer" through the real router, on SQLite and on PostgreSQL when `DATABASE_URL` is
//! set: a sealed envelope's rows, its encrypted blobs, the notifications in the outbox,
//! and every refusal leaving no envelope and no blob.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use medimail_server::crypto::DataKey;
use medimail_server::entity::{attachment, envelope, envelope_event, envelope_recipient, outbox};
use medimail_server::state::AppState;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::*;

const BOUNDARY: &str = "medimail-test-boundary-7d3f";

/// A signed-in sender named "Marie CURIE".
async fn signed_in(state: &AppState, mailbox: &str) -> (String, String) {
    common::signed_in_as(state, mailbox, "Marie CURIE").await
}

/// A file to attach: name, content type, bytes.
type File<'a> = (&'a str, &'a str, Vec<u8>);

/// A multipart body: the `envelope` part, then files.
fn multipart(draft: &Value, files: &[File]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n").as_bytes());
    for (name, ctype, data) in files {
        out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n").as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// One signed-in request through the real router: status, headers, body.
async fn send_as(
    state: &AppState,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", auth.0))
        .header("x-medimail-session", &auth.1);
    if body.is_some() {
        request = request.header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
    }
    let request = request
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .expect("request");
    let response = medimail_server::http::app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, bytes.to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

/// "Envoyer" with a multipart body.
async fn post(state: &AppState, auth: &(String, String), body: Vec<u8>) -> (StatusCode, Value) {
    let (status, _, bytes) = send_as(state, auth, "POST", "/api/envelopes", Some(body)).await;
    (status, json_of(&bytes))
}

fn draft() -> Value {
    json!({
        "to": ["pierre.dupond@chu-dev.fr; s.pateney@chu-dev.fr"],
        "cc": [],
        "subject": "Compte rendu M. BLANC",
        "body_html": "<p>Bonjour, <b>voici</b> le compte rendu.</p><script>alert(1)</script><img src=x onerror=alert(2)>",
    })
}

fn file(n: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + n * 13) % 251) as u8).collect()
}

async fn blob_count(state: &AppState) -> usize {
    state.blobs.list().await.expect("list").len()
}

#[tokio::test]
async fn seals_an_envelope_with_encrypted_files_and_notifies_each_recipient() {
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
        assert_eq!(env.subject, "Compte rendu M. BLANC");
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
            if att.position == 2 {
                assert_eq!(att.display_name, "ordonnancé.txt", "NFC");
            } else {
                assert_eq!(&att.display_name, name);
            }
            // Stored: ciphertext, which decrypts back byte-identical.
            let mut stream = Box::pin(state.blobs.read(&att.blob_id).await.expect("blob"));
            let mut stored = Vec::new();
            while let Some(chunk) = futures_next(&mut stream).await {
                stored.extend_from_slice(&chunk);
            }
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

async fn futures_next<
    S: futures::Stream<Item = Result<bytes::Bytes, medimail_server::storage::BlobError>> + Unpin,
>(
    s: &mut S,
) -> Option<bytes::Bytes> {
    use futures::StreamExt;
    s.next().await.map(|r| r.expect("chunk"))
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

        // Without a session: refused before anything is read.
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

#[tokio::test]
async fn the_sweep_removes_old_orphan_blobs_and_keeps_the_envelopes_files() {
    let db = TestDb::sqlite().await;
    let state = state_with(&db, true).await;
    let auth = signed_in(&state, "marie.curie@chu-dev.fr").await;
    let (status, _) = post(
        &state,
        &auth,
        multipart(&draft(), &[("a.pdf", "application/pdf", file(1, 1000))]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut orphan = state
        .blobs
        .writer("orphan-of-a-crash")
        .await
        .expect("writer");
    orphan.write(b"ciphertext").await.expect("write");
    orphan.finish().await.expect("finish");
    // A blob's age is its file time, which the file system stamps with the system clock:
    // the test clock is set to it here (and moved from there), not to a day of its own.
    state.clock.set(chrono::Utc::now());
    assert_eq!(blob_count(&state).await, 2);
    assert_eq!(
        medimail_server::envelope::sweep::sweep_once(&state.db, &state.blobs, state.clock.now())
            .await
            .expect("sweep"),
        0,
        "too young"
    );
    state.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        medimail_server::envelope::sweep::sweep_once(&state.db, &state.blobs, state.clock.now())
            .await
            .expect("sweep"),
        1
    );
    let left: Vec<String> = state
        .blobs
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let att = attachment::Entity::find()
        .one(&state.db)
        .await
        .expect("q")
        .expect("row");
    assert_eq!(left, vec![att.blob_id]);
}

async fn get_list(state: &AppState, auth: &(String, String), query: &str) -> (StatusCode, Value) {
    let (status, _, bytes) =
        send_as(state, auth, "GET", &format!("/api/envelopes?{query}"), None).await;
    (status, json_of(&bytes))
}

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
        assert_eq!(get_list(&state, &marie, "folder=inbox").await.1["total"], 0);

        // The recipient signs in later: the placeholder account is adopted, the envelope waits.
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let (_, inbox) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!(inbox["total"], 1, "{inbox}");
        assert_eq!(inbox["items"][0]["unread"], true);
        assert_eq!(inbox["items"][0]["sender"], "marie.curie@chu-dev.fr");
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

async fn get_raw(
    state: &AppState,
    auth: &(String, String),
    path: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send_as(state, auth, "GET", path, None).await
}

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

async fn call(state: &AppState, auth: &(String, String), method: &str, path: &str) -> StatusCode {
    send_as(state, auth, method, path, None).await.0
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

#[tokio::test]
async fn three_months_after_sealing_the_content_is_purged_once_and_the_trace_remains() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let (_, sent) = post(
            &state,
            &marie,
            multipart(&draft(), &[("a.pdf", "application/pdf", file(1, 5000))]),
        )
        .await;
        assert!(sent["reference"].is_string(), "{sent}");
        use medimail_server::envelope::retention::purge_once;
        assert_eq!(
            purge_once(&state.db, &state.blobs, state.clock.now())
                .await
                .expect("pass"),
            0,
            "too early"
        );
        state.clock.advance(chrono::Duration::days(92));
        // Two instances at once: exactly one purge in all.
        let (a, b) = tokio::join!(
            purge_once(&state.db, &state.blobs, state.clock.now()),
            purge_once(&state.db, &state.blobs, state.clock.now())
        );
        assert_eq!(a.expect("a") + b.expect("b"), 1);
        assert_eq!(
            purge_once(&state.db, &state.blobs, state.clock.now())
                .await
                .expect("again"),
            0,
            "idempotent"
        );
        let env = envelope::Entity::find()
            .one(&state.db)
            .await
            .expect("q")
            .expect("row kept");
        assert!(env.purged_at.is_some());
        assert_eq!(
            (env.wrapped_key.as_str(), env.body_sealed.as_str()),
            ("", "")
        );
        assert_eq!(
            attachment::Entity::find()
                .count(&state.db)
                .await
                .expect("q"),
            0
        );
        assert_eq!(blob_count(&state).await, 0, "blobs deleted");
        assert_eq!(
            envelope_event::Entity::find()
                .count(&state.db)
                .await
                .expect("q"),
            1,
            "events kept"
        );
        let trail = medimail_server::entity::audit_event::Entity::find()
            .all(&state.db)
            .await
            .expect("audit");
        assert_eq!(
            trail
                .iter()
                .filter(|e| e.action == "envelope_purged")
                .count(),
            1
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_forward_carries_the_original_files_re_encrypted_within_the_limits() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let scan = file(3, 300_000);
        let note = file(4, 70_000);
        let (status, sent) = post(
            &state,
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
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        state.clock.advance(chrono::Duration::seconds(61));
        let other = signed_in(&state, "autre@chu-dev.fr").await;
        let (_, _, body) = get_raw(&state, &pierre, &format!("/api/envelopes/{reference}")).await;
        let original: Value = serde_json::from_slice(&body).expect("json");
        let ids: Vec<String> = original["attachments"]
            .as_array()
            .expect("attachments")
            .iter()
            .map(|a| a["id"].as_str().expect("id").to_owned())
            .collect();

        // Pierre forwards the scanner only, with one new file.
        let forward = |ids: Vec<String>| {
            json!({
                "to": ["chef.service@chu-dev.fr"],
                "subject": "TR: Compte rendu M. BLANC",
                "body_html": "<p>Pour avis</p>",
                "forward": {"reference": reference, "attachments": ids},
            })
        };
        let extra = file(5, 1000);
        let (status, fwd) = post(
            &state,
            &pierre,
            multipart(
                &forward(vec![ids[0].clone()]),
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
        let mut stored = Vec::new();
        let mut s = Box::pin(state.blobs.read(&new_id).await.expect("blob"));
        while let Some(c) = futures::StreamExt::next(&mut s).await {
            stored.extend_from_slice(&c.expect("chunk"));
        }
        let mut dec = orig_key.decryptor(&new_id);
        assert!(
            dec.push(&stored).and_then(|_| dec.finish()).is_err(),
            "the copy is not under the original key"
        );

        // Limits count the forwarded files: 2 forwarded + 4 new = 6.
        let four: Vec<File> = (0..4)
            .map(|i| ("x.txt", "text/plain", file(i, 10)))
            .collect();
        let before = blob_count(&state).await;
        let (status, body) = post(&state, &pierre, multipart(&forward(ids.clone()), &four)).await;
        assert!(status.is_client_error());
        assert_eq!(body["code"], "attachments_too_many", "{body}");
        assert_eq!(blob_count(&state).await, before, "no blob left");
        // An attachment of another envelope, and an envelope the caller cannot read.
        let (status, body) = post(
            &state,
            &pierre,
            multipart(&forward(vec!["not-an-id".into()]), &[]),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("forward_attachment_unknown")
            )
        );
        let (status, _) = post(&state, &other, multipart(&forward(ids.clone()), &[])).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a stranger cannot forward it"
        );
        assert_eq!(blob_count(&state).await, before);
        db.drop_postgres().await;
    }
}
