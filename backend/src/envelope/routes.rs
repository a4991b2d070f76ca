//! The envelopes' HTTP API: "Envoyer" (`POST /api/envelopes`, multipart: first the part
//! `envelope`, JSON [`medimail_api::EnvelopeDraft`], then up to 5 parts `attachment`),
//! the folders (`GET /api/envelopes?folder=…&page=…&q=…`), reading an envelope and
//! downloading its attachments, and moving it between folders. Signed-in callers only.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Months, Utc};
use medimail_api::{
    EnvelopeDraft, EnvelopeList, EnvelopeListQuery, EnvelopeSealed, EnvelopeView,
    WrongRecipientReport, WrongRecipientReported, limits, paths,
};
use sea_orm::DatabaseConnection;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::folders::{self, FolderAction};
use super::read;
use super::refusal::EnvelopeRefusal;
use super::rules;
use super::seal;
use super::stores::Stores;
use crate::auth::openapi::signed_in;
use crate::auth::session::{Gate, SignedIn, Via};
use crate::client::ClientAddress;
use crate::clock::Clock;
use crate::config::{Config, WebmailMode};
use crate::error::{AppError, RequestRefusal};
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::openapi::refusals;
use crate::storage::BlobStore;
use crate::web::{Json, Multipart, Path, Query, Uncompressed};

pub fn router<S>() -> OpenApiRouter<S>
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
    OpenApiRouter::default()
        .routes(routes!(list, send).layer(DefaultBodyLimit::max(limits::MAX_SEND_REQUEST_BYTES)))
        .routes(routes!(open, remove))
        .routes(routes!(download))
        .routes(routes!(move_to_deleted))
        .routes(routes!(restore))
        .routes(routes!(report_wrong_recipient))
}

/// A date for the examples of the opening window's refusals.
fn example_date() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

/// What the rules of a draft refuse, produced by the rules themselves from drafts that
/// break them (so the codes and messages are the ones sent).
fn draft_refusals() -> Vec<AppError> {
    let sealed_at = example_date();
    let too_many: Vec<String> = (0..=limits::MAX_RECIPIENTS)
        .map(|n| format!("d{n}@chu-exemple.fr"))
        .collect();
    let long_name = "a".repeat(limits::MAX_FILE_NAME_CHARS + 1);
    let too_late = sealed_at.checked_add_months(Months::new(4));
    [
        rules::recipients(&["pas une adresse".to_owned()], &[]).err(),
        rules::recipients(&[], &[]).err(),
        rules::recipients(&too_many, &[]).err(),
        rules::subject(" ").err(),
        rules::subject(&"a".repeat(limits::MAX_SUBJECT_CHARS + 1)).err(),
        rules::file_name(&long_name).err(),
        rules::file_name("..").err(),
        rules::attachment_count(limits::MAX_ATTACHMENTS + 1).err(),
        rules::attachment_size("compte-rendu.pdf", 0, 0).err(),
        rules::attachment_size("irm.zip", 1, limits::MAX_ATTACHMENTS_TOTAL_BYTES + 1).err(),
        rules::opening_window(Some(sealed_at), Some(sealed_at), sealed_at).err(),
        rules::opening_window(None, too_late, sealed_at).err(),
    ]
    .into_iter()
    .flatten()
    .map(AppError::from)
    .collect()
}

refusals! {
    ListRefusals = [
        signed_in(),
        RequestRefusal::BadQuery,
        EnvelopeRefusal::FolderUnknown,
        EnvelopeRefusal::CursorInvalid,
        super::subfolders::FolderRefusal::NotFound,
    ];
    SendRefusals = [
        signed_in(),
        RequestRefusal::NotMultipart,
        RequestRefusal::TooLarge,
        EnvelopeRefusal::UploadInterrupted,
        EnvelopeRefusal::BodyTooLarge,
        EnvelopeRefusal::OpeningUnreadable,
        EnvelopeRefusal::ForwardAttachmentUnknown,
        EnvelopeRefusal::BodyMissing,
        EnvelopeRefusal::ReplyOnly,
        EnvelopeRefusal::IdempotencyKeyInvalid,
        EnvelopeRefusal::QuotaExceeded {
            until: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
            wait: 1200,
            recipients: false,
            limit: 200,
        },
        EnvelopeRefusal::StampsExhausted { allocated: 100 },
        draft_refusals(),
        AppError::NotFound,
    ];
    ReportRefusals = [RequestRefusal::Unreadable, EnvelopeRefusal::ReportUnknown];
    OpenRefusals = [
        signed_in(),
        AppError::NotFound,
        EnvelopeRefusal::NotOpenYet(example_date()),
        EnvelopeRefusal::Closed(example_date()),
    ];
    MoveRefusals = [signed_in(), AppError::NotFound];
    RemoveRefusals = [signed_in(), AppError::NotFound, EnvelopeRefusal::NotDeleted];
}

/// The form "Envoyer" sends (`multipart/form-data`), described for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SendForm {
    /// First part: the draft, JSON.
    envelope: EnvelopeDraft,
    /// Then up to 5 parts `attachment`, one file each (its name in the part's
    /// `filename`); 25 Mo in all, forwarded files included.
    #[schema(value_type = Vec<String>, format = Binary, max_items = 5, required = false)]
    attachment: Vec<Vec<u8>>,
}

crate::state_values! {
    /// The stores an envelope request works with, from the application state.
    struct Envelopes {
        db: DatabaseConnection,
        keys: Arc<Keys>,
        blobs: BlobStore,
        clock: Clock,
    }
}

impl Envelopes {
    fn stores(&self) -> Stores<'_> {
        Stores {
            db: &self.db,
            keys: &self.keys,
            blobs: &self.blobs,
            clock: &self.clock,
        }
    }
}

/// "Signaler": the notification's recipient says it was not for them (no sign-in: the
/// token of the link proves the mail). The sender is told by mail; the envelope shows
/// the event. Once per recipient.
#[utoipa::path(
    post,
    path = paths::WRONG_RECIPIENT,
    tag = "envelopes",
    request_body = WrongRecipientReport,
    responses(
        (status = 200, description = "Recorded.", body = WrongRecipientReported),
        ReportRefusals,
    ),
)]
async fn report_wrong_recipient(
    State(db): State<DatabaseConnection>,
    State(keys): State<Arc<Keys>>,
    State(mailer): State<Arc<Mailer>>,
    State(clock): State<Clock>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<WrongRecipientReport>,
) -> Result<Json<WrongRecipientReported>, AppError> {
    let reported = super::report::report(&db, &keys, &request.token, client, clock.now())
        .await?
        .ok_or(EnvelopeRefusal::ReportUnknown)?;
    if reported.first {
        mailer.wake();
    }
    Ok(Json(reported))
}

/// "Envoyer": seals and sends an envelope.
///
/// Multipart: the part `envelope` first, then up to 5 parts `attachment`. The files are
/// encrypted as they stream in; a refusal stores nothing. With an `Idempotency-Key`
/// header, the same key again (a retry after a lost answer, or twice at once) answers
/// the envelope already sealed instead of sealing another.
#[utoipa::path(
    post,
    path = paths::ENVELOPES,
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 64 characters among `A-Za-z0-9_-`, new for each message: the same key again answers the envelope already sealed.")),
    request_body(
        content = SendForm,
        content_type = "multipart/form-data",
        encoding(("envelope" = (content_type = "application/json"))),
    ),
    responses(
        (status = 201, description = "Sealed and sent.", body = EnvelopeSealed),
        SendRefusals,
    ),
)]
async fn send(
    envelopes: Envelopes,
    State(mailer): State<Arc<Mailer>>,
    State(config): State<Arc<Config>>,
    signed_in: SignedIn,
    ClientAddress(client): ClientAddress,
    headers: axum::http::HeaderMap,
    Multipart(mut multipart): Multipart,
) -> Result<(StatusCode, Json<EnvelopeSealed>), AppError> {
    let idempotency_key = idempotency_key(&headers)?;
    let origin = config.origin();
    let support = config.support_link();
    let operators = super::operators::Operators::of(&config);
    let notices = seal::Notices {
        origin: &origin,
        host: config.public_origin.host_str().unwrap_or("localhost"),
        support: &support,
        operators: &operators,
    };
    let replies_only = signed_in.via == Via::Webmail && signed_in.webmail != WebmailMode::All;
    let sealed = seal::send(
        envelopes.stores(),
        &signed_in.account,
        client,
        &mut multipart,
        &notices,
        replies_only,
        idempotency_key.as_deref(),
        seal::SendLimits {
            quota: super::quota::Quota::of(&config),
            upload_idle: std::time::Duration::from_secs(config.transfer_idle_seconds.max(1)),
        },
        envelopes.clock.now(),
    )
    .await?;
    mailer.wake();
    Ok((StatusCode::CREATED, Json(sealed)))
}

/// The `Idempotency-Key` header, if any: 1 to 64 characters among `A-Za-z0-9_-`.
fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("");
    if key.is_empty()
        || key.len() > 64
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(EnvelopeRefusal::IdempotencyKeyInvalid.into());
    }
    Ok(Some(key.to_owned()))
}

/// A page of a folder ("Messages reçus", "Messages envoyés", "Messages supprimés").
///
/// Newest first, 50 a page; `q` searches the title and the sender.
#[utoipa::path(
    get,
    path = paths::ENVELOPES,
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(EnvelopeListQuery),
    responses(
        (status = 200, description = "The page.", body = EnvelopeList),
        ListRefusals,
    ),
)]
async fn list(
    State(db): State<DatabaseConnection>,
    State(keys): State<Arc<Keys>>,
    signed_in: SignedIn,
    Query(query): Query<EnvelopeListQuery>,
) -> Result<Json<EnvelopeList>, AppError> {
    Ok(Json(
        folders::list(&db, &keys, &signed_in.account, query).await?,
    ))
}

/// An envelope, opened, for its sender or one of its recipients (anyone else: 404).
///
/// A recipient's first opening records an `opened` event and mails the sender; outside
/// the opening window a recipient gets 403 with the dates and no content.
#[utoipa::path(
    get,
    path = "/api/envelopes/{reference}",
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("reference" = String, Path, description = "The envelope's reference.")),
    responses(
        (status = 200, description = "The envelope.", body = EnvelopeView),
        OpenRefusals,
    ),
)]
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

/// An attachment, decrypted as it streams out.
///
/// Records a `downloaded` event. Never compressed.
#[utoipa::path(
    get,
    path = "/api/envelopes/{reference}/attachments/{id}",
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(
        ("reference" = String, Path, description = "The envelope's reference."),
        ("id" = String, Path, description = "The attachment's id (`attachments[].id`)."),
    ),
    responses(
        (
            status = 200,
            description = "The file, always as `application/octet-stream` (the type the sender's browser gave is `attachments[].content_type`), named after its safe name without format characters.",
            content(("application/octet-stream")),
            headers(
                ("Content-Disposition" = String, description = "`attachment; filename=\"…\"; filename*=UTF-8''…` (RFC 6266)."),
                ("Content-Length" = u64),
            ),
        ),
        OpenRefusals,
    ),
)]
// An altered blob ends the stream with an error (the client sees a truncated download,
// never unauthenticated bytes past the bad chunk).
async fn download(
    envelopes: Envelopes,
    signed_in: SignedIn,
    Path((reference, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let read::Download { file, meta, stream } = read::download(
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
    // Never the type the sender's browser gave (text/html, image/svg+xml…): a file to
    // save, which nothing renders on this origin. The reader sees the original type in
    // the envelope (`attachments[].content_type`).
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&read::content_disposition(&meta.safe_name)) {
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
#[utoipa::path(
    post,
    path = "/api/envelopes/{reference}/delete",
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("reference" = String, Path, description = "The envelope's reference.")),
    responses((status = 204, description = "In \"Messages supprimés\"."), MoveRefusals),
)]
async fn move_to_deleted(
    State(db): State<DatabaseConnection>,
    State(keys): State<Arc<Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    move_in_folders(
        &db,
        &keys,
        &clock,
        &signed_in,
        &reference,
        FolderAction::Delete,
    )
    .await
}

/// Back from "Messages supprimés", for the caller only.
#[utoipa::path(
    post,
    path = "/api/envelopes/{reference}/restore",
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("reference" = String, Path, description = "The envelope's reference.")),
    responses((status = 204, description = "Back in its folder."), MoveRefusals),
)]
async fn restore(
    State(db): State<DatabaseConnection>,
    State(keys): State<Arc<Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    move_in_folders(
        &db,
        &keys,
        &clock,
        &signed_in,
        &reference,
        FolderAction::Restore,
    )
    .await
}

/// "Supprimer définitivement" (only from "Messages supprimés"), for the caller only.
#[utoipa::path(
    delete,
    path = "/api/envelopes/{reference}",
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("reference" = String, Path, description = "The envelope's reference.")),
    responses((status = 204, description = "Gone for the caller."), RemoveRefusals),
)]
async fn remove(
    State(db): State<DatabaseConnection>,
    State(keys): State<Arc<Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    move_in_folders(
        &db,
        &keys,
        &clock,
        &signed_in,
        &reference,
        FolderAction::Remove,
    )
    .await
}

/// One move between the caller's folders: only the caller's view changes.
async fn move_in_folders(
    db: &DatabaseConnection,
    keys: &Keys,
    clock: &Clock,
    signed_in: &SignedIn,
    reference: &str,
    action: FolderAction,
) -> Result<StatusCode, AppError> {
    folders::apply(db, keys, &signed_in.account, reference, action, clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
