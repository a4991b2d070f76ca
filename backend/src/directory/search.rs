//! Searching a directory's active snapshot by name (Nom, Prénom): each word typed is a
//! prefix of one of the name's words, ignoring case, accents and punctuation; at least
//! one field must hold 3 characters or more (the manual's rule). Results: exact words
//! before prefixes, then by name; at most 50, with a flag when there are more.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::entity::{directory_entry, directory_key, directory_snapshot};

/// Results per search.
pub const LIMIT: usize = 50;

/// The manual's message when no field has 3 characters.
pub const TOO_SHORT: &str =
    "Veuillez indiquer vos critères de recherche (3 caractères minimum dans un champ).";

#[derive(Debug, Clone, Default)]
pub struct Criteria {
    pub last_name: String,
    pub first_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{TOO_SHORT}")]
    TooShort,
    #[error("base de données : {0}")]
    Db(#[from] sea_orm::DbErr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub entries: Vec<directory_entry::Model>,
    /// More than [`LIMIT`] matched: refine.
    pub more: bool,
}

/// The next string after every string starting with `prefix` (for a range scan).
fn upper_bound(prefix: &str) -> String {
    format!("{prefix}\u{10ffff}")
}

/// Entry ids whose `kind` key words start with each of `words` (all must match), with
/// whether every word matched a whole name word.
async fn matching(
    db: &DatabaseConnection,
    snapshot: i64,
    kind: &str,
    words: &[String],
    cap: u64,
) -> Result<HashMap<i64, bool>, sea_orm::DbErr> {
    let mut result: Option<HashMap<i64, bool>> = None;
    for word in words {
        let prefix = format!("{kind}:{word}");
        let rows: Vec<(String, i64)> = directory_key::Entity::find()
            .select_only()
            .column(directory_key::Column::Key)
            .column(directory_key::Column::EntryId)
            .filter(directory_key::Column::SnapshotId.eq(snapshot))
            .filter(directory_key::Column::Key.gte(prefix.clone()))
            .filter(directory_key::Column::Key.lt(upper_bound(&prefix)))
            .limit(cap)
            .into_tuple()
            .all(db)
            .await?;
        let mut these: HashMap<i64, bool> = HashMap::new();
        for (key, id) in rows {
            let exact = key == prefix;
            let e = these.entry(id).or_insert(false);
            *e = *e || exact;
        }
        result = Some(match result {
            None => these,
            Some(before) => before
                .into_iter()
                .filter_map(|(id, exact)| these.get(&id).map(|e| (id, exact && *e)))
                .collect(),
        });
    }
    Ok(result.unwrap_or_default())
}

/// Searches the active snapshot of `source`.
pub async fn search(
    db: &DatabaseConnection,
    source: &str,
    criteria: &Criteria,
) -> Result<Found, SearchError> {
    let last: Vec<String> = super::normalize(&criteria.last_name)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let first: Vec<String> = super::normalize(&criteria.first_name)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let long_enough = |s: &str| s.trim().chars().count() >= 3;
    if !long_enough(&criteria.last_name) && !long_enough(&criteria.first_name) {
        return Err(SearchError::TooShort);
    }
    let Some(snapshot) = directory_snapshot::Entity::find()
        .filter(directory_snapshot::Column::Source.eq(source))
        .filter(directory_snapshot::Column::State.eq("active"))
        .one(db)
        .await?
    else {
        return Ok(Found {
            entries: Vec::new(),
            more: false,
        });
    };
    // Enough candidates to rank: a short prefix of a common name matches thousands.
    let cap = 5_000;
    let mut candidates: Option<HashMap<i64, bool>> = None;
    for (kind, words) in [("n", &last), ("p", &first)] {
        if words.is_empty() {
            continue;
        }
        let found = matching(db, snapshot.id, kind, words, cap).await?;
        candidates = Some(match candidates {
            None => found,
            Some(before) => before
                .into_iter()
                .filter_map(|(id, exact)| found.get(&id).map(|e| (id, exact && *e)))
                .collect(),
        });
    }
    let candidates = candidates.unwrap_or_default();
    let ids: Vec<i64> = candidates.keys().copied().collect();
    let mut entries = Vec::new();
    for chunk in ids.chunks(500) {
        entries.extend(
            directory_entry::Entity::find()
                .filter(directory_entry::Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    let name = |e: &directory_entry::Model| {
        (
            super::normalize(e.last_name.as_deref().unwrap_or("")),
            super::normalize(e.first_name.as_deref().unwrap_or("")),
        )
    };
    entries.sort_by(|a, b| {
        let exact_a = candidates.get(&a.id).copied().unwrap_or(false);
        let exact_b = candidates.get(&b.id).copied().unwrap_or(false);
        exact_b
            .cmp(&exact_a)
            .then_with(|| name(a).cmp(&name(b)))
            .then_with(|| a.address.cmp(&b.address))
    });
    let mut seen = HashSet::new();
    entries.retain(|e| seen.insert(e.id));
    let more = entries.len() > LIMIT;
    entries.truncate(LIMIT);
    Ok(Found { entries, more })
}
