//! One-time codes ("Demander un code", manual part 3 §2.2): 6 digits from the operating
//! system's CSPRNG, uniform over 000000–999999 (leading zeros kept), valid 10 minutes,
//! single use, tried at most 5 times (each try *claimed* before it is checked, so no
//! concurrency can get more), superseded when the same identity asks for a newer one.
//! A code belongs to the identity that asked for it and names the mailbox it was mailed
//! to. Only an HMAC of the code (server key, bound to the account and the code's id) is
//! stored.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::auth::entity::one_time_code;
use crate::keys::Keys;

pub const VALIDITY: Duration = Duration::minutes(medimail_api::limits::CODE_VALIDITY_MINUTES);
/// One request per account per minute…
pub const MIN_INTERVAL: Duration = Duration::seconds(60);
/// …and at most this many per hour.
pub const MAX_PER_HOUR: u64 = 10;
/// Tries after which a code can no longer be used.
pub const MAX_FAILURES: i32 = 5;

/// Who asked for a code: the identity (Entra tenant and object id) and the mailbox it
/// is mailed to.
pub struct Requester<'a> {
    pub tenant_id: &'a str,
    pub subject: &'a str,
    pub mailbox: &'a str,
}

/// A fresh code: uniform (rand's `gen_range` rejects biased draws), 6 digits.
pub fn generate() -> String {
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    format!("{n:06}")
}

/// Exactly six ASCII digits.
pub fn is_well_formed(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

fn mac_input(account_id: &str, code_id: &str, code: &str) -> Vec<u8> {
    format!("medimail-code:{account_id}:{code_id}:{code}").into_bytes()
}

/// A code has just opened a session: the next one may be asked at once (the minute
/// between two codes is there to stop mail floods, which the hourly ten still bounds).
/// Without this, signing out and asking again within the minute would trap the user:
/// "wait 50 seconds", then "no code in progress" for the code already used.
pub async fn cooldown_ends<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<(), sea_orm::DbErr> {
    crate::account::entity::account::Entity::update_many()
        .col_expr(
            crate::account::entity::account::Column::LastCodeRequestedAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(crate::account::entity::account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every code of the account still usable, with `outcome`.
pub async fn consume_all<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    now: DateTime<Utc>,
    outcome: &str,
) -> Result<u64, sea_orm::DbErr> {
    let r = one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::ConsumedAt, Expr::value(Some(now)))
        .col_expr(one_time_code::Column::Outcome, Expr::value(Some(outcome)))
        .filter(one_time_code::Column::AccountId.eq(account_id))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Ends one code if still usable; false if it was already consumed (single use).
pub async fn consume<C: ConnectionTrait>(
    db: &C,
    code_id: &str,
    now: DateTime<Utc>,
    outcome: &str,
) -> Result<bool, sea_orm::DbErr> {
    let r = one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::ConsumedAt, Expr::value(Some(now)))
        .col_expr(one_time_code::Column::Outcome, Expr::value(Some(outcome)))
        .filter(one_time_code::Column::Id.eq(code_id))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Supersedes the identity's previous codes and stores a new one for `account_id`;
/// returns the row and the code.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
    account_id: &str,
    requester: &Requester<'_>,
    now: DateTime<Utc>,
) -> Result<(one_time_code::Model, String), sea_orm::DbErr> {
    one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::ConsumedAt, Expr::value(Some(now)))
        .col_expr(
            one_time_code::Column::Outcome,
            Expr::value(Some("superseded")),
        )
        .filter(one_time_code::Column::TenantId.eq(requester.tenant_id))
        .filter(one_time_code::Column::Subject.eq(requester.subject))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    let id = uuid::Uuid::new_v4().to_string();
    let code = generate();
    let row = one_time_code::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account_id.to_owned()),
        code_hash: Set(keys.code_mac(&mac_input(account_id, &id, &code))),
        created_at: Set(now),
        expires_at: Set(now + VALIDITY),
        failed_attempts: Set(0),
        consumed_at: Set(None),
        outcome: Set(None),
        tenant_id: Set(requester.tenant_id.to_owned()),
        subject: Set(requester.subject.to_owned()),
        mailbox: Set(requester.mailbox.to_owned()),
    }
    .insert(db)
    .await?;
    Ok((row, code))
}

/// The identity's code still usable (not consumed), if any; it may have expired.
pub async fn current<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    subject: &str,
) -> Result<Option<one_time_code::Model>, sea_orm::DbErr> {
    one_time_code::Entity::find()
        .filter(one_time_code::Column::TenantId.eq(tenant_id))
        .filter(one_time_code::Column::Subject.eq(subject))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .order_by_desc(one_time_code::Column::CreatedAt)
        .one(db)
        .await
}

/// Constant-time check of a typed code against the stored HMAC.
pub fn matches(keys: &Keys, row: &one_time_code::Model, typed: &str) -> bool {
    keys.code_mac_matches(&mac_input(&row.account_id, &row.id, typed), &row.code_hash)
}

/// Claims one try on a usable code, atomically: false when the code is consumed or its
/// tries are spent. Whatever the concurrency, at most [`MAX_FAILURES`] claims succeed.
pub async fn claim_try<C: ConnectionTrait>(db: &C, code_id: &str) -> Result<bool, sea_orm::DbErr> {
    let r = one_time_code::Entity::update_many()
        .col_expr(
            one_time_code::Column::FailedAttempts,
            Expr::col(one_time_code::Column::FailedAttempts).add(1),
        )
        .filter(one_time_code::Column::Id.eq(code_id))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .filter(one_time_code::Column::FailedAttempts.lt(MAX_FAILURES))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Gives back a try claimed but never checked (the server was too busy to check it).
pub async fn release_try<C: ConnectionTrait>(db: &C, code_id: &str) -> Result<(), sea_orm::DbErr> {
    one_time_code::Entity::update_many()
        .col_expr(
            one_time_code::Column::FailedAttempts,
            Expr::col(one_time_code::Column::FailedAttempts).sub(1),
        )
        .filter(one_time_code::Column::Id.eq(code_id))
        .filter(one_time_code::Column::FailedAttempts.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// Tries claimed so far on the code.
pub async fn tries<C: ConnectionTrait>(db: &C, code_id: &str) -> Result<i32, sea_orm::DbErr> {
    Ok(one_time_code::Entity::find_by_id(code_id)
        .one(db)
        .await?
        .map(|c| c.failed_attempts)
        .unwrap_or(MAX_FAILURES))
}

/// Codes requested by the account since `since`, and the oldest of them.
pub async fn requested_since<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    since: DateTime<Utc>,
) -> Result<(u64, Option<DateTime<Utc>>), sea_orm::DbErr> {
    let query = one_time_code::Entity::find()
        .filter(one_time_code::Column::AccountId.eq(account_id))
        .filter(one_time_code::Column::CreatedAt.gt(since));
    let count = query.clone().count(db).await?;
    let oldest = query
        .order_by_asc(one_time_code::Column::CreatedAt)
        .one(db)
        .await?
        .map(|c| c.created_at);
    Ok((count, oldest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_with_leading_zeros_kept() {
        for _ in 0..2000 {
            let c = generate();
            assert!(is_well_formed(&c), "{c}");
        }
        assert!(is_well_formed("000123"));
        assert!(!is_well_formed("12345"));
        assert!(!is_well_formed("1234567"));
        assert!(!is_well_formed("12345a"));
        assert!(!is_well_formed("١٢٣٤٥٦"), "only ASCII digits");
    }

    #[test]
    fn codes_are_spread_over_every_first_digit() {
        // 20,000 draws: each leading digit expected 2,000 times; a biased or
        // truncated generator (no leading zero, say) fails this by far.
        let mut counts = [0u32; 10];
        for _ in 0..20_000 {
            let c = generate();
            counts[(c.as_bytes()[0] - b'0') as usize] += 1;
        }
        for (digit, n) in counts.iter().enumerate() {
            assert!((1700..=2300).contains(n), "digit {digit}: {n} of 20000");
        }
    }
}
