//! The audit trail (traçabilité, imputabilité): every action appended as one row whose
//! hash covers the previous row's hash, so that removing or editing a row breaks the chain.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set, TransactionSession,
    TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::entity::audit_event;

/// The `prev_hash` of the very first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hash of one row: SHA-256 over the previous hash and the row's fields, each field
/// length-prefixed so that no two different rows can produce the same input.
pub fn chain_hash(
    prev: &str,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    for field in [prev, at.as_str(), actor, action, detail] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends one event to the trail, in its own transaction.
pub async fn record<C>(
    db: &C,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<audit_event::Model, sea_orm::DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::db::begin_write(db).await?;
    let prev = audit_event::Entity::find()
        .order_by_desc(audit_event::Column::Id)
        .one(&txn)
        .await?
        .map(|m| m.hash)
        .unwrap_or_else(|| GENESIS.to_owned());
    // Microsecond precision: what both SQLite and PostgreSQL store, so the hash can be
    // recomputed from the stored row.
    let at = Utc::now().trunc_subsecs(6);
    let detail = detail.to_string();
    let hash = chain_hash(&prev, at, actor, action, &detail);
    let row = audit_event::ActiveModel {
        occurred_at: Set(at),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        detail: Set(detail),
        prev_hash: Set(prev),
        hash: Set(hash),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Checks the whole chain; returns the id of the first row that does not verify.
pub async fn verify_chain<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, sea_orm::DbErr> {
    let rows = audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Id)
        .all(db)
        .await?;
    let mut prev = GENESIS.to_owned();
    for row in rows {
        let expected = chain_hash(&prev, row.occurred_at, &row.actor, &row.action, &row.detail);
        if row.prev_hash != prev || row.hash != expected {
            return Ok(Some(row.id));
        }
        prev = row.hash;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_every_field() {
        let at = Utc::now();
        let base = chain_hash(GENESIS, at, "system", "server_started", "{}");
        assert_eq!(base.len(), 64);
        assert_ne!(
            base,
            chain_hash(GENESIS, at, "systemx", "server_started", "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, at, "system", "server_startedx", "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, at, "system", "server_started", "{ }")
        );
        // Moving a character between fields changes the hash (length prefixes).
        assert_ne!(
            chain_hash(GENESIS, at, "ab", "c", "{}"),
            chain_hash(GENESIS, at, "a", "bc", "{}")
        );
    }
}
