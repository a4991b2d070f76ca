//! Importing the national extraction, on SQLite and on PostgreSQL when `DATABASE_URL` is
//! set: rows and name keys written, malformed lines reported and skipped, duplicates
//! counted, a bad header refused before anything is written, and a re-import replacing
//! the snapshot.

use medimail_server::directory::extraction::COLUMNS;
use medimail_server::directory::import::{ImportError, import_extraction};
use medimail_server::entity::{directory_entry, directory_key, directory_snapshot};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

mod common;
use common::*;

fn line(kind: &str, address: &str, last: &str, first: &str) -> String {
    let mut cols = vec![String::new(); 31];
    cols[0] = kind.into();
    cols[1] = address.into();
    cols[9] = last.into();
    cols[10] = first.into();
    cols[28] = "75012".into();
    cols.join("|")
}

fn file(lines: &[String]) -> Vec<u8> {
    let mut out = COLUMNS.join("|").into_bytes();
    out.extend_from_slice(b"\r\n");
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[tokio::test]
async fn imports_reports_bad_lines_and_replaces_the_snapshot_on_reimport() {
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let mut bytes = file(&[
            line(
                "PER",
                "benedicte.dupont@chu.mssante.fr",
                "DUPONT-MOREAU",
                "Bénédicte",
            ),
            line("PER", "jeanne.darc@chu.mssante.fr", "d'Arc", "Jeanne"),
            "PER|trop|court".to_owned(),
            line("PER", "Benedicte.Dupont@chu.mssante.fr", "DUPONT", "B"),
            line("ORG", "pas-une-adresse", "", ""),
        ]);
        bytes.extend_from_slice(b"PER|\xff\xfe|x\r\n");
        let mut seen = Vec::new();
        let report = import_extraction(
            &conn,
            "mssante",
            std::io::Cursor::new(bytes),
            chrono::Utc::now(),
            |n| seen.push(n),
        )
        .await
        .expect("imported");
        assert_eq!(report.imported, 2);
        assert_eq!(report.duplicates, 1);
        let reasons: Vec<(u64, &str)> = report
            .rejected
            .iter()
            .map(|(n, r)| (*n, r.as_str()))
            .collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert_eq!(reasons[0], (4, "3 colonnes au lieu de 31"));
        assert_eq!(reasons[1].0, 6);
        assert!(reasons[2].1.contains("UTF-8"), "{reasons:?}");
        assert!(!seen.is_empty(), "progress reported");
        let keys: Vec<String> = directory_key::Entity::find()
            .filter(directory_key::Column::SnapshotId.eq(report.snapshot_id))
            .all(&conn)
            .await
            .expect("q")
            .into_iter()
            .map(|k| k.key)
            .collect();
        for wanted in [
            "n:dupont",
            "n:moreau",
            "n:dupontmoreau",
            "p:benedicte",
            "n:darc",
        ] {
            assert!(keys.iter().any(|k| k == wanted), "{wanted} in {keys:?}");
        }

        // A bad header: refused, nothing written, the active snapshot untouched.
        let mut cols = COLUMNS.to_vec();
        cols.swap(9, 10);
        let bad = format!("{}\n{}\n", cols.join("|"), line("PER", "x@y.fr", "A", "B"));
        let refused = import_extraction(
            &conn,
            "mssante",
            std::io::Cursor::new(bad.into_bytes()),
            chrono::Utc::now(),
            |_| {},
        )
        .await;
        assert!(matches!(refused, Err(ImportError::Header(_))));
        assert_eq!(
            directory_entry::Entity::find()
                .count(&conn)
                .await
                .expect("q"),
            2
        );

        // A re-import replaces the snapshot.
        let second = import_extraction(
            &conn,
            "mssante",
            std::io::Cursor::new(file(&[line(
                "PER",
                "nouveau@chu.mssante.fr",
                "NOUVEAU",
                "Né",
            )])),
            chrono::Utc::now(),
            |_| {},
        )
        .await
        .expect("imported");
        assert_ne!(second.snapshot_id, report.snapshot_id);
        let snapshots = directory_snapshot::Entity::find()
            .all(&conn)
            .await
            .expect("q");
        assert_eq!(snapshots.len(), 1, "the old snapshot is gone");
        assert_eq!(snapshots[0].state, "active");
        assert_eq!(snapshots[0].rows, 1);
        let entries = directory_entry::Entity::find().all(&conn).await.expect("q");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].address, "nouveau@chu.mssante.fr");
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn finds_names_by_any_part_ignoring_accents_and_punctuation_exact_first() {
    use medimail_server::directory::search::{Criteria, SearchError, search};
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let mut lines = vec![
            line(
                "PER",
                "b.dupont@chu.mssante.fr",
                "DUPONT-MOREAU",
                "Bénédicte",
            ),
            line("PER", "j.darc@chu.mssante.fr", "d'Arc", "Jeanne"),
            line("PER", "jp.tour@chu.mssante.fr", "DE LA TOUR", "Jean-Pierre"),
            line("PER", "dup@chu.mssante.fr", "DUP", "Zoé"),
            line("PER", "dupuis@chu.mssante.fr", "DUPUIS", "Agnès"),
        ];
        for i in 0..60 {
            lines.push(line(
                "PER",
                &format!("m{i}@chu.mssante.fr"),
                "MARTIN",
                "Léa",
            ));
        }
        import_extraction(
            &conn,
            "mssante",
            std::io::Cursor::new(file(&lines)),
            chrono::Utc::now(),
            |_| {},
        )
        .await
        .expect("imported");
        let find = |last: &str, first: &str| {
            let criteria = Criteria {
                last_name: last.into(),
                first_name: first.into(),
            };
            let conn = conn.clone();
            async move { search(&conn, "mssante", &criteria).await }
        };
        let addresses = |found: &medimail_server::directory::search::Found| {
            found
                .entries
                .iter()
                .map(|e| e.address.clone())
                .collect::<Vec<_>>()
        };
        let f = find("", "benedicte").await.expect("found");
        assert_eq!(addresses(&f), ["b.dupont@chu.mssante.fr"]);
        let f = find("moreau", "").await.expect("found");
        assert_eq!(
            addresses(&f),
            ["b.dupont@chu.mssante.fr"],
            "any part of the name"
        );
        let f = find("darc", "").await.expect("found");
        assert_eq!(addresses(&f), ["j.darc@chu.mssante.fr"]);
        let f = find("tour", "jean pierre").await.expect("found");
        assert_eq!(addresses(&f), ["jp.tour@chu.mssante.fr"]);
        // "dup": the exact word first, then the prefixes by name.
        let f = find("dup", "").await.expect("found");
        assert_eq!(
            addresses(&f),
            [
                "dup@chu.mssante.fr",
                "b.dupont@chu.mssante.fr",
                "dupuis@chu.mssante.fr"
            ]
        );
        // At most 50, with the hint flag.
        let f = find("martin", "").await.expect("found");
        assert_eq!((f.entries.len(), f.more), (50, true));
        // The 3-character rule.
        assert!(matches!(find("du", "le").await, Err(SearchError::TooShort)));
        assert!(
            SearchError::TooShort
                .to_string()
                .contains("3 caractères minimum dans un champ")
        );
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}
