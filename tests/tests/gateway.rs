//! The SMTP gateway (issue 19, inbound), on real sockets: the real `medimail` binary with
//! `MEDIMAIL_SMTP_LISTEN`, Python's smtplib as the hospital's relay (STARTTLS, a
//! multipart message with three PDF files), and a raw SMTP client for what a relay
//! would not send (pipelined commands, six files, 25 Mo + 1 byte, malformed MIME, an
//! unknown client, foreign to foreign).

use medimail_e2e::smtp_client::{SmtpClient as Smtp, mime as mime_from};
use medimail_e2e::{Server, ServerOptions};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const SENDER: &str = "marie.curie@chu-exemple.fr";
const READER: &str = "pierre.dupond@chu-dev.fr";

fn options(smtp_port: u16, extra: &[(&str, &str)]) -> ServerOptions {
    let mut env = vec![
        ("MEDIMAIL_DEV_IDENTITY".to_owned(), "true".to_owned()),
        (
            "MEDIMAIL_SMTP_LISTEN".to_owned(),
            format!("127.0.0.1:{smtp_port}"),
        ),
        (
            "MEDIMAIL_HOSTED_DOMAINS".to_owned(),
            "chu-dev.fr".to_owned(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ServerOptions {
        env,
        ..Default::default()
    }
}

/// Marie's message to Pierre sent by Python's smtplib with STARTTLS (trusting the
/// server's certificate) and `files`: the final reply, or the refusal, and smtplib's own
/// errors if any.
async fn smtplib_send(
    server: &Server,
    smtp_port: u16,
    subject: &str,
    files: &[std::path::PathBuf],
) -> String {
    let output = tokio::process::Command::new("python3")
        .arg(medimail_e2e::workspace_root().join("tests/fixtures/smtp_send.py"))
        .arg(smtp_port.to_string())
        .arg(server.cert_path())
        .arg(SENDER)
        .arg(READER)
        .arg(subject)
        .args(files)
        .output()
        .await
        .expect("python3");
    let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let errors = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if errors.is_empty() {
        said
    } else {
        format!("{said} (smtplib: {errors})")
    }
}

/// A MIME message from Marie.
fn mime(subject: &str, to: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    mime_from(SENDER, subject, to, files)
}

fn content(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + seed * 13) % 251) as u8)
        .collect()
}

async fn get(server: &Server, auth: &(String, String), path: &str) -> reqwest::Response {
    server
        .client()
        .get(server.url(path))
        .bearer_auth(&auth.0)
        .header("x-medimail-session", &auth.1)
        .send()
        .await
        .expect("request")
}

/// A relay's connection with Marie's transaction to Pierre started (EHLO, MAIL, RCPT
/// accepted), ready for DATA.
async fn marie_to_pierre(smtp_port: u16) -> Smtp {
    let mut smtp = Smtp::connect(smtp_port).await;
    smtp.send("EHLO relais.chu-exemple.fr").await;
    let r = smtp.send(&format!("MAIL FROM:<{SENDER}>")).await;
    assert!(r.starts_with("250"), "{r}");
    let r = smtp.send(&format!("RCPT TO:<{READER}>")).await;
    assert!(r.starts_with("250"), "{r}");
    smtp
}

fn count_files(dir: &std::path::Path) -> usize {
    medimail_e2e::file_names_under(dir).len()
}

#[tokio::test]
async fn a_med_message_from_the_relay_becomes_an_envelope_and_everything_else_is_refused() {
    let smtp_port = medimail_e2e::free_port();
    let server = Server::start(options(smtp_port, &[])).await;
    let reader = server.dev_sign_in(READER, PASSPHRASE).await;

    // Python's smtplib, STARTTLS, three PDF files, "#med# " in the subject.
    let files_dir = tempfile::tempdir().expect("dir");
    let mut sent_files = Vec::new();
    for (i, len) in [(1, 120_000), (2, 3_000), (3, 800_000)] {
        let path = files_dir.path().join(format!("resultat-{i}.pdf"));
        std::fs::write(&path, content(i, len)).expect("file");
        sent_files.push(path);
    }
    let said = smtplib_send(
        &server,
        smtp_port,
        "#med# Compte rendu M. BLANC",
        &sent_files,
    )
    .await;
    assert!(said.starts_with("250 "), "{said}");
    let reference = said.rsplit(' ').next().expect("reference").to_owned();

    // Pierre reads it in the pane's API: the tag removed, the script gone, the files.
    let list: Value = get(&server, &reader, "/api/envelopes?folder=inbox")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["subject"], "Compte rendu M. BLANC");
    assert_eq!(list["items"][0]["sender"], SENDER);
    assert_eq!(list["items"][0]["reference"], reference.as_str());
    let view: Value = get(&server, &reader, &format!("/api/envelopes/{reference}"))
        .await
        .json()
        .await
        .expect("json");
    let body = view["body_html"].as_str().expect("body");
    assert!(
        body.contains("<b>compte rendu</b>") && !body.contains("script"),
        "{body}"
    );
    let attachments = view["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 3);
    for (shown, path) in attachments.iter().zip(&sent_files) {
        assert_eq!(
            shown["name"],
            path.file_name().expect("name").to_string_lossy().as_ref()
        );
        let bytes = get(
            &server,
            &reader,
            &format!(
                "/api/envelopes/{reference}/attachments/{}",
                shown["id"].as_str().expect("id")
            ),
        )
        .await
        .bytes()
        .await
        .expect("bytes");
        assert!(bytes.as_ref() == std::fs::read(path).expect("file").as_slice());
    }
    // The sender's account was made on first use, with the manual's mail; Pierre got
    // his notification.
    let outbox = server.data_dir.path().join("outbox");
    server
        .wait_until("the registration and notification mails", async || {
            let all: Vec<String> = std::fs::read_dir(&outbox)
                .map(|d| {
                    d.flatten()
                        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                        .collect()
                })
                .unwrap_or_default();
            all.iter().any(|m| {
                m.contains(&format!("To: {SENDER}"))
                    && m.contains("Confirmation d'inscription Medimail")
            }) && all
                .iter()
                .any(|m| m.contains(&format!("To: {READER}")) && m.contains("MEDIMAIL : Reception"))
        })
        .await;

    let blobs = server.data_dir.path().join("blobs");
    let stored = count_files(&blobs);
    let mut smtp = Smtp::connect(smtp_port).await;
    let ehlo = smtp.send("EHLO relais.chu-exemple.fr").await;
    for capability in [
        "SIZE 36000000",
        "8BITMIME",
        "SMTPUTF8",
        "PIPELINING",
        "STARTTLS",
    ] {
        assert!(ehlo.contains(capability), "{ehlo}");
    }
    // Without the tag, to a foreign domain: refused, never relayed.
    let r = smtp
        .mail(
            SENDER,
            &["quelquun@gmail.com"],
            &mime("Compte rendu", "quelquun@gmail.com", &[]),
        )
        .await;
    assert!(r.starts_with("550 5.7.1") && r.contains("#med#"), "{r}");
    // Six files: the envelope rule, nothing stored.
    let six: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("f{i}.pdf"), content(i, 100)))
        .collect();
    let r = smtp
        .mail(SENDER, &[READER], &mime("#med# Six", READER, &six))
        .await;
    assert!(
        r.starts_with("550") && r.contains("attachments_too_many"),
        "{r}"
    );
    // 25 Mo + 1 byte of files: refused, nothing stored.
    let big = vec![
        ("a.pdf".to_owned(), content(1, 13_000_000)),
        (
            "b.pdf".to_owned(),
            content(2, 25 * 1024 * 1024 - 13_000_000 + 1),
        ),
    ];
    let r = smtp
        .mail(SENDER, &[READER], &mime("#med# Gros", READER, &big))
        .await;
    assert!(
        r.starts_with("552") && r.contains("attachments_too_large"),
        "{r}"
    );
    // Over SIZE, said before the data is sent.
    let r = smtp
        .send(&format!("MAIL FROM:<{SENDER}> SIZE=36000001"))
        .await;
    assert!(r.starts_with("552"), "{r}");
    // Malformed MIME: refused or sealed cleanly, the server goes on.
    let headers: String = (0..10_000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let nested = {
        let mut m = String::from("Content-Type: multipart/mixed; boundary=\"n0\"\r\n\r\n");
        for i in 1..200 {
            m.push_str(&format!(
                "--n{}\r\nContent-Type: multipart/mixed; boundary=\"n{i}\"\r\n\r\n",
                i - 1
            ));
        }
        m
    };
    let corpus: Vec<Vec<u8>> = vec![
        format!("Subject: #med# tronque\r\nTo: {READER}\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBE").into_bytes(),
        format!("Subject: =?utf-8?B?####?= #med#\r\nTo: {READER}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n").into_bytes(),
        format!("{headers}Subject: #med# en-tetes\r\nTo: {READER}\r\n\r\nx\r\n").into_bytes(),
        format!("Subject: #med# imbrique\r\nTo: {READER}\r\n{nested}").into_bytes(),
        b"\xff\xfe\x00garbage without headers".to_vec(),
    ];
    for (i, raw) in corpus.iter().enumerate() {
        let r = smtp.mail(SENDER, &[READER], raw).await;
        assert!(
            r.starts_with("250") || r.starts_with("550") || r.starts_with("552"),
            "corpus {i}: {r}"
        );
    }
    assert_eq!(server.get("/api/health").await.status(), 200);
    // Pipelined: MAIL, RCPT and DATA in one write, the replies in order.
    smtp.stream
        .write_all(
            format!("RSET\r\nMAIL FROM:<{SENDER}>\r\nRCPT TO:<{READER}>\r\nDATA\r\n").as_bytes(),
        )
        .await
        .expect("pipelined");
    for expected in ["250", "250", "250", "354"] {
        let r = smtp.reply().await;
        assert!(r.starts_with(expected), "{r}");
    }
    smtp.stream
        .write_all(
            format!("Subject: #med# En file\r\nTo: {READER}\r\n\r\nBonjour\r\n.\r\nQUIT\r\n")
                .as_bytes(),
        )
        .await
        .expect("data and quit");
    let r = smtp.reply().await;
    assert!(r.starts_with("250 "), "{r}");
    assert!(smtp.reply().await.starts_with("221"));
    // What was refused left no file: every blob is an attachment of an envelope sealed.
    let list: Value = get(&server, &reader, "/api/envelopes?folder=inbox")
        .await
        .json()
        .await
        .expect("json");
    let sealed_files: u64 = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["attachments"].as_u64().unwrap_or(0))
        .sum();
    assert!(stored >= 3);
    assert_eq!(count_files(&blobs), sealed_files as usize);
}

#[tokio::test]
async fn an_unknown_client_is_refused_at_rcpt_and_starttls_can_be_required() {
    let smtp_port = medimail_e2e::free_port();
    let server = Server::start(options(
        smtp_port,
        &[
            ("MEDIMAIL_SMTP_RELAYS", "10.20.30.0/24"),
            ("MEDIMAIL_SMTP_REQUIRE_TLS", "true"),
        ],
    ))
    .await;
    let mut smtp = Smtp::connect(smtp_port).await;
    smtp.send("EHLO inconnu.example").await;
    let r = smtp.send(&format!("MAIL FROM:<{SENDER}>")).await;
    assert!(r.starts_with("530 5.7.0"), "STARTTLS first: {r}");
    drop(smtp);
    // With TLS, an address outside the relays is still refused at RCPT: no open relay.
    let said = smtplib_send(&server, smtp_port, "#med# Compte rendu", &[]).await;
    assert!(said.starts_with("550 5.7.1 Relais non autorisé"), "{said}");
    assert!(server.log().contains("smtp: refused, not an allowed relay"));
}

/// The sender's hourly quota holds when 100 messages of one sender arrive at once on
/// 100 connections: exactly the quota is sealed, the others are told to retry later
/// (452, temporary) and leave nothing.
#[tokio::test]
async fn a_hundred_messages_at_once_seal_exactly_the_sender_s_quota() {
    let smtp_port = medimail_e2e::free_port();
    let server = Server::start(options(
        smtp_port,
        &[("MEDIMAIL_SEND_ENVELOPES_PER_HOUR", "5")],
    ))
    .await;
    let message = mime(
        "#med# Quota",
        READER,
        &[("cr.pdf".to_owned(), content(1, 20_000))],
    );
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let message = message.clone();
        tasks.push(tokio::spawn(async move {
            let mut smtp = Smtp::connect(smtp_port).await;
            smtp.send("EHLO relais.chu-exemple.fr").await;
            smtp.mail(SENDER, &[READER], &message).await
        }));
    }
    let mut sealed = 0;
    let mut later = 0;
    for t in tasks {
        let r = t.await.expect("task");
        if r.starts_with("250 ") {
            sealed += 1;
        } else if r.starts_with("452 4.5.3") && r.contains("send_quota_exceeded") {
            later += 1;
        } else {
            panic!("unexpected reply: {r}");
        }
    }
    assert_eq!((sealed, later), (5, 95));
    let blobs = server.data_dir.path().join("blobs");
    assert_eq!(
        count_files(&blobs),
        5,
        "one file per sealed envelope, none left by the others"
    );
    // Marie's account was made by one of the hundred: one « Confirmation d'inscription ».
    let db = server.sqlite().await;
    server
        .wait_until("every queued mail delivered", async || {
            use medimail_server::entity::outbox;
            use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
            outbox::Entity::find()
                .filter(outbox::Column::Status.eq("pending"))
                .count(&db)
                .await
                .expect("outbox")
                == 0
        })
        .await;
    let outbox = server.data_dir.path().join("outbox");
    let welcomes = medimail_e2e::file_names_under(&outbox)
        .into_iter()
        .filter(|n| {
            std::fs::read_to_string(outbox.join(n))
                .is_ok_and(|t| t.contains("Subject: Confirmation d'inscription Medimail"))
        })
        .count();
    assert_eq!(welcomes, 1);
}

/// SIGKILL while a message's DATA is arriving: the relay was never told 250, and after a
/// restart nothing of it exists (no envelope; the sweep removes any file).
#[tokio::test]
async fn a_gateway_killed_during_data_keeps_nothing_half_stored() {
    let smtp_port = medimail_e2e::free_port();
    let mut server = Server::start(ServerOptions {
        test_clock: true,
        ..options(smtp_port, &[])
    })
    .await;
    let mut smtp = marie_to_pierre(smtp_port).await;
    assert!(smtp.send("DATA").await.starts_with("354"));
    let message = mime(
        "#med# Interrompu",
        READER,
        &[("gros.pdf".to_owned(), content(2, 3_000_000))],
    );
    smtp.stream
        .write_all(&message[..message.len() / 2])
        .await
        .expect("half the data");
    server.kill();
    // The relay's side: the connection ends without a reply.
    let mut rest = Vec::new();
    use tokio::io::AsyncReadExt;
    let _ = smtp.stream.read_to_end(&mut rest).await;
    assert!(
        !String::from_utf8_lossy(&rest).contains("250 "),
        "never told 250"
    );
    server.set_clock_offset(2 * 3600);
    server.restart().await;
    let reader = server.dev_sign_in(READER, PASSPHRASE).await;
    let list: Value = get(&server, &reader, "/api/envelopes?folder=inbox")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["total"], 0, "{list}");
    let blobs = server.data_dir.path().join("blobs");
    server
        .wait_until("no file left", async || count_files(&blobs) == 0)
        .await;
}

/// A test "IGC-Santé" authority and a peer certificate it signed (client
/// authentication): the authority's PEM, and the peer's chain and key in one PEM file.
fn trust_space(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("AC {name} de test"));
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let authority = rcgen::CertifiedIssuer::self_signed(ca, ca_key).expect("authority");
    let mut peer =
        rcgen::CertificateParams::new(vec!["mss.autre-operateur.fr".to_owned()]).expect("params");
    peer.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let peer_key = rcgen::KeyPair::generate().expect("key");
    let cert = peer.signed_by(&peer_key, &authority).expect("peer");
    let roots = dir.join(format!("{name}-roots.pem"));
    std::fs::write(&roots, authority.pem()).expect("roots");
    let client = dir.join(format!("{name}-peer.pem"));
    std::fs::write(
        &client,
        format!("{}{}", cert.pem(), peer_key.serialize_pem()),
    )
    .expect("peer");
    (roots, client)
}

/// Mutual TLS with the MSSanté trust space: a peer whose certificate chains to
/// `MEDIMAIL_SMTP_CLIENT_CA` and whose domain the national directory lists delivers to a
/// hosted address (not a listed relay, no `#med#` tag) and only there; a domain not in
/// the directory, or a hosted mailbox as sender, is refused; a certificate of another
/// authority fails the handshake.
#[tokio::test]
async fn a_trust_space_peer_with_a_known_certificate_delivers_to_hosted_addresses_only() {
    let dir = tempfile::tempdir().expect("dir");
    let (roots, peer) = trust_space(dir.path(), "igc-sante");
    let (_, stranger) = trust_space(dir.path(), "inconnue");
    let smtp_port = medimail_e2e::free_port();
    let roots = roots.display().to_string();
    let server = Server::start(options(
        smtp_port,
        &[
            ("MEDIMAIL_SMTP_RELAYS", "10.20.30.0/24"),
            ("MEDIMAIL_SMTP_CLIENT_CA", roots.as_str()),
        ],
    ))
    .await;
    let send_from = async |cert: &std::path::Path, from: &str, to: &str| {
        let output = tokio::process::Command::new("python3")
            .arg(medimail_e2e::workspace_root().join("tests/fixtures/smtp_send.py"))
            .arg(smtp_port.to_string())
            .arg(server.cert_path())
            .arg(from)
            .arg(to)
            .arg("Compte rendu de consultation")
            .env("SMTP_CLIENT_CERT", cert)
            .output()
            .await
            .expect("python3");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let send_as = async |cert: &std::path::Path, to: &str| {
        send_from(cert, "dr.martin@autre-operateur.mssante.fr", to).await
    };
    // A peer is an operator of the national directory: none imported yet, come back.
    let said = send_as(&peer, READER).await;
    assert!(
        said.starts_with("451 4.7.1 Annuaire national MSSanté non chargé"),
        "{said}"
    );
    let national = dir.path().join("Extraction_Correspondance_MSSante.txt");
    let mut line = vec![""; 31];
    line[0] = "PER";
    line[1] = "dr.martin@autre-operateur.mssante.fr";
    line[9] = "MARTIN";
    std::fs::write(
        &national,
        format!(
            "{}\n{}\n",
            medimail_server::directory::extraction::COLUMNS.join("|"),
            line.join("|")
        ),
    )
    .expect("directory");
    let mut import = medimail_e2e::base_command(
        &server.data_dir,
        medimail_e2e::free_port(),
        &ServerOptions::default(),
    );
    import
        .args(["directory", "import", "--source", "mssante"])
        .arg(&national);
    assert!(medimail_e2e::run_to_end(import).await.status.success());
    let said = send_as(&peer, READER).await;
    assert!(said.starts_with("250 "), "{said}");
    // Another domain than the directory's, or a mailbox hosted here: refused.
    let said = send_from(&peer, "dr.who@inconnu.mssante.fr", READER).await;
    assert!(
        said.starts_with("550 5.7.1 Domaine inconnu de l'annuaire national MSSanté"),
        "{said}"
    );
    let said = send_from(&peer, "pierre.dupond@chu-dev.fr", READER).await;
    assert!(
        said.starts_with("550 5.7.1 Expéditeur hébergé ici"),
        "{said}"
    );
    assert!(server.log().contains("trust-space peer authenticated"));
    let said = send_as(&peer, "quelquun@gmail.com").await;
    assert!(
        said.starts_with("550 5.7.1 Destinataire non hébergé"),
        "{said}"
    );
    let said = send_as(&stranger, READER).await;
    assert!(said.starts_with("TLS refused"), "{said}");
    let reader = server.dev_sign_in(READER, PASSPHRASE).await;
    let list: Value = get(&server, &reader, "/api/envelopes?folder=inbox")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["subject"], "Compte rendu de consultation");
    assert_eq!(
        list["items"][0]["sender"],
        "dr.martin@autre-operateur.mssante.fr"
    );
}

/// lettre, the other real client: STARTTLS required (trusting the server's
/// certificate), a `#med#` message with a PDF, answered 250 with the reference, which
/// the recipient then reads.
#[tokio::test]
async fn lettre_sends_a_med_message_over_starttls() {
    use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let smtp_port = medimail_e2e::free_port();
    let server = Server::start(options(smtp_port, &[("MEDIMAIL_SMTP_REQUIRE_TLS", "true")])).await;
    let pdf = content(4, 50_000);
    let message = lettre::Message::builder()
        .from(format!("Marie CURIE <{SENDER}>").parse().expect("from"))
        .to(READER.parse().expect("to"))
        .subject("#med# Résultats d'analyses")
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain("Bonjour,\n\nles résultats.".to_owned()))
                .singlepart(Attachment::new("resultats.pdf".to_owned()).body(
                    pdf.clone(),
                    ContentType::parse("application/pdf").expect("type"),
                )),
        )
        .expect("message");
    let certificate =
        Certificate::from_pem(&std::fs::read(server.cert_path()).expect("cert")).expect("pem");
    let tls = TlsParameters::builder("localhost".to_owned())
        .add_root_certificate(certificate)
        .build_rustls()
        .expect("tls");
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp_port)
        .tls(Tls::Required(tls))
        .build();
    let response = mailer.send(message).await.expect("sent");
    assert_eq!(response.code().to_string(), "250");
    let said = response.message().collect::<Vec<_>>().join(" ");
    let reference = said.rsplit(' ').next().expect("reference").to_owned();
    let reader = server.dev_sign_in(READER, PASSPHRASE).await;
    let view: Value = get(&server, &reader, &format!("/api/envelopes/{reference}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["subject"], "Résultats d'analyses", "{view}");
    let id = view["attachments"][0]["id"].as_str().expect("id");
    let bytes = get(
        &server,
        &reader,
        &format!("/api/envelopes/{reference}/attachments/{id}"),
    )
    .await
    .bytes()
    .await
    .expect("bytes");
    assert!(bytes.as_ref() == pdf.as_slice());
}

/// The gateway's connection limit holds: with 200 connections open (each greeted), the
/// next one is told to come back (421) and closed; once one leaves, a new one is served.
#[tokio::test]
async fn the_201st_connection_at_once_is_told_to_come_back() {
    let smtp_port = medimail_e2e::free_port();
    let _server = Server::start(options(smtp_port, &[])).await;
    let mut open = Vec::new();
    for _ in 0..200 {
        open.push(Smtp::connect(smtp_port).await);
    }
    let mut extra = tokio::net::TcpStream::connect(("127.0.0.1", smtp_port))
        .await
        .expect("connect");
    let mut said = Vec::new();
    use tokio::io::AsyncReadExt;
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        extra.read_to_end(&mut said),
    )
    .await
    .expect("closed within 30 s")
    .expect("read");
    let said = String::from_utf8_lossy(&said);
    assert!(said.starts_with("421 4.7.0"), "{said}");
    let mut leaving = open.pop().expect("one");
    assert!(leaving.send("QUIT").await.starts_with("221"));
    drop(leaving);
    // Its place frees as the server ends that session: a new client is greeted.
    let greeted = medimail_e2e::poll_until(std::time::Duration::from_secs(30), async || {
        let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", smtp_port)).await else {
            return false;
        };
        let mut buf = [0u8; 64];
        matches!(s.read(&mut buf).await, Ok(n) if buf[..n].starts_with(b"220 "))
    })
    .await;
    assert!(greeted);
}

/// A reply from a mail client threads with the envelope it answers: the notification
/// carries `Message-ID` and `Reply-To` (the sender), the reply names it in `In-Reply-To`,
/// and the new envelope shows what it answers to its reader. Someone who was not a
/// recipient naming the same mail (and quoting its link) seals an envelope, unthreaded.
#[tokio::test]
async fn a_reply_from_a_mail_client_threads_with_the_envelope_it_answers() {
    let smtp_port = medimail_e2e::free_port();
    let server = Server::start(options(smtp_port, &[])).await;
    let mut smtp = Smtp::connect(smtp_port).await;
    smtp.send("EHLO relais.chu-exemple.fr").await;
    let said = smtp
        .mail(
            SENDER,
            &[READER],
            &mime("#med# Compte rendu M. BLANC", READER, &[]),
        )
        .await;
    assert!(said.starts_with("250 "), "{said}");
    let original = said.rsplit(' ').next().expect("reference").to_owned();

    // Pierre's notification: its id names the envelope, a reply goes to Marie.
    let outbox = server.data_dir.path().join("outbox");
    let notification = {
        let mut found = None;
        server
            .wait_until("Pierre's notification", async || {
                found = medimail_e2e::file_names_under(&outbox)
                    .into_iter()
                    .find_map(|n| {
                        let raw = std::fs::read(outbox.join(n)).ok()?;
                        let text = String::from_utf8_lossy(&raw).into_owned();
                        (text.contains(&format!("To: {READER}")) && text.contains("Reception"))
                            .then_some(raw)
                    });
                found.is_some()
            })
            .await;
        found.expect("notification")
    };
    let parsed = mail_parser::MessageParser::default()
        .parse(&notification)
        .expect("mail");
    let message_id = parsed.message_id().expect("Message-ID").to_owned();
    assert_eq!(message_id, format!("{original}.0@localhost"));
    assert_eq!(
        parsed
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some(SENDER)
    );
    let quoted = parsed.body_text(0).expect("text").into_owned();

    // Pierre answers from his mail client, through the relay, quoting it.
    let reply = |from: &str| {
        format!(
            "From: {from}\r\nTo: {SENDER}\r\nSubject: #med# RE: [MEDIMAIL : Reception] Compte \
             rendu M. BLANC\r\nIn-Reply-To: <{message_id}>\r\nReferences: <{message_id}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBien reçu, \
             merci.\r\n\r\n> {}\r\n",
            quoted.replace("\r\n", "\r\n> ")
        )
        .into_bytes()
    };
    let said = smtp.mail(READER, &[SENDER], &reply(READER)).await;
    assert!(said.starts_with("250 "), "{said}");
    let answer = said.rsplit(' ').next().expect("reference").to_owned();
    // Claire was not a recipient: her message is sealed, but answers nothing she may see.
    let said = smtp
        .mail(
            "claire.martin@chu-dev.fr",
            &[SENDER],
            &reply("claire.martin@chu-dev.fr"),
        )
        .await;
    assert!(said.starts_with("250 "), "{said}");
    let unrelated = said.rsplit(' ').next().expect("reference").to_owned();

    let marie = server.dev_sign_in(SENDER, PASSPHRASE).await;
    let view: Value = get(&server, &marie, &format!("/api/envelopes/{answer}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        view["subject"],
        "RE: [MEDIMAIL : Reception] Compte rendu M. BLANC"
    );
    assert_eq!(view["in_reply_to"], original.as_str(), "{view}");
    let view: Value = get(&server, &marie, &format!("/api/envelopes/{unrelated}"))
        .await
        .json()
        .await
        .expect("json");
    assert!(view["in_reply_to"].is_null(), "{view}");
}

/// Eight messages being received at once hold the eight places: a ninth DATA waits (no
/// reply) until one of them ends, then goes on; nothing is refused or lost.
#[tokio::test]
async fn a_ninth_message_at_once_waits_for_a_place() {
    let smtp_port = medimail_e2e::free_port();
    let server = Server::start(options(smtp_port, &[])).await;
    let message = |i: usize| {
        format!(
            "From: {SENDER}\r\nTo: {READER}\r\nSubject: #med# Attente {i}\r\n\r\nBonjour {i}\r\n"
        )
        .into_bytes()
    };
    let mut receiving = Vec::new();
    for i in 0..medimail_server::gateway::listener::DATA_AT_ONCE {
        let mut smtp = marie_to_pierre(smtp_port).await;
        let r = smtp.send("DATA").await;
        assert!(r.starts_with("354"), "{r}");
        smtp.stream.write_all(&message(i)).await.expect("part");
        receiving.push(smtp);
    }
    let mut ninth = marie_to_pierre(smtp_port).await;
    ninth.stream.write_all(b"DATA\r\n").await.expect("DATA");
    server.wait_for_log("DATA waits for a place", 1).await;
    // Waiting: no reply (the server answers only once a place is free).
    let mut buf = [0u8; 64];
    assert!(
        matches!(ninth.stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the ninth DATA is answered only when a place frees"
    );
    // One of the eight ends: the ninth goes on.
    let mut first = receiving.remove(0);
    first.stream.write_all(b".\r\n").await.expect("end");
    let r = first.reply().await;
    assert!(r.starts_with("250 "), "{r}");
    let r = ninth.reply().await;
    assert!(r.starts_with("354"), "{r}");
    ninth.stream.write_all(&message(99)).await.expect("message");
    ninth.stream.write_all(b".\r\n").await.expect("end");
    let r = ninth.reply().await;
    assert!(r.starts_with("250 "), "{r}");
    for mut smtp in receiving {
        smtp.stream.write_all(b".\r\n").await.expect("end");
        let r = smtp.reply().await;
        assert!(r.starts_with("250 "), "{r}");
    }
    let reader = server.dev_sign_in(READER, PASSPHRASE).await;
    let list: Value = get(&server, &reader, "/api/envelopes?folder=inbox")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["total"], 9, "{list}");
}
