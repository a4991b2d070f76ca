//! The one error type of the HTTP layer.
//!
//! Every handler returns `Result<_, AppError>`. The answer is always the JSON body of
//! [`medimail_api::ErrorBody`]: a stable `code` for programs and a French `message` for
//! the user. Internal causes are logged, never sent to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medimail_api::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: the API path does not exist (or the caller may not know that it does).
    #[error("not found")]
    NotFound,

    /// 401 (503 when the identity provider cannot be reached): the Office token was
    /// refused. The reason is logged at debug level; the token is never echoed.
    #[error("office token refused: {0}")]
    Unauthorized(#[source] crate::auth::office::TokenError),

    /// 503: the database did not answer.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(#[source] sea_orm::DbErr),

    /// A refusal the user can act on (wrong code, rate limit, locked account, invalid
    /// input…): the status given, with its stable code and French message.
    #[error("request refused: {}", .1.code)]
    Rejected(StatusCode, ErrorBody),

    /// 500: anything else. The cause is logged; the client gets a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized(crate::auth::office::TokenError::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
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
            AppError::Unauthorized(e) => ErrorBody::new(e.code(), e.message()),
            AppError::DatabaseUnavailable(_) => ErrorBody::new(
                "database_unavailable",
                "Le serveur Medimail ne parvient pas à joindre sa base de données. \
                 Réessayez dans quelques instants ; si le problème persiste, prévenez \
                 votre service informatique.",
            ),
            AppError::Rejected(_, body) => body.clone(),
            AppError::Internal(_) => ErrorBody::new(
                "internal_error",
                "Une erreur inattendue s'est produite sur le serveur Medimail. \
                 Réessayez ; si le problème persiste, prévenez votre service informatique.",
            ),
        }
    }
}

impl AppError {
    /// A refusal with `status`, a stable `code` and a French `message`.
    pub fn rejected(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        AppError::Rejected(status, ErrorBody::new(code, message))
    }

    /// 400/422 refusal tied to a form field.
    pub fn on_field(
        status: StatusCode,
        field: &str,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        AppError::Rejected(status, ErrorBody::new(code, message).on_field(field))
    }

    /// The request body is not the JSON expected.
    pub fn unreadable(detail: impl std::fmt::Display) -> Self {
        tracing::debug!(%detail, "unreadable request body");
        AppError::rejected(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "La demande envoyée au serveur Medimail est illisible. Rechargez le volet et réessayez.",
        )
    }
}

/// Parses a JSON body into `T`, answering `invalid_request` (French) when it does not fit.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(AppError::unreadable)
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
            AppError::Unauthorized(crate::auth::office::TokenError::Unavailable(reason)) => {
                tracing::warn!(%reason, "identity provider unavailable")
            }
            AppError::Unauthorized(reason) => tracing::debug!(%reason, "office token refused"),
            other => tracing::error!(error = %other, "request failed"),
        }
        let body = self.body();
        let retry_after = body.retry_after_seconds;
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if matches!(self, AppError::Unauthorized(_)) && self.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
