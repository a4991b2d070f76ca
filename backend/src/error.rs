//! The one error type of the HTTP layer, and the shape of every refusal.
//!
//! Every handler returns `Result<_, AppError>`. The answer is always the JSON body of
//! [`medimail_api::ErrorBody`]: a stable `code` for programs and a French `message` for
//! the user. Internal causes are logged, never sent to the client.
//!
//! A feature says why it refuses with an enum of its own that implements [`Refusal`]
//! (status, stable code, French message); `?` turns it into an [`AppError`]. This module
//! imports nothing of the features: they depend on it, never the reverse.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medimail_api::ErrorBody;

/// A refusal the user can act on: what each feature's refusal enum implements.
pub trait Refusal {
    /// The HTTP status of the answer.
    fn status(&self) -> StatusCode;
    /// The stable code programs test (`code` of the error body).
    fn code(&self) -> &'static str;
    /// The French sentence shown to the user.
    fn message(&self) -> String;
    /// The form field the refusal is about, if any.
    fn field(&self) -> Option<&'static str> {
        None
    }
    /// Seconds before trying again is worth it (also sent as `Retry-After`).
    fn retry_after_seconds(&self) -> Option<u64> {
        None
    }
    /// The error body of this refusal.
    fn body(&self) -> ErrorBody {
        let mut body = ErrorBody::new(self.code(), self.message());
        if let Some(field) = self.field() {
            body = body.on_field(field);
        }
        body.retry_after_seconds = self.retry_after_seconds();
        body
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: the API path does not exist (or the caller may not know that it does).
    #[error("not found")]
    NotFound,

    /// 401 (503 when the identity provider cannot be reached): the Office token was
    /// refused. `reason` is logged at debug level; the token is never echoed.
    #[error("office token refused: {reason}")]
    Unauthorized {
        status: StatusCode,
        body: Box<ErrorBody>,
        reason: String,
    },

    /// 503: the database did not answer.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(#[source] sea_orm::DbErr),

    /// A refusal the user can act on (wrong code, rate limit, locked account, invalid
    /// input…): the status given, with its stable code and French message.
    #[error("request refused: {}", .1.code)]
    Rejected(StatusCode, Box<ErrorBody>),

    /// 500: anything else. The cause is logged; the client gets a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The refusals of the HTTP layer itself (what axum's extractors and router reject).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestRefusal {
    /// The body is not the JSON expected.
    Unreadable,
    /// The query string does not fit the endpoint.
    BadQuery,
    /// The body is larger than the endpoint takes.
    TooLarge,
    /// The path exists, not with this method.
    WrongMethod,
    /// A multipart body without its boundary, or not multipart.
    NotMultipart,
    /// The request took longer than `MEDIMAIL_REQUEST_TIMEOUT_SECONDS`.
    TimedOut,
}

impl Refusal for RequestRefusal {
    fn status(&self) -> StatusCode {
        match self {
            RequestRefusal::Unreadable
            | RequestRefusal::BadQuery
            | RequestRefusal::NotMultipart => StatusCode::BAD_REQUEST,
            RequestRefusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestRefusal::WrongMethod => StatusCode::METHOD_NOT_ALLOWED,
            RequestRefusal::TimedOut => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            RequestRefusal::Unreadable => "invalid_request",
            RequestRefusal::BadQuery => "invalid_query",
            RequestRefusal::TooLarge => "request_too_large",
            RequestRefusal::WrongMethod => "method_not_allowed",
            RequestRefusal::NotMultipart => "invalid_request",
            RequestRefusal::TimedOut => "request_timeout",
        }
    }

    fn message(&self) -> String {
        match self {
            RequestRefusal::Unreadable | RequestRefusal::NotMultipart => {
                "La demande envoyée au serveur Medimail est illisible. Rechargez le volet et \
                 réessayez."
            }
            RequestRefusal::BadQuery => {
                "Les paramètres de la demande sont illisibles. Rechargez le volet et réessayez."
            }
            RequestRefusal::TooLarge => {
                "La demande dépasse la taille acceptée par le serveur Medimail (25 Mo de pièces \
                 jointes au plus)."
            }
            RequestRefusal::WrongMethod => {
                "Cette adresse du serveur Medimail n'accepte pas cette opération."
            }
            RequestRefusal::TimedOut => {
                "Le serveur Medimail n'a pas pu traiter votre demande à temps. Réessayez dans \
                 quelques instants."
            }
        }
        .to_owned()
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized { status, .. } => *status,
            AppError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Rejected(status, _) => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body sent to the client: stable code, French message.
    pub fn body(&self) -> ErrorBody {
        match self {
            AppError::NotFound => ErrorBody::new(
                "not_found",
                "Cette adresse n'existe pas sur le serveur Medimail.",
            ),
            AppError::Unauthorized { body, .. } => body.as_ref().clone(),
            AppError::DatabaseUnavailable(_) => ErrorBody::new(
                "database_unavailable",
                "Le serveur Medimail ne parvient pas à joindre sa base de données. \
                 Réessayez dans quelques instants ; si le problème persiste, prévenez \
                 votre service informatique.",
            ),
            AppError::Rejected(_, body) => body.as_ref().clone(),
            AppError::Internal(_) => ErrorBody::new(
                "internal_error",
                "Une erreur inattendue s'est produite sur le serveur Medimail. \
                 Réessayez ; si le problème persiste, prévenez votre service informatique.",
            ),
        }
    }

    /// The request body is not the JSON expected.
    pub fn unreadable(detail: impl std::fmt::Display) -> Self {
        tracing::debug!(%detail, "unreadable request body");
        RequestRefusal::Unreadable.into()
    }

    /// Wraps an internal failure (logged, never shown).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        AppError::Internal(detail.to_string())
    }
}

impl<R: Refusal> From<R> for AppError {
    fn from(refusal: R) -> Self {
        AppError::Rejected(refusal.status(), Box::new(refusal.body()))
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::Internal(format!("database: {err}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::NotFound => {}
            AppError::Rejected(status, body) => {
                tracing::debug!(status = status.as_u16(), code = %body.code, "request refused")
            }
            AppError::Unauthorized { status, reason, .. }
                if *status == StatusCode::SERVICE_UNAVAILABLE =>
            {
                tracing::warn!(%reason, "identity provider unavailable")
            }
            AppError::Unauthorized { reason, .. } => {
                tracing::debug!(%reason, "office token refused")
            }
            other => tracing::error!(error = %other, "request failed"),
        }
        let body = self.body();
        crate::metrics::refusal(&body.code);
        let retry_after = body.retry_after_seconds;
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if matches!(self, AppError::Unauthorized { .. })
            && self.status() == StatusCode::UNAUTHORIZED
        {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
