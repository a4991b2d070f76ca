//! Folders: `GET /api/envelopes?folder=inbox|sent&page=N&q=…` — newest first, 50 a page,
//! searched by title or sender (case-insensitive). Only the caller's own envelopes.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use medimail_api::{EnvelopeList, EnvelopeSummary, paths};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationDef,
};
use serde::Deserialize;

use crate::auth::session::SignedIn;
use crate::entity::{envelope, envelope_recipient};
use crate::error::AppError;
use crate::state::AppState;

pub const PER_PAGE: u64 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::ENVELOPES, get(list))
}

#[derive(Deserialize)]
struct ListQuery {
    folder: Option<String>,
    page: Option<u64>,
    q: Option<String>,
}

/// `%` and `_` typed by the user match themselves.
fn like_pattern(q: &str) -> String {
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn recipient_join() -> RelationDef {
    envelope_recipient::Entity::belongs_to(envelope::Entity)
        .from(envelope_recipient::Column::EnvelopeId)
        .to(envelope::Column::Id)
        .into()
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Json<EnvelopeList>, AppError> {
    let folder = query.folder.unwrap_or_else(|| "inbox".into());
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let me = signed_in.account.id.clone();
    let mut select = envelope::Entity::find().filter(envelope::Column::PurgedAt.is_null());
    select = match folder.as_str() {
        "sent" => select
            .filter(envelope::Column::SenderAccountId.eq(&me))
            .filter(envelope::Column::SenderDeletedAt.is_null()),
        "inbox" => select
            .join(JoinType::InnerJoin, recipient_join().rev())
            .filter(envelope_recipient::Column::AccountId.eq(&me))
            .filter(envelope_recipient::Column::DeletedAt.is_null()),
        "deleted" => {
            // Deleted by the caller as sender or as recipient, not removed for good.
            let as_sender: Vec<String> = envelope::Entity::find()
                .select_only()
                .column(envelope::Column::Id)
                .filter(envelope::Column::SenderAccountId.eq(&me))
                .filter(envelope::Column::SenderDeletedAt.is_not_null())
                .filter(envelope::Column::SenderRemovedAt.is_null())
                .into_tuple()
                .all(&state.db)
                .await?;
            let as_recipient: Vec<String> = envelope_recipient::Entity::find()
                .select_only()
                .column(envelope_recipient::Column::EnvelopeId)
                .filter(envelope_recipient::Column::AccountId.eq(&me))
                .filter(envelope_recipient::Column::DeletedAt.is_not_null())
                .filter(envelope_recipient::Column::RemovedAt.is_null())
                .into_tuple()
                .all(&state.db)
                .await?;
            select.filter(envelope::Column::Id.is_in(as_sender.into_iter().chain(as_recipient)))
        }
        _ => {
            return Err(AppError::rejected(
                StatusCode::BAD_REQUEST,
                "folder_unknown",
                "Ce dossier n'existe pas : choisissez « Messages reçus », « Messages \
                 envoyés » ou « Messages supprimés ».",
            ));
        }
    };
    if let Some(q) = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
    {
        let pattern = like_pattern(&q.chars().take(100).collect::<String>());
        select = select.filter(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col((
                        envelope::Entity,
                        envelope::Column::Subject,
                    ))))
                    .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col((
                        envelope::Entity,
                        envelope::Column::SenderMailbox,
                    ))))
                    .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col((
                        envelope::Entity,
                        envelope::Column::SenderName,
                    ))))
                    .like(LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    // The inbox is read in the order of the recipient rows' index (account, sealed_at).
    let select = if folder == "inbox" {
        select.order_by_desc(envelope_recipient::Column::SealedAt)
    } else {
        select
            .order_by_desc(envelope::Column::SealedAt)
            .order_by_desc(envelope::Column::Id)
    };
    let paginator = select.paginate(&state.db, PER_PAGE);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page - 1).await?;
    // The caller's unopened envelopes on this page, in one query.
    let unread: std::collections::HashSet<String> = if folder == "sent" {
        Default::default()
    } else {
        envelope_recipient::Entity::find()
            .select_only()
            .column(envelope_recipient::Column::EnvelopeId)
            .filter(envelope_recipient::Column::EnvelopeId.is_in(rows.iter().map(|r| r.id.clone())))
            .filter(envelope_recipient::Column::AccountId.eq(&me))
            .filter(envelope_recipient::Column::OpenedAt.is_null())
            .into_tuple::<String>()
            .all(&state.db)
            .await?
            .into_iter()
            .collect()
    };
    let items = rows
        .into_iter()
        .map(|row| EnvelopeSummary {
            unread: unread.contains(&row.id),
            reference: row.reference,
            subject: row.subject,
            sender: row.sender_mailbox,
            sender_name: row.sender_name,
            sealed_at: row.sealed_at.to_rfc3339(),
            date: crate::fr::date_time(row.sealed_at),
            attachments: u32::try_from(row.attachment_count).unwrap_or(0),
        })
        .collect();
    Ok(Json(EnvelopeList {
        folder,
        page,
        per_page: PER_PAGE,
        total,
        items,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_match_what_was_typed_literally() {
        assert_eq!(like_pattern("Blanc"), "%blanc%");
        assert_eq!(like_pattern("50%_x"), "%50\\%\\_x%");
    }
}
