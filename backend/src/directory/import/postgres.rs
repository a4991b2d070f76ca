//! Writing a batch of directory rows to PostgreSQL: two `COPY … FROM STDIN` (entries,
//! then keys).

use sea_orm::DatabaseConnection;

use super::reading::Row;

/// A text-format `COPY` field.
pub fn copy_field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

pub fn copy_err(e: sqlx::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Custom(format!("COPY : {e}"))
}

/// PostgreSQL: two `COPY … FROM STDIN` per batch (entries, then keys).
pub async fn write_batch_postgres(
    db: &DatabaseConnection,
    snapshot: i64,
    batch: Vec<Row>,
) -> Result<(), sea_orm::DbErr> {
    let mut entries = String::with_capacity(batch.len() * 300);
    let mut keys = String::with_capacity(batch.len() * 100);
    for (id, e, entry_keys) in &batch {
        for key in entry_keys {
            keys.push_str(&format!("{snapshot}\t"));
            copy_field(&mut keys, Some(key));
            keys.push_str(&format!("\t{id}\n"));
        }
        entries.push_str(&format!("{id}\t{snapshot}"));
        let kind: String = e.kind.chars().take(8).collect();
        for value in [
            Some(kind.as_str()),
            Some(e.address.as_str()),
            e.identifier.as_deref(),
            e.civility.as_deref(),
            e.last_name.as_deref(),
            e.first_name.as_deref(),
            e.profession.as_deref(),
            e.speciality.as_deref(),
            e.organisation.as_deref(),
            e.address_lines.as_deref(),
            e.postal_code.as_deref(),
            e.department.as_deref(),
            e.city.as_deref(),
        ] {
            entries.push('\t');
            copy_field(&mut entries, value);
        }
        entries.push('\n');
    }
    let mut conn = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(copy_err)?;
    let mut copy = conn
        .copy_in_raw(
            "COPY directory_entry (id, snapshot_id, kind, address, identifier, civility, \
             last_name, first_name, profession, speciality, organisation, address_lines, \
             postal_code, department, city) FROM STDIN",
        )
        .await
        .map_err(copy_err)?;
    copy.send(entries.as_bytes()).await.map_err(copy_err)?;
    copy.finish().await.map_err(copy_err)?;
    let mut copy = conn
        .copy_in_raw("COPY directory_key (snapshot_id, key, entry_id) FROM STDIN")
        .await
        .map_err(copy_err)?;
    copy.send(keys.as_bytes()).await.map_err(copy_err)?;
    copy.finish().await.map_err(copy_err)?;
    Ok(())
}
