//! Crash safety of "Envoyer": the server is killed with SIGKILL in the middle of a 25 Mo
//! upload, then restarted. No partial envelope is visible, and the blobs the crash left
//! (complete files of the aborted send, staging file of the file being written) are
//! swept at start once older than the grace period (the server's clock is moved two
//! hours ahead through its test clock file).

use std::time::Duration;

use medimail_e2e::{Server, ServerOptions};
use medimail_server::entity::{attachment, envelope};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const BOUNDARY: &str = "medimail-crash-boundary";

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        files_under(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_server_killed_during_an_upload_leaves_no_envelope_and_its_blobs_are_swept() {
    let mut server = Server::start(ServerOptions {
        env: vec![("MEDIMAIL_DEV_IDENTITY".into(), "true".into())],
        test_clock: true,
        ..Default::default()
    })
    .await;
    let (token, session) = server
        .dev_sign_in("marie.curie@chu-dev.fr", PASSPHRASE)
        .await;

    // Two complete 5 Mo files, then a third cut off by the crash: 25 Mo announced.
    let draft = json!({"to": ["pierre.dupond@chu-dev.fr"], "subject": "Crash", "body_html": ""});
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n"
    );
    let file_part = |i: usize| {
        let mut part = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"f{i}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
        part.extend(std::iter::repeat_n(i as u8 + 1, 5 * 1024 * 1024));
        part.extend_from_slice(b"\r\n");
        part
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(receiver, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let request = server
        .client()
        .post(server.url("/api/envelopes"))
        .bearer_auth(&token)
        .header("x-medimail-session", &session)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send();
    let upload = tokio::spawn(request);
    sender.send(Ok(head.into())).await.expect("send");
    for i in 0..2 {
        for chunk in file_part(i).chunks(256 * 1024) {
            sender
                .send(Ok(bytes::Bytes::copy_from_slice(chunk)))
                .await
                .expect("send");
        }
    }
    let third = file_part(2);
    for chunk in third[..3 * 1024 * 1024].chunks(256 * 1024) {
        sender
            .send(Ok(bytes::Bytes::copy_from_slice(chunk)))
            .await
            .expect("send");
    }
    // Let the server write what it received, then kill it mid-upload.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let blobs = server.data_dir.path().join("blobs");
    assert!(files_under(&blobs) >= 2, "the crash leaves files behind");
    let pid = server.pid().expect("pid");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    drop(sender);
    let _ = tokio::time::timeout(Duration::from_secs(10), upload).await;

    // Restart two hours later (server clock): the start-up sweep removes the orphans.
    server.set_clock_offset(2 * 3600);
    server.restart().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while files_under(&blobs) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "orphans still there after 20 s:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!(
        "sqlite://{}?mode=rwc",
        server.data_dir.path().join("medimail.db").display()
    );
    let db = medimail_server::db::connect_and_migrate(&url)
        .await
        .expect("db");
    assert_eq!(
        envelope::Entity::find().count(&db).await.expect("q"),
        0,
        "no partial envelope"
    );
    assert_eq!(attachment::Entity::find().count(&db).await.expect("q"), 0);
    assert!(
        server.log().contains("orphan blobs swept"),
        "{}",
        server.log()
    );
}
