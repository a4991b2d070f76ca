//! A test Microsoft Graph on loopback HTTPS: `POST /v1.0/users/{sender}/sendMail`
//! verifies the bearer token it receives (signed by the test identity provider, audience
//! this Graph, role `Mail.Send`) and records the message; answers can be scripted (429
//! with `Retry-After`, 401, 403…) to exercise the server's retry logic.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_server::Handle;

/// One message Graph accepted.
#[derive(Clone, Debug)]
pub struct SentMail {
    pub sender: String,
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// A scripted answer: status, and `Retry-After` seconds.
type Answer = (u16, Option<u64>);

#[derive(Clone, Default)]
struct Shared {
    key: Option<Arc<jsonwebtoken::DecodingKey>>,
    audience: String,
    sent: Arc<Mutex<Vec<SentMail>>>,
    /// Answers to give before accepting: (status, Retry-After seconds).
    script: Arc<Mutex<Vec<Answer>>>,
    /// When each sendMail call arrived, and what it was answered.
    calls: Arc<Mutex<Vec<(Instant, u16)>>>,
}

pub struct TestGraph {
    pub port: u16,
    /// The certificate of its HTTPS listener (PEM), for `MEDIMAIL_EXTRA_CA_FILE`.
    pub cert_pem: String,
    shared: Shared,
    handle: Handle<SocketAddr>,
}

impl TestGraph {
    /// Starts a Graph that trusts tokens signed by `idp`'s current key.
    pub async fn start(idp: &crate::idp::TestIdp) -> TestGraph {
        let (listener, port, config, cert_pem) = crate::idp::tls_listener();
        let mut shared = Shared {
            key: Some(Arc::new(idp.decoding_key())),
            audience: format!("https://127.0.0.1:{port}"),
            ..Default::default()
        };
        shared.sent = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/v1.0/users/{sender}/sendMail", post(send_mail))
            .with_state(shared.clone());
        let handle: Handle<SocketAddr> = Handle::new();
        let server = axum_server::from_tcp_rustls(listener, config)
            .expect("graph server")
            .handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        TestGraph {
            port,
            cert_pem,
            shared,
            handle,
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The next calls get these answers, in order, before mails are accepted again.
    pub fn script(&self, answers: &[Answer]) {
        *self.shared.script.lock().expect("script") = answers.to_vec();
    }

    pub fn sent(&self) -> Vec<SentMail> {
        self.shared.sent.lock().expect("sent").clone()
    }

    /// (arrival, status answered) of every sendMail call.
    pub fn calls(&self) -> Vec<(Instant, u16)> {
        self.shared.calls.lock().expect("calls").clone()
    }

    /// Waits until `n` mails were accepted (30 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<SentMail> {
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let sent = self.sent();
            if sent.len() >= n {
                return sent;
            }
            assert!(Instant::now() < deadline, "{} mails after 30 s", sent.len());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestGraph {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn send_mail(
    State(s): State<Shared>,
    Path(sender): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let answer = |status: u16| {
        s.calls
            .lock()
            .expect("calls")
            .push((Instant::now(), status));
    };
    // The token: signed by the identity provider, for this Graph, with Mail.Send.
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[s.audience.as_str()]);
    let valid = s.key.as_ref().is_some_and(|key| {
        jsonwebtoken::decode::<serde_json::Value>(token, key, &validation)
            .ok()
            .is_some_and(|d| {
                d.claims["roles"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r == "Mail.Send"))
            })
    });
    if !valid {
        answer(401);
        return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
    }
    let scripted = {
        let mut script = s.script.lock().expect("script");
        (!script.is_empty()).then(|| script.remove(0))
    };
    if let Some((status, retry_after)) = scripted {
        answer(status);
        let mut response = (
            StatusCode::from_u16(status).expect("status"),
            axum::Json(serde_json::json!({"error": {"code": "scripted", "message": "scripted"}})),
        )
            .into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", seconds.to_string().parse().expect("header"));
        }
        return response;
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        answer(400);
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let message = &json["message"];
    s.sent.lock().expect("sent").push(SentMail {
        sender,
        to: message["toRecipients"][0]["emailAddress"]["address"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        subject: message["subject"].as_str().unwrap_or_default().to_owned(),
        text: message["body"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    });
    answer(202);
    StatusCode::ACCEPTED.into_response()
}
