//! The identity model (docs/ARCHITECTURE.md "Identity model"), through the real router on
//! SQLite and PostgreSQL: an account is a mailbox; an identity reaches it only by proving
//! a code mailed there; a changed address moves the account only once the new one is
//! proven; a recycled address never reaches its previous holder.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use medimail_server::account::entity::{account, identity_link};
use medimail_server::state::AppState;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::*;

const GOOD: &str = "Le chat dort sur le radiateur";
const OTHER_GOOD: &str = "Une autre phrase assez longue";
const BOUNDARY: &str = "medimail-identity-boundary";

/// A person in Entra: a fixed object id, whatever the token says their mailbox is.
struct Person {
    state: AppState,
    oid: String,
    token: String,
    session: Option<String>,
}

impl Person {
    fn new(state: &AppState, oid: &str, mailbox: &str) -> Person {
        let mut p = Person {
            state: state.clone(),
            oid: oid.to_owned(),
            token: String::new(),
            session: None,
        };
        p.now_named(mailbox);
        p
    }

    /// Entra now gives this person another address (same object id).
    fn now_named(&mut self, mailbox: &str) {
        let dev = self.state.dev_identity.as_ref().expect("dev identity");
        self.token = dev
            .mint_for(&self.oid, mailbox, "Marie CURIE", chrono::Utc::now())
            .expect("token");
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(session) = &self.session {
            request = request.header("x-medimail-session", session);
        }
        let body = match body {
            Some(v) => {
                request = request.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let r = medimail_server::http::app(self.state.clone())
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = r.status();
        let bytes = r.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn me(&self) -> Value {
        self.call(Method::GET, "/api/me", None).await.1
    }

    async fn choose(&self, passphrase: &str) -> StatusCode {
        self.call(
            Method::POST,
            "/api/auth/passphrase",
            Some(json!({"passphrase": passphrase, "confirmation": passphrase})),
        )
        .await
        .0
    }

    /// Requests a code (to `query`'s mailbox), delivers it, reads it back.
    async fn code(&self, query: &str) -> (String, String) {
        let (status, body) = self
            .call(Method::POST, &format!("/api/auth/code{query}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body:?}");
        self.state
            .mail_worker()
            .drain_once()
            .await
            .expect("drained");
        (
            body["mailbox"].as_str().expect("mailbox").to_owned(),
            latest_code_to(&self.state, body["mailbox"].as_str().unwrap_or("")),
        )
    }

    async fn authenticate(&mut self, code: &str, passphrase: &str) -> (StatusCode, Value) {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/auth/session",
                Some(json!({"code": code, "passphrase": passphrase})),
            )
            .await;
        if status == StatusCode::CREATED {
            self.session = body["session"].as_str().map(str::to_owned);
        }
        (status, body)
    }

    async fn inbox_subjects(&self) -> Vec<String> {
        let (status, body) = self.call(Method::GET, "/api/envelopes", None).await;
        assert_eq!(status, StatusCode::OK, "{body:?}");
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["subject"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

/// The code of the newest mail to `to` in the file outbox.
fn latest_code_to(state: &AppState, to: &str) -> String {
    let dir = state.mailer.file_dir().expect("file outbox");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files.iter().rev() {
        let raw = std::fs::read(path).expect("read");
        let message = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("mail");
        let addressed = message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .is_some_and(|a| a.eq_ignore_ascii_case(to));
        let subject = message.subject().unwrap_or("");
        if addressed && subject.ends_with("Votre code d'accès Medimail") {
            return subject[1..7].to_owned();
        }
    }
    panic!("no code mailed to {to}");
}

/// A sender signed in, who sends one envelope titled `subject` to `to`.
async fn send(state: &AppState, sender: &(String, String), to: &str, subject: &str) {
    let draft = json!({"to": [to], "cc": [], "subject": subject, "body_html": "<p>Bonjour</p>"});
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: \
         application/json\r\n\r\n{draft}\r\n--{BOUNDARY}--\r\n"
    );
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let (status, _, bytes) = call_signed_in(
        state,
        sender,
        "POST",
        "/api/envelopes",
        Some((content_type.as_str(), body.into_bytes())),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
}

async fn accounts_of(state: &AppState, mailbox: &str) -> Vec<account::Model> {
    account::Entity::find()
        .filter(account::Column::Mailbox.eq(mailbox))
        .all(&state.db)
        .await
        .expect("accounts")
}

const U: &str = "0000aaaa-0000-4000-8000-000000000001";
const V: &str = "0000aaaa-0000-4000-8000-000000000002";
const X: &str = "0000aaaa-0000-4000-8000-000000000003";

#[tokio::test]
async fn a_renamed_user_reaches_the_new_address_only_by_proving_it_and_never_the_recycled_one() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let sender = signed_in_as(&state, "secretariat@chu-dev.fr", "Secrétariat").await;

        // U signs in as old@.
        let mut u = Person::new(&state, U, "old@chu-dev.fr");
        assert_eq!(u.choose(GOOD).await, StatusCode::NO_CONTENT);
        let (to, code) = u.code("").await;
        assert_eq!(to, "old@chu-dev.fr");
        assert_eq!(u.authenticate(&code, GOOD).await.0, StatusCode::CREATED);
        let account_id = u.me().await["account_id"]
            .as_str()
            .expect("linked")
            .to_owned();
        send(&state, &sender, "old@chu-dev.fr", "Avant le changement").await;

        // An envelope for new@ before U's token says new@: it waits in new@'s mailbox.
        send(
            &state,
            &sender,
            "new@chu-dev.fr",
            "Pour la nouvelle adresse",
        )
        .await;

        // U's token now says new@: the pane is told where codes go, nothing moves.
        u.now_named("new@chu-dev.fr");
        let me = u.me().await;
        assert_eq!(me["mailbox"], "old@chu-dev.fr");
        assert_eq!(me["token_mailbox"], "new@chu-dev.fr");
        assert_eq!(me["linked"], true);
        assert_eq!(me["account_id"], account_id.as_str());
        assert_eq!(u.inbox_subjects().await, vec!["Avant le changement"]);
        state.clock.advance(chrono::Duration::seconds(61));
        let (to, _) = u.code("").await;
        assert_eq!(to, "old@chu-dev.fr", "codes still go to the proven mailbox");

        // Proving a code mailed to new@ moves the account and merges what waited there.
        state.clock.advance(chrono::Duration::seconds(61));
        let (to, code) = u.code("?mailbox=token").await;
        assert_eq!(to, "new@chu-dev.fr");
        let (status, body) = u.authenticate(&code, GOOD).await;
        assert_eq!(status, StatusCode::CREATED, "{body:?}");
        let me = u.me().await;
        assert_eq!(me["mailbox"], "new@chu-dev.fr");
        assert_eq!(me["account_id"], account_id.as_str(), "the same account");
        let mut subjects = u.inbox_subjects().await;
        subjects.sort();
        assert_eq!(
            subjects,
            vec!["Avant le changement", "Pour la nouvelle adresse"]
        );
        assert_eq!(accounts_of(&state, "new@chu-dev.fr").await.len(), 1);
        assert!(accounts_of(&state, "old@chu-dev.fr").await.is_empty());

        // old@ is recycled to V: mail sent there now never reaches U.
        send(
            &state,
            &sender,
            "old@chu-dev.fr",
            "Pour le nouveau titulaire",
        )
        .await;
        assert!(
            !u.inbox_subjects()
                .await
                .contains(&"Pour le nouveau titulaire".to_owned())
        );
        let mut v = Person::new(&state, V, "old@chu-dev.fr");
        assert_eq!(v.choose(OTHER_GOOD).await, StatusCode::NO_CONTENT);
        let (_, code) = v.code("").await;
        assert_eq!(
            v.authenticate(&code, OTHER_GOOD).await.0,
            StatusCode::CREATED
        );
        assert_eq!(v.inbox_subjects().await, vec!["Pour le nouveau titulaire"]);
        assert_ne!(v.me().await["account_id"], account_id.as_str());

        // Never two accounts for one mailbox.
        for mailbox in ["old@chu-dev.fr", "new@chu-dev.fr", "secretariat@chu-dev.fr"] {
            assert_eq!(accounts_of(&state, mailbox).await.len(), 1, "{mailbox}");
        }
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn an_identity_naming_someone_elses_mailbox_gets_nothing_before_proving_it() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let sender = signed_in_as(&state, "secretariat@chu-dev.fr", "Secrétariat").await;
        send(
            &state,
            &sender,
            "victime@chu-dev.fr",
            "Compte rendu confidentiel",
        )
        .await;

        // X's token names victime@ (another tenant's admin could make one say anything).
        let mut x = Person::new(&state, X, "victime@chu-dev.fr");
        let me = x.me().await;
        assert_eq!(me["linked"], false);
        assert!(me["account_id"].is_null());
        assert_eq!(x.choose(GOOD).await, StatusCode::NO_CONTENT);
        let placeholder = accounts_of(&state, "victime@chu-dev.fr").await;
        assert_eq!(placeholder.len(), 1);
        assert!(
            placeholder[0].passphrase_hash.is_none(),
            "not set before a proof"
        );
        assert!(placeholder[0].proven_at.is_none());
        // The code goes to the mailbox, which X does not read; guessing fails.
        let (to, code) = x.code("").await;
        assert_eq!(to, "victime@chu-dev.fr");
        let guess = format!(
            "{:06}",
            (code.parse::<u32>().expect("digits") + 1) % 1_000_000
        );
        let (status, body) = x.authenticate(&guess, GOOD).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("credentials_incorrect"))
        );
        let (status, body) = x.call(Method::GET, "/api/envelopes", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body:?}");
        assert_eq!(
            identity_link::Entity::find()
                .filter(identity_link::Column::AccountId.is_not_null())
                .filter(identity_link::Column::Subject.eq(X))
                .count(&state.db)
                .await
                .expect("count"),
            0
        );

        // The owner proves the mailbox (with her own passphrase) and finds her mail.
        let mut owner = Person::new(&state, V, "victime@chu-dev.fr");
        assert_eq!(owner.choose(OTHER_GOOD).await, StatusCode::NO_CONTENT);
        state.clock.advance(chrono::Duration::seconds(61));
        let (_, code) = owner.code("").await;
        assert_eq!(
            owner.authenticate(&code, OTHER_GOOD).await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            owner.inbox_subjects().await,
            vec!["Compte rendu confidentiel"]
        );

        // Now a real account: X cannot choose its passphrase, and X's own passphrase
        // does not open it even with a code.
        let mut x = Person::new(
            &state,
            "0000aaaa-0000-4000-8000-000000000004",
            "victime@chu-dev.fr",
        );
        let (status, body) = x
            .call(
                Method::POST,
                "/api/auth/passphrase",
                Some(json!({"passphrase": GOOD, "confirmation": GOOD})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("passphrase_already_set"))
        );
        state.clock.advance(chrono::Duration::seconds(61));
        let (_, code) = x.code("").await;
        let (status, body) = x.authenticate(&code, GOOD).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("credentials_incorrect"))
        );
        db.drop_postgres().await;
    }
}
