//! Operational metrics (`MEDIMAIL_METRICS_LISTEN`): the real binary's Prometheus
//! listener counts requests by route template, refusals by code, sign-ins, envelopes,
//! mail deliveries and directory searches, without a single personal value in a label;
//! without the variable the server listens on its HTTPS port only.

use std::collections::{BTreeMap, HashSet};

use medimail_e2e::{Server, ServerOptions, free_port};
use serde_json::{Value, json};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const SENDER: &str = "marie.curie@chu-dev.fr";
const RECIPIENT: &str = "pierre.dupond@chu-dev.fr";
const SUBJECT: &str = "Compte rendu opératoire confidentiel";
const BOUNDARY: &str = "medimail-metrics-boundary";
/// The attachment's size: the bytes-stored counter must show exactly this.
const FILE_BYTES: usize = 12_345;

/// One sample of the exposition: its metric name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (comments skipped; label values unescaped).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("series and value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').expect("}"))),
                None => (series, BTreeMap::new()),
            };
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

fn parse_labels(mut rest: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("key=\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (_, '\\') => match chars.next().expect("escaped").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

/// The value of the one sample of `name` whose labels include `labels`, or 0.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(server: &Server, metrics: &str) -> String {
    let response = server
        .client()
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("the metrics listener answers");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("text")
}

/// The TCP ports process `pid` listens on, from its socket descriptors and the kernel's
/// socket tables (Linux).
fn listening_ports(pid: u32) -> HashSet<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's descriptors")
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let mut ports = HashSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the inode.
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                let port = fields[1].rsplit_once(':').expect("ip:port").1;
                ports.insert(u16::from_str_radix(port, 16).expect("hex port"));
            }
        }
    }
    ports
}

fn envelope_body(reference_note: &str) -> Vec<u8> {
    let draft = json!({
        "to": [RECIPIENT],
        "subject": SUBJECT,
        "body_html": format!("<p>{reference_note}</p>"),
    });
    let mut out = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\
         Content-Type: application/json\r\n\r\n{draft}\r\n"
    )
    .into_bytes();
    out.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; \
             filename=\"bilan-curie.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend((0..FILE_BYTES).map(|i| (i % 251) as u8));
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}

#[tokio::test]
async fn counts_the_servers_work_by_route_template_without_personal_data() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = Server::start(ServerOptions {
        env: vec![
            ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
            ("MEDIMAIL_METRICS_LISTEN".into(), metrics.clone()),
        ],
        ..Default::default()
    })
    .await;
    assert_eq!(
        server.log_count(&format!("http://{metrics}/metrics")),
        1,
        "the address is announced:\n{}",
        server.log()
    );
    let client = server.client();
    let requests = "medimail_http_requests_total";
    let health = [
        ("method", "GET"),
        ("route", "/api/health"),
        ("status", "200"),
    ];
    // The start-up wait already checked health: count from here.
    let health_before = value(&parse(&scrape(&server, &metrics).await), requests, &health);

    // A health check, and refusals whose paths carry a reference and an address.
    assert_eq!(server.get("/api/health").await.status(), 200);
    let secret_reference = "Zx9qSecretReferenceOfAnEnvelope";
    let refused = server
        .get(&format!("/api/envelopes/{secret_reference}"))
        .await;
    assert_eq!(refused.status(), 401);
    let secret_address = "jeanne.secret@chu-dev.fr";
    let unstar = client
        .delete(server.url(&format!(
            "/api/directory/favorites/medimail/{secret_address}"
        )))
        .send()
        .await
        .expect("unstar");
    assert_eq!(unstar.status(), 401);

    // A sign-in, an envelope with one attachment, two directory searches.
    let (token, session) = server.dev_sign_in(SENDER, PASSPHRASE).await;
    let sent = client
        .post(server.url(medimail_api::paths::ENVELOPES))
        .bearer_auth(&token)
        .header("x-medimail-session", &session)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(envelope_body("Résultats de Mme Curie"))
        .send()
        .await
        .expect("send");
    assert_eq!(sent.status(), 201);
    let sent: Value = sent.json().await.expect("JSON");
    let reference = sent["reference"].as_str().expect("reference").to_owned();
    let opened = client
        .get(server.url(&format!("/api/envelopes/{reference}")))
        .bearer_auth(&token)
        .header("x-medimail-session", &session)
        .send()
        .await
        .expect("open");
    assert_eq!(opened.status(), 200);
    for query in ["?annuaire=medimail&nom=dupond", "?annuaire=medimail"] {
        let found = client
            .get(server.url(&format!("/api/directory/search{query}")))
            .bearer_auth(&token)
            .header("x-medimail-session", &session)
            .send()
            .await
            .expect("search");
        assert_eq!(found.status(), 200, "{query}");
    }

    // The notification leaves through the outbox worker: wait for its own count.
    let mut text = String::new();
    server
        .wait_until("the notification counted as delivered", async || {
            text = scrape(&server, &metrics).await;
            let samples = parse(&text);
            value(
                &samples,
                "medimail_mail_attempts_total",
                &[("purpose", "notification"), ("outcome", "delivered")],
            ) == 1.0
                && value(&samples, "medimail_outbox_pending", &[]) == 0.0
        })
        .await;
    let samples = parse(&text);
    let count = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);

    assert_eq!(count(requests, &health), health_before + 1.0, "{text}");
    assert_eq!(
        count(
            requests,
            &[
                ("method", "GET"),
                ("route", "/api/envelopes/{reference}"),
                ("status", "401")
            ]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(
            requests,
            &[
                ("method", "GET"),
                ("route", "/api/envelopes/{reference}"),
                ("status", "200")
            ]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(
            requests,
            &[
                ("method", "DELETE"),
                ("status", "401"),
                ("route", "/api/directory/favorites/{annuaire}/{address}")
            ]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(
            "medimail_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/api/health")]
        ),
        health_before + 1.0,
        "{text}"
    );
    assert!(
        samples.iter().any(
            |s| s.name == "medimail_http_request_duration_seconds_bucket"
                && s.labels.get("le").map(String::as_str) == Some("0.1")
        ),
        "latency as a histogram with buckets: {text}"
    );
    assert_eq!(
        count("medimail_refusals_total", &[("code", "token_missing")]),
        2.0,
        "{text}"
    );
    assert_eq!(count("medimail_sign_ins_total", &[]), 1.0, "{text}");
    assert_eq!(count("medimail_envelopes_sealed_total", &[]), 1.0, "{text}");
    assert_eq!(
        count("medimail_attachment_bytes_stored_total", &[]),
        FILE_BYTES as f64,
        "{text}"
    );
    assert_eq!(
        count(
            "medimail_mail_attempts_total",
            &[("purpose", "one_time_code"), ("outcome", "delivered")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(
            "medimail_mail_delivery_seconds_count",
            &[("purpose", "one_time_code")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(
            "medimail_directory_searches_total",
            &[("directory", "medimail"), ("favorites_only", "false")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(
            "medimail_directory_searches_total",
            &[("directory", "medimail"), ("favorites_only", "true")]
        ),
        1.0,
        "{text}"
    );

    // Route labels are templates: no path parameter, reference, address or token.
    for sample in &samples {
        if let Some(route) = sample.labels.get("route") {
            assert!(
                route == "fallback" || route.starts_with('/'),
                "route label {route:?}"
            );
            for segment in route.split('/') {
                assert!(
                    !segment.contains('@') && !segment.contains(secret_reference),
                    "a path parameter in a label: {route:?}"
                );
            }
        }
    }
    for personal in [
        secret_reference,
        secret_address,
        reference.as_str(),
        SENDER,
        RECIPIENT,
        "Curie",
        "curie",
        SUBJECT,
        "bilan-curie",
        "dupond",
        token.as_str(),
        session.as_str(),
    ] {
        assert!(
            !text.contains(personal),
            "{personal:?} in the metrics:\n{text}"
        );
    }
    assert!(!text.contains('@'), "a mailbox in the metrics:\n{text}");
}

#[tokio::test]
async fn without_the_variable_the_server_listens_on_its_https_port_only() {
    let server = Server::start(ServerOptions::default()).await;
    // Start-up is over: the listener decision was logged before "ready".
    server.wait_for_log("Medimail is ready", 1).await;
    assert_eq!(
        server.log_count("metrics listener off (MEDIMAIL_METRICS_LISTEN is not set)"),
        1,
        "{}",
        server.log()
    );
    assert_eq!(
        server.log_count("metrics listener on"),
        0,
        "{}",
        server.log()
    );
    let pid = server.pid().expect("pid");
    assert_eq!(
        listening_ports(pid),
        HashSet::from([server.port]),
        "listening sockets of the server"
    );
}

#[tokio::test]
async fn with_the_variable_the_server_listens_on_both_ports() {
    let metrics_port = free_port();
    let server = Server::start(ServerOptions {
        env: vec![(
            "MEDIMAIL_METRICS_LISTEN".into(),
            format!("127.0.0.1:{metrics_port}"),
        )],
        ..Default::default()
    })
    .await;
    let pid = server.pid().expect("pid");
    assert_eq!(
        listening_ports(pid),
        HashSet::from([server.port, metrics_port]),
        "listening sockets of the server"
    );
}

#[tokio::test]
async fn a_metrics_address_on_every_interface_stops_start_up_with_one_line() {
    let data = tempfile::tempdir().expect("data");
    let command = medimail_e2e::base_command(
        &data,
        free_port(),
        &ServerOptions {
            env: vec![("MEDIMAIL_METRICS_LISTEN".into(), "0.0.0.0:9464".into())],
            ..Default::default()
        },
    );
    let output = medimail_e2e::run_to_end(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("medimail: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("MEDIMAIL_METRICS_LISTEN=0.0.0.0:9464 is refused"),
        "{}",
        errors[0]
    );
}
