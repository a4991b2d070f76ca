//! Importing the national extraction: rows and name keys written, malformed lines
//! reported and skipped, duplicates counted, a bad header or a wrong archive refused
//! before anything is written, and a re-import replacing the snapshot, with no search
//! ever seeing a mix of the two.

use medimail_server::directory::entity::{directory_entry, directory_key, directory_snapshot};
use medimail_server::directory::extraction::COLUMNS;
use medimail_server::directory::import::{
    ExtractionFile, ImportError, ImportReport, Progress, import_extraction,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::common::*;
use crate::{file, line};

/// Imports a small extraction into `conn`: two good lines (one name with a hyphen, one
/// with an apostrophe), a short line, a duplicate address in other case, an organisation
/// without a valid address and a line that is not UTF-8. Returns the report and the
/// progress reported.
async fn import_sample(conn: &DatabaseConnection) -> (ImportReport, Vec<Progress>) {
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
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let report = import_extraction(
        conn,
        "mssante",
        ExtractionFile::Bytes(bytes.into()),
        test_start(),
        {
            let seen = seen.clone();
            move |p| seen.lock().expect("lock").push(p)
        },
    )
    .await
    .expect("imported");
    let seen = seen.lock().expect("lock").clone();
    (report, seen)
}

#[tokio::test]
async fn imports_entries_with_their_name_keys_and_reports_the_bad_lines() {
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let (report, seen) = import_sample(&conn).await;
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
        assert!(
            seen.contains(&Progress::Writing {
                written: 2,
                total: 2
            }),
            "progress reported: {seen:?}"
        );
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
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_bad_header_is_refused_before_anything_is_written() {
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        import_sample(&conn).await;

        // A bad header: refused, nothing written, the active snapshot untouched.
        let mut cols = COLUMNS.to_vec();
        cols.swap(9, 10);
        let bad = format!("{}\n{}\n", cols.join("|"), line("PER", "x@y.fr", "A", "B"));
        let refused = import_extraction(
            &conn,
            "mssante",
            ExtractionFile::Bytes(bad.into_bytes().into()),
            test_start(),
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
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_reimport_replaces_the_snapshot() {
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let (report, _) = import_sample(&conn).await;

        let second = import_extraction(
            &conn,
            "mssante",
            ExtractionFile::Bytes(
                file(&[line("PER", "nouveau@chu.mssante.fr", "NOUVEAU", "Né")]).into(),
            ),
            test_start(),
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
async fn the_published_zip_imports_like_its_text_and_a_wrong_archive_is_refused() {
    use std::io::Write;
    let zip_of = |files: &[(&str, &[u8])]| {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("start");
            w.write_all(bytes).expect("write");
        }
        w.finish().expect("finish").into_inner()
    };
    let text = file(&[
        line("PER", "a.martin@chu.mssante.fr", "MARTIN", "Anne"),
        line("ORG", "secretariat@chu.mssante.fr", "", ""),
    ]);
    let db = TestDb::sqlite().await;
    let conn = medimail_server::db::connect_and_migrate(&db.url)
        .await
        .expect("migrated");
    let report = import_extraction(
        &conn,
        "mssante",
        ExtractionFile::Bytes(zip_of(&[("Extraction_Correspondance_MSSante.txt", &text)]).into()),
        test_start(),
        |_| {},
    )
    .await
    .expect("imported from the zip");
    assert_eq!(report.imported, 2);
    let refused = import_extraction(
        &conn,
        "mssante",
        ExtractionFile::Bytes(zip_of(&[("a.txt", &text), ("b.txt", &text)]).into()),
        test_start(),
        |_| {},
    )
    .await;
    match refused {
        Err(ImportError::Zip(reason)) => {
            assert!(reason.contains("un seul fichier .txt"), "{reason}")
        }
        other => panic!("refused expected, got {other:?}"),
    }
    let truncated = zip_of(&[("x.txt", &text)]);
    let refused = import_extraction(
        &conn,
        "mssante",
        ExtractionFile::Bytes(truncated[..truncated.len() / 2].to_vec().into()),
        test_start(),
        |_| {},
    )
    .await;
    assert!(matches!(refused, Err(ImportError::Zip(_))), "{refused:?}");
    assert_eq!(
        directory_entry::Entity::find()
            .count(&conn)
            .await
            .expect("q"),
        2,
        "the refused archives changed nothing"
    );
}

#[tokio::test]
async fn a_search_during_a_reimport_sees_the_old_or_the_new_snapshot_never_a_mix() {
    use medimail_server::directory::search::{Criteria, search};
    for db in databases().await {
        let conn = medimail_server::db::connect_and_migrate(&db.url)
            .await
            .expect("migrated");
        let version = |tag: &str| {
            let lines: Vec<String> = (0..6_000)
                .map(|i| {
                    line(
                        "PER",
                        &format!("martin{i}@{tag}.mssante.fr"),
                        "MARTIN",
                        &format!("Prénom{i:05}"),
                    )
                })
                .collect();
            ExtractionFile::Bytes(file(&lines).into())
        };
        import_extraction(&conn, "mssante", version("ancien"), test_start(), |_| {})
            .await
            .expect("first");
        let importing = {
            let conn = conn.clone();
            tokio::spawn(async move {
                for tag in ["nouveau", "ancien", "nouveau"] {
                    import_extraction(&conn, "mssante", version(tag), test_start(), |_| {})
                        .await
                        .expect("re-import");
                }
            })
        };
        let criteria = Criteria {
            last_name: "mart".into(),
            ..Default::default()
        };
        let mut searches = 0;
        let mut seen = std::collections::HashSet::new();
        while !importing.is_finished() {
            let found = search(&conn, "mssante", &criteria).await.expect("search");
            assert_eq!(
                found.contacts.len(),
                50,
                "a whole page, never a half directory"
            );
            assert!(found.more);
            let domains: std::collections::HashSet<&str> = found
                .contacts
                .iter()
                .map(|c| c.address.split('@').nth(1).expect("domain"))
                .collect();
            assert_eq!(domains.len(), 1, "one snapshot per search: {domains:?}");
            seen.extend(domains.into_iter().map(str::to_owned));
            // Name order: Prénom00000, Prénom00001…
            assert_eq!(found.contacts[0].first_name.as_deref(), Some("Prénom00000"));
            searches += 1;
        }
        importing.await.expect("imports");
        assert!(searches > 5, "searches ran during the imports ({searches})");
        let found = search(&conn, "mssante", &criteria).await.expect("search");
        assert!(found.contacts[0].address.ends_with("@nouveau.mssante.fr"));
        eprintln!("{searches} searches during 3 re-imports saw {seen:?}");
        conn.close().await.ok();
        db.drop_postgres().await;
    }
}
