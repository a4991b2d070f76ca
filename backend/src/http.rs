//! The router: every feature's routes merged, and the layers every response goes through
//! (request id, structured access log, security headers, compression). The OpenAPI
//! document (`GET /api/openapi.json`) is built from the same registrations.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, Response, header};
use axum::routing::any;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};

/// The default rules of tower-http, except for responses marked [`Uncompressed`].
#[derive(Clone, Copy, Default)]
struct Compressible;

impl Predicate for Compressible {
    fn should_compress<B>(&self, response: &axum::http::Response<B>) -> bool
    where
        B: axum::body::HttpBody,
    {
        response.extensions().get::<Uncompressed>().is_none()
            && DefaultPredicate::new().should_compress(response)
    }
}
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{AppError, RequestRefusal};
use crate::openapi::Document;
use crate::state::AppState;
use crate::web::Uncompressed;

/// The Medimail session header (README, "HTTP").
pub const SESSION_HEADER: &str = "x-medimail-session";

/// Builds the whole application.
pub fn app(state: AppState) -> Router {
    let mut api = OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(crate::health::router())
        .merge(crate::openapi::router())
        .merge(crate::auth::routes::router())
        .merge(crate::auth::webmail_routes::router())
        .merge(crate::auth::psc_routes::router())
        .merge(crate::account::routes::router())
        .merge(crate::account::administration_routes::router())
        .merge(crate::envelope::routes::router())
        .merge(crate::envelope::draft::router())
        .merge(crate::envelope::subfolders::router())
        .merge(crate::directory::routes::router());
    if state.dev_identity.is_some() {
        api = api.merge(crate::auth::dev_identity::router());
    }
    let (api, mut description) = api.split_for_parts();
    let (pages, pages_description) = OpenApiRouter::default()
        .merge(crate::auth::dialog::router())
        .merge(crate::account::routes::pages())
        .merge(crate::addin::router(state.addin()))
        .split_for_parts();
    description.merge(pages_description);
    let document = Document::new(&description).expect("the OpenAPI document serialises");

    let api = api
        .layer(Extension(document))
        .route("/api", any(api_not_found))
        .route("/api/", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .method_not_allowed_fallback(wrong_method)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    let x_request_id = HeaderName::from_static("x-request-id");
    let layers = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static(SESSION_HEADER),
        ]))
        // Our own id for every request: one a client sends is only logged beside it.
        .layer(axum::middleware::map_request(set_aside_client_request_id))
        .layer(SetRequestIdLayer::new(
            x_request_id.clone(),
            MakeRequestUuid,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(x_request_id))
        .layer(security_header(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(CompressionLayer::new().compress_when(Compressible))
        // Every HTML response has a policy: the pages set their own; any other (whatever
        // route or file produced it) gets one that runs nothing and cannot be framed.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            html_without_policy,
        ));

    let deadline = Duration::from_secs(state.config.request_timeout_seconds.max(1));
    Router::new()
        .merge(api)
        .merge(pages)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(deadline, bounded))
        .layer(layers)
        .layer(axum::middleware::from_fn(crate::metrics::track_request))
}

/// Every request ends within `deadline` (`MEDIMAIL_REQUEST_TIMEOUT_SECONDS`), or is
/// answered 408 `request_timeout` (its work dropped: an open transaction rolls back).
/// Attachment transfers are not bounded here: they last as long as the file takes.
async fn bounded(
    axum::extract::State(deadline): axum::extract::State<Duration>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if is_transfer(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                seconds = deadline.as_secs(),
                "request took too long: 408 request_timeout"
            );
            AppError::from(RequestRefusal::TimedOut).into_response()
        }
    }
}

/// "Envoyer" (the attachments stream in) and an attachment's download.
fn is_transfer(method: &axum::http::Method, path: &str) -> bool {
    let envelopes = medimail_api::paths::ENVELOPES;
    (method == axum::http::Method::POST && path.trim_end_matches('/') == envelopes)
        || (method == axum::http::Method::GET
            && path.starts_with(envelopes)
            && path.contains("/attachments/"))
}

/// The policy of an HTML response that came without one.
pub const FALLBACK_HTML_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn html_without_policy(response: &Response<Body>) -> Option<HeaderValue> {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    html.then(|| HeaderValue::from_static(FALLBACK_HTML_POLICY))
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

async fn api_not_found() -> AppError {
    AppError::NotFound
}

/// A known path with another method: the JSON error body, never axum's empty 405.
async fn wrong_method() -> AppError {
    RequestRefusal::WrongMethod.into()
}

/// The `X-Request-Id` a client sent: kept aside (at most 64 characters among
/// `A-Za-z0-9._-`, anything else replaced) for the log, never used as the request's id.
#[derive(Clone, Debug)]
pub struct ClientRequestId(pub String);

async fn set_aside_client_request_id(mut request: Request<Body>) -> Request<Body> {
    if let Some(sent) = request.headers_mut().remove("x-request-id") {
        let cleaned: String = sent
            .as_bytes()
            .iter()
            .take(64)
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"._-".contains(b) {
                    *b as char
                } else {
                    '_'
                }
            })
            .collect();
        request.extensions_mut().insert(ClientRequestId(cleaned));
    }
    request
}

/// One span per request: its id (and the client's, if it sent one), method and path.
/// Never the query string (it may carry search terms), headers or body.
fn make_span(request: &Request<Body>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let client_request_id = request
        .extensions()
        .get::<ClientRequestId>()
        .map_or("-", |c| c.0.as_str());
    tracing::info_span!(
        "request",
        request_id = %request_id,
        client_request_id = %client_request_id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

fn on_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "response"
    );
}
