//! Strong authentication through the real router, on SQLite and on PostgreSQL when
//! `DATABASE_URL` is set: first-use passphrase, "Demander un code" (mail through the
//! outbox worker into the file outbox), "Authentification", rate limits, code expiry and
//! invalidation, lockout, sessions and "Déconnexion". Office tokens are real RS256 tokens
//! minted by the development identity provider; time moves on the manual clock.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::Duration;
use http_body_util::BodyExt;
use medimail_server::account::entity::{account, identity_link};
use medimail_server::auth::entity::one_time_code;
use medimail_server::entity::{audit_event, outbox};
use medimail_server::state::AppState;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::*;

const GOOD: &str = "Le chat dort sur le radiateur";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// A user of the pane: an Office token, and a session once signed in.
struct User {
    state: AppState,
    token: String,
    session: Option<String>,
    /// The `Cookie` header the browser would send (a reopened pane's).
    cookie: Option<String>,
}

impl User {
    fn new(state: &AppState, mailbox: &str, name: &str) -> User {
        let dev = state.dev_identity.as_ref().expect("dev identity on");
        User {
            state: state.clone(),
            // Office tokens are checked against the real time, not the test clock.
            token: dev.mint(mailbox, name, chrono::Utc::now()).expect("token"),
            session: None,
            cookie: None,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if !self.token.is_empty() {
            request = request.header("authorization", format!("Bearer {}", self.token));
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(session) = &self.session {
            request = request.header("x-medimail-session", session);
        }
        let request = match body {
            Some(b) => request
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        let response = medimail_server::http::app(self.state.clone())
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn choose(&self, passphrase: &str, confirmation: &str) -> Answer {
        self.call(
            Method::POST,
            "/api/auth/passphrase",
            Some(json!({"passphrase": passphrase, "confirmation": confirmation})),
        )
        .await
    }

    async fn request_code(&self) -> Answer {
        self.call(Method::POST, "/api/auth/code", None).await
    }

    async fn authenticate(&self, code: &str, passphrase: &str) -> Answer {
        self.call(
            Method::POST,
            "/api/auth/session",
            Some(json!({"code": code, "passphrase": passphrase})),
        )
        .await
    }

    /// Requests a code, lets the outbox worker deliver it, and reads it from the mail.
    async fn receive_code(&self) -> String {
        let answer = self.request_code().await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        self.state
            .mail_worker()
            .drain_once()
            .await
            .expect("outbox drained");
        latest_code(&self.state)
    }
}

/// The code in the newest mail of the file outbox, read from the decoded subject and
/// checked against the body.
fn latest_code(state: &AppState) -> String {
    let dir = state.mailer.file_dir().expect("file outbox");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("outbox dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let raw = std::fs::read(files.last().expect("a mail")).expect("read mail");
    let message = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("parses");
    let subject = message.subject().expect("subject").to_owned();
    assert!(
        subject.ends_with("] - Votre code d'accès Medimail"),
        "{subject}"
    );
    let code = subject[1..7].to_owned();
    let text = message.body_text(0).expect("text body");
    assert!(text.contains(&format!("Ce code est le : {code}")), "{text}");
    assert!(text.contains("10 minutes"));
    code
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn signed_up(state: &AppState, mailbox: &str) -> User {
    let user = User::new(state, mailbox, "Marie CURIE");
    assert_eq!(user.choose(GOOD, GOOD).await.status, StatusCode::NO_CONTENT);
    user
}

/// Runs `test` once per available database.
macro_rules! on_every_database {
    (|$state:ident| $body:block) => {
        for db in databases().await {
            let $state = state_with(&db, true).await;
            $body
            db.drop_postgres().await;
        }
    };
}

#[tokio::test]
async fn first_use_asks_for_a_passphrase_and_enforces_its_rules() {
    on_every_database!(|state| {
        let user = User::new(&state, "marie.curie@chu-dev.fr", "Marie CURIE");
        let me = user.call(Method::GET, "/api/me", None).await;
        assert_eq!(me.body["needs_passphrase"], true);
        assert_eq!(me.body["name"], "Marie CURIE");

        let early = user.request_code().await;
        assert_eq!(
            (early.status, early.code()),
            (StatusCode::CONFLICT, "passphrase_required")
        );

        for (p, c, code, field) in [
            ("court", "court", "passphrase_too_short", "passphrase"),
            (GOOD, "Le chat dort", "passphrase_mismatch", "confirmation"),
            (
                "Password2026!",
                "Password2026!",
                "passphrase_common",
                "passphrase",
            ),
            (
                "marie.curie et son chat",
                "marie.curie et son chat",
                "passphrase_contains_mailbox",
                "passphrase",
            ),
        ] {
            let refused = user.choose(p, c).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
            assert_eq!(refused.code(), code);
            assert_eq!(refused.body["field"], field);
            assert!(
                refused.body["message"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with('.')
            );
        }
        assert_eq!(user.choose(GOOD, GOOD).await.status, StatusCode::NO_CONTENT);
        let again = user
            .choose(
                "Une autre phrase tout aussi longue",
                "Une autre phrase tout aussi longue",
            )
            .await;
        assert_eq!(
            (again.status, again.code()),
            (StatusCode::CONFLICT, "passphrase_already_set")
        );

        let me = user.call(Method::GET, "/api/me", None).await;
        assert_eq!(me.body["needs_passphrase"], false);
        assert_eq!(me.body["linked"], false);
        assert!(me.body["account_id"].is_null());
        // Kept with the identity until a code proves the mailbox: no account has it yet.
        assert!(
            account::Entity::find()
                .all(&state.db)
                .await
                .expect("accounts")
                .iter()
                .all(|a| a.passphrase_hash.is_none())
        );
        let links = identity_link::Entity::find()
            .all(&state.db)
            .await
            .expect("links");
        assert_eq!(links.len(), 1);
        assert!(links[0].account_id.is_none());
        let phc = links[0].chosen_passphrase_hash.clone().expect("hash kept");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("chat"));

        // The first proven code links the identity and gives the account its passphrase.
        let code = user.receive_code().await;
        assert_eq!(
            user.authenticate(&code, GOOD).await.status,
            StatusCode::CREATED
        );
        let stored = account::Entity::find()
            .all(&state.db)
            .await
            .expect("accounts");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].passphrase_hash.as_deref(), Some(phc.as_str()));
        assert!(stored[0].proven_at.is_some());
        let me = user.call(Method::GET, "/api/me", None).await;
        assert_eq!(me.body["linked"], true);
        assert_eq!(me.body["account_id"], stored[0].id.as_str());

        let garbage = user
            .call(
                Method::POST,
                "/api/auth/passphrase",
                Some(json!({"pass": 1})),
            )
            .await;
        assert_eq!(
            (garbage.status, garbage.code()),
            (StatusCode::BAD_REQUEST, "invalid_request")
        );
    });
}

#[tokio::test]
async fn a_mailed_code_and_the_passphrase_open_a_session_bound_to_the_office_identity() {
    on_every_database!(|state| {
        let mut user = signed_up(&state, "marie.curie@chu-dev.fr").await;
        let requested = user.request_code().await;
        assert_eq!(requested.status, StatusCode::OK, "{:?}", requested.body);
        assert_eq!(requested.body["mailbox"], "marie.curie@chu-dev.fr");
        assert_eq!(requested.body["next_request_in_seconds"], 60);

        // Waiting in the outbox: sealed, the code is nowhere in clear.
        let waiting = outbox::Entity::find().all(&state.db).await.expect("outbox");
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].status, "pending");
        state.mail_worker().drain_once().await.expect("drained");
        let code = latest_code(&state);
        assert!(!waiting[0].payload.contains(&code));
        let sent = outbox::Entity::find().all(&state.db).await.expect("outbox");
        assert_eq!(sent[0].status, "sent");
        assert_eq!(sent[0].payload, "", "content erased once delivered");
        let stored = one_time_code::Entity::find()
            .all(&state.db)
            .await
            .expect("codes");
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].code_hash.contains(&code));
        assert_eq!(
            stored[0].expires_at - stored[0].created_at,
            Duration::minutes(10)
        );

        // Wrong passphrase, right code: one answer that does not say which factor is
        // wrong, and the try counts against the code.
        let refused = user
            .authenticate(&code, "Pas la bonne phrase du tout")
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::BAD_REQUEST, "credentials_incorrect")
        );
        assert!(
            refused.body["message"]
                .as_str()
                .unwrap_or("")
                .contains("4 essais restants"),
            "{:?}",
            refused.body
        );
        let wrong_code = user.authenticate(&wrong(&code), GOOD).await;
        assert_eq!(wrong_code.code(), "credentials_incorrect");
        assert_eq!(wrong_code.body["message"], {
            let r = user
                .authenticate(&wrong(&code), "Pas la bonne phrase du tout")
                .await;
            assert_eq!(r.code(), "credentials_incorrect");
            // Same words whichever factor is wrong (only the tries left differ).
            r.body["message"]
                .as_str()
                .unwrap_or("")
                .replace("2 essais", "3 essais")
        });

        let opened = user.authenticate(&format!(" {code} "), GOOD).await;
        assert_eq!(opened.status, StatusCode::CREATED, "{:?}", opened.body);
        let token = opened.body["session"]
            .as_str()
            .expect("session token")
            .to_owned();
        assert_eq!(token.len(), 43, "256 bits, base64url");

        // The code is single use.
        let reuse = user.authenticate(&code, GOOD).await;
        assert_eq!(reuse.code(), "code_missing");

        // Without the session header: refused; with it: the session answers.
        let without = user.call(Method::GET, "/api/auth/session", None).await;
        assert_eq!(
            (without.status, without.code()),
            (StatusCode::UNAUTHORIZED, "session_required")
        );
        user.session = Some(token.clone());
        let live = user.call(Method::GET, "/api/auth/session", None).await;
        assert_eq!(live.status, StatusCode::OK, "{:?}", live.body);
        assert!(
            live.body.get("session").is_none(),
            "the token is given only once"
        );

        // Another person's Office token cannot carry this session.
        let mut intruder = signed_up(&state, "pierre.dupond@chu-dev.fr").await;
        intruder.session = Some(token.clone());
        let stolen = intruder.call(Method::GET, "/api/auth/session", None).await;
        assert_eq!(
            (stolen.status, stolen.code()),
            (StatusCode::UNAUTHORIZED, "session_invalid")
        );

        // Déconnexion revokes it.
        assert_eq!(
            user.call(Method::DELETE, "/api/auth/session", None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        let after = user.call(Method::GET, "/api/auth/session", None).await;
        assert_eq!(after.code(), "session_invalid");

        // The audit trail tells each step with the client field, never the code.
        let trail = audit_event::Entity::find()
            .order_by_asc(audit_event::Column::Id)
            .all(&state.db)
            .await
            .expect("audit");
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        for expected in [
            "passphrase_chosen",
            "code_requested",
            "code_mail_accepted",
            "sign_in_failed",
            "sign_in",
            "sign_out",
        ] {
            assert!(
                actions.contains(&expected),
                "{expected} missing from {actions:?}"
            );
        }
        for event in &trail {
            assert!(!event.detail.contains(&code), "{}", event.detail);
            assert!(!event.detail.contains("radiateur"), "{}", event.detail);
            assert!(!event.detail.contains(&token));
        }
        let failed = trail
            .iter()
            .find(|e| e.action == "sign_in_failed")
            .expect("failure");
        assert!(failed.detail.contains("credentials_incorrect"));
        assert!(failed.detail.contains("\"client\""));
        assert!(matches!(
            medimail_server::audit::verify_chain(&state.db, &state.keys)
                .await
                .expect("chain"),
            medimail_server::audit::Verdict::Intact { .. }
        ));
    });
}

#[tokio::test]
async fn a_reopened_pane_finds_its_session_in_its_cookie_with_the_same_identity_only() {
    on_every_database!(|state| {
        const MAILBOX: &str = "marie.curie@chu-dev.fr";
        let mut user = signed_up(&state, MAILBOX).await;
        let code = user.receive_code().await;
        let opened = user.authenticate(&code, GOOD).await;
        assert_eq!(opened.status, StatusCode::CREATED, "{:?}", opened.body);
        let token = opened.body["session"].as_str().expect("token").to_owned();
        let set = opened.headers["set-cookie"].to_str().expect("ascii");
        assert!(
            set.starts_with(&format!("{}={token};", medimail_api::PANE_SESSION_COOKIE)),
            "{set}"
        );
        for attribute in [
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=None",
            "Partitioned",
            "Max-Age=43200",
        ] {
            assert!(
                set.split("; ").any(|a| a == attribute),
                "{attribute}: {set}"
            );
        }
        let cookie = format!("theme=clair; {}={token}", medimail_api::PANE_SESSION_COOKIE);

        // The pane reopens: nothing in memory, a new Office token of the same person and
        // the cookie. The session answers and opens the mailbox.
        let mut reopened = User::new(&state, MAILBOX, "Marie CURIE");
        reopened.cookie = Some(cookie.clone());
        let live = reopened.call(Method::GET, "/api/auth/session", None).await;
        assert_eq!(live.status, StatusCode::OK, "{:?}", live.body);
        let inbox = reopened
            .call(Method::GET, "/api/envelopes?folder=inbox", None)
            .await;
        assert_eq!(inbox.status, StatusCode::OK, "{:?}", inbox.body);

        // The cookie alone opens nothing (a cross-site page cannot add the Office token).
        let mut bare = User::new(&state, MAILBOX, "Marie CURIE");
        bare.token = String::new();
        bare.cookie = Some(cookie.clone());
        let refused = bare
            .call(Method::GET, "/api/envelopes?folder=inbox", None)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "{:?}",
            refused.body
        );

        // Someone else's Office token with this cookie: refused, as with the header.
        let mut intruder = signed_up(&state, "pierre.dupond@chu-dev.fr").await;
        intruder.cookie = Some(cookie.clone());
        let stolen = intruder.call(Method::GET, "/api/auth/session", None).await;
        assert_eq!(
            (stolen.status, stolen.code()),
            (StatusCode::UNAUTHORIZED, "session_invalid")
        );

        // The code just used ends the minute between two codes: asking again at once is
        // no trap; asked 100 times at once, one code goes and the others wait their
        // minute.
        let answers = futures::future::join_all((0..100).map(|_| user.request_code())).await;
        let sent = answers
            .iter()
            .filter(|a| a.status == StatusCode::OK)
            .count();
        assert_eq!(sent, 1, "one code for 100 requests at once");
        assert!(
            answers
                .iter()
                .filter(|a| a.status != StatusCode::OK)
                .all(|a| a.code() == "code_too_soon"),
            "the others wait their minute"
        );
        state.mail_worker().drain_once().await.expect("drained");
        let again = latest_code(&state);

        // Another Outlook of the same person opens a second session; "Déconnexion" in
        // one ends both and clears the cookie.
        let mut desktop = User::new(&state, MAILBOX, "Marie CURIE");
        let second = desktop.authenticate(&again, GOOD).await;
        assert_eq!(second.status, StatusCode::CREATED, "{:?}", second.body);
        desktop.session = second.body["session"].as_str().map(str::to_owned);
        user.session = Some(token.clone());
        let out = user.call(Method::DELETE, "/api/auth/session", None).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT, "{:?}", out.body);
        let cleared = out.headers["set-cookie"].to_str().expect("ascii");
        assert!(
            cleared.starts_with(&format!("{}=;", medimail_api::PANE_SESSION_COOKIE))
                && cleared.contains("Max-Age=0"),
            "{cleared}"
        );
        for (who, name) in [(&reopened, "the reopened pane"), (&desktop, "the desktop")] {
            let after = who.call(Method::GET, "/api/auth/session", None).await;
            assert_eq!(after.code(), "session_invalid", "{name}");
        }
        let out_event = audit_event::Entity::find()
            .order_by_asc(audit_event::Column::Id)
            .all(&state.db)
            .await
            .expect("audit")
            .into_iter()
            .rfind(|e| e.action == "sign_out")
            .expect("sign_out audited");
        assert!(
            out_event.detail.contains("\"sessions_ended\":2"),
            "{}",
            out_event.detail
        );
    });
}

/// The subjects of the mails in the file outbox, oldest first.
fn outbox_subjects(state: &AppState) -> Vec<String> {
    let dir = state.mailer.file_dir().expect("file outbox");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| {
            let raw = std::fs::read(f).expect("read");
            mail_parser::MessageParser::default()
                .parse(&raw)
                .and_then(|m| m.subject().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect()
}

/// One-time codes never wait behind notifications (issue 15, item 3): with 30
/// notification mails due before it, the code mail goes first; a code mail that could
/// not be delivered within the code's 10 minutes is dropped, not sent.
#[tokio::test]
async fn code_mails_go_before_notifications_and_expired_ones_are_dropped() {
    on_every_database!(|state| {
        let user = signed_up(&state, "marie.curie@chu-dev.fr").await;
        for n in 0..30 {
            let mail = medimail_server::mail::OutgoingMail {
                to: format!("destinataire{n}@chu-dev.fr"),
                subject: format!("Notification {n}"),
                text: "Une enveloppe vous attend.".into(),
                ..Default::default()
            };
            medimail_server::mail::enqueue(
                &state.db,
                &state.keys,
                state.clock.now(),
                "notification",
                None,
                &mail,
            )
            .await
            .expect("queued");
        }
        state.clock.advance(Duration::seconds(1));
        assert_eq!(user.request_code().await.status, StatusCode::OK);
        state.mail_worker().drain_once().await.expect("one pass");
        let subjects = outbox_subjects(&state);
        assert!(
            subjects[0].ends_with("Votre code d'accès Medimail"),
            "the code first: {subjects:?}"
        );

        // Mail server down for 10 minutes: the code mail is dropped, not sent late.
        state.clock.advance(Duration::seconds(61));
        assert_eq!(user.request_code().await.status, StatusCode::OK);
        state.clock.advance(Duration::minutes(10));
        let before = outbox_subjects(&state).len();
        state.mail_worker().drain_once().await.expect("pass");
        let after = outbox_subjects(&state);
        assert!(
            after[before..]
                .iter()
                .all(|s| !s.ends_with("Votre code d'accès Medimail")),
            "{after:?}"
        );
        let trail = audit_event::Entity::find()
            .all(&state.db)
            .await
            .expect("audit");
        assert!(trail.iter().any(|e| e.action == "code_mail_expired"));
    });
}

#[tokio::test]
async fn codes_are_rate_limited_per_minute_and_per_hour() {
    on_every_database!(|state| {
        let user = signed_up(&state, "marie.curie@chu-dev.fr").await;
        assert_eq!(user.request_code().await.status, StatusCode::OK);
        let soon = user.request_code().await;
        assert_eq!(
            (soon.status, soon.code()),
            (StatusCode::TOO_MANY_REQUESTS, "code_too_soon")
        );
        assert_eq!(soon.body["retry_after_seconds"], 60);
        assert_eq!(soon.headers["retry-after"], "60");
        assert!(
            soon.body["message"]
                .as_str()
                .unwrap_or("")
                .contains("dans 1 minute"),
            "{:?}",
            soon.body
        );
        state.clock.advance(Duration::seconds(45));
        assert!(
            user.request_code().await.body["message"]
                .as_str()
                .unwrap_or("")
                .contains("dans 15 secondes")
        );

        // Up to 10 in an hour, a minute apart.
        for n in 2..=10 {
            state.clock.advance(Duration::seconds(61));
            let ok = user.request_code().await;
            assert_eq!(ok.status, StatusCode::OK, "request {n}: {:?}", ok.body);
        }
        state.clock.advance(Duration::seconds(61));
        let hourly = user.request_code().await;
        assert_eq!(
            (hourly.status, hourly.code()),
            (StatusCode::TOO_MANY_REQUESTS, "code_rate_limited")
        );
        assert!(
            hourly.body["message"]
                .as_str()
                .unwrap_or("")
                .contains("10 codes en une heure")
        );
        let wait = hourly.body["retry_after_seconds"].as_u64().expect("wait");
        state.clock.advance(Duration::seconds(wait as i64));
        assert_eq!(user.request_code().await.status, StatusCode::OK);
    });
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes_and_a_new_one_replaces_the_old() {
    on_every_database!(|state| {
        let user = signed_up(&state, "marie.curie@chu-dev.fr").await;
        let first = user.receive_code().await;
        state.clock.advance(Duration::seconds(61));
        let second = user.receive_code().await;
        if first != second {
            let old = user.authenticate(&first, GOOD).await;
            assert_eq!(
                old.code(),
                "credentials_incorrect",
                "the previous code no longer works"
            );
        }
        state.clock.advance(Duration::minutes(10));
        let expired = user.authenticate(&second, GOOD).await;
        assert_eq!(
            (expired.status, expired.code()),
            (StatusCode::BAD_REQUEST, "code_expired")
        );
        assert_eq!(expired.body["field"], "code");
        let third = user.receive_code().await;
        state.clock.advance(Duration::seconds(9 * 60 + 59));
        assert_eq!(
            user.authenticate(&third, GOOD).await.status,
            StatusCode::CREATED
        );
    });
}

#[tokio::test]
async fn five_wrong_codes_invalidate_the_code() {
    on_every_database!(|state| {
        let user = signed_up(&state, "marie.curie@chu-dev.fr").await;
        let code = user.receive_code().await;
        for left in (1..=4).rev() {
            let refused = user.authenticate(&wrong(&code), GOOD).await;
            assert_eq!(refused.code(), "credentials_incorrect");
            assert!(
                refused.body["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&format!("{left} essai")),
                "{:?}",
                refused.body
            );
        }
        let fifth = user.authenticate(&wrong(&code), GOOD).await;
        assert_eq!(fifth.code(), "credentials_incorrect");
        assert!(
            fifth.body["message"]
                .as_str()
                .unwrap_or("")
                .contains("n'est plus valable"),
            "{:?}",
            fifth.body
        );
        let right_too_late = user.authenticate(&code, GOOD).await;
        assert_eq!(right_too_late.code(), "code_missing");
        let malformed = user.authenticate("12a456", GOOD).await;
        assert_eq!(
            (malformed.status, malformed.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "code_format")
        );
    });
}

#[tokio::test]
async fn ten_failures_in_a_row_lock_the_account_for_fifteen_minutes() {
    on_every_database!(|state| {
        let user = signed_up(&state, "marie.curie@chu-dev.fr").await;
        // Five tries per code: two codes give the ten failures in a row.
        let first = user.receive_code().await;
        for n in 1..=5 {
            let refused = user.authenticate(&first, "Une mauvaise passephrase").await;
            assert_eq!(refused.code(), "credentials_incorrect", "failure {n}");
        }
        state.clock.advance(Duration::seconds(61));
        let code = user.receive_code().await;
        for n in 6..=9 {
            let refused = user.authenticate(&code, "Une mauvaise passephrase").await;
            assert_eq!(refused.code(), "credentials_incorrect", "failure {n}");
        }
        let locked = user.authenticate(&code, "Une mauvaise passephrase").await;
        assert_eq!(
            (locked.status, locked.code()),
            (StatusCode::LOCKED, "account_locked")
        );
        let message = locked.body["message"].as_str().unwrap_or("").to_owned();
        assert!(
            message.contains("verrouillé") && message.contains("dans 15 minutes"),
            "{message}"
        );
        assert_eq!(locked.body["retry_after_seconds"], 900);
        let me = user.call(Method::GET, "/api/me", None).await;
        assert!(me.body["locked_until"].is_string());

        // Locked: even the right code and passphrase, and new codes, are refused.
        assert_eq!(
            user.authenticate(&code, GOOD).await.code(),
            "account_locked"
        );
        let me = user.call(Method::GET, "/api/me", None).await;
        assert!(me.body["locked_until"].is_string());
        assert_eq!(user.request_code().await.code(), "account_locked");

        state.clock.advance(Duration::minutes(15));
        assert!(user.call(Method::GET, "/api/me", None).await.body["locked_until"].is_null());
        let fresh = user.receive_code().await;
        assert_eq!(
            user.authenticate(&fresh, GOOD).await.status,
            StatusCode::CREATED
        );
        let trail = audit_event::Entity::find()
            .all(&state.db)
            .await
            .expect("audit");
        assert!(trail.iter().any(|e| e.action == "account_locked"));
    });
}

#[tokio::test]
async fn sessions_end_after_thirty_idle_minutes_or_twelve_hours() {
    on_every_database!(|state| {
        let mut user = signed_up(&state, "marie.curie@chu-dev.fr").await;
        let code = user.receive_code().await;
        let opened = user.authenticate(&code, GOOD).await;
        user.session = opened.body["session"].as_str().map(str::to_owned);
        // Used every 25 minutes, it lives until the 12th hour…
        for _ in 0..28 {
            state.clock.advance(Duration::minutes(25));
            let live = user.call(Method::GET, "/api/auth/session", None).await;
            assert_eq!(live.status, StatusCode::OK, "{:?}", live.body);
        }
        state.clock.advance(Duration::minutes(25));
        let over = user.call(Method::GET, "/api/auth/session", None).await;
        assert_eq!(over.code(), "session_expired", "12 hours in all");

        // …and 30 minutes without use end it.
        let code = user.receive_code().await;
        user.session = user.authenticate(&code, GOOD).await.body["session"]
            .as_str()
            .map(str::to_owned);
        state.clock.advance(Duration::minutes(30));
        let idle = user.call(Method::GET, "/api/auth/session", None).await;
        assert_eq!(
            (idle.status, idle.code()),
            (StatusCode::UNAUTHORIZED, "session_expired")
        );
    });
}

#[tokio::test]
async fn a_mail_the_server_cannot_deliver_waits_sealed_for_a_retry() {
    let db = TestDb::sqlite().await;
    let mut state = state_with(&db, true).await;
    // An SMTP port where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut config = (*state.config).clone();
    config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    state.mailer =
        std::sync::Arc::new(medimail_server::mail::Mailer::from_config(&config).expect("mailer"));
    let user = signed_up(&state, "marie.curie@chu-dev.fr").await;
    assert_eq!(user.request_code().await.status, StatusCode::OK);
    state.mail_worker().drain_once().await.expect("pass");
    let row = outbox::Entity::find()
        .one(&state.db)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.is_some());
    assert!(row.next_attempt_at > state.clock.now(), "rescheduled");
    assert!(!row.payload.is_empty(), "kept for the retry");
    // Not due yet: a second pass sends nothing.
    assert_eq!(state.mail_worker().drain_once().await.expect("pass"), 0);
    state.clock.advance(Duration::seconds(1));
    assert_eq!(state.mail_worker().drain_once().await.expect("pass"), 1);
    let row = outbox::Entity::find()
        .one(&state.db)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(row.attempts, 2);
    assert!(
        row.next_attempt_at - state.clock.now() >= Duration::seconds(2),
        "backoff doubles"
    );
}

#[tokio::test]
async fn the_development_identity_is_off_unless_enabled() {
    let db = TestDb::sqlite().await;
    let off = state(&db).await;
    let answer = medimail_server::http::app(off)
        .oneshot(
            Request::get("/api/dev/identity")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    let on = state_with(&db, true).await;
    // Only from this machine, at the public origin's Host.
    let local = axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 50000)));
    let host = ORIGIN.trim_start_matches("https://");
    for (peer, host) in [
        (None, host),
        (Some(([10, 0, 0, 7], 50000)), host),
        (Some(([127, 0, 0, 1], 50000)), "evil.example"),
    ] {
        let mut request = Request::post("/api/dev/identity/token")
            .header("content-type", "application/json")
            .header("host", host);
        if let Some(peer) = peer {
            request =
                request.extension(axum::extract::ConnectInfo(std::net::SocketAddr::from(peer)));
        }
        let answer = medimail_server::http::app(on.clone())
            .oneshot(
                request
                    .body(Body::from(
                        json!({"mailbox": "a@b.fr", "name": "A"}).to_string(),
                    ))
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{peer:?} {host}");
    }
    let post = |body: Value| {
        let app = medimail_server::http::app(on.clone());
        async move {
            let response = app
                .oneshot(
                    Request::post("/api/dev/identity/token")
                        .header("content-type", "application/json")
                        .header("host", host)
                        .extension(local)
                        .body(Body::from(body.to_string()))
                        .expect("request"),
                )
                .await
                .expect("infallible");
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).expect("JSON"),
            )
        }
    };
    let (status, body) = post(json!({"mailbox": "pas une adresse", "name": "X"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("dev_mailbox_invalid")
        )
    );
    let (status, body) =
        post(json!({"mailbox": "marie.curie@chu-dev.fr", "name": "Marie CURIE"})).await;
    assert_eq!(status, StatusCode::OK);
    let user = User {
        state: on.clone(),
        token: body["access_token"].as_str().expect("token").to_owned(),
        session: None,
        cookie: None,
    };
    let me = user.call(Method::GET, "/api/me", None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["mailbox"], "marie.curie@chu-dev.fr");
}

/// A hundred wrong codes at once against one code, on both databases: five checks,
/// never more (each try is claimed before it is checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_wrong_codes_are_checked_five_times_on_every_database() {
    on_every_database!(|state| {
        let user = signed_up(&state, "marie.curie@chu-dev.fr").await;
        let code = user.receive_code().await;
        let bad = wrong(&code);
        let user = std::sync::Arc::new(user);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (user, bad) = (user.clone(), bad.clone());
            tasks.spawn(async move { user.authenticate(&bad, GOOD).await.code().to_owned() });
        }
        let answers = tasks.join_all().await;
        let checked = answers
            .iter()
            .filter(|c| *c == "credentials_incorrect")
            .count();
        assert_eq!(checked, 5, "{answers:?}");
        assert!(
            answers.iter().all(
                |c| ["credentials_incorrect", "code_invalidated", "code_missing"]
                    .contains(&c.as_str())
            ),
            "{answers:?}"
        );
        let codes = one_time_code::Entity::find()
            .all(&state.db)
            .await
            .expect("codes");
        assert_eq!(codes[0].failed_attempts, 5);
        let account = account::Entity::find()
            .all(&state.db)
            .await
            .expect("accounts");
        assert_eq!(account[0].failed_attempts, 5, "five failures, not locked");
        assert!(account[0].locked_until.is_none());
    });
}

/// Hashing is bounded: with one slot and no patience, passphrases chosen at once beyond
/// the slot are answered 503 `busy` with `Retry-After`, and nothing is stored for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hashing_beyond_its_bound_answers_busy_with_retry_after() {
    let db = TestDb::sqlite().await;
    let mut state = state_with(&db, true).await;
    state.hashing =
        medimail_server::auth::passphrase::Hashing::new(1, std::time::Duration::from_millis(1));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let user = User::new(&state, &format!("personne{n}@chu-dev.fr"), "Marie CURIE");
        tasks.spawn(async move {
            let answer = user.choose(GOOD, GOOD).await;
            (
                answer.status,
                answer.code().to_owned(),
                answer
                    .headers
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap_or("").to_owned()),
            )
        });
    }
    let answers = tasks.join_all().await;
    let busy: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!busy.is_empty(), "{answers:?}");
    for (_, code, retry) in &busy {
        assert_eq!(code, "busy");
        assert_eq!(retry.as_deref(), Some("2"));
    }
    let chosen = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::NO_CONTENT)
        .count();
    let stored = identity_link::Entity::find()
        .all(&state.db)
        .await
        .expect("links")
        .iter()
        .filter(|l| l.chosen_passphrase_hash.is_some())
        .count();
    assert_eq!(stored, chosen, "a busy answer stores nothing");
}
