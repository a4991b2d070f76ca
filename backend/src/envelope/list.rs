//! Folders: `GET /api/envelopes?folder=inbox|sent&page=N&q=…` — newest first, 50 a page,
//! searched by title or sender (case-insensitive). Only the caller's own envelopes.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use medimail_api::{EnvelopeList, EnvelopeSummary, paths};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationDef,
};
use serde::Deserialize;

use crate::auth::session::SignedIn;
use crate::entity::{envelope, envelope_recipient};
use crate::error::AppError;
use crate::state::AppState;

pub const PER_PAGE: u64 = 50;
/// How far past the current page the folder is counted.
pub const COUNT_AHEAD: u64 = 1_000;

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
        select.order_by_desc(envelope::Column::SealedAt)
    };
    // Counted up to COUNT_AHEAD rows past this page only: an exact count of a large
    // mailbox reads every row of it (93 ms for 100,000 on SQLite), the page itself 50.
    let offset = (page - 1) * PER_PAGE;
    let cap = offset + PER_PAGE + COUNT_AHEAD;
    let counted = {
        let inner = select
            .clone()
            .select_only()
            .column(envelope::Column::Id)
            .limit(cap + 1)
            .into_query();
        let statement = sea_orm::sea_query::Query::select()
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .from_subquery(inner, "counted")
            .to_owned();
        let backend = state.db.get_database_backend();
        state
            .db
            .query_one_raw(backend.build(&statement))
            .await?
            .and_then(|row| row.try_get::<i64>("", "n").ok())
            .map_or(0, |n| u64::try_from(n).unwrap_or(0))
    };
    let (total, total_capped) = if counted > cap {
        (cap, true)
    } else {
        (counted, false)
    };
    let rows = select.offset(offset).limit(PER_PAGE).all(&state.db).await?;
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
        total_capped,
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
