//! A real S3-compatible object store on loopback for the end-to-end tests: moto's server
//! (`moto_server`, installed from PyPI by `scripts/install-tools.sh --test`), in memory,
//! with one bucket. The server under test reaches it through `MEDIMAIL_BLOB_URL=s3://…`
//! and the standard `AWS_*` variables; the test reads the bucket over the S3 HTTP API.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A running S3 server; stopped when dropped.
pub struct S3Server {
    _child: Child,
    pub port: u16,
    pub bucket: String,
}

impl S3Server {
    /// Starts the server on a free port, waits until it answers, creates `bucket`.
    pub async fn start(bucket: &str) -> S3Server {
        let port = crate::free_port();
        let child = Command::new("moto_server")
            .arg("-H")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("moto_server (scripts/install-tools.sh --test installs it)");
        let server = S3Server {
            _child: child,
            port,
            bucket: bucket.to_owned(),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(server.endpoint()).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "moto_server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let created = client
            .put(format!("{}/{bucket}", server.endpoint()))
            .send()
            .await
            .expect("create bucket");
        assert!(created.status().is_success(), "{}", created.status());
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What a `medimail` process needs to keep its blobs under `prefix` in the bucket.
    pub fn server_env(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (
                "MEDIMAIL_BLOB_URL".into(),
                format!("s3://{}/{prefix}", self.bucket),
            ),
            ("AWS_ENDPOINT".into(), self.endpoint()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
            ("AWS_ACCESS_KEY_ID".into(), "medimail-test".into()),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                "medimail-test-secret".into(),
            ),
            ("AWS_REGION".into(), "us-east-1".into()),
        ]
    }

    /// Every object key of the bucket under `prefix` (ListObjectsV2, all pages).
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let client = reqwest::Client::new();
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2".to_owned()), ("prefix", prefix.to_owned())];
            if let Some(t) = &token {
                query.push(("continuation-token", t.clone()));
            }
            let url = url::Url::parse_with_params(
                &format!("{}/{}", self.endpoint(), self.bucket),
                &query,
            )
            .expect("list URL");
            let xml = client
                .get(url)
                .send()
                .await
                .expect("list")
                .text()
                .await
                .expect("xml");
            keys.extend(between_all(&xml, "<Key>", "</Key>"));
            token = between_all(&xml, "<NextContinuationToken>", "</NextContinuationToken>")
                .into_iter()
                .next();
            if token.is_none() {
                return keys;
            }
        }
    }

    /// Writes an object directly (an orphan, as a crash would leave).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        let r = reqwest::Client::new()
            .put(format!("{}/{}/{key}", self.endpoint(), self.bucket))
            .body(bytes)
            .send()
            .await
            .expect("put");
        assert!(r.status().is_success(), "{}", r.status());
    }
}

fn between_all(text: &str, open: &str, close: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(close) else { break };
        out.push(after[..end].to_owned());
        rest = &after[end + close.len()..];
    }
    out
}
