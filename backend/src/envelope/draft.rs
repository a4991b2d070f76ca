//! « Sauvegarder un brouillon » (issue 18; manual part 1 §4.1): each account keeps one
//! draft — « Un seul brouillon peut être sauvé à la fois » — with its recipients, subject,
//! message and opening conditions, never its attachments. « Sauvegarder » replaces the
//! previous one (the page asks first), « Récupérer » reads it, « Supprimer » ends it.
//! The draft is sealed at rest (AES-256-GCM under a key derived from the master key, bound
//! to the account): a copy of the database shows nothing of it.

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Utc};
use medimail_api::{EnvelopeDraft, SavedDraft, limits, paths};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::openapi::signed_in;
use crate::auth::session::{Gate, SignedIn};
use crate::clock::Clock;
use crate::envelope::entity::draft;
use crate::envelope::rules;
use crate::error::{AppError, Refusal, RequestRefusal};
use crate::keys::Keys;
use crate::openapi::refusals;
use crate::web::Json;

/// The longest address a draft keeps (RFC 5321's path limit, with room).
const MAX_ADDRESS_CHARS: usize = 320;
/// The longest opening date a draft keeps (RFC 3339 with a fraction and an offset).
const MAX_DATE_CHARS: usize = 40;

/// Why a draft is refused or absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftRefusal {
    /// « Récupérer » with nothing saved.
    None,
    /// More addresses, or longer ones, than a message may have.
    RecipientsTooMany,
    SubjectTooLong,
    DateInvalid,
}

impl Refusal for DraftRefusal {
    fn status(&self) -> StatusCode {
        match self {
            DraftRefusal::None => StatusCode::NOT_FOUND,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            DraftRefusal::None => "draft_none",
            DraftRefusal::RecipientsTooMany => "recipients_too_many",
            DraftRefusal::SubjectTooLong => "subject_too_long",
            DraftRefusal::DateInvalid => "opening_window_invalid",
        }
    }

    fn message(&self) -> String {
        match self {
            DraftRefusal::None => "Aucun brouillon n'a été sauvegardé.".to_owned(),
            DraftRefusal::RecipientsTooMany => format!(
                "Un message compte au plus {} destinataires (À et CC) : retirez-en avant de \
                 sauvegarder.",
                limits::MAX_RECIPIENTS
            ),
            DraftRefusal::SubjectTooLong => format!(
                "L'objet ne peut pas dépasser {} caractères.",
                limits::MAX_SUBJECT_CHARS
            ),
            DraftRefusal::DateInvalid => {
                "Les conditions d'ouverture ne sont pas des dates valides.".to_owned()
            }
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            DraftRefusal::None => None,
            DraftRefusal::RecipientsTooMany => Some("to"),
            DraftRefusal::SubjectTooLong => Some("subject"),
            DraftRefusal::DateInvalid => Some("opening"),
        }
    }
}

crate::state_values! {
    /// What the draft works with.
    pub struct Drafts {
        pub db: DatabaseConnection,
        pub keys: Arc<Keys>,
        pub clock: Clock,
    }
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Arc<Keys>: FromRef<S>,
    Clock: FromRef<S>,
    Gate: FromRef<S>,
{
    OpenApiRouter::default().routes(routes!(recover, save, delete))
}

refusals! {
    RecoverRefusals = [signed_in(), DraftRefusal::None];
    SaveRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        DraftRefusal::RecipientsTooMany,
        DraftRefusal::SubjectTooLong,
        DraftRefusal::DateInvalid,
        too_large_body(),
    ];
    DeleteRefusals = [signed_in()];
}

/// The refusal of a message too large, as the rules word it.
fn too_large_body() -> Vec<AppError> {
    rules::body(&"x".repeat(limits::MAX_BODY_BYTES + 1))
        .err()
        .map(AppError::from)
        .into_iter()
        .collect()
}

fn context(account_id: &str) -> String {
    format!("draft:{account_id}")
}

/// What a draft may hold: bounded, the message sanitised like a sent one; the files and
/// the forwarded envelope are not kept (the manual says so on the screen).
pub fn checked(draft: EnvelopeDraft) -> Result<EnvelopeDraft, AppError> {
    let addresses = draft.to.len() + draft.cc.len();
    if addresses > limits::MAX_RECIPIENTS
        || draft
            .to
            .iter()
            .chain(&draft.cc)
            .any(|a| a.chars().count() > MAX_ADDRESS_CHARS)
    {
        return Err(DraftRefusal::RecipientsTooMany.into());
    }
    if draft.subject.chars().count() > limits::MAX_SUBJECT_CHARS {
        return Err(DraftRefusal::SubjectTooLong.into());
    }
    let date = |d: &Option<String>| {
        d.as_deref().is_some_and(|d| {
            d.chars().count() > MAX_DATE_CHARS || DateTime::parse_from_rfc3339(d).is_err()
        })
    };
    if date(&draft.opens_from) || date(&draft.opens_until) {
        return Err(DraftRefusal::DateInvalid.into());
    }
    let body_html = if draft.body_html.trim().is_empty() {
        String::new()
    } else {
        rules::body(&draft.body_html)?
    };
    Ok(EnvelopeDraft {
        body_html,
        forward: None,
        ..draft
    })
}

/// « Sauvegarder »: the account's draft is now `draft`; whether one was replaced.
pub async fn save_for(
    db: &DatabaseConnection,
    keys: &Keys,
    account_id: &str,
    draft: EnvelopeDraft,
    now: DateTime<Utc>,
) -> Result<(EnvelopeDraft, bool), AppError> {
    let draft = checked(draft)?;
    let json = serde_json::to_vec(&draft).map_err(|e| AppError::Internal(e.to_string()))?;
    let sealed = base64::engine::general_purpose::STANDARD
        .encode(keys.seal_outbox(&context(account_id), &json));
    let txn = crate::db::begin_write(db).await?;
    let replaced = draft::Entity::find_by_id(account_id)
        .one(&txn)
        .await?
        .is_some();
    draft::Entity::insert(draft::ActiveModel {
        account_id: Set(account_id.to_owned()),
        sealed: Set(sealed),
        saved_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(draft::Column::AccountId)
            .update_columns([draft::Column::Sealed, draft::Column::SavedAt])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok((draft, replaced))
}

/// « Récupérer »: the account's draft, if one is saved.
pub async fn load_for(
    db: &DatabaseConnection,
    keys: &Keys,
    account_id: &str,
) -> Result<Option<(EnvelopeDraft, DateTime<Utc>)>, AppError> {
    let Some(row) = draft::Entity::find_by_id(account_id).one(db).await? else {
        return Ok(None);
    };
    let draft = base64::engine::general_purpose::STANDARD
        .decode(&row.sealed)
        .ok()
        .and_then(|sealed| keys.open_outbox(&context(account_id), &sealed))
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| AppError::Internal("a draft does not open with this key".into()))?;
    Ok(Some((draft, row.saved_at)))
}

fn answer(draft: EnvelopeDraft, saved_at: DateTime<Utc>, replaced: bool) -> SavedDraft {
    SavedDraft {
        draft,
        saved_at: saved_at.to_rfc3339(),
        saved_on: crate::fr::long_date_time(saved_at),
        replaced,
    }
}

/// « Récupérer »: the account's draft.
#[utoipa::path(
    get,
    path = paths::DRAFT,
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses((status = 200, description = "The draft.", body = SavedDraft), RecoverRefusals),
)]
async fn recover(drafts: Drafts, signed_in: SignedIn) -> Result<Json<SavedDraft>, AppError> {
    let (draft, saved_at) = load_for(&drafts.db, &drafts.keys, &signed_in.account.id)
        .await?
        .ok_or(DraftRefusal::None)?;
    Ok(Json(answer(draft, saved_at, false)))
}

/// « Sauvegarder »: replaces the account's draft (one at a time; attachments are not
/// kept). The message is sanitised like a sent one.
#[utoipa::path(
    put,
    path = paths::DRAFT,
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = EnvelopeDraft,
    responses((status = 200, description = "Saved; `replaced` says whether a draft was replaced.", body = SavedDraft), SaveRefusals),
)]
async fn save(
    drafts: Drafts,
    signed_in: SignedIn,
    Json(draft): Json<EnvelopeDraft>,
) -> Result<Json<SavedDraft>, AppError> {
    let now = drafts.clock.now();
    let (draft, replaced) =
        save_for(&drafts.db, &drafts.keys, &signed_in.account.id, draft, now).await?;
    Ok(Json(answer(draft, now, replaced)))
}

/// « Supprimer »: the account's draft ends (nothing to delete is not an error).
#[utoipa::path(
    delete,
    path = paths::DRAFT,
    tag = "envelopes",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses((status = 204, description = "No draft is saved any more."), DeleteRefusals),
)]
async fn delete(drafts: Drafts, signed_in: SignedIn) -> Result<StatusCode, AppError> {
    draft::Entity::delete_by_id(signed_in.account.id.clone())
        .exec(&drafts.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
