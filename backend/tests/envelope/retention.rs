//! What the background jobs remove: an envelope's content three months after sealing
//! (the trace stays), and blobs no envelope refers to (left by a crash mid-upload).

use axum::http::StatusCode;
use medimail_server::envelope::entity::{attachment, envelope, envelope_event};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::common::*;
use crate::{blob_count, draft, file, multipart, post, signed_in};

/// More envelopes due than one batch: one run purges them all, whatever the volume
/// (issue 15, item 2: 100 an hour fell behind 2,400 a day).
#[tokio::test]
async fn one_run_purges_everything_due_however_many_batches_it_takes() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        for n in 0..7 {
            let (status, sent) = post(
                &state,
                &marie,
                multipart(&draft(), &[("a.pdf", "application/pdf", file(n, 500))]),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{sent}");
        }
        state.clock.advance(chrono::Duration::days(92));
        use medimail_server::envelope::retention::{purge_all_due, purge_once};
        let started = std::time::Instant::now();
        let purged = purge_all_due(&state.db, &state.keys, &state.blobs, state.clock.now(), 3)
            .await
            .expect("run");
        eprintln!(
            "BENCH retention: {purged} envelopes purged in {:?} in batches of 3",
            started.elapsed()
        );
        assert_eq!(purged, 7, "in batches of 3, one run");
        assert_eq!(blob_count(&state).await, 0, "every file deleted");
        assert_eq!(
            purge_once(&state.db, &state.keys, &state.blobs, state.clock.now())
                .await
                .expect("again"),
            0
        );
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
            purge_once(&state.db, &state.keys, &state.blobs, state.clock.now())
                .await
                .expect("pass"),
            0,
            "too early"
        );
        state.clock.advance(chrono::Duration::days(92));
        // Two instances at once: exactly one purge in all.
        let (a, b) = tokio::join!(
            purge_once(&state.db, &state.keys, &state.blobs, state.clock.now()),
            purge_once(&state.db, &state.keys, &state.blobs, state.clock.now())
        );
        assert_eq!(a.expect("a") + b.expect("b"), 1);
        assert_eq!(
            purge_once(&state.db, &state.keys, &state.blobs, state.clock.now())
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
        // The title and the sender's name are blanked too, their search tags gone: the
        // row keeps the reference, the dates and the mailboxes.
        assert_eq!(
            (
                env.subject_sealed.as_deref(),
                env.sender_name_sealed.as_deref(),
                env.subject.as_str(),
                env.sender_name.as_deref()
            ),
            (Some(""), None, "", None)
        );
        assert_eq!(env.sender_mailbox, "marie.curie@chu-dev.fr");
        assert_eq!(
            medimail_server::envelope::entity::envelope_term::Entity::find()
                .count(&state.db)
                .await
                .expect("q"),
            0
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
    // the test clock is set to the orphan's own stamp (and moved from there).
    let blobs = state.blobs.list().await.expect("list");
    assert_eq!(blobs.len(), 2);
    let (_, written) = blobs
        .iter()
        .find(|(id, _)| id == "orphan-of-a-crash")
        .expect("the orphan is listed");
    state.clock.set(*written);
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

/// An upload that goes on longer than the sweep's hour keeps its files (issue 15, item
/// 8): its blobs are leased while bytes keep coming, and the sweep leaves them — the
/// first file already written and the second still being written.
#[tokio::test]
async fn a_slow_upload_keeps_its_files_through_the_sweep() {
    use axum::body::Body;
    use futures::SinkExt;
    use medimail_server::envelope::entity::blob_lease;
    use medimail_server::envelope::sweep::sweep_once;
    use tower::ServiceExt;
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let body = multipart(
            &draft(),
            &[
                ("premier.pdf", "application/pdf", file(1, 20_000)),
                ("second.pdf", "application/pdf", file(2, 20_000)),
            ],
        );
        // Cut inside the second file: the first is whole, the second begun.
        let second_at = body
            .windows(10)
            .position(|w| w == b"second.pdf")
            .expect("second part");
        let (head, tail) = body.split_at(second_at + 1_000);
        let (mut tx, rx) =
            futures::channel::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
        let request = axum::http::Request::post("/api/envelopes")
            .header("authorization", format!("Bearer {}", marie.0))
            .header(medimail_api::SESSION_HEADER, &marie.1)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={}", crate::BOUNDARY),
            )
            .body(Body::from_stream(rx))
            .expect("request");
        let app = medimail_server::http::app(state.clone());
        let sending = tokio::spawn(async move { app.oneshot(request).await });
        tx.send(Ok(bytes::Bytes::copy_from_slice(head)))
            .await
            .expect("first bytes");
        // The signal: the first file's blob is written.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while blob_count(&state).await < 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the first blob is written"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // The blob's age is its file time (the system clock): the test clock starts there.
        let (_, written) = state.blobs.list().await.expect("list")[0].clone();
        state.clock.set(written);
        // A few bytes now, then 50 minutes later a few more, then 50 minutes more.
        let renewed_past = |at: chrono::DateTime<chrono::Utc>| {
            let db = state.db.clone();
            async move {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                loop {
                    let leases = blob_lease::Entity::find().all(&db).await.expect("leases");
                    if leases.len() == 2 && leases.iter().all(|l| l.until > at) {
                        return;
                    }
                    assert!(
                        std::time::Instant::now() < deadline,
                        "leases renewed: {leases:?}"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        };
        tx.send(Ok(bytes::Bytes::copy_from_slice(&tail[..100])))
            .await
            .expect("bytes");
        renewed_past(state.clock.now() + chrono::Duration::minutes(59)).await;
        state.clock.advance(chrono::Duration::minutes(50));
        tx.send(Ok(bytes::Bytes::copy_from_slice(&tail[100..200])))
            .await
            .expect("bytes");
        renewed_past(state.clock.now() + chrono::Duration::minutes(59)).await;
        state.clock.advance(chrono::Duration::minutes(50));
        assert_eq!(
            sweep_once(&state.db, &state.blobs, state.clock.now())
                .await
                .expect("sweep"),
            0,
            "the upload's blobs are 100 minutes old and still in use"
        );
        tx.send(Ok(bytes::Bytes::copy_from_slice(&tail[200..])))
            .await
            .expect("the rest");
        drop(tx);
        let response = sending.await.expect("task").expect("infallible");
        assert_eq!(response.status(), StatusCode::CREATED);
        // Both files are there, and nothing is leased any more.
        let rows = attachment::Entity::find()
            .all(&state.db)
            .await
            .expect("rows");
        assert_eq!(rows.len(), 2);
        let stored: Vec<String> = state
            .blobs
            .list()
            .await
            .expect("list")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for row in &rows {
            assert!(stored.contains(&row.blob_id), "{} kept", row.blob_id);
        }
        assert_eq!(
            blob_lease::Entity::find()
                .count(&state.db)
                .await
                .expect("q"),
            0
        );
        db.drop_postgres().await;
    }
}
