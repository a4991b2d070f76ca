//! The audit trail (traçabilité, imputabilité; docs/ARCHITECTURE.md "Audit trail").
//!
//! Every event is one row whose `hash` is an HMAC (key derived from the master key)
//! over the previous row's `hash` and this row's fields: editing, removing or inserting
//! a row breaks the chain, and nobody without the master key can rebuild it. Each
//! append first locks the single `audit_head` row, in the transaction of the action it
//! records, so the chain never forks (SQLite and PostgreSQL alike) and an action and
//! its event commit or vanish together. `audit_head` keeps the count and the last link
//! under an HMAC, so a trail cut short is detected too. `medimail audit verify` checks
//! it all; `medimail audit export` hands it to the operator as JSON lines.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::entity::{audit_event, audit_head};
use crate::keys::Keys;

/// The `prev_hash` of the very first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What is chained for one row: the previous link and the row's fields, each
/// length-prefixed so that no two different rows give the same input.
fn chain_input(prev: &str, at: DateTime<Utc>, actor: &str, action: &str, detail: &str) -> Vec<u8> {
    let mut input = Vec::new();
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    for field in [prev, at.as_str(), actor, action, detail] {
        input.extend_from_slice(&(field.len() as u64).to_be_bytes());
        input.extend_from_slice(field.as_bytes());
    }
    input
}

/// The link of one row: HMAC-SHA256 under the audit key.
pub fn chain_hash(
    keys: &Keys,
    prev: &str,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    detail: &str,
) -> String {
    keys.audit_mac(&chain_input(prev, at, actor, action, detail))
}

/// The link rows had before the chain was keyed (plain SHA-256), read once to adopt
/// an older trail.
fn legacy_hash(prev: &str, at: DateTime<Utc>, actor: &str, action: &str, detail: &str) -> String {
    crate::keys::hex(&Sha256::digest(chain_input(
        prev, at, actor, action, detail,
    )))
}

fn head_mac(keys: &Keys, count: i64, last_id: i64, last_hash: &str) -> String {
    keys.audit_mac(format!("medimail-audit-head:{count}:{last_id}:{last_hash}").as_bytes())
}

async fn ensure_head<C: ConnectionTrait>(db: &C, keys: &Keys) -> Result<(), sea_orm::DbErr> {
    audit_head::Entity::insert(audit_head::ActiveModel {
        id: Set(1),
        count: Set(0),
        last_id: Set(0),
        last_hash: Set(GENESIS.to_owned()),
        mac: Set(head_mac(keys, 0, 0, GENESIS)),
    })
    .on_conflict(
        OnConflict::column(audit_head::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Appends one event inside `txn`, the transaction of the action it records (a write
/// transaction: `db::begin_write`). The head row is locked first: appends are
/// serialised until `txn` ends.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    keys: &Keys,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<audit_event::Model, sea_orm::DbErr> {
    // Lock the head: an UPDATE takes the row lock on PostgreSQL (and the write lock
    // on SQLite) until the transaction ends.
    let lock = || {
        audit_head::Entity::update_many()
            .col_expr(
                audit_head::Column::Count,
                Expr::col(audit_head::Column::Count).add(1),
            )
            .filter(audit_head::Column::Id.eq(1))
    };
    if lock().exec(txn).await?.rows_affected != 1 {
        // A new database whose start-up did not open the trail (tests build the state
        // directly): the head starts empty.
        ensure_head(txn, keys).await?;
        lock().exec(txn).await?;
    }
    let head = audit_head::Entity::find_by_id(1)
        .one(txn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("audit_head".into()))?;
    // Microsecond precision: what both SQLite and PostgreSQL store, so the link can be
    // recomputed from the stored row.
    let at = Utc::now().trunc_subsecs(6);
    let detail = detail.to_string();
    let hash = chain_hash(keys, &head.last_hash, at, actor, action, &detail);
    let row = audit_event::ActiveModel {
        occurred_at: Set(at),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        detail: Set(detail),
        prev_hash: Set(head.last_hash.clone()),
        hash: Set(hash.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::LastId, Expr::value(row.id))
        .col_expr(audit_head::Column::LastHash, Expr::value(hash.clone()))
        .col_expr(
            audit_head::Column::Mac,
            Expr::value(head_mac(keys, head.count, row.id, &hash)),
        )
        .filter(audit_head::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(row)
}

/// Appends one event in its own transaction (an event that records no other write:
/// a refusal, a start-up).
pub async fn record<C>(
    db: &C,
    keys: &Keys,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<audit_event::Model, sea_orm::DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::db::begin_write(db).await?;
    let row = append(&txn, keys, actor, action, detail).await?;
    txn.commit().await?;
    Ok(row)
}

/// Opens the trail at start-up: creates its head on a new database, and adopts a trail
/// written before the chain was keyed (its SHA-256 links checked, then re-linked under
/// the key). Returns the id of the first older row that did not verify, if any; the
/// trail is re-linked from there all the same, and the caller records it.
pub async fn open_trail<C>(db: &C, keys: &Keys) -> Result<Option<i64>, sea_orm::DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    if audit_head::Entity::find_by_id(1).one(db).await?.is_some() {
        return Ok(None);
    }
    let txn = crate::db::begin_write(db).await?;
    ensure_head(&txn, keys).await?;
    // Lock it: a second instance starting at once waits, then finds the head.
    audit_head::Entity::update_many()
        .col_expr(
            audit_head::Column::Count,
            Expr::col(audit_head::Column::Count),
        )
        .filter(audit_head::Column::Id.eq(1))
        .exec(&txn)
        .await?;
    let head = audit_head::Entity::find_by_id(1)
        .one(&txn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("audit_head".into()))?;
    if head.count > 0 || head.last_id > 0 {
        txn.commit().await?;
        return Ok(None);
    }
    let rows = audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Id)
        .all(&txn)
        .await?;
    let mut first_bad = None;
    let (mut legacy_prev, mut prev) = (GENESIS.to_owned(), GENESIS.to_owned());
    let (mut count, mut last_id) = (0i64, 0i64);
    for row in rows {
        let expected = legacy_hash(
            &legacy_prev,
            row.occurred_at,
            &row.actor,
            &row.action,
            &row.detail,
        );
        if first_bad.is_none() && (row.prev_hash != legacy_prev || row.hash != expected) {
            first_bad = Some(row.id);
        }
        legacy_prev = row.hash.clone();
        let hash = chain_hash(
            keys,
            &prev,
            row.occurred_at,
            &row.actor,
            &row.action,
            &row.detail,
        );
        audit_event::Entity::update_many()
            .col_expr(audit_event::Column::PrevHash, Expr::value(prev.clone()))
            .col_expr(audit_event::Column::Hash, Expr::value(hash.clone()))
            .filter(audit_event::Column::Id.eq(row.id))
            .exec(&txn)
            .await?;
        prev = hash;
        count += 1;
        last_id = row.id;
    }
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Count, Expr::value(count))
        .col_expr(audit_head::Column::LastId, Expr::value(last_id))
        .col_expr(audit_head::Column::LastHash, Expr::value(prev.clone()))
        .col_expr(
            audit_head::Column::Mac,
            Expr::value(head_mac(keys, count, last_id, &prev)),
        )
        .filter(audit_head::Column::Id.eq(1))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(first_bad)
}

/// What `medimail audit verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every link verifies and the head matches: `count` events.
    Intact { count: i64 },
    /// The row `id` (or, for a cut tail, the last row left) does not verify: `why`.
    Broken { id: i64, why: &'static str },
}

/// Checks the whole chain and its head, reading rows in pages.
pub async fn verify_chain<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
) -> Result<Verdict, sea_orm::DbErr> {
    const PAGE: u64 = 5_000;
    let mut prev = GENESIS.to_owned();
    let (mut count, mut last_id) = (0i64, 0i64);
    loop {
        let rows = audit_event::Entity::find()
            .filter(audit_event::Column::Id.gt(last_id))
            .order_by_asc(audit_event::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        let done = (rows.len() as u64) < PAGE;
        for row in rows {
            if row.prev_hash != prev {
                return Ok(Verdict::Broken {
                    id: row.id,
                    why: "le maillon précédent ne correspond pas (ligne supprimée ou insérée)",
                });
            }
            let expected = chain_hash(
                keys,
                &prev,
                row.occurred_at,
                &row.actor,
                &row.action,
                &row.detail,
            );
            if !crate::keys::secrets_equal(&row.hash, &expected) {
                return Ok(Verdict::Broken {
                    id: row.id,
                    why: "le contenu de la ligne a été modifié",
                });
            }
            prev = row.hash;
            count += 1;
            last_id = row.id;
        }
        if done {
            break;
        }
    }
    let Some(head) = audit_head::Entity::find_by_id(1).one(db).await? else {
        return Ok(Verdict::Broken {
            id: last_id,
            why: "la tête de la piste d'audit manque",
        });
    };
    if !crate::keys::secrets_equal(
        &head.mac,
        &head_mac(keys, head.count, head.last_id, &head.last_hash),
    ) {
        return Ok(Verdict::Broken {
            id: last_id,
            why: "la tête de la piste d'audit a été modifiée",
        });
    }
    if head.count != count || head.last_id != last_id || head.last_hash != prev {
        return Ok(Verdict::Broken {
            id: last_id,
            why: "la piste d'audit a été tronquée : des événements manquent après cette ligne",
        });
    }
    Ok(Verdict::Intact { count })
}

/// Events since `since` (inclusive), in chain order, `PAGE` at a time for the export.
pub async fn page_since<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
    after_id: i64,
    page: u64,
) -> Result<Vec<audit_event::Model>, sea_orm::DbErr> {
    audit_event::Entity::find()
        .filter(audit_event::Column::OccurredAt.gte(since))
        .filter(audit_event::Column::Id.gt(after_id))
        .order_by_asc(audit_event::Column::Id)
        .limit(page)
        .all(db)
        .await
}

/// How many events the trail holds.
pub async fn count<C: ConnectionTrait>(db: &C) -> Result<u64, sea_orm::DbErr> {
    audit_event::Entity::find().count(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_depends_on_every_field_and_on_the_key() {
        let keys = Keys::random();
        let at = Utc::now();
        let base = chain_hash(&keys, GENESIS, at, "system", "server_started", "{}");
        assert_eq!(base.len(), 64);
        assert_ne!(
            base,
            chain_hash(&keys, GENESIS, at, "systemx", "server_started", "{}")
        );
        assert_ne!(
            base,
            chain_hash(&keys, GENESIS, at, "system", "server_startedx", "{}")
        );
        assert_ne!(
            base,
            chain_hash(&keys, GENESIS, at, "system", "server_started", "{ }")
        );
        // Moving a character between fields changes the link (length prefixes).
        assert_ne!(
            chain_hash(&keys, GENESIS, at, "ab", "c", "{}"),
            chain_hash(&keys, GENESIS, at, "a", "bc", "{}")
        );
        // Without the key, nobody recomputes it.
        assert_ne!(
            base,
            chain_hash(
                &Keys::random(),
                GENESIS,
                at,
                "system",
                "server_started",
                "{}"
            )
        );
        assert_ne!(
            base,
            legacy_hash(GENESIS, at, "system", "server_started", "{}")
        );
    }
}
