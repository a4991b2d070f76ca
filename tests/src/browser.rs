//! Headless Chromium through chromedriver (WebDriver), with the flags this machine needs
//! (root, closed network: see TOOLCHAIN.md).

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::process::{Child, Command};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose viewport is `width`×`height`.
    /// `extra_args` are added to Chromium's command line.
    pub async fn start(width: u32, height: u32, extra_args: &[&str]) -> Browser {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: install Debian's chromium and chromium-driver \
                 (scripts/install-tools.sh --test does)"
            );
        }
        let spawn_driver = || {
            let port = crate::free_port();
            let driver = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("start chromedriver");
            (port, driver)
        };
        let (mut port, mut driver) = spawn_driver();
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            // The server and the office.js stand-in use self-signed certificates.
            "--ignore-certificate-errors",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={width},{height}"));
        args.extend(extra_args.iter().map(|s| (*s).to_owned()));

        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        // Chromium keeps desktop windows at least 500 px wide; device metrics give the
        // pane its real 320 px width.
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": args,
                "mobileEmulation": {
                    "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0 }
                }
            }),
        );

        let deadline = Instant::now() + Duration::from_secs(60);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot start Chromium: {e}");
                    // Another test took the port between `free_port` and chromedriver's
                    // bind: chromedriver has exited. Again on another port.
                    if matches!(driver.try_wait(), Ok(Some(_))) {
                        (port, driver) = spawn_driver();
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Waits (30 s at most) until `selector` matches an element, and returns it.
    pub async fn element(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
    }

    /// Waits until `selector` matches an element and returns its visible text.
    pub async fn text_of(&self, selector: &str) -> String {
        self.element(selector)
            .await
            .text()
            .await
            .expect("element text")
    }

    /// Replaces the text of the field `selector` with `text`, typed.
    pub async fn fill(&self, selector: &str, text: &str) {
        let field = self.element(selector).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Clicks `selector` once it is enabled.
    pub async fn click(&self, selector: &str) {
        self.element(&format!("{selector}:not([disabled])"))
            .await
            .click()
            .await
            .expect("click");
    }

    /// Opens the task pane at `url` and waits until the app marks itself ready.
    pub async fn open_pane(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.wait_ready().await;
    }

    /// First use: types `passphrase` twice on the pane's passphrase screen and saves it.
    pub async fn choose_passphrase(&self, passphrase: &str) {
        self.fill("#choose-passphrase", passphrase).await;
        self.fill("#choose-confirmation", passphrase).await;
        self.click("#choose-submit").await;
    }

    /// "Authentification": types the one-time `code` and the `passphrase`, and submits.
    pub async fn authenticate(&self, code: &str, passphrase: &str) {
        self.fill("#code", code).await;
        self.fill("#passphrase", passphrase).await;
        self.click("#authenticate").await;
    }

    /// Saves a PNG of the viewport as `target/e2e/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = crate::target_dir().join("e2e");
        std::fs::create_dir_all(&dir).expect("target/e2e");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).expect("write screenshot");
        eprintln!("screenshot saved at {}", path.display());
        path
    }

    /// Saves a screenshot as Outlook's pane shows it (320×700), then goes back to
    /// `back` (the size the test runs at).
    pub async fn screenshot_as_pane(&self, name: &str, back: (u32, u32)) -> std::path::PathBuf {
        let metrics = |(width, height): (u32, u32)| serde_json::json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false});
        self.cdp("Emulation.setDeviceMetricsOverride", metrics((320, 700)))
            .await;
        let path = self.screenshot(name).await;
        self.cdp("Emulation.setDeviceMetricsOverride", metrics(back))
            .await;
        path
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&self, expression: &str) -> serde_json::Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    /// The value a JavaScript promise resolves to, in the page.
    pub async fn eval_async(&self, promise: &str) -> serde_json::Value {
        self.client
            .execute_async(
                &format!(
                    "const done = arguments[arguments.length - 1]; \
                     Promise.resolve({promise}).then(done, e => done({{error: String(e)}}));"
                ),
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{promise}: {e}"))
    }

    /// Waits (30 s at most) until a JavaScript expression is truthy; panics with its last
    /// value otherwise.
    pub async fn wait_until(&self, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = self.eval(&format!("!!({expression})")).await;
            if value == serde_json::Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!("still false after 30 s: {expression}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (10 s at most) for a `confirm()` or `alert()` dialog; its text.
    pub async fn dialog_text(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(text) = self.client.get_alert_text().await {
                return text;
            }
            assert!(Instant::now() < deadline, "no dialog opened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the app to mark itself ready (`<html data-medimail-ready="true">`).
    pub async fn wait_ready(&self) {
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("html[data-medimail-ready='true']"))
            .await
            .expect("the task pane app started");
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        self.client
            .issue_cmd(Cdp {
                body: serde_json::json!({ "cmd": cmd, "params": params }),
            })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    /// Runs `source` in every page before its own scripts (to simulate an old webview).
    pub async fn before_each_page(&self, source: &str) {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": source }),
        )
        .await;
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.start_kill();
        let _ = self.driver.wait().await;
    }
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    body: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}
