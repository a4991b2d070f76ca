//! The envelopes' HTTP API: "Envoyer" (`POST /api/envelopes`, multipart: first the part
//! `envelope`, JSON [`medimail_api::EnvelopeDraft`], then up to 5 parts `attachment`),
//! the folders (`GET /api/envelopes?folder=…&page=…&q=…`), reading an envelope and
//! downloading its attachments, and moving it between folders. Signed-in callers only.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use medimail_api::{EnvelopeList, EnvelopeListQuery, EnvelopeSealed, EnvelopeView, limits, paths};
use sea_orm::DatabaseConnection;

use super::folders::{self, FolderAction};
use super::read;
use super::seal;
use super::stores::Stores;
use crate::auth::session::{Gate, SignedIn};
use crate::client::ClientAddress;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::AppError;
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::storage::BlobStore;
use crate::web::{Json, Multipart, Path, Query, Uncompressed};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Arc<Mailer>: FromRef<S>,
    Arc<Config>: FromRef<S>,
    BlobStore: FromRef<S>,
    Clock: FromRef<S>,
    Gate: FromRef<S>,
{
    Router::new()
        .route(
            paths::ENVELOPES,
            get(list)
                .post(send)
                .layer(DefaultBodyLimit::max(limits::MAX_SEND_REQUEST_BYTES)),
        )
        .route("/api/envelopes/{reference}", get(open).delete(remove))
        .route("/api/envelopes/{reference}/attachments/{id}", get(download))
        .route("/api/envelopes/{reference}/delete", post(move_to_deleted))
        .route("/api/envelopes/{reference}/restore", post(restore))
}

/// The stores an envelope request works with, from the application state.
struct Envelopes {
    db: DatabaseConnection,
    keys: Arc<Keys>,
    blobs: BlobStore,
    clock: Clock,
}

impl Envelopes {
    fn stores(&self) -> Stores<'_> {
        Stores {
            db: &self.db,
            keys: &self.keys,
            blobs: &self.blobs,
        }
    }
}

impl<S> axum::extract::FromRequestParts<S> for Envelopes
where
    S: Send + Sync,
    DatabaseConnection: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    BlobStore: FromRef<S>,
    Clock: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Envelopes {
            db: FromRef::from_ref(state),
            keys: FromRef::from_ref(state),
            blobs: FromRef::from_ref(state),
            clock: FromRef::from_ref(state),
        })
    }
}

/// "Envoyer".
async fn send(
    envelopes: Envelopes,
    State(mailer): State<Arc<Mailer>>,
    State(config): State<Arc<Config>>,
    signed_in: SignedIn,
    ClientAddress(client): ClientAddress,
    Multipart(mut multipart): Multipart,
) -> Result<(StatusCode, Json<EnvelopeSealed>), AppError> {
    let sealed = seal::send(
        envelopes.stores(),
        &signed_in.account,
        client,
        &mut multipart,
        &config.origin(),
        envelopes.clock.now(),
    )
    .await?;
    mailer.wake();
    Ok((StatusCode::CREATED, Json(sealed)))
}

/// A page of a folder.
async fn list(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
    Query(query): Query<EnvelopeListQuery>,
) -> Result<Json<EnvelopeList>, AppError> {
    Ok(Json(folders::list(&db, &signed_in.account, query).await?))
}

/// An envelope, opened.
async fn open(
    envelopes: Envelopes,
    State(mailer): State<Arc<Mailer>>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Json<EnvelopeView>, AppError> {
    let (view, mail_queued) = read::open(
        envelopes.stores(),
        &signed_in.account,
        &reference,
        envelopes.clock.now(),
    )
    .await?;
    if mail_queued {
        mailer.wake();
    }
    Ok(Json(view))
}

/// An attachment, decrypted as it streams out; an altered blob ends the stream with an
/// error (the client sees a truncated download, never unauthenticated bytes past the bad
/// chunk). Never compressed.
async fn download(
    envelopes: Envelopes,
    signed_in: SignedIn,
    Path((reference, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let read::Download { file, stream } = read::download(
        envelopes.stores(),
        &signed_in.account,
        &reference,
        &id,
        envelopes.clock.now(),
    )
    .await?;
    let mut response = Response::new(Body::from_stream(stream));
    response.extensions_mut().insert(Uncompressed);
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(v) = HeaderValue::from_str(&read::content_disposition(
        &file.safe_name,
        &file.display_name,
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(file.size.max(0) as u64),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// "Supprimer": to "Messages supprimés", for the caller only.
async fn move_to_deleted(
    State(db): State<DatabaseConnection>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    folders::apply(
        &db,
        &signed_in.account,
        &reference,
        FolderAction::Delete,
        clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Back from "Messages supprimés".
async fn restore(
    State(db): State<DatabaseConnection>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    folders::apply(
        &db,
        &signed_in.account,
        &reference,
        FolderAction::Restore,
        clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Supprimer définitivement" (from "Messages supprimés"), for the caller only.
async fn remove(
    State(db): State<DatabaseConnection>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    folders::apply(
        &db,
        &signed_in.account,
        &reference,
        FolderAction::Remove,
        clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
