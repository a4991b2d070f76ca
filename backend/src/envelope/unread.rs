//! Unread counts, maintained (issue 18): « Messages reçus (3) » and each sub-folder's
//! « (n) » are read from `unread_count`, one row per account and folder, instead of being
//! counted per request.
//!
//! A recipient row is counted under its folder (`folder_key`: the sub-folder's id, `""`
//! for « Messages reçus » itself) while it is unopened, not deleted and its envelope not
//! purged. Every change that can move a row in or out of that count runs in one
//! transaction:
//!
//! 1. [`Rows::lock`] locks the rows it will change (a no-op update, as
//!    `quota::lock_sender` does for an account) and reads where each is counted;
//! 2. the change is written;
//! 3. [`Rows::settle`] reads the rows again and writes the difference to the counters,
//!    one atomic `n = n + d` per (account, folder), in a fixed order.
//!
//! Reading the rows after the lock, not before, is what keeps the counts exact when an
//! opening, a move, a deletion and a purge of the same envelope arrive at once: whoever
//! comes second waits for the first's commit and counts from its result. An arrival
//! only adds rows, so it only adds ([`arrivals`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect,
};

use super::entity::{envelope, envelope_recipient, unread_count};

/// The folder key of « Messages reçus » itself.
pub const ROOT: &str = "";

/// What decides a row's count: (row id, account, sub-folder, opened, deleted, purged).
type State = (
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// The recipient rows a change touches, with where each was counted before it.
pub struct Rows {
    which: Condition,
    before: Vec<(String, Option<String>)>,
}

impl Rows {
    /// Locks the rows `which` selects (conditions on `envelope_recipient` only) until the
    /// transaction ends, and reads where each is counted.
    pub async fn lock<C: ConnectionTrait>(
        txn: &C,
        which: Condition,
    ) -> Result<Rows, sea_orm::DbErr> {
        envelope_recipient::Entity::update_many()
            .col_expr(
                envelope_recipient::Column::Id,
                Expr::col(envelope_recipient::Column::Id),
            )
            .filter(which.clone())
            .exec(txn)
            .await?;
        let before = counted(txn, which.clone()).await?;
        Ok(Rows { which, before })
    }

    /// [`Rows::lock`] of the recipient rows `ids`.
    pub async fn lock_ids<C: ConnectionTrait>(
        txn: &C,
        ids: Vec<String>,
    ) -> Result<Rows, sea_orm::DbErr> {
        Self::lock(
            txn,
            Condition::all().add(envelope_recipient::Column::Id.is_in(ids)),
        )
        .await
    }

    /// After a change that only moved the rows to the sub-folder `to` (`None`: the folder
    /// itself), so that `which` no longer selects them: each counted row moves its count.
    pub async fn settle_moved<C: ConnectionTrait>(
        self,
        txn: &C,
        to: Option<String>,
    ) -> Result<(), sea_orm::DbErr> {
        let mut tally = Tally::default();
        for (account, key) in self.before {
            if key.is_some() {
                tally.add(account.clone(), key, -1);
                tally.add(account, Some(to.clone().unwrap_or_default()), 1);
            }
        }
        tally.write(txn).await
    }

    /// After the change (`which` still selecting the same rows): the counters follow them.
    pub async fn settle<C: ConnectionTrait>(self, txn: &C) -> Result<(), sea_orm::DbErr> {
        let after = counted(txn, self.which).await?;
        let mut tally = Tally::default();
        for (account, key) in self.before {
            tally.add(account, key, -1);
        }
        for (account, key) in after {
            tally.add(account, key, 1);
        }
        tally.write(txn).await
    }
}

/// One new unopened row per account in `accounts`, under « Messages reçus ».
pub async fn arrivals<C: ConnectionTrait>(
    txn: &C,
    accounts: impl IntoIterator<Item = String>,
) -> Result<(), sea_orm::DbErr> {
    let mut tally = Tally::default();
    for account in accounts {
        tally.add(account, Some(ROOT.to_owned()), 1);
    }
    tally.write(txn).await
}

/// The unread envelopes of `account` per folder (`None`: « Messages reçus » itself).
pub async fn of<C: ConnectionTrait>(
    db: &C,
    account: &str,
) -> Result<HashMap<Option<String>, u64>, sea_orm::DbErr> {
    Ok(unread_count::Entity::find()
        .filter(unread_count::Column::AccountId.eq(account))
        .filter(unread_count::Column::N.gt(0))
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            let key = (row.folder_key != ROOT).then_some(row.folder_key);
            (key, u64::try_from(row.n).unwrap_or(0))
        })
        .collect())
}

/// The same counted from the rows themselves: what the counters must equal (tests, the
/// bench's check after its arrivals).
pub async fn recount<C: ConnectionTrait>(
    db: &C,
    account: &str,
) -> Result<HashMap<Option<String>, u64>, sea_orm::DbErr> {
    let mut counts: HashMap<Option<String>, u64> = HashMap::new();
    for (_, key) in counted(
        db,
        Condition::all().add(envelope_recipient::Column::AccountId.eq(account)),
    )
    .await?
    {
        let Some(key) = key else { continue };
        *counts.entry((key != ROOT).then_some(key)).or_default() += 1;
    }
    Ok(counts)
}

/// Sets the counters of `account` to [`recount`]'s (rows written without the server,
/// as the bench fills its mailbox).
pub async fn rebuild<C: ConnectionTrait>(db: &C, account: &str) -> Result<(), sea_orm::DbErr> {
    unread_count::Entity::delete_many()
        .filter(unread_count::Column::AccountId.eq(account))
        .exec(db)
        .await?;
    let mut tally = Tally::default();
    for (key, n) in recount(db, account).await? {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        tally.add(account.to_owned(), Some(key.unwrap_or_default()), n);
    }
    tally.write(db).await
}

/// Where each row `which` selects is counted: (account, folder key, or `None`).
async fn counted<C: ConnectionTrait>(
    db: &C,
    which: Condition,
) -> Result<Vec<(String, Option<String>)>, sea_orm::DbErr> {
    let rows: Vec<State> = envelope_recipient::Entity::find()
        .select_only()
        .column(envelope_recipient::Column::Id)
        .column(envelope_recipient::Column::AccountId)
        .column(envelope_recipient::Column::FolderId)
        .column(envelope_recipient::Column::OpenedAt)
        .column(envelope_recipient::Column::DeletedAt)
        .column(envelope::Column::PurgedAt)
        .join(JoinType::InnerJoin, envelope_recipient::to_envelope())
        .filter(which)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(_, account, folder, opened, deleted, purged)| {
            let unread = opened.is_none() && deleted.is_none() && purged.is_none();
            (account, unread.then(|| folder.unwrap_or_default()))
        })
        .collect())
}

/// Differences per (account, folder key), written in that order so that two transactions
/// never wait for each other's counters crosswise.
#[derive(Default)]
struct Tally(BTreeMap<(String, String), i64>);

impl Tally {
    fn add(&mut self, account: String, key: Option<String>, delta: i64) {
        if let Some(key) = key {
            *self.0.entry((account, key)).or_default() += delta;
        }
    }

    async fn write<C: ConnectionTrait>(self, txn: &C) -> Result<(), sea_orm::DbErr> {
        let backend = txn.get_database_backend();
        for ((account, key), delta) in self.0 {
            if delta == 0 {
                continue;
            }
            let statement = Query::insert()
                .into_table(unread_count::Entity)
                .columns([
                    unread_count::Column::AccountId,
                    unread_count::Column::FolderKey,
                    unread_count::Column::N,
                ])
                .values_panic([account.into(), key.into(), delta.into()])
                .on_conflict(
                    OnConflict::columns([
                        unread_count::Column::AccountId,
                        unread_count::Column::FolderKey,
                    ])
                    .value(
                        unread_count::Column::N,
                        Expr::col((unread_count::Entity, unread_count::Column::N))
                            .add(Expr::col((Alias::new("excluded"), unread_count::Column::N))),
                    )
                    .to_owned(),
                )
                .to_owned();
            txn.execute_raw(backend.build(&statement)).await?;
        }
        Ok(())
    }
}
