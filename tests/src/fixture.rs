//! The set-up the browser end-to-end tests share: who signs in (the test identity
//! provider or the server's development identity), a real SMTP server, the office.js
//! stand-in, the server wired to all three, and headless Chromium on its task pane.
//! What varies between tests (the identity, the Outlook the stand-in plays, extra server
//! settings, the window and the scripts a page starts with) is an option; everything
//! else is started the same way for every test.

use std::time::Duration;

use crate::idp::{self, TestIdp};
use crate::{Browser, OfficeStub, Server, ServerOptions, SmtpSink};

/// The subject ending of the one-time code mail.
const CODE_SUBJECT: &str = "] - Votre code d'accès Medimail";

/// Who the pane signs in as.
pub enum Identity {
    /// Microsoft 365 through this test identity provider: the server trusts it and the
    /// pane can be handed a token it signed ([`Pane::office_token_script`]).
    Office(TestIdp),
    /// The server's built-in development identity (`MEDIMAIL_DEV_IDENTITY`).
    Development,
}

impl Identity {
    /// A freshly started test identity provider.
    pub async fn office() -> Identity {
        Identity::Office(TestIdp::start().await)
    }
}

/// What varies between the browser tests.
pub struct PaneOptions {
    pub identity: Identity,
    /// The office.js address the server gives the pane: which Outlook the stand-in plays
    /// (e.g. [`OfficeStub::url_read`]).
    pub office_js: fn(&OfficeStub) -> String,
    /// Server settings besides the identity's and the SMTP server's.
    pub env: Vec<(String, String)>,
}

/// The running pieces; each stops when the fixture is dropped.
pub struct Pane {
    /// The test identity provider, with [`Identity::Office`].
    pub idp: Option<TestIdp>,
    pub sink: SmtpSink,
    pub stub: OfficeStub,
    pub server: Server,
}

impl Pane {
    /// Starts the identity provider (if any), the SMTP server, the office.js stand-in and
    /// the server, in that order.
    pub async fn start(options: PaneOptions) -> Pane {
        let idp = match options.identity {
            Identity::Office(idp) => Some(idp),
            Identity::Development => None,
        };
        let sink = SmtpSink::start(0).await;
        let stub = OfficeStub::start().await;
        let mut env = match &idp {
            Some(idp) => idp.server_env(),
            None => vec![("MEDIMAIL_DEV_IDENTITY".into(), "true".into())],
        };
        env.push(("MEDIMAIL_SMTP_URL".into(), sink.url()));
        env.extend(options.env);
        let server = Server::start(ServerOptions {
            env,
            office_js_url: Some((options.office_js)(&stub)),
            // The clock file stays absent (real time) unless a test moves it.
            test_clock: true,
            ..Default::default()
        })
        .await;
        Pane {
            idp,
            sink,
            stub,
            server,
        }
    }

    /// The test identity provider; panics for the development identity.
    pub fn idp(&self) -> &TestIdp {
        self.idp
            .as_ref()
            .expect("started with Identity::Office, not the development identity")
    }

    /// A script for [`Browser::before_each_page`] that gives the office.js stand-in the
    /// Office token of the provider's usual user ([`idp::valid_claims`]).
    pub fn office_token_script(&self) -> String {
        let idp = self.idp();
        let token = serde_json::to_string(&idp::sign(&idp.current_key(), &idp::valid_claims()))
            .expect("JSON string");
        format!("window.__medimailOfficeToken = {token};")
    }

    /// Headless Chromium with a `width` × `height` window and `args`, running
    /// `before_each_page` (if not empty) at the start of every page; no page open yet.
    pub async fn browser(
        &self,
        (width, height): (u32, u32),
        args: &[&str],
        before_each_page: &str,
    ) -> Browser {
        let browser = Browser::start(width, height, args).await;
        if !before_each_page.is_empty() {
            browser.before_each_page(before_each_page).await;
        }
        browser
    }

    /// [`Pane::browser`], then the task pane opened and ready.
    pub async fn open_pane(
        &self,
        size: (u32, u32),
        args: &[&str],
        before_each_page: &str,
    ) -> Browser {
        let browser = self.browser(size, args, before_each_page).await;
        self.show_pane(&browser).await;
        browser
    }

    /// Opens the server's task pane in `browser` and waits until the app is ready.
    pub async fn show_pane(&self, browser: &Browser) {
        browser.open_pane(&self.server.url("/taskpane.html")).await;
    }

    /// How many code mails `mailbox` has received so far.
    pub fn code_mails(&self, mailbox: &str) -> usize {
        self.sink
            .mails()
            .iter()
            .filter(|m| m.to == mailbox && m.subject.ends_with(CODE_SUBJECT))
            .count()
    }

    /// Signs in over HTTP as `mailbox` (development identity), its code read from the
    /// test SMTP server: the Office token and the session token.
    pub async fn dev_sign_in(&self, mailbox: &str, passphrase: &str) -> (String, String) {
        let n = self.code_mails(mailbox) + 1;
        self.server
            .dev_sign_in_with(mailbox, passphrase, async || self.code(mailbox, n).await)
            .await
    }

    /// Waits (30 s at most) for code mail number `n` (from 1) to `mailbox`; its code.
    pub async fn code(&self, mailbox: &str, n: usize) -> String {
        let mut code = None;
        crate::wait_until(
            &format!("code mail {n} to {mailbox}"),
            Duration::from_secs(30),
            async || {
                code = self
                    .sink
                    .mails()
                    .into_iter()
                    .filter(|m| m.to == mailbox && m.subject.ends_with(CODE_SUBJECT))
                    .nth(n - 1)
                    .map(|m| m.code());
                code.is_some()
            },
        )
        .await;
        code.expect("found")
    }

    /// The pane's first sign-in as `mailbox`, from its passphrase screen: chooses
    /// `passphrase`, asks for a code, and authenticates with the code mailed to `mailbox`.
    pub async fn sign_in(&self, browser: &Browser, mailbox: &str, passphrase: &str) {
        browser.choose_passphrase(passphrase).await;
        let before = self.code_mails(mailbox);
        browser.click("#request-code").await;
        let code = self.code(mailbox, before + 1).await;
        browser.authenticate(&code, passphrase).await;
    }
}
