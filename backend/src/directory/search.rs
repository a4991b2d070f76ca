//! Searching a directory (manual part 1 §5, part 3 §4.3.1).
//!
//! Names (Nom, Prénom), raison sociale and town: each word typed is a prefix of one of
//! the field's words, ignoring case, accents and punctuation, read from the key index.
//! Code postal and RPPS/ADELI: prefixes of the column. Profession, spécialité and
//! département refine (the webmail's lists). At least one text field must hold 3
//! characters or more (the manual's rule). Results: exact words before prefixes, then by
//! name — entry ids are ranks in name order, so the index gives that order for free —
//! at most 50, with a flag when there are more. Entries on the liste rouge are never
//! returned. Everything is read in one read transaction: a search during a re-import
//! sees the old snapshot or the new one, never a mix.
//!
//! "Annuaire Medimail" is the accounts of this service plus the `regional` snapshot;
//! "Annuaire National MSSanté" is the `mssante` snapshot.

use std::collections::{HashMap, HashSet};

use medimail_api::{DirectoryContact, annuaire};
use sea_orm::{
    AccessMode, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    IsolationLevel, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::keys::normalize;
use crate::account::entity::{account, account_identity};
use crate::account::nomenclature;
use crate::directory::entity::{directory_entry, directory_key, directory_snapshot, directory_top};

pub use medimail_api::directory::{LIMIT, REFINE, TOO_SHORT};
/// Candidates read per criterion in a combined search.
const CAP: u64 = 100_000;
/// Words that drive the index in one search (the longest, so the most selective); the
/// other words typed only filter what those found. With `CAP`, this bounds the rows one
/// request reads.
const MAX_DRIVERS: usize = 3;
/// Ids one single-word search reads at most while refinements drop entries.
const MAX_SINGLE_SCAN: u64 = 4_096;

/// What was typed; empty strings are absent criteria.
#[derive(Debug, Clone, Default)]
pub struct Criteria {
    pub last_name: String,
    pub first_name: String,
    /// Raison sociale.
    pub organisation: String,
    /// RPPS or ADELI.
    pub identifier: String,
    pub postal_code: String,
    pub city: String,
    pub profession: String,
    pub speciality: String,
    pub department: String,
}

impl Criteria {
    /// The names of the criteria given (for the audit trail: which, never their values).
    pub fn names(&self) -> Vec<&'static str> {
        [
            ("nom", &self.last_name),
            ("prenom", &self.first_name),
            ("raison_sociale", &self.organisation),
            ("identifiant", &self.identifier),
            ("code_postal", &self.postal_code),
            ("ville", &self.city),
            ("profession", &self.profession),
            ("specialite", &self.speciality),
            ("departement", &self.department),
        ]
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(name, _)| name)
        .collect()
    }

    fn text_fields(&self) -> [&str; 6] {
        [
            &self.last_name,
            &self.first_name,
            &self.organisation,
            &self.identifier,
            &self.postal_code,
            &self.city,
        ]
    }

    /// Nothing typed at all: the pane shows the favorites.
    pub fn is_empty(&self) -> bool {
        self.text_fields().iter().all(|f| f.trim().is_empty())
            && [&self.profession, &self.speciality, &self.department]
                .iter()
                .all(|f| f.trim().is_empty())
    }

    /// The manual's rule: one text field of 3 characters or more.
    pub fn long_enough(&self) -> bool {
        medimail_api::directory::long_enough(self.text_fields())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{TOO_SHORT}")]
    TooShort,
    #[error("base de données : {0}")]
    Db(#[from] sea_orm::DbErr),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Found {
    pub contacts: Vec<DirectoryContact>,
    /// More than [`LIMIT`] matched: refine.
    pub more: bool,
}

fn words(text: &str) -> Vec<String> {
    normalize(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every word of `wanted` is a prefix of a word of `field`.
fn words_match(wanted: &[String], field: Option<&str>) -> bool {
    let have = words(field.unwrap_or(""));
    wanted
        .iter()
        .all(|w| have.iter().any(|h| h.starts_with(w.as_str())))
}

/// The next string after every string starting with `prefix` (for a range scan).
fn upper_bound(prefix: &str) -> String {
    format!("{prefix}\u{10ffff}")
}

/// One index criterion: key words of one kind, or a column prefix.
enum Driver {
    Key(String),
    PostalCode(String),
    Identifier(String),
}

/// Ids matching `driver`, with whether the match is exact, at most [`CAP`].
async fn candidates(
    txn: &DatabaseTransaction,
    snapshot: i64,
    driver: &Driver,
) -> Result<(HashMap<i64, bool>, bool), sea_orm::DbErr> {
    let mut found: HashMap<i64, bool> = HashMap::new();
    let rows: Vec<(String, i64)> = match driver {
        Driver::Key(key) => {
            directory_key::Entity::find()
                .select_only()
                .column(directory_key::Column::Key)
                .column(directory_key::Column::EntryId)
                .filter(directory_key::Column::SnapshotId.eq(snapshot))
                .filter(directory_key::Column::Key.gte(key.as_str()))
                .filter(directory_key::Column::Key.lt(upper_bound(key)))
                .limit(CAP + 1)
                .into_tuple()
                .all(txn)
                .await?
        }
        Driver::PostalCode(prefix) | Driver::Identifier(prefix) => {
            let column = match driver {
                Driver::PostalCode(_) => directory_entry::Column::PostalCode,
                _ => directory_entry::Column::Identifier,
            };
            let rows: Vec<(Option<String>, i64)> = directory_entry::Entity::find()
                .select_only()
                .column(column)
                .column(directory_entry::Column::Id)
                .filter(directory_entry::Column::SnapshotId.eq(snapshot))
                .filter(column.gte(prefix.as_str()))
                .filter(column.lt(upper_bound(prefix)))
                .limit(CAP + 1)
                .into_tuple()
                .all(txn)
                .await?;
            rows.into_iter()
                .map(|(v, id)| (v.unwrap_or_default(), id))
                .collect()
        }
    };
    let capped = rows.len() as u64 > CAP;
    let wanted = match driver {
        Driver::Key(k) | Driver::PostalCode(k) | Driver::Identifier(k) => k,
    };
    for (value, id) in rows.into_iter().take(CAP as usize) {
        let e = found.entry(id).or_insert(false);
        *e = *e || value == *wanted;
    }
    Ok((found, capped))
}

/// Keeps the ids in both maps; exact only if exact in both.
fn intersect(a: HashMap<i64, bool>, b: &HashMap<i64, bool>) -> HashMap<i64, bool> {
    a.into_iter()
        .filter_map(|(id, exact)| b.get(&id).map(|e| (id, exact && *e)))
        .collect()
}

/// The ids matching a single key word, exact ones first then prefixes, each in name
/// order, at most `limit`: exact matches straight from the index; prefixes from the
/// prefix's `directory_top` row when there is one (a common short prefix), else from a
/// range scan of the index (then few rows).
async fn single_key(
    txn: &DatabaseTransaction,
    snapshot: i64,
    key: &str,
    limit: u64,
) -> Result<(Vec<i64>, bool), sea_orm::DbErr> {
    let exact: Vec<i64> = directory_key::Entity::find()
        .select_only()
        .column(directory_key::Column::EntryId)
        .filter(directory_key::Column::SnapshotId.eq(snapshot))
        .filter(directory_key::Column::Key.eq(key))
        .order_by_asc(directory_key::Column::EntryId)
        .limit(limit + 1)
        .into_tuple()
        .all(txn)
        .await?;
    let mut ids = exact;
    if (ids.len() as u64) <= limit {
        let seen: HashSet<i64> = ids.iter().copied().collect();
        let wanted = (limit + 1) as usize - ids.len();
        let top = directory_top::Entity::find_by_id((snapshot, key.to_owned()))
            .one(txn)
            .await?;
        let from_top: Option<Vec<i64>> = top.and_then(|top| {
            let listed: Vec<i64> = top
                .ranks
                .chunks_exact(4)
                .map(|b| {
                    snapshot * super::import::ID_SPAN
                        + i64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                })
                .filter(|id| !seen.contains(id))
                .collect();
            // Usable when it holds a whole page besides the exact matches (more match:
            // the list is the first of them, and `total` says there are more).
            (listed.len() >= wanted).then_some(listed)
        });
        let prefix = match from_top {
            Some(listed) => listed,
            None => {
                // No DISTINCT: an entry with two words matching comes twice, dropped here.
                let rows: Vec<i64> = directory_key::Entity::find()
                    .select_only()
                    .column(directory_key::Column::EntryId)
                    .filter(directory_key::Column::SnapshotId.eq(snapshot))
                    .filter(directory_key::Column::Key.gt(key))
                    .filter(directory_key::Column::Key.lt(upper_bound(key)))
                    .order_by_asc(directory_key::Column::EntryId)
                    .limit(4 * (limit + 1) + seen.len() as u64)
                    .into_tuple()
                    .all(txn)
                    .await?;
                let mut unique = HashSet::new();
                rows.into_iter()
                    .filter(|id| !seen.contains(id) && unique.insert(*id))
                    .collect()
            }
        };
        ids.extend(prefix);
    }
    let more = ids.len() as u64 > limit;
    ids.truncate(limit as usize);
    Ok((ids, more))
}

/// The words an entry is found by: its names, organisation and town.
fn searchable_text(e: &directory_entry::Model) -> String {
    [&e.last_name, &e.first_name, &e.organisation, &e.city]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Addresses of accounts on the liste rouge among `addresses`.
async fn liste_rouge(
    txn: &DatabaseTransaction,
    addresses: &[String],
) -> Result<HashSet<String>, sea_orm::DbErr> {
    if addresses.is_empty() {
        return Ok(HashSet::new());
    }
    let red: Vec<Option<String>> = account::Entity::find()
        .select_only()
        .column(account::Column::Mailbox)
        .filter(account::Column::ListeRouge.eq(true))
        .filter(account::Column::Mailbox.is_in(addresses.iter().map(String::as_str)))
        .into_tuple()
        .all(txn)
        .await?;
    Ok(red.into_iter().flatten().collect())
}

pub fn entry_contact(annuaire: &str, e: directory_entry::Model) -> DirectoryContact {
    DirectoryContact {
        annuaire: annuaire.to_owned(),
        address: e.address,
        kind: e.kind,
        civility: e.civility,
        last_name: e.last_name,
        first_name: e.first_name,
        postal_code: e.postal_code,
        city: e.city,
        profession: e.profession,
        speciality: e.speciality,
        organisation: e.organisation,
        address_lines: e.address_lines,
        identifier: e.identifier,
        favorite: false,
        phone: None,
        dematerialised: false,
    }
}

/// Entries `ids` (in that order) that pass the refinements and are not on the liste
/// rouge, at most `want`.
async fn load_in_order(
    txn: &DatabaseTransaction,
    ids: &[i64],
    criteria: &Criteria,
    filtering: &[String],
    want: usize,
) -> Result<Vec<directory_entry::Model>, sea_orm::DbErr> {
    let profession = words(&criteria.profession);
    let speciality = words(&criteria.speciality);
    let department = criteria.department.trim().to_uppercase();
    let mut kept = Vec::new();
    for chunk in ids.chunks(200) {
        let mut rows: HashMap<i64, directory_entry::Model> = directory_entry::Entity::find()
            .filter(directory_entry::Column::Id.is_in(chunk.iter().copied()))
            .all(txn)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let addresses: Vec<String> = rows.values().map(|e| e.address.clone()).collect();
        let red = liste_rouge(txn, &addresses).await?;
        for id in chunk {
            let Some(e) = rows.remove(id) else { continue };
            if red.contains(&e.address)
                || !filtering.is_empty() && !words_match(filtering, Some(&searchable_text(&e)))
                || !words_match(&profession, e.profession.as_deref())
                || !words_match(&speciality, e.speciality.as_deref())
                || (!department.is_empty()
                    && e.department.as_deref().map(str::to_uppercase) != Some(department.clone()))
            {
                continue;
            }
            kept.push(e);
            if kept.len() == want {
                return Ok(kept);
            }
        }
    }
    Ok(kept)
}

/// The snapshot source behind a directory: the national file, or the regional entries
/// of the Medimail directory.
fn source_of(which: &str) -> &'static str {
    if which == annuaire::MSSANTE {
        "mssante"
    } else {
        "regional"
    }
}

/// The active snapshot of `source`, if one was imported.
async fn active_snapshot<C: sea_orm::ConnectionTrait>(
    db: &C,
    source: &str,
) -> Result<Option<directory_snapshot::Model>, sea_orm::DbErr> {
    directory_snapshot::Entity::find()
        .filter(directory_snapshot::Column::Source.eq(source))
        .filter(directory_snapshot::Column::State.eq("active"))
        .one(db)
        .await
}

/// Is `domain` a mail domain of the national MSSanté directory (the active `mssante`
/// snapshot holds an address in it)? `None` when no national directory is imported.
/// The operators of the trust space are known by their domains there. A scan of the
/// snapshot's addresses (no index serves a suffix): the caller keeps the answers.
pub async fn national_domain<C: sea_orm::ConnectionTrait>(
    db: &C,
    domain: &str,
) -> Result<Option<bool>, sea_orm::DbErr> {
    let Some(snapshot) = active_snapshot(db, "mssante").await? else {
        return Ok(None);
    };
    // Only what a domain may hold, so that nothing in it is a LIKE wildcard.
    let plain = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !plain {
        return Ok(Some(false));
    }
    let found = directory_entry::Entity::find()
        .filter(directory_entry::Column::SnapshotId.eq(snapshot.id))
        .filter(directory_entry::Column::Address.like(format!("%@{domain}")))
        .one(db)
        .await?;
    Ok(Some(found.is_some()))
}

/// A Medimail account as a contact of the Medimail directory: what its « Identité » says,
/// else the name its identity provider gave, split.
fn account_contact(
    mailbox: String,
    display_name: &str,
    account: &account::Model,
    identity: Option<&account_identity::Model>,
) -> DirectoryContact {
    let (last_name, first_name) = split_display_name(display_name);
    let mut contact = DirectoryContact {
        annuaire: annuaire::MEDIMAIL.to_owned(),
        address: mailbox,
        kind: "COMPTE".to_owned(),
        last_name,
        first_name,
        identifier: account.rpps.clone().or_else(|| account.adeli.clone()),
        ..Default::default()
    };
    let Some(i) = identity else {
        return contact;
    };
    if i.last_name.is_some() {
        contact.last_name = i.last_name.clone();
        contact.first_name = i.first_name.clone();
    }
    let join = |parts: [&Option<String>; 2], with: &str| {
        let kept: Vec<&str> = parts.into_iter().flatten().map(String::as_str).collect();
        (!kept.is_empty()).then(|| kept.join(with))
    };
    contact.civility = i.civility.clone();
    contact.profession = i
        .profession_code
        .as_deref()
        .and_then(nomenclature::profession)
        .map(str::to_owned);
    contact.speciality = i
        .speciality_code
        .as_deref()
        .and_then(nomenclature::speciality)
        .map(str::to_owned);
    contact.organisation = i.raison_sociale.clone();
    contact.address_lines = join([&i.address1, &i.address2], " ");
    contact.postal_code = i.postal_code.clone();
    contact.city = i.city.clone();
    contact.phone = join([&i.phone1, &i.phone2], " / ");
    contact.dematerialised = i.dematerialised;
    contact
}

/// The « Identité » of accounts `ids`, by account.
async fn identities<C: sea_orm::ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<HashMap<String, account_identity::Model>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(account_identity::Entity::find()
        .filter(account_identity::Column::AccountId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.account_id.clone(), i))
        .collect())
}

/// Whether an account's contact passes the criteria other than the names.
fn account_refined(criteria: &Criteria, c: &DirectoryContact, department: Option<&str>) -> bool {
    let text = |typed: &str, field: &Option<String>| {
        typed.trim().is_empty() || words_match(&words(typed), field.as_deref())
    };
    let prefix = |typed: &str, field: Option<&str>| {
        let typed = typed.trim();
        typed.is_empty()
            || field.is_some_and(|f| f.to_uppercase().starts_with(&typed.to_uppercase()))
    };
    text(&criteria.organisation, &c.organisation)
        && text(&criteria.city, &c.city)
        && text(&criteria.profession, &c.profession)
        && text(&criteria.speciality, &c.speciality)
        && prefix(&criteria.postal_code, c.postal_code.as_deref())
        && prefix(&criteria.identifier, c.identifier.as_deref())
        && prefix(&criteria.department, department)
}

/// Searches the active snapshot of `source` (`mssante` or `regional`).
async fn search_snapshot(
    txn: &DatabaseTransaction,
    source: &str,
    criteria: &Criteria,
) -> Result<(Vec<(bool, directory_entry::Model)>, bool), sea_orm::DbErr> {
    let Some(snapshot) = active_snapshot(txn, source).await? else {
        return Ok((Vec::new(), false));
    };
    // Each word once; the longest drive the index, the others (if more than
    // MAX_DRIVERS) only filter what those found.
    let mut keys: Vec<(String, String)> = Vec::new();
    for (kind, text, organisation_like) in [
        ("n", &criteria.last_name, false),
        ("p", &criteria.first_name, false),
        ("o", &criteria.organisation, true),
        ("v", &criteria.city, true),
    ] {
        let typed = if organisation_like {
            super::keys::word_keys(text)
        } else {
            words(text)
        };
        for w in typed {
            if !keys.iter().any(|(k, seen)| k == kind && *seen == w) {
                keys.push((kind.to_owned(), w));
            }
        }
    }
    keys.sort_by_key(|(_, w)| std::cmp::Reverse(w.chars().count()));
    let filtering: Vec<String> = keys
        .iter()
        .skip(MAX_DRIVERS)
        .map(|(_, w)| w.clone())
        .collect();
    let mut drivers: Vec<Driver> = keys
        .into_iter()
        .take(MAX_DRIVERS)
        .map(|(kind, w)| Driver::Key(format!("{kind}:{w}")))
        .collect();
    let postal = criteria.postal_code.trim();
    if !postal.is_empty() {
        drivers.push(Driver::PostalCode(postal.to_owned()));
    }
    let identifier = criteria.identifier.trim();
    if !identifier.is_empty() {
        drivers.push(Driver::Identifier(identifier.to_owned()));
    }
    if drivers.is_empty() {
        return Ok((Vec::new(), false));
    }
    let want = LIMIT + 1;
    if let [Driver::Key(key)] = drivers.as_slice() {
        // The common case: one word typed. The index gives the order; fetch more only
        // when the liste rouge or a refinement dropped some.
        let mut limit = want as u64;
        loop {
            let (ids, more_ids) = single_key(txn, snapshot.id, key, limit).await?;
            let entries = load_in_order(txn, &ids, criteria, &filtering, want).await?;
            // Refinements dropped entries: read further, up to a bound (past it, the
            // user is asked to refine).
            if entries.len() < want && more_ids && limit < MAX_SINGLE_SCAN {
                limit *= 4;
                continue;
            }
            let more = entries.len() > LIMIT || (more_ids && limit >= MAX_SINGLE_SCAN);
            let page: Vec<i64> = entries.iter().map(|e| e.id).collect();
            let exact = exact_ids(txn, snapshot.id, key, &page).await?;
            return Ok((
                entries
                    .into_iter()
                    .take(LIMIT)
                    .map(|e| (exact.contains(&e.id), e))
                    .collect(),
                more,
            ));
        }
    }
    let mut found: Option<HashMap<i64, bool>> = None;
    let mut capped = false;
    for driver in &drivers {
        let (these, hit_cap) = candidates(txn, snapshot.id, driver).await?;
        capped |= hit_cap;
        found = Some(match found {
            None => these,
            Some(before) => intersect(before, &these),
        });
        if found.as_ref().is_some_and(HashMap::is_empty) {
            break;
        }
    }
    let found = found.unwrap_or_default();
    let mut ordered: Vec<(i64, bool)> = found.into_iter().collect();
    ordered.sort_by_key(|(id, exact)| (!*exact, *id));
    let ids: Vec<i64> = ordered.iter().map(|(id, _)| *id).collect();
    let exact: HashSet<i64> = ordered
        .iter()
        .filter(|(_, e)| *e)
        .map(|(id, _)| *id)
        .collect();
    let entries = load_in_order(txn, &ids, criteria, &filtering, want).await?;
    let more = entries.len() > LIMIT || capped;
    Ok((
        entries
            .into_iter()
            .take(LIMIT)
            .map(|e| (exact.contains(&e.id), e))
            .collect(),
        more,
    ))
}

/// Which of `ids` match `key` exactly (they are few: one page).
async fn exact_ids(
    txn: &DatabaseTransaction,
    snapshot: i64,
    key: &str,
    ids: &[i64],
) -> Result<HashSet<i64>, sea_orm::DbErr> {
    let rows: Vec<i64> = directory_key::Entity::find()
        .select_only()
        .column(directory_key::Column::EntryId)
        .filter(directory_key::Column::SnapshotId.eq(snapshot))
        .filter(directory_key::Column::Key.eq(key))
        .filter(directory_key::Column::EntryId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(txn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// "Prénom NOM" → (NOM, Prénom): words in capitals are the last name; without any, the
/// last word is.
pub fn split_display_name(name: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = name.split_whitespace().collect();
    let is_upper =
        |w: &str| w.chars().any(char::is_alphabetic) && w.chars().all(|c| !c.is_lowercase());
    let (last, first): (Vec<&str>, Vec<&str>) = if parts.iter().any(|w| is_upper(w)) {
        parts.iter().partition(|w| is_upper(w))
    } else if let Some((last, first)) = parts.split_last() {
        (vec![*last], first.to_vec())
    } else {
        (Vec::new(), Vec::new())
    };
    let join = |v: Vec<&str>| (!v.is_empty()).then(|| v.join(" "));
    (join(last), join(first))
}

/// Accounts of this service (not placeholders, not on the liste rouge) whose display
/// name holds every word typed in Nom and Prénom, each as a prefix of one of its words
/// (Office display names do not say which part is the last name), and whose « Identité »
/// passes the other criteria typed.
async fn search_accounts(
    txn: &DatabaseTransaction,
    criteria: &Criteria,
) -> Result<Vec<(bool, DirectoryContact)>, sea_orm::DbErr> {
    let all: Vec<String> = words(&criteria.last_name)
        .into_iter()
        .chain(words(&criteria.first_name))
        .collect();
    let Some(longest) = all.iter().max_by_key(|w| w.len()) else {
        return Ok(Vec::new());
    };
    let rows = account::Entity::find()
        .filter(account::Column::ProvenAt.is_not_null())
        .filter(account::Column::ListeRouge.eq(false))
        .filter(account::Column::Mailbox.is_not_null())
        .filter(account::Column::SearchName.like(format!("%{longest}%")))
        .limit(10_000)
        .all(txn)
        .await?;
    let rows: Vec<account::Model> = rows
        .into_iter()
        .filter(|a| {
            a.display_name
                .as_deref()
                .is_some_and(|d| words_match(&all, Some(d)))
        })
        .collect();
    let mut identity = identities(txn, rows.iter().map(|a| a.id.clone()).collect()).await?;
    let mut found = Vec::new();
    for a in rows {
        let (Some(mailbox), Some(display)) = (a.mailbox.clone(), a.display_name.clone()) else {
            continue;
        };
        let i = identity.remove(&a.id);
        let contact = account_contact(mailbox, &display, &a, i.as_ref());
        if !account_refined(
            criteria,
            &contact,
            i.as_ref().and_then(|i| i.department.as_deref()),
        ) {
            continue;
        }
        let name_words = words(&display);
        let exact = all.iter().all(|w| name_words.contains(w));
        found.push((exact, contact));
    }
    Ok(found)
}

/// Name order of contacts: last name (an organisation: its raison sociale), first name,
/// address.
pub fn contact_order(c: &DirectoryContact) -> (String, String, String) {
    (
        normalize(
            c.last_name
                .as_deref()
                .or(c.organisation.as_deref())
                .unwrap_or(""),
        ),
        normalize(c.first_name.as_deref().unwrap_or("")),
        c.address.clone(),
    )
}

/// Begins the read transaction every search runs in: one consistent view of the data.
async fn read_view(db: &DatabaseConnection) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await
    } else {
        // SQLite (WAL): a deferred transaction reads one snapshot from its first read.
        db.begin().await
    }
}

/// `annuaire` as a metric label: one of a fixed set, `all` for both directories.
pub fn directory_label(which: Option<&str>) -> &'static str {
    match which {
        Some(annuaire::MEDIMAIL) => annuaire::MEDIMAIL,
        Some(annuaire::MSSANTE) => annuaire::MSSANTE,
        Some(_) => "other",
        None => "all",
    }
}

/// Searches `annuaire` (`medimail` or `mssante`).
pub async fn search(
    db: &DatabaseConnection,
    which: &str,
    criteria: &Criteria,
) -> Result<Found, SearchError> {
    if !criteria.long_enough() {
        return Err(SearchError::TooShort);
    }
    let txn = read_view(db).await?;
    let mut ranked: Vec<(bool, DirectoryContact)> = Vec::new();
    let mut more = false;
    let (entries, m) = search_snapshot(&txn, source_of(which), criteria).await?;
    more |= m;
    ranked.extend(
        entries
            .into_iter()
            .map(|(exact, e)| (exact, entry_contact(which, e))),
    );
    if which == annuaire::MEDIMAIL {
        let accounts = search_accounts(&txn, criteria).await?;
        // An account and a regional entry with the same address: the account only.
        let accounts_at: HashSet<String> =
            accounts.iter().map(|(_, c)| c.address.clone()).collect();
        ranked.retain(|(_, c)| !accounts_at.contains(&c.address));
        ranked.extend(accounts);
        ranked.sort_by(|(ea, a), (eb, b)| {
            eb.cmp(ea)
                .then_with(|| contact_order(a).cmp(&contact_order(b)))
        });
    }
    txn.commit().await?;
    crate::metrics::directory_search(directory_label(Some(which)), false);
    if ranked.len() > LIMIT {
        more = true;
        ranked.truncate(LIMIT);
    }
    Ok(Found {
        contacts: ranked.into_iter().map(|(_, c)| c).collect(),
        more,
    })
}

/// Finds one contact by address in `annuaire` (to star it with trustworthy details).
pub async fn contact(
    db: &DatabaseConnection,
    which: &str,
    address: &str,
) -> Result<Option<DirectoryContact>, sea_orm::DbErr> {
    let address = address.trim().to_lowercase();
    let red = account::Entity::find()
        .filter(account::Column::Mailbox.eq(address.as_str()))
        .filter(account::Column::ListeRouge.eq(true))
        .one(db)
        .await?;
    if red.is_some() {
        return Ok(None);
    }
    if which == annuaire::MEDIMAIL
        && let Some(a) = account::Entity::find()
            .filter(account::Column::Mailbox.eq(address.as_str()))
            .filter(account::Column::ProvenAt.is_not_null())
            .one(db)
            .await?
    {
        let identity = account_identity::Entity::find_by_id(a.id.clone())
            .one(db)
            .await?;
        return Ok(Some(account_contact(
            address,
            a.display_name.as_deref().unwrap_or(""),
            &a,
            identity.as_ref(),
        )));
    }
    let Some(snapshot) = active_snapshot(db, source_of(which)).await? else {
        return Ok(None);
    };
    Ok(directory_entry::Entity::find()
        .filter(directory_entry::Column::SnapshotId.eq(snapshot.id))
        .filter(directory_entry::Column::Address.eq(address.as_str()))
        .one(db)
        .await?
        .map(|e| entry_contact(which, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_split_into_last_and_first_name() {
        assert_eq!(
            split_display_name("Pierre DUPOND"),
            (Some("DUPOND".into()), Some("Pierre".into()))
        );
        assert_eq!(
            split_display_name("Marie-Anne LE GOFF"),
            (Some("LE GOFF".into()), Some("Marie-Anne".into()))
        );
        assert_eq!(
            split_display_name("Jeanne Martin"),
            (Some("Martin".into()), Some("Jeanne".into()))
        );
        assert_eq!(split_display_name(""), (None, None));
    }

    #[test]
    fn the_three_character_rule_counts_text_fields_only() {
        let mut c = Criteria::default();
        assert!(c.is_empty());
        assert!(!c.long_enough());
        c.last_name = "du".into();
        assert!(!c.long_enough());
        c.profession = "Médecin".into();
        assert!(!c.long_enough(), "a list choice is not a text criterion");
        c.postal_code = "310".into();
        assert!(c.long_enough());
        let c = Criteria {
            first_name: " Zoé ".into(),
            ..Default::default()
        };
        assert!(c.long_enough());
    }

    #[test]
    fn refinements_match_words_by_prefix() {
        assert!(words_match(&words("medecin"), Some("Médecin")));
        assert!(words_match(
            &words("chir dent"),
            Some("Chirurgien-Dentiste")
        ));
        assert!(!words_match(&words("infirm"), Some("Médecin")));
        assert!(words_match(&[], None));
    }
}
