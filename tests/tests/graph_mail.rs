//! Mail through Microsoft 365 on the real binary: the one-time code mail leaves through
//! the test Microsoft Graph with an application token from azure_identity (client secret
//! against the test identity provider over HTTPS); a 429 with Retry-After is honoured, a
//! 401 gets a fresh token once, a 403 is recorded as a permanent refusal.

use std::time::Duration;

use medimail_e2e::graph::TestGraph;
use medimail_e2e::idp::{self, TestIdp};
use medimail_e2e::{Server, ServerOptions};

const PASSPHRASE: &str = "Le chat dort sur le radiateur";
const SENDER: &str = "medimail@chu-exemple.fr";

struct Setup {
    idp: TestIdp,
    graph: TestGraph,
    server: Server,
}

async fn setup() -> Setup {
    setup_with(false).await
}

/// With `certificate`, the application authenticates with a certificate (client
/// assertion) instead of its secret.
async fn setup_with(certificate: bool) -> Setup {
    let idp = TestIdp::start().await;
    let graph = TestGraph::start(&idp).await;
    let files = tempfile::tempdir().expect("files").keep();
    let credential = if certificate {
        let (path, (thumbprint, n, e)) = idp::client_certificate();
        idp.trust_client_certificate(&thumbprint, &n, &e);
        ("MEDIMAIL_CLIENT_CERTIFICATE_FILE", path)
    } else {
        let secret = files.join("secret");
        std::fs::write(&secret, idp::CLIENT_SECRET).expect("secret");
        ("MEDIMAIL_CLIENT_SECRET_FILE", secret)
    };
    let roots = files.join("roots.pem");
    std::fs::write(&roots, format!("{}{}", idp.cert_pem, graph.cert_pem)).expect("roots");
    let mut env = idp.server_env();
    env.extend([
        ("MEDIMAIL_GRAPH_SENDER".to_owned(), SENDER.to_owned()),
        ("MEDIMAIL_GRAPH_URL".to_owned(), graph.url()),
        (
            "MEDIMAIL_GRAPH_AUTHORITY_HOST".to_owned(),
            idp.https_authority_host(),
        ),
        (credential.0.to_owned(), credential.1.display().to_string()),
        (
            "MEDIMAIL_EXTRA_CA_FILE".to_owned(),
            roots.display().to_string(),
        ),
    ]);
    let server = Server::start(ServerOptions {
        env,
        ..Default::default()
    })
    .await;
    Setup { idp, graph, server }
}

impl Setup {
    /// Chooses the passphrase and asks for a code (the mail goes to the outbox).
    async fn request_code(&self) {
        let token = idp::sign(&self.idp.current_key(), &idp::valid_claims());
        let client = self.server.client();
        let r = client
            .post(self.server.url("/api/auth/passphrase"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"passphrase": PASSPHRASE, "confirmation": PASSPHRASE}))
            .send()
            .await
            .expect("passphrase");
        assert_eq!(r.status(), 204);
        let r = client
            .post(self.server.url("/api/auth/code"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("code");
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn the_code_mail_leaves_through_microsoft_graph() {
    let s = setup().await;
    s.request_code().await;
    let sent = s.graph.wait_for(1).await;
    let mailbox = idp::valid_claims()["preferred_username"]
        .as_str()
        .expect("mailbox")
        .to_owned();
    assert_eq!(sent[0].sender, SENDER, "from the configured mailbox");
    assert_eq!(sent[0].to, mailbox);
    assert!(sent[0].subject.ends_with("] - Votre code d'accès Medimail"));
    let code = &sent[0].subject[1..7];
    assert!(sent[0].text.contains(&format!("Ce code est le : {code}")));
    assert_eq!(s.idp.app_tokens(), 1, "one application token");
    assert!(!s.server.log().contains(code), "the code is never logged");
}

#[tokio::test]
async fn a_429_waits_for_retry_after_and_a_401_gets_a_fresh_token_once() {
    let s = setup().await;
    s.graph.script(&[(401, None), (429, Some(3))]);
    s.request_code().await;
    s.graph.wait_for(1).await;
    let calls = s.graph.calls();
    let statuses: Vec<u16> = calls.iter().map(|(_, st)| *st).collect();
    assert_eq!(statuses, [401, 429, 202], "{statuses:?}");
    assert_eq!(s.idp.app_tokens(), 2, "the 401 got one fresh token");
    let waited = calls[2].0.duration_since(calls[1].0);
    assert!(
        waited >= Duration::from_secs(3),
        "Retry-After honoured: {waited:?}"
    );
}

#[tokio::test]
async fn a_403_is_a_permanent_refusal_recorded_for_administrators() {
    use medimail_server::entity::{audit_event, outbox};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let s = setup().await;
    s.graph.script(&[(403, None)]);
    s.request_code().await;
    // The worker's final state for the mail: its outbox row marked refused (after which
    // it never picks the mail up again), then the audit record.
    let db = s.server.sqlite().await;
    let refused = async || {
        audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("mail_refused"))
            .all(&db)
            .await
            .expect("audit")
    };
    s.server
        .wait_until("the refusal recorded", async || !refused().await.is_empty())
        .await;
    let rows = outbox::Entity::find().all(&db).await.expect("outbox");
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["refused"], "final, never to be retried");
    assert!(s.server.log().contains("refused permanently"));
    assert_eq!(s.graph.calls().len(), 1, "not retried");
    assert!(s.graph.sent().is_empty());
    let refused = refused().await;
    assert_eq!(refused.len(), 1);
    assert!(refused[0].detail.contains("403"), "{}", refused[0].detail);
}

#[tokio::test]
async fn with_a_certificate_credential_the_mail_leaves_too() {
    let s = setup_with(true).await;
    s.request_code().await;
    let sent = s.graph.wait_for(1).await;
    assert!(sent[0].subject.ends_with("] - Votre code d'accès Medimail"));
    assert_eq!(s.idp.app_tokens(), 1);
}
