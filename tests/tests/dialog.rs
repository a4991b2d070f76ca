//! The dialog sign-in (issue 7, server side) on the real binary against the test identity
//! provider, whose authorization code + PKCE flow is real: `/auth/dialog/start` sends to
//! the authority with PKCE S256, `state` and `nonce` in a sealed HttpOnly cookie; the
//! callback exchanges the code and ends with the page that hands the Office credential
//! to the pane — the same account as single sign-on. Refusals: `state` mismatch, a
//! replayed code, a wrong `code_verifier` (at the authority), consent refused, another
//! tenant, no cookie.

use medimail_e2e::idp::{self, TestIdp};
use medimail_e2e::{Server, ServerOptions};

struct Flow {
    idp: TestIdp,
    server: Server,
    http: reqwest::Client,
}

/// A client that follows no redirect and trusts the server's development certificate.
fn no_redirect(server: &Server) -> reqwest::Client {
    let pem = std::fs::read(server.cert_path()).expect("certificate");
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("PEM")])
        .resolve("localhost", server.addr())
        .build()
        .expect("client")
}

async fn flow() -> Flow {
    let secret = tempfile::NamedTempFile::new().expect("secret file");
    std::fs::write(secret.path(), format!("{}\n", idp::CLIENT_SECRET)).expect("write");
    let (_, secret_path) = secret.keep().expect("keep");
    flow_with(
        TestIdp::start().await,
        ("MEDIMAIL_CLIENT_SECRET_FILE", secret_path),
    )
    .await
}

/// A server whose code exchange authenticates with `credential` (variable, file).
async fn flow_with(idp: TestIdp, credential: (&str, std::path::PathBuf)) -> Flow {
    let mut env = idp.server_env();
    env.push(("MEDIMAIL_AUTHORITY_URL".into(), idp.authority_url()));
    env.push((credential.0.into(), credential.1.display().to_string()));
    let server = Server::start(ServerOptions {
        env,
        ..Default::default()
    })
    .await;
    let http = no_redirect(&server);
    Flow { idp, server, http }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("a redirect, got {}", r.status()))
        .to_owned()
}

impl Flow {
    /// `/auth/dialog/start`: (authorize URL, the cookie to send back).
    async fn start(&self) -> (url::Url, String) {
        let r = self
            .http
            .get(self.server.url("/auth/dialog/start"))
            .send()
            .await
            .expect("start");
        assert_eq!(r.status(), 303, "{:?}", r.text().await);
        let set_cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("cookie")
            .to_owned();
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Max-Age=600",
            "Path=/",
        ] {
            assert!(
                set_cookie.contains(attribute),
                "{attribute} in {set_cookie}"
            );
        }
        let cookie = set_cookie.split(';').next().expect("pair").to_owned();
        assert!(cookie.starts_with("__Host-medimail-dialog="));
        (
            url::Url::parse(&location(&r)).expect("authorize URL"),
            cookie,
        )
    }

    /// The authority's answer to `authorize`: the callback URL with `code` and `state`.
    async fn authorize(&self, url: &url::Url) -> url::Url {
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .get(url.as_str())
            .send()
            .await
            .expect("authorize");
        assert!(r.status().is_redirection(), "{}", r.status());
        url::Url::parse(&location(&r)).expect("callback URL")
    }

    /// The callback, as the dialog's browser calls it: (page, the outcome JSON).
    async fn callback(&self, url: &url::Url, cookie: Option<&str>) -> (String, serde_json::Value) {
        let path = format!("{}?{}", url.path(), url.query().unwrap_or(""));
        let mut request = self.http.get(self.server.url(&path));
        if let Some(c) = cookie {
            request = request.header("cookie", c);
        }
        let r = request.send().await.expect("callback");
        assert_eq!(r.status(), 200);
        let headers = r.headers().clone();
        assert_eq!(headers["cache-control"], "no-store");
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(
            headers["set-cookie"]
                .to_str()
                .expect("cookie")
                .contains("Max-Age=0"),
            "the callback clears the cookie"
        );
        let page = r.text().await.expect("page");
        let start = page
            .find("id=\"medimail-dialog-result\">")
            .expect("result data")
            + "id=\"medimail-dialog-result\">".len();
        let end = start + page[start..].find("</script>").expect("end");
        let outcome = serde_json::from_str(&page[start..end]).expect("outcome JSON");
        (page, outcome)
    }

    async fn me(&self, token: &str) -> serde_json::Value {
        let r = self
            .server
            .client()
            .get(self.server.url("/api/me"))
            .bearer_auth(token)
            .send()
            .await
            .expect("me");
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }
}

#[tokio::test]
async fn the_dialog_signs_in_the_same_account_as_single_sign_on() {
    let f = flow().await;
    let (authorize, cookie) = f.start().await;
    assert_eq!(
        authorize.path(),
        format!("/{}/oauth2/v2.0/authorize", idp::TENANT),
        "the one allowed tenant's authority"
    );
    let q: std::collections::HashMap<String, String> =
        authorize.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["redirect_uri"], f.server.url("/auth/dialog/callback"));
    let scopes: Vec<&str> = q["scope"].split(' ').collect();
    for s in ["openid", "profile", "offline_access"] {
        assert!(scopes.contains(&s), "{scopes:?}");
    }
    assert!(
        scopes
            .iter()
            .any(|s| s.starts_with("api://") && s.ends_with("/access_as_user"))
    );
    assert!(!q["state"].is_empty() && !q["nonce"].is_empty());
    assert!(!cookie.contains(&q["state"]), "the cookie is sealed");

    let back = f.authorize(&authorize).await;
    let (page, outcome) = f.callback(&back, Some(&cookie)).await;
    assert_eq!(outcome["status"], "ok", "{outcome}");
    assert!(page.contains("Identification réussie"));
    assert!(page.contains("/auth/dialog/done.js"));
    let token = outcome["office_token"].as_str().expect("token");
    let through_dialog = f.me(token).await;
    // The same person through single sign-on: the same account.
    let sso = idp::sign(&f.idp.current_key(), &idp::valid_claims());
    let through_sso = f.me(&sso).await;
    assert_eq!(through_dialog["account_id"], through_sso["account_id"]);
    assert_eq!(through_dialog["object_id"], idp::valid_claims()["oid"]);
    // The code served once: the same callback again is refused by the authority.
    let (_, replay) = f.callback(&back, Some(&cookie)).await;
    assert_eq!(replay["code"], "dialog_exchange_failed", "{replay}");
    assert!(!f.server.log().contains(token), "the token is never logged");
}

#[tokio::test]
async fn forged_refused_or_foreign_answers_end_in_a_french_explanation() {
    let f = flow().await;
    // `state` changed on the way back.
    let (authorize, cookie) = f.start().await;
    let back = f.authorize(&authorize).await;
    let mut forged = back.clone();
    let pairs: Vec<(String, String)> = back
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                (k, "autre".into())
            } else {
                (k, v)
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let (page, outcome) = f.callback(&forged, Some(&cookie)).await;
    assert_eq!(outcome["code"], "dialog_state_mismatch");
    assert!(page.contains("Identification impossible"));
    // An answer meant for another dialog (another cookie).
    let (_, other_cookie) = f.start().await;
    let (_, outcome) = f.callback(&back, Some(&other_cookie)).await;
    assert_eq!(outcome["code"], "dialog_state_mismatch");
    // No cookie at all.
    let (_, outcome) = f.callback(&back, None).await;
    assert_eq!(outcome["code"], "dialog_expired");
    let message = outcome["message"].as_str().expect("message");
    assert!(message.contains("recommencez"), "{message}");

    // Consent refused.
    f.idp.sign_in_as(None);
    let (authorize, cookie) = f.start().await;
    let back = f.authorize(&authorize).await;
    let (_, outcome) = f.callback(&back, Some(&cookie)).await;
    assert_eq!(outcome["code"], "dialog_consent_refused");

    // A person of a tenant this server does not serve.
    let mut foreign = idp::valid_claims();
    foreign["tid"] = serde_json::json!(idp::OTHER_TENANT);
    foreign["iss"] = serde_json::json!(idp::ISSUER_TEMPLATE.replace("{tid}", idp::OTHER_TENANT));
    f.idp.sign_in_as(Some(foreign));
    let (authorize, cookie) = f.start().await;
    let back = f.authorize(&authorize).await;
    let (_, outcome) = f.callback(&back, Some(&cookie)).await;
    assert_eq!(outcome["code"], "token_tenant", "{outcome}");
    assert!(outcome.get("office_token").is_none());
}

#[tokio::test]
async fn the_authority_refuses_a_wrong_code_verifier() {
    let f = flow().await;
    let (authorize, _cookie) = f.start().await;
    let back = f.authorize(&authorize).await;
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let token_url = format!(
        "http://127.0.0.1:{}/{}/oauth2/v2.0/token",
        f.idp.port,
        idp::TENANT
    );
    let redirect_uri = f.server.url("/auth/dialog/callback");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", idp::CLIENT_ID),
            ("client_secret", idp::CLIENT_SECRET),
            (
                "code_verifier",
                "pas-le-bon-verificateur-pas-le-bon-verificateur-00",
            ),
        ])
        .finish();
    let r = reqwest::Client::new()
        .post(&token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn the_code_exchange_can_authenticate_with_a_certificate() {
    let (path, (thumbprint, n, e)) = idp::client_certificate();
    let idp = TestIdp::start().await;
    idp.trust_client_certificate(&thumbprint, &n, &e);
    let f = flow_with(idp, ("MEDIMAIL_CLIENT_CERTIFICATE_FILE", path)).await;
    let (authorize, cookie) = f.start().await;
    let back = f.authorize(&authorize).await;
    let (_, outcome) = f.callback(&back, Some(&cookie)).await;
    assert_eq!(outcome["status"], "ok", "{outcome}");
    // A certificate the authority does not know: the exchange is refused.
    let (other, _) = idp::client_certificate();
    let f = flow_with(
        TestIdp::start().await,
        ("MEDIMAIL_CLIENT_CERTIFICATE_FILE", other),
    )
    .await;
    let (authorize, cookie) = f.start().await;
    let back = f.authorize(&authorize).await;
    let (_, outcome) = f.callback(&back, Some(&cookie)).await;
    assert_eq!(outcome["code"], "dialog_exchange_failed", "{outcome}");
}

mod pane {
    //! The task pane in an Outlook whose single sign-on fails (a stand-in office.js whose
    //! `getAccessToken` rejects, whose `displayDialogAsync` opens a real window) in
    //! headless Chromium, through the dialog to the Medimail code and passphrase.

    use std::time::Duration;

    use medimail_e2e::idp::{self, TestIdp};
    use medimail_e2e::{Browser, Identity, OfficeStub, Pane, PaneOptions};

    const PASSPHRASE: &str = "Le chat dort sur le radiateur";

    /// The pane's servers, the code exchange authenticating with the client secret.
    async fn setup(office_js: fn(&OfficeStub) -> String) -> Pane {
        let idp = TestIdp::start().await;
        let secret = tempfile::NamedTempFile::new().expect("secret");
        std::fs::write(secret.path(), idp::CLIENT_SECRET).expect("write");
        let (_, secret_path) = secret.keep().expect("keep");
        let env = vec![
            ("MEDIMAIL_AUTHORITY_URL".to_owned(), idp.authority_url()),
            (
                "MEDIMAIL_CLIENT_SECRET_FILE".to_owned(),
                secret_path.display().to_string(),
            ),
        ];
        Pane::start(PaneOptions {
            identity: Identity::Office(idp),
            office_js,
            env,
        })
        .await
    }

    /// The task pane in a browser that lets it open the dialog's window.
    async fn open_pane(pane: &Pane, before: &str) -> Browser {
        pane.open_pane((360, 900), &["--disable-popup-blocking"], before)
            .await
    }

    #[tokio::test]
    async fn where_single_sign_on_fails_the_dialog_signs_in_to_the_same_account() {
        let pane = setup(|s| s.url("PC")).await;
        let (idp, sink, server) = (pane.idp(), &pane.sink, &pane.server);
        // getAccessToken fails with 13012 (not available here); a forged message from
        // another origin reaches the pane before the real one.
        let forged = r#"{"status":"ok","office_token":"forged.token.value","expires_in":3600}"#;
        let browser = open_pane(
            &pane,
            &format!(
                "window.__medimailOfficeTokenError = 13012; window.__medimailDialogForeignFirst = {};",
                serde_json::to_string(forged).expect("json")
            ),
        )
        .await;
        let explanation = browser.text_of("#dialog-explanation").await;
        assert!(
            explanation.contains("ne permet pas la connexion automatique"),
            "{explanation}"
        );
        browser.click("#dialog-sign-in").await;
        // Through the real window and the test authority, then Medimail's own steps.
        browser.fill("#choose-passphrase", PASSPHRASE).await;
        assert!(
            browser
                .eval("document.getElementById('dialog-error') === null")
                .await
                == true,
            "the forged message was ignored"
        );
        browser.fill("#choose-confirmation", PASSPHRASE).await;
        browser.click("#choose-submit").await;
        browser.click("#request-code").await;
        let mail = &sink.wait_for(1, Duration::from_secs(30)).await[0];
        let claims = idp::valid_claims();
        assert!(
            mail.to
                .contains(claims["preferred_username"].as_str().expect("mailbox")),
            "the code goes to the dialog identity's mailbox"
        );
        browser.authenticate(&mail.code(), PASSPHRASE).await;
        browser.element("#signed-in").await;
        // The same person through single sign-on: the same (only) account.
        let db = server.sqlite().await;
        use sea_orm::EntityTrait;
        let accounts = medimail_server::account::entity::account::Entity::find()
            .all(&db)
            .await
            .expect("accounts");
        assert_eq!(accounts.len(), 1);
        let sso = idp::sign(&idp.current_key(), &claims);
        let me: serde_json::Value = server
            .client()
            .get(server.url("/api/me"))
            .bearer_auth(sso)
            .send()
            .await
            .expect("me")
            .json()
            .await
            .expect("json");
        assert_eq!(me["account_id"], accounts[0].id.as_str());
        assert_eq!(
            me["needs_passphrase"], false,
            "the passphrase chosen through the dialog"
        );
        browser.close().await;
    }

    #[tokio::test]
    async fn without_identity_api_the_dialog_is_offered_and_a_refusal_is_explained() {
        let pane = setup(OfficeStub::url_without_sso).await;
        let idp = pane.idp();
        idp.sign_in_as(None);
        let browser = open_pane(&pane, "").await;
        browser.click("#dialog-sign-in").await;
        let error = browser.text_of("#dialog-error").await;
        assert!(error.contains("n'a pas été accordé"), "{error}");
        // Nothing half-signed-in: no session, and the button is there to try again.
        browser.element("#dialog-sign-in:not([disabled])").await;
        idp.sign_in_as(Some(idp::valid_claims()));
        browser.click("#dialog-sign-in").await;
        browser.element("#choose-passphrase").await;
        browser.close().await;
    }

    #[tokio::test]
    async fn closing_the_dialog_before_the_end_is_explained_and_can_be_retried() {
        let servers = setup(OfficeStub::url_without_sso).await;
        let idp = servers.idp();
        idp.hold_at_consent(true);
        let browser = open_pane(&servers, "").await;
        let pane = browser.client.window().await.expect("pane window");
        browser.click("#dialog-sign-in").await;
        // The dialog's window: wait for it, then close it as the user would.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let dialog = loop {
            let windows = browser.client.windows().await.expect("windows");
            if let Some(w) = windows.into_iter().find(|w| *w != pane) {
                break w;
            }
            assert!(std::time::Instant::now() < deadline, "no dialog window");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        browser
            .client
            .switch_to_window(dialog)
            .await
            .expect("to dialog");
        browser.client.close_window().await.expect("close dialog");
        browser
            .client
            .switch_to_window(pane)
            .await
            .expect("to pane");
        let error = browser.text_of("#dialog-error").await;
        assert!(error.contains("fermée avant la fin"), "{error}");
        // Try again: this time the person answers.
        idp.hold_at_consent(false);
        browser.click("#dialog-sign-in").await;
        browser.element("#choose-passphrase").await;
        browser.close().await;
    }

    #[tokio::test]
    async fn a_cancelled_single_sign_on_is_explained_with_a_retry_not_the_dialog() {
        let pane = setup(|s| s.url("OfficeOnline")).await;
        let idp = pane.idp();
        let browser = open_pane(&pane, "window.__medimailOfficeTokenError = 13002;").await;
        let error = browser.text_of("#identity-error").await;
        assert!(error.contains("annulée"), "{error}");
        assert_eq!(
            browser
                .eval("document.getElementById('dialog-sign-in') === null")
                .await,
            true
        );
        let token = idp::sign(&idp.current_key(), &idp::valid_claims());
        browser
            .eval(&format!("window.__medimailOfficeToken = '{token}'"))
            .await;
        browser.click("#sso-retry").await;
        browser.element("#choose-passphrase").await;
        browser.close().await;
    }
}
