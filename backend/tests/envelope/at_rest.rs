//! Health data sealed at rest (issue 15, item 5): a copy of the database shows no title,
//! sender name, file name or file type; the folders still show and search them; rows
//! written in clear before are sealed when the server starts.

use axum::http::StatusCode;
use medimail_server::envelope::at_rest;
use medimail_server::envelope::entity::{attachment, envelope, envelope_term};
use medimail_server::state::AppState;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::common::*;
use crate::{draft, file, get_list, get_raw, multipart, post, signed_in};

/// Every byte the database holds, as a copy of it would: the SQLite file and its
/// write-ahead log after a checkpoint, or every row of every PostgreSQL table as text.
async fn database_copy(state: &AppState, db: &TestDb) -> String {
    let backend = state.db.get_database_backend();
    if db.postgres.is_none() {
        state
            .db
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpoint");
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(db._dir.path()).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                bytes.extend(std::fs::read(&path).expect("read"));
            }
        }
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let tables = state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT table_name::text AS t FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        ))
        .await
        .expect("tables");
    let mut out = String::new();
    for row in tables {
        let table: String = row.try_get("", "t").expect("name");
        let dump = state
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT coalesce(string_agg(r::text, E'\\n'), '') AS d FROM \"{table}\" r"),
            ))
            .await
            .expect("dump")
            .expect("row");
        out.push_str(&dump.try_get::<String>("", "d").expect("text"));
    }
    out
}

#[tokio::test]
async fn a_database_copy_shows_no_title_name_or_file_and_the_folders_still_search_them() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let (status, _) = post(
            &state,
            &marie,
            multipart(
                &draft(),
                &[(
                    "Radiographie thorax.pdf",
                    "application/x-radiographie",
                    file(1, 700),
                )],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let mut second = draft();
        second["subject"] = "Bilan sanguin d'Éloïse".into();
        let (status, _) = post(&state, &marie, multipart(&second, &[])).await;
        assert_eq!(status, StatusCode::CREATED);

        let copy = database_copy(&state, &db).await;
        for secret in [
            "BLANC",
            "Compte rendu",
            "Radiographie",
            "application/x-radiographie",
            "Bilan sanguin",
            "Éloïse",
        ] {
            assert!(
                !copy.contains(secret),
                "{secret:?} is in clear in the database"
            );
        }
        assert!(copy.contains("marie.curie@chu-dev.fr"), "the copy is read");

        // The recipient's folder shows and searches what is sealed, as in clear.
        state.clock.advance(chrono::Duration::seconds(61));
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        let (_, inbox) = get_list(&state, &pierre, "folder=inbox").await;
        assert_eq!(inbox["total"], 2, "{inbox}");
        assert_eq!(inbox["items"][0]["subject"], "Bilan sanguin d'Éloïse");
        assert_eq!(inbox["items"][1]["subject"], "Compte rendu M. BLANC");
        assert_eq!(inbox["items"][1]["sender_name"], "Marie CURIE");
        for (q, found) in [
            ("blanc", 1),
            ("rendu%20m.%20bl", 1),
            ("LANC", 1),
            ("lan", 2),
            ("eloise", 1),
            ("SANGUIN%20D%27%C3%89LO", 1),
            ("curie", 2),
            ("marie.curie%40", 2),
            ("bl", 1),
            ("re", 1),
            ("rt", 0),
            ("zzz", 0),
            ("blanche", 0),
            ("%25", 0),
        ] {
            let (status, list) = get_list(&state, &pierre, &format!("folder=inbox&q={q}")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(list["total"], found, "q={q}: {list}");
            assert_eq!(list["items"].as_array().map(Vec::len), Some(found), "q={q}");
        }
        // Reading and downloading show the name and type, sealed in the row.
        let reference = inbox["items"][1]["reference"].as_str().expect("reference");
        let (_, _, bytes) = get_raw(&state, &pierre, &format!("/api/envelopes/{reference}")).await;
        let view: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(view["subject"], "Compte rendu M. BLANC");
        assert_eq!(view["attachments"][0]["name"], "Radiographie thorax.pdf");
        assert_eq!(
            view["attachments"][0]["content_type"],
            "application/x-radiographie"
        );
        let id = view["attachments"][0]["id"].as_str().expect("id");
        let (status, headers, bytes) = get_raw(
            &state,
            &pierre,
            &format!("/api/envelopes/{reference}/attachments/{id}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, file(1, 700));
        assert!(
            headers["content-disposition"]
                .to_str()
                .expect("ascii")
                .contains("filename*=UTF-8''Radiographie%20thorax.pdf")
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn envelopes_written_in_clear_before_are_sealed_once_at_start() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        for _ in 0..2 {
            let (status, _) = post(
                &state,
                &marie,
                multipart(&draft(), &[("ancien.pdf", "application/pdf", file(2, 300))]),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        // Both rows put back as the version before wrote them: clear columns, nothing
        // sealed, no search tags; the second one already purged.
        let rows = envelope::Entity::find().all(&state.db).await.expect("rows");
        for (n, row) in rows.iter().enumerate() {
            let purged = n == 1;
            envelope::Entity::update_many()
                .col_expr(
                    envelope::Column::Subject,
                    Expr::value("Compte rendu M. BLANC"),
                )
                .col_expr(
                    envelope::Column::SenderName,
                    Expr::value(Some("Marie CURIE")),
                )
                .col_expr(
                    envelope::Column::SubjectSealed,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    envelope::Column::SenderNameSealed,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    envelope::Column::PurgedAt,
                    Expr::value(purged.then(|| state.clock.now())),
                )
                .filter(envelope::Column::Id.eq(&row.id))
                .exec(&state.db)
                .await
                .expect("legacy row");
            attachment::Entity::update_many()
                .col_expr(attachment::Column::DisplayName, Expr::value("ancien.pdf"))
                .col_expr(attachment::Column::SafeName, Expr::value("ancien.pdf"))
                .col_expr(
                    attachment::Column::ContentType,
                    Expr::value("application/pdf"),
                )
                .col_expr(
                    attachment::Column::MetaSealed,
                    Expr::value(Option::<String>::None),
                )
                .filter(attachment::Column::EnvelopeId.eq(&row.id))
                .exec(&state.db)
                .await
                .expect("legacy attachment");
        }
        envelope_term::Entity::delete_many()
            .exec(&state.db)
            .await
            .expect("no tags");
        // Read as they are, before the start seals them.
        let (_, sent) = get_list(&state, &marie, "folder=sent").await;
        assert_eq!(sent["total"], 1, "{sent}");
        assert_eq!(sent["items"][0]["subject"], "Compte rendu M. BLANC");

        // Two instances start at once: each envelope is sealed once.
        let (a, b) = tokio::join!(
            at_rest::seal_legacy(&state.db, &state.keys),
            at_rest::seal_legacy(&state.db, &state.keys)
        );
        assert_eq!(a.expect("a") + b.expect("b"), 2);
        assert_eq!(
            at_rest::seal_legacy(&state.db, &state.keys)
                .await
                .expect("again"),
            0
        );
        let copy = database_copy(&state, &db).await;
        assert!(!copy.contains("BLANC") && !copy.contains("ancien.pdf"));
        for row in envelope::Entity::find().all(&state.db).await.expect("rows") {
            assert_eq!(
                (row.subject.as_str(), row.sender_name.as_deref()),
                ("", None)
            );
            if row.purged_at.is_some() {
                assert_eq!(row.subject_sealed.as_deref(), Some(""));
            } else {
                let shown = at_rest::shown(&state.keys, &row).expect("opens");
                assert_eq!(shown.subject, "Compte rendu M. BLANC");
                assert_eq!(shown.sender_name.as_deref(), Some("Marie CURIE"));
            }
        }
        assert_eq!(
            attachment::Entity::find()
                .filter(attachment::Column::MetaSealed.is_null())
                .filter(attachment::Column::DisplayName.ne(""))
                .count(&state.db)
                .await
                .expect("q"),
            0
        );
        let (_, found) = get_list(&state, &marie, "folder=sent&q=blanc").await;
        assert_eq!(found["total"], 1, "{found}");
        let reference = found["items"][0]["reference"].as_str().expect("reference");
        let (_, _, bytes) = get_raw(&state, &marie, &format!("/api/envelopes/{reference}")).await;
        let view: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(view["attachments"][0]["name"], "ancien.pdf");
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_search_by_part_of_a_sender_mailbox_is_served_by_its_tags_once_those_from_before_are_tagged()
 {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in(&state, "marie.curie@chu-dev.fr").await;
        let pierre = signed_in(&state, "pierre.dupond@chu-dev.fr").await;
        for _ in 0..3 {
            let (status, _) = post(&state, &marie, multipart(&draft(), &[])).await;
            assert_eq!(status, StatusCode::CREATED);
        }
        // Part of the mailbox only: neither the title nor the name « Marie CURIE » has it.
        let by_mailbox = "folder=inbox&q=CURIE%40chu-dev";
        let (_, found) = get_list(&state, &pierre, by_mailbox).await;
        assert_eq!(found["total"], 3, "{found}");

        // Two put back as written before: their title's and name's tags only.
        let rows = envelope::Entity::find().all(&state.db).await.expect("rows");
        for row in &rows[..2] {
            envelope_term::Entity::delete_many()
                .filter(envelope_term::Column::EnvelopeId.eq(&row.id))
                .exec(&state.db)
                .await
                .expect("tags");
            let before = at_rest::terms(
                &state.keys,
                "Compte rendu M. BLANC",
                Some("Marie CURIE"),
                "",
            );
            at_rest::index(&state.db, &row.id, &before)
                .await
                .expect("tags from before");
            envelope::Entity::update_many()
                .col_expr(envelope::Column::TermsVersion, Expr::value(0))
                .filter(envelope::Column::Id.eq(&row.id))
                .exec(&state.db)
                .await
                .expect("from before");
        }
        // Not yet tagged on this database: the mailboxes are scanned, all three found.
        assert!(!at_rest::mailboxes_tagged(&state.db).await.expect("q"));
        let (_, found) = get_list(&state, &pierre, by_mailbox).await;
        assert_eq!(found["total"], 3, "{found}");

        // Two instances start at once: each envelope tagged once, the task done once.
        let now = state.clock.now();
        let (a, b) = tokio::join!(
            at_rest::tag_mailboxes(&state.db, &state.keys, now),
            at_rest::tag_mailboxes(&state.db, &state.keys, now)
        );
        assert_eq!(a.expect("a") + b.expect("b"), 2);
        assert!(at_rest::mailboxes_tagged(&state.db).await.expect("q"));
        assert_eq!(
            at_rest::tag_mailboxes(&state.db, &state.keys, now)
                .await
                .expect("again"),
            0
        );
        assert_eq!(
            envelope::Entity::find()
                .filter(envelope::Column::TermsVersion.ne(at_rest::TERMS_VERSION))
                .count(&state.db)
                .await
                .expect("q"),
            0
        );
        let (_, found) = get_list(&state, &pierre, by_mailbox).await;
        assert_eq!(found["total"], 3, "{found}");
        // Still the search in clear: the address's characters taken as typed (its tags
        // are those of « curie chu », the check finds no « curie_chu »).
        let (_, found) = get_list(&state, &pierre, "folder=inbox&q=curie_chu").await;
        assert_eq!(found["total"], 0, "{found}");
        let (_, found) = get_list(&state, &pierre, "folder=inbox&q=durand%40chu").await;
        assert_eq!(found["total"], 0, "{found}");

        // Served by the tags alone now: an envelope without them is found neither by its
        // mailbox (no scan) nor by its title.
        envelope_term::Entity::delete_many()
            .filter(envelope_term::Column::EnvelopeId.eq(&rows[2].id))
            .exec(&state.db)
            .await
            .expect("tags");
        let (_, found) = get_list(&state, &pierre, by_mailbox).await;
        assert_eq!(found["total"], 2, "{found}");
        let (_, found) = get_list(&state, &pierre, "folder=inbox&q=blanc").await;
        assert_eq!(found["total"], 2, "{found}");
        db.drop_postgres().await;
    }
}
