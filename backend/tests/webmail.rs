//! The webmail's sign-in and session through the real router, on SQLite and PostgreSQL:
//! a recipient outside Outlook proves the mailbox with a mailed code, accepts the
//! conditions, chooses a passphrase and reads; no answer tells one address from another;
//! the limits hold under 100 requests at once; the cookie session needs its CSRF token;
//! "J'ai oublié mon mot de passe" ends every session and tells the mailbox; the
//! operator's unlock and reset; the report of a wrong recipient.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use medimail_server::config::WebmailMode;
use medimail_server::state::AppState;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;

const BOUNDARY: &str = "medimail-webmail-boundary";
const EXTERNAL: &str = "dr.martin@cabinet-martin.fr";
const NEW_PASSPHRASE: &str = "Les mouettes volent au dessus du port";

/// A webmail browser: the session cookie once set, and the CSRF token the page keeps.
#[derive(Default, Clone)]
struct Browser {
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    raw: Vec<u8>,
}

impl Browser {
    async fn call(
        &mut self,
        state: &AppState,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(cookie) = &self.cookie {
            request = request.header(
                "cookie",
                format!("theme=clair; {}={cookie}", medimail_api::SESSION_COOKIE),
            );
        }
        if let Some(csrf) = &self.csrf {
            request = request.header(medimail_api::CSRF_HEADER, csrf);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header("content-type", content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let response = medimail_server::http::app(state.clone())
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        if let Some(set) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            let value = set
                .split(';')
                .next()
                .and_then(|p| p.split_once('='))
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default();
            self.cookie = (!value.is_empty()).then_some(value);
        }
        let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        if let Some(csrf) = body.get("csrf").and_then(Value::as_str) {
            self.csrf = Some(csrf.to_owned());
        }
        Answer {
            status,
            headers,
            body,
            raw,
        }
    }

    async fn json(&mut self, state: &AppState, method: &str, path: &str, body: Value) -> Answer {
        self.call(
            state,
            method,
            path,
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }
}

fn multipart(draft: &Value) -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: \
         application/json\r\n\r\n{draft}\r\n--{BOUNDARY}--\r\n"
    )
    .into_bytes()
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Every mail the outbox delivered to `to`: (subject, text), oldest first.
fn mails_to(state: &AppState, to: &str) -> Vec<(String, String)> {
    let dir = state.mailer.file_dir().expect("file outbox");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let raw = std::fs::read(path).ok()?;
            let parsed = mail_parser::MessageParser::default().parse(&raw)?;
            let to_here = parsed
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .is_some_and(|a| a.eq_ignore_ascii_case(to));
            to_here.then(|| {
                (
                    parsed.subject().unwrap_or_default().to_owned(),
                    parsed.body_text(0).unwrap_or_default().into_owned(),
                )
            })
        })
        .collect()
}

/// Waits for the outbox to deliver `count` mails to `to` (the webmail's code request
/// works after its answer), then returns them.
async fn wait_for_mails(state: &AppState, to: &str, count: usize) -> Vec<(String, String)> {
    for _ in 0..500 {
        state.mail_worker().drain_once().await.expect("drained");
        let mails = mails_to(state, to);
        if mails.len() >= count {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "{count} mails to {to} never came: {:?}",
        mails_to(state, to)
    );
}

/// Waits until the audit trail holds `count` events `action` (the signal that the work
/// done after an answer is over).
async fn wait_for_audit(state: &AppState, action: &str, count: usize) {
    use medimail_server::entity::audit_event;
    for _ in 0..500 {
        let n = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(action))
            .all(&state.db)
            .await
            .expect("audit")
            .len();
        if n >= count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{count} audit events {action} never came");
}

fn code_in(subject: &str) -> String {
    assert!(
        subject.ends_with("- Votre code d'accès Medimail"),
        "{subject}"
    );
    subject[1..7].to_owned()
}

const SENDER: &str = "m.pollet@chu-exemple.fr";

/// The Outlook user who sends to the webmail's users.
async fn outlook_sender(state: &AppState) -> (String, String) {
    common::signed_in_as(state, SENDER, "Mickaël POLLET").await
}

/// `sender` sends an envelope to `to`; returns its reference.
async fn send_to(state: &AppState, sender: &(String, String), to: &str) -> String {
    let draft =
        json!({"to": [to], "subject": "Compte rendu patient", "body_html": "<p>Bonjour</p>"});
    let (status, _, bytes) = common::call_signed_in(
        state,
        sender,
        "POST",
        "/api/envelopes",
        Some((&multipart_type(), multipart(&draft))),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let sealed: Value = serde_json::from_slice(&bytes).expect("json");
    sealed["reference"].as_str().expect("reference").to_owned()
}

/// An Outlook user sends an envelope to `to`; returns the sender's credentials and the
/// envelope's reference.
async fn outlook_sends(state: &AppState, to: &str) -> ((String, String), String) {
    let sender = outlook_sender(state).await;
    let reference = send_to(state, &sender, to).await;
    (sender, reference)
}

/// The subjects of the code mails to `mailbox`, oldest first.
fn codes_to(state: &AppState, mailbox: &str) -> Vec<String> {
    mails_to(state, mailbox)
        .into_iter()
        .map(|(subject, _)| subject)
        .filter(|subject| subject.ends_with("- Votre code d'accès Medimail"))
        .collect()
}

/// Asks a code for `mailbox` and returns it once mailed (code mails go out before
/// notifications queued earlier, so the code is found among the code mails, not by its
/// place among all mails).
async fn code_for(state: &AppState, browser: &mut Browser, mailbox: &str) -> String {
    let before = codes_to(state, &mailbox.to_lowercase()).len();
    let a = browser
        .json(
            state,
            "POST",
            "/api/webmail/code",
            json!({"mailbox": mailbox}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    for _ in 0..500 {
        state.mail_worker().drain_once().await.expect("drained");
        let codes = codes_to(state, &mailbox.to_lowercase());
        if codes.len() > before {
            return code_in(codes.last().expect("a code"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no new code mail to {mailbox}");
}

/// A first visit to the end: code, conditions and passphrase. Returns the browser.
async fn first_visit(state: &AppState, mailbox: &str) -> Browser {
    let mut browser = Browser::default();
    let code = code_for(state, &mut browser, mailbox).await;
    let a = browser
        .json(
            state,
            "POST",
            "/api/webmail/session",
            json!({"mailbox": mailbox, "code": code}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = browser
        .json(
            state,
            "POST",
            "/api/webmail/passphrase",
            json!({"passphrase": common::GOOD_PASSPHRASE, "confirmation": common::GOOD_PASSPHRASE,
                   "conditions_version": a.body["conditions_version"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["stage"], "signed_in");
    browser
}

#[tokio::test]
async fn a_recipient_proves_the_mailbox_accepts_the_conditions_chooses_a_passphrase_and_replies() {
    for db in common::databases().await {
        let state = common::state_with(&db, true).await;
        let (sender, reference) = outlook_sends(&state, EXTERNAL).await;
        let notification = wait_for_mails(&state, EXTERNAL, 1).await.remove(0);
        assert!(
            notification
                .1
                .contains("Expéditeur : POLLET Mickaël (MEDIMAIL)")
        );
        assert!(
            notification
                .1
                .contains(&format!("{}/#/inbox/open/{reference}", common::ORIGIN))
        );
        assert!(
            notification
                .1
                .contains("Si vous n'êtes pas le bon destinataire")
        );

        let mut browser = Browser::default();
        let code = code_for(&state, &mut browser, &EXTERNAL.to_uppercase()).await;
        // The passphrase is not chosen yet: typing one fails like any wrong credential.
        let a = browser
            .json(
                &state,
                "POST",
                "/api/webmail/session",
                json!({"mailbox": EXTERNAL, "code": code, "passphrase": common::GOOD_PASSPHRASE}),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.body["code"], "authentication_failed");
        let a = browser
            .json(
                &state,
                "POST",
                "/api/webmail/session",
                json!({"mailbox": EXTERNAL, "code": code}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        assert_eq!(a.body["stage"], "passphrase");
        assert_eq!(a.body["resetting"], false);
        assert_eq!(a.body["may_compose"], false);
        let set = a.headers["set-cookie"].to_str().expect("ascii");
        assert!(set.starts_with("__Host-medimail-session="), "{set}");
        for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(set.contains(attribute), "{set} lacks {attribute}");
        }
        // Until the passphrase is chosen, the mailbox stays closed.
        let list = browser
            .call(&state, "GET", "/api/envelopes?folder=inbox", None)
            .await;
        assert_eq!(list.status, StatusCode::FORBIDDEN);
        assert_eq!(list.body["code"], "identification_unfinished");
        // The conditions come with the passphrase, and are asked for.
        let conditions = browser
            .call(&state, "GET", "/api/webmail/conditions", None)
            .await;
        assert!(
            conditions.body["text"]
                .as_str()
                .expect("text")
                .contains("MISE A JOUR DES CONDITIONS")
        );
        let version = conditions.body["version"].clone();
        let chosen =
            json!({"passphrase": common::GOOD_PASSPHRASE, "confirmation": common::GOOD_PASSPHRASE});
        let a = browser
            .json(&state, "POST", "/api/webmail/passphrase", chosen.clone())
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(a.body["code"], "conditions_required");
        // A cross-site form cannot carry the CSRF token.
        let mut forged = browser.clone();
        forged.csrf = None;
        let with_conditions = json!({"passphrase": common::GOOD_PASSPHRASE,
            "confirmation": common::GOOD_PASSPHRASE, "conditions_version": version});
        let a = forged
            .json(
                &state,
                "POST",
                "/api/webmail/passphrase",
                with_conditions.clone(),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(a.body["code"], "csrf_refused");
        let a = browser
            .json(&state, "POST", "/api/webmail/passphrase", with_conditions)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body["stage"], "signed_in");
        assert_eq!(a.body["conditions_accepted"], version);

        // The envelope, read from the browser.
        let list = browser
            .call(&state, "GET", "/api/envelopes?folder=inbox", None)
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(list.body["items"][0]["reference"], reference.as_str());
        // "Messages reçus (1)" until it is opened.
        assert_eq!(list.body["unread"], 1);
        let open = browser
            .call(&state, "GET", &format!("/api/envelopes/{reference}"), None)
            .await;
        assert_eq!(open.status, StatusCode::OK);
        let list = browser
            .call(&state, "GET", "/api/envelopes?folder=sent", None)
            .await;
        assert_eq!(list.body["unread"], 0, "counted in every folder's answer");
        // A new message is refused in `recipients` mode; a reply goes through.
        let new =
            json!({"to": ["quelquun@ailleurs.fr"], "subject": "Nouveau", "body_html": "<p>x</p>"});
        let a = browser
            .call(
                &state,
                "POST",
                "/api/envelopes",
                Some((&multipart_type(), multipart(&new))),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(a.body["code"], "webmail_reply_only");
        let reply = json!({"to": [SENDER], "subject": "RE: Compte rendu patient",
                           "body_html": "<p>Merci</p>", "in_reply_to": reference});
        let a = browser
            .call(
                &state,
                "POST",
                "/api/envelopes",
                Some((&multipart_type(), multipart(&reply))),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let (status, _, bytes) =
            common::call_signed_in(&state, &sender, "GET", "/api/envelopes?folder=inbox", None)
                .await;
        assert_eq!(status, StatusCode::OK);
        let inbox: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(inbox["items"][0]["subject"], "RE: Compte rendu patient");
        assert_eq!(inbox["items"][0]["sender"], EXTERNAL);
        // "Destinataires" as the manual shows them: NOM Prénom (adresse), or the address.
        assert_eq!(open.body["recipients_named"], json!([EXTERNAL]));
        let reply_reference = a.body["reference"].as_str().expect("reference").to_owned();
        let (_, _, bytes) = common::call_signed_in(
            &state,
            &sender,
            "GET",
            &format!("/api/envelopes/{reply_reference}"),
            None,
        )
        .await;
        let reply_view: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(
            reply_view["recipients_named"],
            json!([format!("POLLET Mickaël ({SENDER})")])
        );

        // The acceptance is in the audit trail, with its version.
        use medimail_server::entity::audit_event;
        let accepted = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("conditions_accepted"))
            .one(&state.db)
            .await
            .expect("audit")
            .expect("recorded");
        assert!(accepted.detail.contains(version.as_str().expect("version")));

        // Déconnexion ends it; the cookie then opens nothing.
        let a = browser
            .call(&state, "DELETE", "/api/webmail/session", None)
            .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT);
        let mut after = Browser {
            cookie: browser.cookie.clone(),
            ..Browser::default()
        };
        let a = after
            .call(&state, "GET", "/api/webmail/session", None)
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn no_answer_tells_an_address_with_an_account_from_one_without() {
    for db in common::databases().await {
        let state = common::state_with(&db, true).await;
        let (sender, _) = outlook_sends(&state, EXTERNAL).await;
        first_visit(&state, EXTERNAL).await;
        // A locked account, and an Outlook account that received nothing.
        let locked = "verrou@cabinet-martin.fr";
        send_to(&state, &sender, locked).await;
        medimail_server::account::entity::account::Entity::update_many()
            .col_expr(
                medimail_server::account::entity::account::Column::LockedUntil,
                sea_orm::sea_query::Expr::value(Some(
                    common::test_start() + chrono::Duration::minutes(10),
                )),
            )
            .filter(medimail_server::account::entity::account::Column::Mailbox.eq(locked))
            .exec(&state.db)
            .await
            .expect("locked");
        let addresses = [EXTERNAL, locked, "personne@nulle-part.fr", SENDER];
        state.clock.advance(chrono::Duration::seconds(61));
        let before = state.code_requests.done();
        let mut code_answers = Vec::new();
        let mut sign_in_answers = Vec::new();
        for address in addresses {
            let mut b = Browser::default();
            let a = b
                .json(
                    &state,
                    "POST",
                    "/api/webmail/code",
                    json!({"mailbox": address}),
                )
                .await;
            code_answers.push((a.status, a.raw));
        }
        state
            .code_requests
            .wait_for(before + addresses.len() as u64)
            .await;
        for address in addresses {
            let mut b = Browser::default();
            let a = b
                .json(&state, "POST", "/api/webmail/session",
                      json!({"mailbox": address, "code": "000000", "passphrase": "pas la bonne phrase"}))
                .await;
            assert!(a.headers.get("set-cookie").is_none());
            sign_in_answers.push((a.status, a.raw));
        }
        for answers in [&code_answers, &sign_in_answers] {
            assert!(
                answers.windows(2).all(|w| w[0] == w[1]),
                "answers differ: {:?}",
                answers
                    .iter()
                    .map(|(s, b)| (s, String::from_utf8_lossy(b)))
                    .collect::<Vec<_>>()
            );
        }
        assert_eq!(sign_in_answers[0].0, StatusCode::BAD_REQUEST);
        // What the owner needs goes to the mailbox: a code to the webmail's user, a notice
        // to the locked one, nothing to the unknown address nor to an Outlook account
        // that never received an envelope (`recipients`).
        state.mail_worker().drain_once().await.expect("drained");
        assert_eq!(mails_to(&state, EXTERNAL).len(), 3);
        let notice = mails_to(&state, locked);
        assert_eq!(notice.len(), 2);
        assert_eq!(notice[1].0, "Votre compte Medimail est bloqué");
        assert!(mails_to(&state, "personne@nulle-part.fr").is_empty());
        let codes_to_sender = |m: Vec<(String, String)>| {
            m.iter()
                .filter(|(s, _)| s.contains("Votre code d'accès"))
                .count()
        };
        assert_eq!(
            codes_to_sender(mails_to(&state, SENDER)),
            1,
            "only the Outlook sign-in's"
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_hundred_concurrent_wrong_codes_are_checked_five_times_and_one_code_a_minute_is_sent() {
    for db in common::databases().await {
        let state = common::state_with(&db, true).await;
        outlook_sends(&state, EXTERNAL).await;
        // 100 requests for a code at once: one code is mailed.
        let asks = (0..100).map(|_| {
            let state = state.clone();
            async move {
                Browser::default()
                    .json(
                        &state,
                        "POST",
                        "/api/webmail/code",
                        json!({"mailbox": EXTERNAL}),
                    )
                    .await
                    .status
            }
        });
        let before = state.code_requests.done();
        let statuses = futures::future::join_all(asks).await;
        assert!(statuses.iter().all(|s| *s == StatusCode::ACCEPTED));
        state.code_requests.wait_for(before + 100).await;
        state.mail_worker().drain_once().await.expect("drained");
        let mails = mails_to(&state, EXTERNAL);
        let codes = |m: &[(String, String)]| {
            m.iter()
                .filter(|(s, _)| s.contains("Votre code d'accès"))
                .count()
        };
        assert_eq!(
            codes(&mails),
            1,
            "one code a minute, whatever the concurrency"
        );
        // 100 wrong codes at once: the code is tried 5 times at most.
        let tries = (0..100).map(|n| {
            let state = state.clone();
            async move {
                let a = Browser::default()
                    .json(
                        &state,
                        "POST",
                        "/api/webmail/session",
                        json!({"mailbox": EXTERNAL, "code": format!("{:06}", 999_000 + n)}),
                    )
                    .await;
                (
                    a.status,
                    a.body["code"].as_str().unwrap_or_default().to_owned(),
                )
            }
        });
        let answers = futures::future::join_all(tries).await;
        assert!(
            answers
                .iter()
                .all(|(s, c)| *s != StatusCode::CREATED
                    && (c == "authentication_failed" || c == "busy")),
            "{answers:?}"
        );
        use medimail_server::auth::entity::one_time_code;
        let code = one_time_code::Entity::find()
            .filter(one_time_code::Column::Mailbox.eq(EXTERNAL))
            .one(&state.db)
            .await
            .expect("code")
            .expect("one");
        assert!(code.failed_attempts <= 5, "{} tries", code.failed_attempts);
        assert!(code.consumed_at.is_some(), "burnt after 5 tries");
        let account = medimail_server::account::registry::by_mailbox(&state.db, EXTERNAL)
            .await
            .expect("db")
            .expect("account");
        assert!(account.failed_attempts <= 10);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_forgotten_passphrase_is_replaced_every_session_ends_and_the_mailbox_is_told() {
    for db in common::databases().await {
        let state = common::state_with(&db, true).await;
        outlook_sends(&state, EXTERNAL).await;
        let mut old = first_visit(&state, EXTERNAL).await;
        assert_eq!(
            old.call(&state, "GET", "/api/envelopes?folder=inbox", None)
                .await
                .status,
            StatusCode::OK
        );

        // A minute later, "J'ai oublié mon mot de passe": the code alone.
        state.clock.advance(chrono::Duration::seconds(61));
        let mut browser = Browser::default();
        let code = code_for(&state, &mut browser, EXTERNAL).await;
        let a = browser
            .json(
                &state,
                "POST",
                "/api/webmail/session",
                json!({"mailbox": EXTERNAL, "code": code}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED);
        assert_eq!(a.body["stage"], "passphrase");
        assert_eq!(a.body["resetting"], true);
        // This session may only choose: the mailbox stays closed.
        assert_eq!(
            browser
                .call(&state, "GET", "/api/envelopes?folder=inbox", None)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let a = browser
            .json(
                &state,
                "POST",
                "/api/webmail/passphrase",
                json!({"passphrase": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body["stage"], "signed_in");
        assert!(a.body["last_sign_in"].is_string(), "Dernière connexion");
        // The other session ended; the mailbox is told.
        assert_eq!(
            old.call(&state, "GET", "/api/envelopes?folder=inbox", None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        let mails = wait_for_mails(&state, EXTERNAL, 4).await;
        assert_eq!(mails[3].0, "Votre mot de passe Medimail a été modifié");
        // "Changer mon mot de passe": the current one is checked.
        let a = browser
            .json(&state, "POST", "/api/webmail/passphrase/change",
                  json!({"current": common::GOOD_PASSPHRASE, "passphrase": common::GOOD_PASSPHRASE, "confirmation": common::GOOD_PASSPHRASE}))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.body["code"], "current_passphrase_incorrect");
        let a = browser
            .json(&state, "POST", "/api/webmail/passphrase/change",
                  json!({"current": NEW_PASSPHRASE, "passphrase": common::GOOD_PASSPHRASE, "confirmation": common::GOOD_PASSPHRASE}))
            .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
        // The old passphrase no longer opens; the new one does.
        state.clock.advance(chrono::Duration::seconds(61));
        let mut again = Browser::default();
        let code = code_for(&state, &mut again, EXTERNAL).await;
        let a = again
            .json(
                &state,
                "POST",
                "/api/webmail/session",
                json!({"mailbox": EXTERNAL, "code": code, "passphrase": common::GOOD_PASSPHRASE}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        assert_eq!(a.body["stage"], "signed_in");
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn an_operator_unlocks_and_forces_a_reset_and_both_are_audited() {
    for db in common::databases().await {
        let state = common::state_with(&db, true).await;
        outlook_sends(&state, EXTERNAL).await;
        let mut browser = first_visit(&state, EXTERNAL).await;
        let now = state.clock.now();
        use medimail_server::account::entity::account;
        account::Entity::update_many()
            .col_expr(
                account::Column::LockedUntil,
                sea_orm::sea_query::Expr::value(Some(now + chrono::Duration::minutes(15))),
            )
            .filter(account::Column::Mailbox.eq(EXTERNAL))
            .exec(&state.db)
            .await
            .expect("locked");
        assert!(
            medimail_server::auth::webmail::unlock_by_operator(
                &state.db,
                &state.keys,
                EXTERNAL,
                now
            )
            .await
            .expect("unlock")
        );
        let a = medimail_server::account::registry::by_mailbox(&state.db, EXTERNAL)
            .await
            .expect("db")
            .expect("account");
        assert!(a.locked_until.is_none());
        assert!(
            medimail_server::auth::webmail::reset_by_operator(
                &state.db,
                &state.keys,
                EXTERNAL,
                now
            )
            .await
            .expect("reset")
        );
        assert!(
            !medimail_server::auth::webmail::reset_by_operator(
                &state.db,
                &state.keys,
                "personne@nulle-part.fr",
                now
            )
            .await
            .expect("reset")
        );
        assert_eq!(
            browser
                .call(&state, "GET", "/api/envelopes?folder=inbox", None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        // The passphrase no longer opens: a code, then a new passphrase.
        state.clock.advance(chrono::Duration::seconds(61));
        let mut b = Browser::default();
        let code = code_for(&state, &mut b, EXTERNAL).await;
        let a = b
            .json(
                &state,
                "POST",
                "/api/webmail/session",
                json!({"mailbox": EXTERNAL, "code": code, "passphrase": common::GOOD_PASSPHRASE}),
            )
            .await;
        assert_eq!(a.body["code"], "authentication_failed");
        state.clock.advance(chrono::Duration::seconds(61));
        let code = code_for(&state, &mut b, EXTERNAL).await;
        let a = b
            .json(
                &state,
                "POST",
                "/api/webmail/session",
                json!({"mailbox": EXTERNAL, "code": code}),
            )
            .await;
        assert_eq!(a.body["stage"], "passphrase");
        assert_eq!(a.body["resetting"], true);
        for action in ["account_unlocked", "passphrase_reset_forced"] {
            wait_for_audit(&state, action, 1).await;
        }
        let verdict = medimail_server::audit::verify_chain(&state.db, &state.keys)
            .await
            .expect("verify");
        assert!(matches!(
            verdict,
            medimail_server::audit::Verdict::Intact { .. }
        ));
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn off_keeps_the_webmail_closed_and_all_lets_any_account_write() {
    for db in common::databases().await {
        let mut state = common::state_with(&db, true).await;
        let mut config = (*state.config).clone();
        config.webmail = WebmailMode::Off;
        state.config = Arc::new(config.clone());
        let a = Browser::default()
            .json(
                &state,
                "POST",
                "/api/webmail/code",
                json!({"mailbox": EXTERNAL}),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(a.body["code"], "webmail_off");

        config.webmail = WebmailMode::All;
        state.config = Arc::new(config);
        outlook_sends(&state, EXTERNAL).await;
        let mut browser = first_visit(&state, EXTERNAL).await;
        let session = browser
            .call(&state, "GET", "/api/webmail/session", None)
            .await;
        assert_eq!(session.body["may_compose"], true);
        let new =
            json!({"to": ["confrere@ailleurs.fr"], "subject": "Nouveau", "body_html": "<p>x</p>"});
        let a = browser
            .call(
                &state,
                "POST",
                "/api/envelopes",
                Some((&multipart_type(), multipart(&new))),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_wrong_recipient_reports_it_once_and_the_sender_is_told() {
    for db in common::databases().await {
        let state = common::state_with(&db, true).await;
        let (sender, reference) = outlook_sends(&state, EXTERNAL).await;
        let notification = wait_for_mails(&state, EXTERNAL, 1).await.remove(0);
        let token = notification
            .1
            .split("#/signaler/")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .expect("report link")
            .to_owned();
        let mut b = Browser::default();
        // 100 reports at once: one is recorded, every one answered.
        let reports = (0..100).map(|_| {
            let (state, token) = (state.clone(), token.clone());
            async move {
                let a = Browser::default()
                    .json(
                        &state,
                        "POST",
                        "/api/reports/wrong-recipient",
                        json!({"token": token}),
                    )
                    .await;
                assert_eq!(a.status, StatusCode::OK, "{}", a.body);
                assert_eq!(a.body["subject"], "Compte rendu patient");
                a.body["first"] == true
            }
        });
        let firsts = futures::future::join_all(reports).await;
        assert_eq!(firsts.iter().filter(|f| **f).count(), 1, "recorded once");
        let a = b
            .json(
                &state,
                "POST",
                "/api/reports/wrong-recipient",
                json!({"token": token}),
            )
            .await;
        assert_eq!(a.body["first"], false);
        let mut forged = token.clone().into_bytes();
        forged[50] = if forged[50] == b'a' { b'b' } else { b'a' };
        let a = b
            .json(
                &state,
                "POST",
                "/api/reports/wrong-recipient",
                json!({"token": String::from_utf8(forged).expect("ascii")}),
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert_eq!(a.body["code"], "report_unknown");
        let told = wait_for_mails(&state, SENDER, 1).await;
        let reported = |m: &[(String, String)]| {
            m.iter()
                .filter(|(s, _)| s.starts_with("[MEDIMAIL : Signalement] Votre enveloppe du "))
                .count()
        };
        assert_eq!(reported(&told), 1, "the sender is told once");
        assert!(told.iter().any(|(s, t)| {
            s.starts_with("[MEDIMAIL : Signalement] Votre enveloppe du ")
                && t.contains(EXTERNAL)
                && !s.contains("Compte rendu patient")
                && !t.contains("Compte rendu patient")
        }));
        let (status, _, bytes) = common::call_signed_in(
            &state,
            &sender,
            "GET",
            &format!("/api/envelopes/{reference}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let view: Value = serde_json::from_slice(&bytes).expect("json");
        let events = view["events"].as_array().expect("events");
        assert_eq!(events.iter().filter(|e| e["kind"] == "reported").count(), 1);
        db.drop_postgres().await;
    }
}
