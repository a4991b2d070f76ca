//! Writing a batch of directory rows to SQLite: multi-row inserts (keys in index order)
//! inside large transactions on the import's own connection.

use super::reading::Row;
use crate::directory::extraction::Entry;
/// Entries per SQLite transaction.
pub const SQLITE_TRANSACTION: u64 = 25_000;

pub fn sqlx_err(e: sqlx::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Custom(format!("SQLite : {e}"))
}

/// SQLite: multi-row inserts (keys in index order), inside the transaction the caller
/// opened on the import's own connection.
pub async fn write_batch_sqlite(
    conn: &mut sqlx::SqliteConnection,
    snapshot: i64,
    batch: Vec<Row>,
) -> Result<(), sea_orm::DbErr> {
    let mut keys: Vec<(String, i64)> = Vec::new();
    let batch: Vec<(i64, Entry)> = batch
        .into_iter()
        .map(|(id, e, entry_keys)| {
            keys.extend(entry_keys.into_iter().map(|k| (k, id)));
            (id, e)
        })
        .collect();
    keys.sort_unstable();
    let result = async {
        let mut rows = batch.into_iter().peekable();
        while rows.peek().is_some() {
            // 15 columns × 1,000 rows stays under SQLite's 32,766 parameters.
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO directory_entry (id, snapshot_id, kind, address, identifier, \
                 civility, last_name, first_name, profession, speciality, organisation, \
                 address_lines, postal_code, department, city) ",
            );
            q.push_values(rows.by_ref().take(1_000), |mut b, (id, e)| {
                b.push_bind(id)
                    .push_bind(snapshot)
                    .push_bind(e.kind.chars().take(8).collect::<String>())
                    .push_bind(e.address)
                    .push_bind(e.identifier)
                    .push_bind(e.civility)
                    .push_bind(e.last_name)
                    .push_bind(e.first_name)
                    .push_bind(e.profession)
                    .push_bind(e.speciality)
                    .push_bind(e.organisation)
                    .push_bind(e.address_lines)
                    .push_bind(e.postal_code)
                    .push_bind(e.department)
                    .push_bind(e.city);
            });
            q.build().execute(&mut *conn).await?;
        }
        let mut keys = keys.into_iter().peekable();
        while keys.peek().is_some() {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO directory_key (snapshot_id, key, entry_id) ",
            );
            q.push_values(keys.by_ref().take(10_000), |mut b, (key, id)| {
                b.push_bind(snapshot).push_bind(key).push_bind(id);
            });
            q.build().execute(&mut *conn).await?;
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    result.map_err(sqlx_err)
}

/// Runs `sql` (BEGIN IMMEDIATE, COMMIT, ROLLBACK) on the import's SQLite connection.
pub async fn sqlite_exec(
    conn: &mut sqlx::SqliteConnection,
    sql: &'static str,
) -> Result<(), sea_orm::DbErr> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(sqlx_err)
}
