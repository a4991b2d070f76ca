//! The HTTP building blocks every feature's `routes.rs` uses, below the features: the
//! JSON body and query extractors whose rejection is the app's JSON error body, and the
//! response marker that turns compression off.
//!
//! Handlers take [`Json`] and [`Query`] from here, never axum's own: a body or a query
//! string that does not fit answers `invalid_request` / `invalid_query` (French message,
//! JSON body), never axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{AppError, RequestRefusal};

/// A JSON body in, a JSON body out. Read whatever the `Content-Type` (the pane always
/// sends JSON; refusing a missing header would only break older panes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let bytes = Bytes::from_request(request, state).await?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(AppError::unreadable)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A query string deserialised into `T`; unknown or malformed values answer
/// `invalid_query`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// Path parameters; a parameter that does not decode answers 404 (as an unknown path).
#[derive(Clone, Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// A multipart body; a request that is not multipart answers `invalid_request`.
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        Ok(Multipart(
            axum::extract::Multipart::from_request(request, state).await?,
        ))
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            RequestRefusal::TooLarge.into()
        } else {
            AppError::unreadable(rejection.body_text())
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        tracing::debug!(detail = %rejection.body_text(), "unreadable query string");
        RequestRefusal::BadQuery.into()
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        tracing::debug!(detail = %rejection.body_text(), "undecodable path parameter");
        AppError::NotFound
    }
}

impl From<MultipartRejection> for AppError {
    fn from(rejection: MultipartRejection) -> Self {
        tracing::debug!(detail = %rejection.body_text(), "not a multipart body");
        RequestRefusal::NotMultipart.into()
    }
}

/// A response extension: never compress this response (decrypted attachments: already
/// compressed formats mostly, large, streamed, and secret — compressing secrets next to
/// attacker-chosen data invites BREACH-style guessing).
#[derive(Clone, Copy, Debug)]
pub struct Uncompressed;

/// Declares a handler's bundle of values from the application state, extracted like
/// `State` but several at once: a struct whose every field is a type the state provides
/// (`Field: FromRef<S>`), so that a router asks for exactly those values.
///
/// ```text
/// state_values! {
///     /// What the strong authentication works with.
///     struct Strong { db: DatabaseConnection, keys: Arc<Keys>, clock: Clock }
/// }
/// ```
#[macro_export]
macro_rules! state_values {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone)]
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }

        impl<S> ::axum::extract::FromRequestParts<S> for $name
        where
            S: Send + Sync,
            $($ty: ::axum::extract::FromRef<S>,)*
        {
            type Rejection = ::std::convert::Infallible;

            async fn from_request_parts(
                _: &mut ::axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                Ok($name { $($field: ::axum::extract::FromRef::from_ref(state)),* })
            }
        }
    };
}
