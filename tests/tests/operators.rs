//! Deliveries to the other MSSanté operators (issue 19, outbound), on real sockets: the
//! real `medimail` binary configured with an operator certificate, and test operators
//! that are real SMTP servers (`fixtures/smtp_operator.py`, aiosmtpd) requiring STARTTLS
//! and a client certificate of the test IGC-Santé authority.

use mail_parser::{MessageParser, MimeHeaders};
use medimail_e2e::operator::{Operator, TrustSpace, trust_space};
use medimail_e2e::{Server, ServerOptions};
use medimail_server::envelope::entity::envelope_event;
use serde_json::{Value, json};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const SENDER: &str = "marie.curie@chu-dev.fr";
const LOCAL: &str = "pierre.dupond@chu-dev.fr";

fn options(space: &TrustSpace, routes: &[(&str, u16)]) -> ServerOptions {
    space.server_options(routes)
}

fn content(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + seed * 13) % 251) as u8)
        .collect()
}

/// An IHE_XDM archive holding one CDA document whose code is `code`.
fn xdm(code: &str) -> Vec<u8> {
    let cda = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3"><typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/><code code="{code}" codeSystem="2.16.840.1.113883.6.1" displayName="CR d'examens biologiques"/><title>Compte rendu</title></ClinicalDocument>"#
    );
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, content) in [
            ("IHE_XDM/SUBSET01/METADATA.XML", "<Submission/>".to_owned()),
            ("IHE_XDM/SUBSET01/DOC0001.XML", cda),
        ] {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .expect("start");
            std::io::Write::write_all(&mut zip, content.as_bytes()).expect("write");
        }
        zip.finish().expect("finish");
    }
    out.into_inner()
}

/// Marie's « Envoyer »: the reference.
async fn send(
    server: &Server,
    auth: &(String, String),
    to: &[&str],
    files: &[(&str, Vec<u8>)],
) -> String {
    send_draft(
        server,
        auth,
        json!({
            "to": to,
            "cc": [],
            "subject": "Compte rendu M. BLANC",
            "body_html": "<p>Bonjour Docteur,</p><p>ci-joint le compte rendu &amp; l'archive.</p>",
        }),
        files,
    )
    .await
}

async fn send_draft(
    server: &Server,
    auth: &(String, String),
    draft: Value,
    files: &[(&str, Vec<u8>)],
) -> String {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    let response = server
        .send_envelope((&auth.0, &auth.1), &draft, &files)
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let sealed: Value = response.json().await.expect("json");
    sealed["reference"].as_str().expect("reference").to_owned()
}

/// The envelope's events as its sender sees them: (kind, actor).
async fn events(
    server: &Server,
    auth: &(String, String),
    reference: &str,
) -> Vec<(String, String)> {
    let (status, view) = server
        .call(
            reqwest::Method::GET,
            &format!("/api/envelopes/{reference}"),
            (&auth.0, Some(&auth.1)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    view["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_owned(),
                e["actor"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The envelope's events read in the database (the sender's session would not outlive
/// the clock's jump): (kind, actor).
async fn stored_events(db: &sea_orm::DatabaseConnection) -> Vec<(String, String)> {
    use sea_orm::{EntityTrait, QueryOrder};
    envelope_event::Entity::find()
        .order_by_asc(envelope_event::Column::Id)
        .all(db)
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.kind, e.actor))
        .collect()
}

/// The development outbox's mails: (To, whole text).
fn outbox(server: &Server) -> Vec<(String, String)> {
    let dir = server.data_dir.path().join("outbox");
    medimail_e2e::file_names_under(&dir)
        .into_iter()
        .filter(|n| n.ends_with(".eml"))
        .map(|n| {
            let raw = std::fs::read(dir.join(&n)).expect("eml");
            let parsed = MessageParser::default().parse(&raw).expect("mail");
            let to = parsed
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or("")
                .to_owned();
            let text = format!(
                "{}\n{}",
                parsed.subject().unwrap_or(""),
                parsed.body_text(0).unwrap_or_default()
            );
            (to, text)
        })
        .collect()
}

#[tokio::test]
async fn an_envelope_to_another_operator_arrives_there_as_mime_from_our_certificate() {
    let space = trust_space();
    let operator = Operator::start(&space.operator, &space.roots, "").await;
    let server = Server::start(options(&space, &[("autre.mssante.fr", operator.port)])).await;
    let marie = server.dev_sign_in(SENDER, PASSPHRASE).await;
    let pdf = content(1, 300_000);
    let archive = xdm("11488-4");
    let reference = send(
        &server,
        &marie,
        &["dr.martin@autre.mssante.fr", LOCAL],
        &[
            ("resultat.pdf", pdf.clone()),
            ("IHE_XDM.ZIP", archive.clone()),
        ],
    )
    .await;

    server
        .wait_until("the operator receives the message", async || {
            !operator.received().is_empty()
        })
        .await;
    let received = operator.received();
    assert_eq!(received.len(), 1);
    let (raw, peer) = &received[0];
    // Our operator certificate was presented (and checked by the peer against its CA).
    assert_eq!(peer, "medimail.chu-dev.fr");
    let message = MessageParser::default().parse(raw).expect("MIME");
    assert_eq!(message.subject(), Some("Compte rendu M. BLANC"));
    assert_eq!(
        message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some(SENDER)
    );
    let to: Vec<&str> = message
        .to()
        .expect("To")
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, vec!["dr.martin@autre.mssante.fr", LOCAL]);
    assert_eq!(
        message.header_raw("X-MSS-CODECDA").map(str::trim),
        Some("11488-4")
    );
    let html = message.body_html(0).expect("html");
    assert!(html.contains("<p>Bonjour Docteur,</p>"), "{html}");
    let text = message.body_text(0).expect("text");
    assert!(text.contains("Bonjour Docteur,"), "{text}");
    assert!(
        text.contains("ci-joint le compte rendu & l'archive."),
        "{text}"
    );
    let attachments: Vec<(String, Vec<u8>)> = message
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or("").to_owned(),
                a.contents().to_vec(),
            )
        })
        .collect();
    assert_eq!(
        attachments,
        vec![
            ("resultat.pdf".to_owned(), pdf),
            ("IHE_XDM.ZIP".to_owned(), archive)
        ]
    );

    // « Remis à l'opérateur » in the envelope's events, for that recipient.
    server
        .wait_until("the delivered event", async || {
            events(&server, &marie, &reference)
                .await
                .contains(&("delivered".into(), "dr.martin@autre.mssante.fr".into()))
        })
        .await;
    // Pierre, hosted here, is notified; Dr Martin, served by his operator, is not.
    server
        .wait_until("Pierre's notification", async || {
            outbox(&server).iter().any(|(to, _)| to == LOCAL)
        })
        .await;
    assert!(
        !outbox(&server)
            .iter()
            .any(|(to, _)| to.ends_with("@autre.mssante.fr")),
        "no notification to a recipient served by another operator"
    );
    // Exactly once: the outbox row is settled, nothing more reaches the operator.
    server
        .wait_for_log("envelope handed to the recipient's MSSanté operator", 1)
        .await;
    assert_eq!(operator.received().len(), 1);
    assert!(
        server
            .log()
            .contains("deliveries to the other MSSanté operators on")
    );

    // « Répondre » to her own envelope: the operator's mail client threads it with the
    // first message (In-Reply-To names its Message-ID).
    let first_id = message.message_id().expect("Message-ID").to_owned();
    send_draft(
        &server,
        &marie,
        json!({
            "to": ["dr.martin@autre.mssante.fr"],
            "subject": "RE: Compte rendu M. BLANC",
            "body_html": "<p>Précision : à revoir dans un mois.</p>",
            "in_reply_to": reference,
        }),
        &[],
    )
    .await;
    server
        .wait_until("the answer reaches the operator", async || {
            operator.received().len() == 2
        })
        .await;
    let (raw, _) = &operator.received()[1];
    let answer = MessageParser::default().parse(raw).expect("MIME");
    assert_eq!(answer.in_reply_to().as_text(), Some(first_id.as_str()));
    assert!(answer.attachments().next().is_none());
}

#[tokio::test]
async fn a_refusing_absent_or_unknown_operator_gives_retries_then_the_failure_event_and_mail() {
    let space = trust_space();
    let busy = Operator::start(
        &space.operator,
        &space.roots,
        "451 4.3.2 Service indisponible",
    )
    .await;
    let refusing = Operator::start(&space.operator, &space.roots, "550 5.1.1 Boite inconnue").await;
    let unknown = Operator::start(&space.stranger, &space.roots, "").await;
    let closed = medimail_e2e::free_port();
    let server = Server::start(options(
        &space,
        &[
            ("occupe.mssante.fr", busy.port),
            ("rejet.mssante.fr", refusing.port),
            ("inconnu.mssante.fr", unknown.port),
            ("absent.mssante.fr", closed),
        ],
    ))
    .await;
    let marie = server.dev_sign_in(SENDER, PASSPHRASE).await;
    let db = server.sqlite().await;
    send(
        &server,
        &marie,
        &[
            "a@occupe.mssante.fr",
            "b@rejet.mssante.fr",
            "c@inconnu.mssante.fr",
            "d@absent.mssante.fr",
        ],
        &[("resultat.pdf", content(2, 20_000))],
    )
    .await;
    let failure_mails = |server: &Server| -> Vec<String> {
        outbox(server)
            .into_iter()
            .filter(|(to, text)| to == SENDER && text.contains("Échec de remise"))
            .map(|(_, text)| text)
            .collect()
    };

    // A 550 is final at once: the event, and the mail to Marie naming the recipient
    // and the operator's reply (the date of the envelope, not its title).
    server
        .wait_until("the 550 fails the delivery", async || {
            stored_events(&db)
                .await
                .contains(&("delivery_failed".into(), "b@rejet.mssante.fr".into()))
        })
        .await;
    server
        .wait_until("the failure mail", async || {
            !failure_mails(&server).is_empty()
        })
        .await;
    let mail = failure_mails(&server).remove(0);
    assert!(
        mail.contains("[MEDIMAIL : Échec de remise] Votre enveloppe du "),
        "{mail}"
    );
    assert!(
        mail.contains("n'a pas pu être remise à b@rejet.mssante.fr"),
        "{mail}"
    );
    assert!(mail.contains("550 5.1.1 Boite inconnue"), "{mail}");
    assert!(!mail.contains("BLANC"), "{mail}");

    // The 451, the closed port and the unknown authority are retried…
    server
        .wait_until("the busy operator is asked again", async || {
            busy.refusals() >= 3
        })
        .await;
    server
        .wait_for_log("mail not delivered, will retry", 6)
        .await;
    assert!(unknown.received().is_empty());
    let failed_now: Vec<String> = stored_events(&db)
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "delivery_failed")
        .map(|(_, actor)| actor)
        .collect();
    assert_eq!(failed_now, vec!["b@rejet.mssante.fr"]);

    // …until the retry period (1 h here) has passed: then each fails, with its mail.
    server.set_clock_offset(2 * 3600);
    server
        .wait_until("every delivery settled", async || {
            stored_events(&db)
                .await
                .iter()
                .filter(|(kind, _)| kind == "delivery_failed")
                .count()
                == 4
        })
        .await;
    server
        .wait_until("four failure mails", async || {
            failure_mails(&server).len() == 4
        })
        .await;
    let mails = failure_mails(&server).join("\n");
    assert!(mails.contains("451 4.3.2 Service indisponible"), "{mails}");
    assert!(mails.contains("TLS handshake"), "{mails}");
    assert!(mails.contains("d@absent.mssante.fr"), "{mails}");
    assert!(unknown.received().is_empty());
    assert!(
        !stored_events(&db)
            .await
            .iter()
            .any(|(kind, _)| kind == "delivered")
    );
    drop(space.dir);
}

/// A hundred envelopes sent at once to another operator's recipient: each reaches the
/// operator exactly once (one `Message-ID` per envelope, none twice), each gets its
/// « Remis à l'opérateur ».
#[tokio::test]
async fn a_hundred_envelopes_at_once_reach_the_operator_exactly_once_each() {
    let space = trust_space();
    let operator = Operator::start(&space.operator, &space.roots, "").await;
    let server = Server::start(options(&space, &[("autre.mssante.fr", operator.port)])).await;
    let marie = server.dev_sign_in(SENDER, PASSPHRASE).await;
    let db = server.sqlite().await;
    let sends = (0..100).map(|i| {
        let draft = json!({
            "to": ["dr.martin@autre.mssante.fr"],
            "subject": format!("Résultat {i}"),
            "body_html": format!("<p>Résultat n° {i}</p>"),
        });
        let (server, marie) = (&server, &marie);
        async move {
            let response = server
                .send_envelope((&marie.0, &marie.1), &draft, &[])
                .await;
            assert_eq!(response.status().as_u16(), 201);
        }
    });
    futures::future::join_all(sends).await;
    server
        .wait_until("a hundred deliveries", async || {
            stored_events(&db)
                .await
                .iter()
                .filter(|(kind, _)| kind == "delivered")
                .count()
                == 100
        })
        .await;
    let received = operator.received();
    assert_eq!(received.len(), 100);
    let mut ids: Vec<String> = received
        .iter()
        .map(|(raw, _)| {
            MessageParser::default()
                .parse(raw)
                .and_then(|m| m.message_id().map(str::to_owned))
                .expect("Message-ID")
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100, "each envelope once");
    let mut subjects: Vec<String> = received
        .iter()
        .filter_map(|(raw, _)| {
            MessageParser::default()
                .parse(raw)?
                .subject()
                .map(str::to_owned)
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 100);
}

/// A server in the way that does not offer STARTTLS, or refuses it (a downgrade): the
/// message is never sent in clear — no `MAIL` ever reaches it — and the delivery waits
/// for a retry instead.
#[tokio::test]
async fn a_server_without_starttls_never_receives_the_message_in_clear() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let space = trust_space();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // What the clients said, line by line; every other session refuses STARTTLS.
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sessions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (h, n) = (heard.clone(), sessions.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let session = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let heard = h.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 mx.pirate.fr ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    heard.lock().expect("heard").push(line.clone());
                    let reply: &[u8] = if line.starts_with("EHLO") {
                        if session % 2 == 0 {
                            b"250-mx.pirate.fr\r\n250 SIZE 50000000\r\n"
                        } else {
                            b"250-mx.pirate.fr\r\n250 STARTTLS\r\n"
                        }
                    } else if line.starts_with("STARTTLS") {
                        b"454 4.7.0 TLS not available\r\n"
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let server = Server::start(options(&space, &[("pirate.mssante.fr", port)])).await;
    let marie = server.dev_sign_in(SENDER, PASSPHRASE).await;
    send(&server, &marie, &["victime@pirate.mssante.fr"], &[]).await;
    // Both kinds of session seen, twice over: retried, and never further than STARTTLS.
    server
        .wait_until("four attempts", async || {
            sessions.load(std::sync::atomic::Ordering::SeqCst) >= 4
        })
        .await;
    server.wait_for_log("does not offer STARTTLS", 1).await;
    server.wait_for_log("STARTTLS: 454", 1).await;
    let heard = heard.lock().expect("heard").clone();
    assert!(
        heard
            .iter()
            .all(|l| l.starts_with("EHLO") || l == "STARTTLS"),
        "{heard:?}"
    );
}
