//! Operational metrics in the Prometheus text format, on a listener of their own.
//!
//! Off unless `MEDIMAIL_METRICS_LISTEN` is set. The features and the HTTP layer record
//! through the functions below (the `metrics` facade: without a recorder they cost a
//! branch); [`Exporter`] serves `GET /metrics` in plain HTTP on that address, which
//! [`check_address`] keeps on loopback or a private network.
//!
//! Labels come from fixed sets only: route templates (axum's `MatchedPath`, never the
//! requested path, so no envelope reference or address reaches a label), status numbers,
//! refusal codes, the directory's name. Never a mailbox, a name, a subject, a code or a
//! token. README "Metrics" lists every series.
//!
//! The Prometheus recorder is process-wide (`metrics::set_global_recorder`). It is
//! installed once, on the first [`Exporter::bind`]; later binds (a restart inside the same
//! process, the tests) reuse it.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `method`, `route` and `status`.
pub const HTTP_REQUESTS: &str = "medimail_http_requests_total";
/// Time to the response head, by `method` and `route`.
pub const HTTP_DURATION: &str = "medimail_http_request_duration_seconds";
/// Medimail sessions opened (code + passphrase accepted).
pub const SIGN_INS: &str = "medimail_sign_ins_total";
/// Error bodies sent, by `code`.
pub const REFUSALS: &str = "medimail_refusals_total";
/// Envelopes sealed.
pub const ENVELOPES_SEALED: &str = "medimail_envelopes_sealed_total";
/// Bytes of the attachments of sealed envelopes (before encryption).
pub const ATTACHMENT_BYTES: &str = "medimail_attachment_bytes_stored_total";
/// Mails waiting in the outbox.
pub const OUTBOX_PENDING: &str = "medimail_outbox_pending";
/// Delivery attempts, by `purpose` and `outcome` (`delivered`, `retried`, `refused`).
pub const MAIL_ATTEMPTS: &str = "medimail_mail_attempts_total";
/// From queued to accepted by the mail server, by `purpose`.
pub const MAIL_DELIVERY: &str = "medimail_mail_delivery_seconds";
/// Directory searches, by `directory` and `favorites_only`.
pub const DIRECTORY_SEARCHES: &str = "medimail_directory_searches_total";

/// Where the exporter answers.
pub const PATH: &str = "/metrics";

/// The label of a request no route matched (static files, the task pane's fallback).
const UNMATCHED: &str = "fallback";

/// Buckets of the request latency: from a cached page to a 25 Mo upload.
const HTTP_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Buckets of the delivery latency: immediate, through the retries' backoff.
const DELIVERY_BUCKETS: [f64; 13] = [
    0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// How often histogram samples are folded when nobody scrapes (the exporter's upkeep).
const UPKEEP: Duration = Duration::from_secs(5);

/// Refuses an address reachable from outside a private network: the listener is plain
/// HTTP without authentication. Accepted: loopback, the private IPv4 ranges of RFC 1918
/// and IPv6 unique-local addresses (RFC 4193). Refused: public addresses and the
/// wildcard (`0.0.0.0`, `::`), which would listen on every interface.
pub fn check_address(addr: SocketAddr) -> Result<(), String> {
    let private = match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback() || ip.is_private(),
        IpAddr::V6(ip) => {
            ip.is_loopback()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
    };
    if private {
        Ok(())
    } else {
        Err(format!(
            "MEDIMAIL_METRICS_LISTEN={addr} is refused: the metrics listener is plain HTTP \
             without authentication, so it listens only on a loopback or private-network \
             address (127.0.0.1, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7), \
             never on a public address or on every interface"
        ))
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Whether a metrics listener was started in this process: values that cost a query to
/// measure (the outbox depth) are measured only then.
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// The process-wide Prometheus recorder, installed on first use.
fn recorder() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            if ::metrics::set_global_recorder(recorder).is_err() {
                // Only an embedding program could have installed one first.
                tracing::warn!("another metrics recorder is installed: /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &HTTP_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(MAIL_DELIVERY.into()), &DELIVERY_BUCKETS)
        })
        .expect("the bucket lists are constant and non-empty")
}

/// The `# HELP` lines.
fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from request to response head, by method and route template."
    );
    describe_counter!(
        SIGN_INS,
        "Medimail sessions opened (code and passphrase accepted)."
    );
    describe_counter!(REFUSALS, "Error bodies answered, by stable error code.");
    describe_counter!(ENVELOPES_SEALED, "Envelopes sealed.");
    describe_counter!(
        ATTACHMENT_BYTES,
        Unit::Bytes,
        "Bytes of the attachments of sealed envelopes, before encryption."
    );
    describe_gauge!(OUTBOX_PENDING, "Mails waiting in the outbox.");
    describe_counter!(
        MAIL_ATTEMPTS,
        "Mail delivery attempts, by purpose and outcome (delivered, retried, refused)."
    );
    describe_histogram!(
        MAIL_DELIVERY,
        Unit::Seconds,
        "Time from queued to accepted by the mail server, by purpose."
    );
    describe_counter!(
        DIRECTORY_SEARCHES,
        "Directory searches, by directory and whether only the favorites were listed."
    );
}

/// The bound metrics listener, ready to serve.
pub struct Exporter {
    listener: std::net::TcpListener,
    handle: PrometheusHandle,
}

impl Exporter {
    /// Binds `addr` and installs the recorder (once per process).
    pub fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            handle: recorder(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `GET /metrics` until the task is dropped or aborted.
    pub async fn serve(self) {
        let upkeep = self.handle.clone();
        let upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP);
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        let handle = self.handle;
        let app = Router::new().route(PATH, get(move || render(handle.clone())));
        let served = match tokio::net::TcpListener::from_std(self.listener) {
            Ok(listener) => axum::serve(listener, app).await,
            Err(e) => Err(e),
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics listener stopped");
        }
        upkeep.abort();
    }
}

async fn render(handle: PrometheusHandle) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Middleware: counts each request under its route template and status, and times it.
pub async fn track_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16().to_string();
    ::metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    ::metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    response
}

/// The standard methods by name; any other token a client invents is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A Medimail session was opened.
pub fn sign_in() {
    ::metrics::counter!(SIGN_INS).increment(1);
}

/// An error body with this stable code was answered.
pub fn refusal(code: &str) {
    ::metrics::counter!(REFUSALS, "code" => code_label(code)).increment(1);
}

/// Codes are identifiers written in the code (`attachments_too_large`); anything else
/// is never copied into a label.
fn code_label(code: &str) -> String {
    let fixed = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if fixed {
        code.to_owned()
    } else {
        "other".to_owned()
    }
}

/// An envelope was sealed with attachments of `attachment_bytes` bytes in all.
pub fn envelope_sealed(attachment_bytes: u64) {
    ::metrics::counter!(ENVELOPES_SEALED).increment(1);
    ::metrics::counter!(ATTACHMENT_BYTES).increment(attachment_bytes);
}

/// How a delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailOutcome {
    /// Accepted by the mail server.
    Delivered,
    /// Failed for now; tried again later.
    Retried,
    /// Failed for good; never tried again.
    Refused,
}

impl MailOutcome {
    fn label(self) -> &'static str {
        match self {
            MailOutcome::Delivered => "delivered",
            MailOutcome::Retried => "retried",
            MailOutcome::Refused => "refused",
        }
    }
}

/// `pending` mails wait in the outbox.
pub fn outbox_pending(pending: u64) {
    ::metrics::gauge!(OUTBOX_PENDING).set(pending as f64);
}

/// A delivery attempt of a mail of `purpose` ended with `outcome`; `queued_for` is its
/// time since it was queued when it was delivered.
pub fn mail_attempt(purpose: &'static str, outcome: MailOutcome, queued_for: Option<Duration>) {
    ::metrics::counter!(MAIL_ATTEMPTS, "purpose" => purpose, "outcome" => outcome.label())
        .increment(1);
    if let (MailOutcome::Delivered, Some(waited)) = (outcome, queued_for) {
        ::metrics::histogram!(MAIL_DELIVERY, "purpose" => purpose).record(waited.as_secs_f64());
    }
}

/// A search of `directory` (`medimail` or `mssante`), or its favorites listed instead.
pub fn directory_search(directory: &'static str, favorites_only: bool) {
    let favorites_only = if favorites_only { "true" } else { "false" };
    ::metrics::counter!(DIRECTORY_SEARCHES, "directory" => directory, "favorites_only" => favorites_only)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    #[test]
    fn keeps_the_listener_on_loopback_or_a_private_network() {
        for ok in [
            "127.0.0.1:9464",
            "[::1]:9464",
            "10.1.2.3:9464",
            "172.16.0.1:9464",
            "192.168.1.10:9464",
            "[fd12:3456::1]:9464",
        ] {
            assert!(check_address(ok.parse().expect("address")).is_ok(), "{ok}");
        }
        for refused in [
            "0.0.0.0:9464",
            "[::]:9464",
            "8.8.8.8:9464",
            "172.32.0.1:9464",
            "[2001:db8::1]:9464",
        ] {
            let err = check_address(refused.parse().expect("address")).expect_err(refused);
            assert!(err.starts_with("MEDIMAIL_METRICS_LISTEN="), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn a_code_that_is_not_an_identifier_never_becomes_a_label() {
        assert_eq!(code_label("attachments_too_large"), "attachments_too_large");
        assert_eq!(code_label("marie.curie@example.org"), "other");
        assert_eq!(code_label(""), "other");
        assert_eq!(code_label(&"a".repeat(65)), "other");
    }

    /// A recorder of this test only (the global one is never touched).
    fn local() -> (
        metrics_exporter_prometheus::PrometheusRecorder,
        PrometheusHandle,
    ) {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        (recorder, handle)
    }

    #[tokio::test]
    async fn labels_a_request_with_its_route_template_never_its_path() {
        let (recorder, handle) = local();
        let _guard = ::metrics::set_default_local_recorder(&recorder);
        let app = Router::new()
            .route(
                "/api/envelopes/{reference}",
                get(|| async { StatusCode::NOT_FOUND }),
            )
            .fallback(|| async { "page" })
            .layer(axum::middleware::from_fn(track_request));
        for uri in [
            "/api/envelopes/Zx9SecretReference",
            "/marie.curie@example.org",
        ] {
            let request = Request::builder()
                .uri(uri)
                .body(Body::empty())
                .expect("request");
            app.clone().oneshot(request).await.expect("response");
        }
        let text = handle.render();
        assert!(
            text.contains(
                r#"medimail_http_requests_total{method="GET",route="/api/envelopes/{reference}",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"medimail_http_requests_total{method="GET",route="fallback",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"medimail_http_request_duration_seconds_bucket{method="GET",route="/api/envelopes/{reference}",le="+Inf"} 1"#
            ),
            "a histogram with buckets, not a summary: {text}"
        );
        assert!(!text.contains("Zx9SecretReference"), "{text}");
        assert!(!text.contains("marie.curie"), "{text}");
    }

    #[test]
    fn counts_mail_outcomes_and_times_only_deliveries() {
        let (recorder, handle) = local();
        ::metrics::with_local_recorder(&recorder, || {
            outbox_pending(3);
            mail_attempt("notification", MailOutcome::Retried, None);
            mail_attempt(
                "notification",
                MailOutcome::Delivered,
                Some(Duration::from_millis(1500)),
            );
            mail_attempt("one_time_code", MailOutcome::Refused, None);
        });
        let text = handle.render();
        for line in [
            "medimail_outbox_pending 3",
            r#"medimail_mail_attempts_total{purpose="notification",outcome="retried"} 1"#,
            r#"medimail_mail_attempts_total{purpose="notification",outcome="delivered"} 1"#,
            r#"medimail_mail_attempts_total{purpose="one_time_code",outcome="refused"} 1"#,
            r#"medimail_mail_delivery_seconds_bucket{purpose="notification",le="2"} 1"#,
            r#"medimail_mail_delivery_seconds_count{purpose="notification"} 1"#,
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(
            !text.contains(r#"medimail_mail_delivery_seconds_count{purpose="one_time_code"}"#),
            "{text}"
        );
    }
}
