//! Harness for the end-to-end tests: starts the real `medimail` binary on a free port
//! with its own data folder, a local stand-in for office.js served over HTTPS, and
//! headless Chromium driven through chromedriver (WebDriver, fantoccini).
//!
//! Prerequisites (the README's test command does all of this): the binary built
//! (`cargo build -p medimail-server`), the task pane built (`trunk build --release`, into
//! `dist/`), and Debian's `chromium` and `chromium-driver` installed.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub mod browser;
pub mod fixture;
pub mod graph;
pub mod idp;
pub mod office_stub;
pub mod operator;
pub mod psc_idp;
pub mod s3;
pub mod smtp;
pub mod smtp_client;

pub use browser::Browser;
pub use fixture::{Identity, Pane, PaneOptions};
pub use office_stub::OfficeStub;
pub use smtp::SmtpSink;

/// The workspace root (the folder holding `Cargo.toml`, `dist/`, `target/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The cargo target folder (`CARGO_TARGET_DIR` or `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The `medimail` binary under test: `MEDIMAIL_BIN`, or the debug build.
pub fn medimail_bin() -> PathBuf {
    let path = std::env::var_os("MEDIMAIL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug").join("medimail"));
    assert!(
        path.exists(),
        "the medimail binary is missing at {}: run `cargo build -p medimail-server` first \
         (scripts/test.sh does)",
        path.display()
    );
    path
}

/// The built task pane: `MEDIMAIL_DIST_DIR`, or `dist/` at the workspace root.
pub fn dist_dir() -> PathBuf {
    let path = std::env::var_os("MEDIMAIL_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    assert!(
        path.join("index.html").exists(),
        "the task pane is not built in {}: run `trunk build --release` first \
         (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A TCP port free on loopback right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Installs the process-wide rustls provider once (tests mix several TLS users).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// How often [`wait_until`] looks again.
const POLL: Duration = Duration::from_millis(50);

/// Polls `done` until it holds; false if `timeout` passed first.
pub async fn poll_until(timeout: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `done` holds: the way to wait for a job's own signal (a log line, a row,
/// a file, a recorded request) before asserting what it did or did not do. Panics with
/// `what` after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, done: impl AsyncFnMut() -> bool) {
    assert!(
        poll_until(timeout, done).await,
        "{what}: not within {timeout:?}"
    );
}

/// How to start the server under test.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// office.js address given to the server (`MEDIMAIL_OFFICE_JS_URL`).
    pub office_js_url: Option<String>,
    /// Extra arguments after the defaults.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Use `DATABASE_URL` from the environment instead of the SQLite default.
    pub inherit_database_url: bool,
    /// Give the server a clock file (see [`Server::set_clock_offset`]).
    pub test_clock: bool,
    /// Listen on every address (`0.0.0.0`) instead of loopback only.
    pub listen_everywhere: bool,
}

/// A running `medimail` process; killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub origin: String,
    pub data_dir: tempfile::TempDir,
    pub log_path: PathBuf,
    options: ServerOptions,
}

impl Server {
    /// Starts the server and waits until `/api/health` answers over HTTPS.
    pub async fn start(options: ServerOptions) -> Server {
        install_crypto_provider();
        let data_dir = tempfile::tempdir().expect("temp data dir");
        let port = free_port();
        let origin = format!("https://localhost:{port}");
        let log_path = data_dir.path().join("server.log");
        let child = spawn_logged(&data_dir, port, &options, &log_path);
        let mut server = Server {
            child,
            port,
            origin,
            data_dir,
            log_path,
            options,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last_error = String::from("no attempt yet");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "medimail exited with {status} during start-up:\n{}",
                    self.log()
                );
            }
            // The server writes its certificate during start-up: build the client only
            // once it exists, so that it trusts that certificate.
            if self.cert_path().exists() {
                match self
                    .client()
                    .get(self.url(medimail_api::paths::HEALTH))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => return,
                    Ok(r) => last_error = format!("status {}", r.status()),
                    Err(e) => last_error = format!("{e:?}"),
                }
            }
            assert!(
                Instant::now() < deadline,
                "medimail did not become ready within 60 s (last error: {last_error}):\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server (SIGTERM, graceful) and starts it again on the same port, data
    /// folder and settings, as an operator's restart would.
    pub async fn restart(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("medimail stops after SIGTERM")
            .expect("exit status");
        self.child = spawn_logged(&self.data_dir, self.port, &self.options, &self.log_path);
        self.wait_ready().await;
    }

    /// Kills the process at once (SIGKILL), as a crash or a lost machine would; no
    /// clean-up runs. [`Server::restart`] starts it again.
    pub fn kill(&self) {
        let pid = self.pid().expect("pid");
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill");
    }

    /// The test clock file (`MEDIMAIL_TEST_CLOCK_FILE`) of a server started with
    /// [`ServerOptions::test_clock`]: moves the server's clock `seconds` ahead of real time.
    pub fn set_clock_offset(&self, seconds: i64) {
        std::fs::write(self.data_dir.path().join("test-clock"), seconds.to_string())
            .expect("write the clock file");
    }

    /// Signs in over HTTP as `mailbox` with the development identity provider
    /// (`MEDIMAIL_DEV_IDENTITY`) and the file outbox: first-use passphrase, a code read
    /// from the newest `.eml`, a session. Returns the Office token and the session token.
    pub async fn dev_sign_in(&self, mailbox: &str, passphrase: &str) -> (String, String) {
        let before = self.outbox_count();
        self.dev_sign_in_with(mailbox, passphrase, async || self.code_after(before).await)
            .await
    }

    /// [`Server::dev_sign_in`], the code given by `code` once it is asked for (from the
    /// file outbox, or from a test SMTP server).
    pub async fn dev_sign_in_with(
        &self,
        mailbox: &str,
        passphrase: &str,
        code: impl AsyncFnOnce() -> String,
    ) -> (String, String) {
        use serde_json::{Value, json};
        let client = self.client();
        let token = self.dev_token(mailbox).await;
        let chosen = client
            .post(self.url(medimail_api::paths::AUTH_PASSPHRASE))
            .bearer_auth(&token)
            .json(&json!({"passphrase": passphrase, "confirmation": passphrase}))
            .send()
            .await
            .expect("passphrase");
        assert_eq!(chosen.status(), 204);
        let requested = client
            .post(self.url(medimail_api::paths::AUTH_CODE))
            .bearer_auth(&token)
            .send()
            .await
            .expect("code request");
        assert_eq!(requested.status(), 200);
        let code = code().await;
        let session: Value = client
            .post(self.url(medimail_api::paths::AUTH_SESSION))
            .bearer_auth(&token)
            .json(&json!({"code": code, "passphrase": passphrase}))
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("JSON");
        let session = session["session"].as_str().expect("session").to_owned();
        (token, session)
    }

    /// How many mails the file outbox holds.
    pub fn outbox_count(&self) -> usize {
        std::fs::read_dir(self.data_dir.path().join("outbox"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Waits for a mail beyond the first `before` of the file outbox, and returns the
    /// newest one-time code in it.
    pub async fn code_after(&self, before: usize) -> String {
        let outbox = self.data_dir.path().join("outbox");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut mails: Vec<PathBuf> = std::fs::read_dir(&outbox)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            mails.sort();
            // The newest code mail (notifications go out in their own lane, so it need
            // not be the newest file).
            let newest_code = mails.iter().rev().find_map(|m| {
                let raw = std::fs::read_to_string(m).ok()?;
                raw.lines()
                    .find_map(|l| l.strip_prefix("Subject: ["))
                    .filter(|s| s.len() > 6 && s.as_bytes()[..6].iter().all(u8::is_ascii_digit))
                    .map(|s| s[..6].to_owned())
            });
            if mails.len() > before
                && let Some(code) = newest_code
            {
                return code;
            }
            assert!(
                Instant::now() < deadline,
                "no code mail in {}",
                outbox.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A token of the development identity provider for `mailbox` (named "Marie CURIE").
    /// Its signing key lives as long as the process: a restarted server needs a new one,
    /// and accepts it with the sessions opened before.
    pub async fn dev_token(&self, mailbox: &str) -> String {
        let token: serde_json::Value = self
            .client()
            .post(self.url(medimail_api::paths::DEV_IDENTITY_TOKEN))
            .json(&serde_json::json!({"mailbox": mailbox, "name": "Marie CURIE"}))
            .send()
            .await
            .expect("development token")
            .json()
            .await
            .expect("JSON");
        token["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A JSON request to the API with an Office token and, if given, a Medimail session:
    /// the status and the JSON answer (`null` when there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: (&str, Option<&str>),
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client()
            .request(method, self.url(path))
            .bearer_auth(auth.0);
        if let Some(session) = auth.1 {
            request = request.header("x-medimail-session", session);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// « Envoyer » over HTTP as the pane sends it: `draft` and `files` (name, bytes) in
    /// one multipart body, with the Office token and the session of `auth`.
    pub async fn send_envelope(
        &self,
        auth: (&str, &str),
        draft: &serde_json::Value,
        files: &[(&str, &[u8])],
    ) -> reqwest::Response {
        const BOUNDARY: &str = "medimail-e2e-boundary";
        self.client()
            .post(self.url("/api/envelopes"))
            .bearer_auth(auth.0)
            .header("x-medimail-session", auth.1)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(envelope_multipart(BOUNDARY, draft, files))
            .send()
            .await
            .expect("send")
    }

    /// The server process id (for memory readings in benches).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The development certificate the server generated.
    pub fn cert_path(&self) -> PathBuf {
        self.data_dir.path().join("tls").join("dev-cert.pem")
    }

    /// An HTTPS client that trusts exactly this server's development certificate.
    pub fn client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
        if let Ok(pem) = std::fs::read(self.cert_path()) {
            let cert = reqwest::Certificate::from_pem(&pem).expect("PEM certificate");
            builder = builder
                .tls_certs_only([cert])
                .resolve("localhost", self.addr());
        }
        builder.build().expect("HTTPS client")
    }

    /// `GET path` over HTTPS with [`Server::client`]; panics if no answer comes.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client()
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The URL of the server's embedded SQLite database (in its data folder).
    pub fn sqlite_url(&self) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.path().join("medimail.db").display()
        )
    }

    /// A connection to the server's embedded SQLite database, to check what it stored.
    pub async fn sqlite(&self) -> sea_orm::DatabaseConnection {
        medimail_server::db::connect_and_migrate(&self.sqlite_url())
            .await
            .expect("the server's SQLite database")
    }

    /// Waits (30 s at most) until `done` holds; on failure the panic shows `what` and the
    /// server's log.
    pub async fn wait_until(&self, what: &str, done: impl AsyncFnMut() -> bool) {
        let timeout = Duration::from_secs(30);
        if !poll_until(timeout, done).await {
            panic!(
                "{what}: not within {timeout:?}; server log:\n{}",
                self.log()
            );
        }
    }

    /// Waits until the server's log holds `count` lines containing `needle` (restarts
    /// append to the same log, so a count tells one start's line from the next).
    pub async fn wait_for_log(&self, needle: &str, count: usize) {
        let what = format!("{count} log line(s) containing {needle:?}");
        self.wait_until(&what, async || self.log_count(needle) >= count)
            .await;
    }

    /// How many lines of the server's log contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }

    /// What the server wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to end; returns its exit status and log.
    pub async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("medimail stops after SIGTERM")
            .expect("exit status");
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Spawns the server, its output appended to `log_path`.
fn spawn_logged(
    data_dir: &tempfile::TempDir,
    port: u16,
    options: &ServerOptions,
    log_path: &Path,
) -> Child {
    let mut command = base_command(data_dir, port, options);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .expect("log file");
    command
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log);
    command.spawn().expect("spawn medimail")
}

/// The command line of a server under test, without spawning it.
pub fn base_command(data_dir: &tempfile::TempDir, port: u16, options: &ServerOptions) -> Command {
    let mut command = Command::new(medimail_bin());
    // Only what the test sets: no operator variable from the surrounding shell.
    for (key, _) in std::env::vars() {
        if key.starts_with("MEDIMAIL_") || (key == "DATABASE_URL" && !options.inherit_database_url)
        {
            command.env_remove(key);
        }
    }
    command
        .env(
            "MEDIMAIL_LISTEN",
            if options.listen_everywhere {
                format!("0.0.0.0:{port}")
            } else {
                format!("127.0.0.1:{port}")
            },
        )
        .env(
            "MEDIMAIL_PUBLIC_ORIGIN",
            format!("https://localhost:{port}"),
        )
        .env("MEDIMAIL_DATA_DIR", data_dir.path())
        .env("MEDIMAIL_DIST_DIR", dist_dir())
        .env(
            "RUST_LOG",
            std::env::var("E2E_SERVER_LOG").unwrap_or_else(|_| "info".to_owned()),
        )
        .kill_on_drop(true)
        .stdin(Stdio::null());
    if options.test_clock {
        command.env(
            "MEDIMAIL_TEST_CLOCK_FILE",
            data_dir.path().join("test-clock"),
        );
    }
    if let Some(url) = &options.office_js_url {
        command.env("MEDIMAIL_OFFICE_JS_URL", url);
    }
    for (k, v) in &options.env {
        command.env(k, v);
    }
    command.args(&options.args);
    command
}

/// Runs the binary to completion with a timeout (for start-up failures and `--help`).
pub async fn run_to_end(mut command: Command) -> std::process::Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("spawn medimail");
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("medimail ends within 60 s")
        .expect("output")
}

/// Median of a list of measurements.
/// The body of « Envoyer » (`POST /api/envelopes`, `multipart/form-data; boundary=…`):
/// the `envelope` part with `draft`, then each file as an `attachment` part of type
/// `application/pdf`.
pub fn envelope_multipart(
    boundary: &str,
    draft: &serde_json::Value,
    files: &[(&str, &[u8])],
) -> Vec<u8> {
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n").into_bytes();
    for (name, data) in files {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// The names of every file under `dir`, however deep (a missing folder: none): the
/// blobs of a local store, with their staging files (`<id>#<n>`).
pub fn file_names_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(file_names_under(&path));
        } else {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS:`, `VmHWM:`), 0 when unreadable.
pub fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// `scripts/test.sh` sets `MEDIMAIL_TEST_REQUIRE_POSTGRES`: there a missing PostgreSQL
/// fails the test instead of skipping its PostgreSQL half.
pub fn postgres_required() -> bool {
    std::env::var_os("MEDIMAIL_TEST_REQUIRE_POSTGRES").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A fresh PostgreSQL database on the server of `DATABASE_URL`, for one test; `None`
/// when `DATABASE_URL` is not a PostgreSQL URL (a failure under `scripts/test.sh`). Give its `url` to the server as
/// `DATABASE_URL` (in [`ServerOptions::env`]); [`drop_database`](Self::drop_database)
/// removes it.
pub struct PgDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    pub async fn create() -> Option<PgDatabase> {
        use sea_orm::ConnectionTrait;
        let admin = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"));
        let Some(admin) = admin else {
            assert!(
                !postgres_required(),
                "MEDIMAIL_TEST_REQUIRE_POSTGRES is set but DATABASE_URL names no PostgreSQL"
            );
            return None;
        };
        let name = format!(
            "medimail_e2e_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        let conn = sea_orm::Database::connect(admin.as_str())
            .await
            .expect("PostgreSQL at DATABASE_URL");
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("DATABASE_URL parses");
        url.set_path(&format!("/{name}"));
        Some(PgDatabase {
            url: url.to_string(),
            admin,
            name,
        })
    }

    pub async fn drop_database(self) {
        use sea_orm::ConnectionTrait;
        if let Ok(conn) = sea_orm::Database::connect(self.admin.as_str()).await {
            let _ = conn
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }
}
