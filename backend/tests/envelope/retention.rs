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
