//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the HTTP API, generated (utoipa)
//! from the contract types of `medimail-api` and from the routes themselves.
//!
//! Each feature registers its handlers with `utoipa_axum::routes!`, which mounts the
//! handler and adds its `#[utoipa::path]` description in one call: a handler cannot be
//! routed that way without a description, and `http::app` builds the router and the
//! document from the same registrations. What an endpoint refuses is described from the
//! refusal values themselves ([`refusals!`]), so the codes, statuses and French messages
//! of the document are the ones the server sends.
//!
//! The document describes; it serves no data, so it needs no sign-in. It is serialised
//! once, when the router is built.

use axum::Extension;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use medimail_api::{ErrorBody, SESSION_HEADER, paths};
use std::collections::BTreeMap;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{AppError, Refusal};

/// The security scheme of the Office access token (`Authorization: Bearer …`).
pub const OFFICE_TOKEN: &str = "office_token";
/// The security scheme of the Medimail session (`X-Medimail-Session`).
pub const SESSION: &str = "medimail_session";
/// The security scheme of the webmail session (the `__Host-medimail-session` cookie; every
/// state-changing request also carries `X-Medimail-Csrf`).
pub const WEBMAIL_SESSION: &str = "webmail_session";

/// The document every feature's registrations are added to: title, version, the two
/// security schemes and the error body's schema.
pub fn base() -> OpenApi {
    let mut api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Medimail for Outlook")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The HTTP API of the Medimail for Outlook server, used by its task pane. \
                     Every refusal answers the JSON error body `ErrorBody`: a stable `code` \
                     for programs and a French `message` for the user.",
                ))
                .build(),
        )
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        OFFICE_TOKEN,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "The Office access token of the user (`Office.auth.getAccessToken()`, or \
                     the sign-in dialog's token): RS256, audience the add-in, scope \
                     `access_as_user`, from an allowed tenant.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            SESSION_HEADER,
            "The Medimail session token that `POST /api/auth/session` answers (code and \
             passphrase), sent with the Office token: 30 minutes idle, 12 hours in all. \
             The same answer sets it as the `__Host-medimail-pane` cookie (HttpOnly, \
             SameSite=None, Partitioned), which a reopened pane sends instead of the \
             header, always with the Office token of the identity that opened it.",
        ))),
    );
    components.add_security_scheme(
        WEBMAIL_SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            medimail_api::SESSION_COOKIE,
            "The webmail session that `POST /api/webmail/session` sets (HttpOnly, Secure, \
             SameSite=Strict): 30 minutes idle, 12 hours in all. Every state-changing \
             request carries the session's CSRF token as `X-Medimail-Csrf`. It stands in \
             for both the Office token and `X-Medimail-Session` on every signed-in call.",
        ))),
    );
    components
        .schemas
        .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    api
}

/// What a value adds to the refusals of an endpoint: a refusal enum's value, an
/// [`AppError`], or a list of them (what an extractor refuses).
pub trait Refusals {
    fn append_to(self, all: &mut Vec<AppError>);
}

impl<R: Refusal> Refusals for R {
    fn append_to(self, all: &mut Vec<AppError>) {
        all.push(self.into());
    }
}

impl Refusals for AppError {
    fn append_to(self, all: &mut Vec<AppError>) {
        all.push(self);
    }
}

impl Refusals for Vec<AppError> {
    fn append_to(self, all: &mut Vec<AppError>) {
        all.extend(self);
    }
}

/// The responses of these refusals, one per status: the error body's schema, one example
/// per code (its French message and field, as sent), and the headers the server adds
/// (`Retry-After` for a delay, `WWW-Authenticate` for a refused Office token).
pub fn responses(refusals: Vec<AppError>) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let mut by_status: BTreeMap<u16, Vec<AppError>> = BTreeMap::new();
    for refusal in refusals {
        by_status
            .entry(refusal.status().as_u16())
            .or_default()
            .push(refusal);
    }
    by_status
        .into_iter()
        .map(|(status, refusals)| (status.to_string(), RefOr::T(response(refusals))))
        .collect()
}

fn response(refusals: Vec<AppError>) -> utoipa::openapi::Response {
    let mut codes: Vec<String> = Vec::new();
    let mut examples = Vec::new();
    let mut retry_after = false;
    let mut bearer_challenge = false;
    for refusal in &refusals {
        let body = refusal.body();
        retry_after |= body.retry_after_seconds.is_some();
        bearer_challenge |= matches!(refusal, AppError::Unauthorized { status, .. }
            if *status == StatusCode::UNAUTHORIZED);
        if codes.contains(&body.code) {
            continue;
        }
        codes.push(body.code.clone());
        let value = serde_json::to_value(&body).ok();
        examples.push((
            body.code.clone(),
            ExampleBuilder::new()
                .summary(body.code.clone())
                .value(value)
                .build(),
        ));
    }
    let list = codes
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = ResponseBuilder::new()
        .description(format!("Refused: {list}."))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .examples_from_iter(examples)
                .build(),
        );
    if retry_after {
        response = response.header(
            header::RETRY_AFTER.as_str(),
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                .description(Some(
                    "Seconds before trying again is useful (the body's `retry_after_seconds`).",
                ))
                .build(),
        );
    }
    if bearer_challenge {
        response = response.header(
            header::WWW_AUTHENTICATE.as_str(),
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some("`Bearer`."))
                .build(),
        );
    }
    response.build()
}

/// Declares the refusals of an endpoint as a type for `#[utoipa::path(responses(…))]`:
///
/// ```text
/// refusals! {
///     /// What the search refuses.
///     SearchRefusals = [signed_in(), DirectoryRefusal::CriteriaTooShort];
/// }
/// ```
///
/// Each item is anything [`Refusals`] takes: a refusal value, an [`AppError`], a list.
macro_rules! refusals {
    ($($(#[$meta:meta])* $name:ident = [$($refusal:expr),* $(,)?];)*) => {$(
        $(#[$meta])*
        pub(crate) struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::Response>,
            > {
                let mut all = Vec::new();
                $($crate::openapi::Refusals::append_to($refusal, &mut all);)*
                $crate::openapi::responses(all)
            }
        }
    )*};
}
pub(crate) use refusals;

/// The document as served, serialised once.
#[derive(Clone)]
pub struct Document(Bytes);

impl Document {
    pub fn new(api: &OpenApi) -> Result<Self, serde_json::Error> {
        Ok(Document(api.to_json()?.into()))
    }
}

/// `GET /api/openapi.json`; the document reaches it as an extension ([`Document`]),
/// added by `http::app` once every route is registered.
pub fn router<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::default().routes(routes!(openapi_json))
}

/// The OpenAPI 3.1 description of this API.
///
/// Public: it describes the endpoints and serves no data.
#[utoipa::path(
    get,
    path = paths::OPENAPI,
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document.", body = Object)),
)]
async fn openapi_json(Extension(Document(json)): Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}
