//! The folders of a mailbox: "Messages reçus", "Messages envoyés", "Messages supprimés"
//! — newest first, 50 a page, searched by title or sender (case and accents ignored;
//! titles and names are sealed, so through their keyed tags: `at_rest`), only the
//! caller's own envelopes — and moving an envelope between them ("Supprimer", back,
//! "Supprimer définitivement"), which changes the caller's view only.

use chrono::{DateTime, Utc};
use medimail_api::{EnvelopeList, EnvelopeListQuery, EnvelopeSummary, Folder};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use super::refusal::EnvelopeRefusal;
use crate::account::entity::account;
use crate::envelope::entity::{envelope, envelope_recipient, envelope_term};
use crate::error::AppError;

pub use medimail_api::limits::ENVELOPES_PER_PAGE as PER_PAGE;
/// How far past the current page the folder is counted.
pub const COUNT_AHEAD: u64 = 1_000;

/// `%` and `_` typed by the user match themselves.
fn like_pattern(q: &str) -> String {
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Envelopes a search opens and checks at most (the newest of those its tags find, or of
/// the folder for a query shorter than 3 characters).
pub const SEARCH_OPENED: u64 = 2_000;

/// One page of a folder of `owner`'s mailbox.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    keys: &crate::keys::Keys,
    owner: &account::Model,
    query: EnvelopeListQuery,
) -> Result<EnvelopeList, AppError> {
    let me = owner.id.clone();
    // A folder's name, or what may be a sub-folder's id (36 characters).
    let name = query.folder.as_deref().unwrap_or(Folder::Inbox.as_str());
    if Folder::parse(name).is_none() && name.len() != 36 {
        return Err(EnvelopeRefusal::FolderUnknown.into());
    }
    let place = super::subfolders::place(db, &me, name).await?;
    let folder = place.root;
    let sub = place.folder_id();
    // Filed in this sub-folder, or (none) in the folder itself.
    let in_sub = |column: sea_orm::sea_query::Expr| match &sub {
        Some(id) => column.eq(id.clone()),
        None => column.is_null(),
    };
    let sender_in_sub = in_sub(Expr::col((
        envelope::Entity,
        envelope::Column::SenderFolderId,
    )));
    let search = query
        .q
        .map(|q| q.trim().chars().take(100).collect::<String>())
        .filter(|q| !q.is_empty());
    // The search's candidates are a short list of ids (rare tags, no mailbox scan).
    let mut few = false;
    // The few, when the folder is the inbox: its recipient rows are looked up by
    // (account, envelope) — named so that no planner walks the caller's whole inbox
    // through its (account, sub-folder) index to find them.
    let mut inbox_few: Option<Vec<String>> = None;
    let mut found_filter = None;
    if let Some(q) = &search {
        // The title, the sender's name and (once every envelope has them) the sender's
        // mailbox are found by their tags, then checked once opened below. Until the
        // envelopes from before have their mailbox's tags (`at_rest::tag_mailboxes`, at
        // start), the mailboxes, in clear, are scanned. A query with a space cannot be in
        // a mailbox: only the title's and name's tags are looked up.
        let mut found = Condition::any();
        let mut lists: Vec<Candidates> = Vec::new();
        if let Some(terms) = super::at_rest::query_terms(keys, q) {
            lists.push(tagged(db, terms).await?);
        }
        if let Some(terms) = super::at_rest::mailbox_query_terms(keys, q) {
            if super::at_rest::mailboxes_tagged(db).await? {
                lists.push(tagged(db, terms).await?);
            } else {
                found = found.add(
                    Expr::expr(Func::lower(Expr::col((
                        envelope::Entity,
                        envelope::Column::SenderMailbox,
                    ))))
                    .like(LikeExpr::new(like_pattern(q)).escape('\\')),
                );
            }
        }
        if lists.is_empty() && found.is_empty() {
            // Too short for a tag: the newest of the folder are opened and checked.
            found = Condition::all();
        } else if found.is_empty() && lists.iter().all(|c| matches!(c, Candidates::Few(_))) {
            // Only short lists: their union, looked up by id.
            let mut ids: Vec<String> = lists
                .into_iter()
                .flat_map(|c| match c {
                    Candidates::Few(ids) => ids,
                    Candidates::Carrying(_) => Vec::new(),
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            few = true;
            if folder == Folder::Inbox {
                inbox_few = Some(ids.clone());
            }
            found = found.add(envelope::Column::Id.is_in(ids));
        } else {
            for candidates in lists {
                found = match candidates {
                    Candidates::Few(ids) => found.add(envelope::Column::Id.is_in(ids)),
                    Candidates::Carrying(term) => {
                        found.add(envelope::Column::Id.in_subquery(postings(term).into_query()))
                    }
                };
            }
        }
        found_filter = Some(found);
    }
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let mut select = envelope::Entity::find().filter(envelope::Column::PurgedAt.is_null());
    select = match folder {
        Folder::Sent => select
            .filter(envelope::Column::SenderAccountId.eq(&me))
            .filter(envelope::Column::SenderDeletedAt.is_null())
            .filter(sender_in_sub.clone()),
        Folder::Inbox => {
            let select = select
                .join(JoinType::InnerJoin, envelope_recipient::to_envelope().rev())
                .filter(envelope_recipient::Column::AccountId.eq(&me))
                .filter(envelope_recipient::Column::DeletedAt.is_null());
            let folder_id = Expr::col((
                envelope_recipient::Entity,
                envelope_recipient::Column::FolderId,
            ));
            match inbox_few.take() {
                None => select.filter(in_sub(folder_id)),
                // The sub-folder compared as a value (no index on it offered), the
                // envelopes named: read through the (account, envelope) index.
                Some(ids) => select
                    .filter(envelope_recipient::Column::EnvelopeId.is_in(ids))
                    .filter(
                        Func::coalesce([folder_id, Expr::val("")])
                            .eq(sub.clone().unwrap_or_default()),
                    ),
            }
        }
        Folder::Deleted => {
            // Deleted by the caller as sender or as recipient, not removed for good: one
            // query with a subquery (no list of ids bound as parameters, which PostgreSQL
            // caps at 65,535).
            let as_recipient = envelope_recipient::Entity::find()
                .select_only()
                .column(envelope_recipient::Column::EnvelopeId)
                .filter(envelope_recipient::Column::AccountId.eq(&me))
                .filter(envelope_recipient::Column::DeletedAt.is_not_null())
                .filter(envelope_recipient::Column::RemovedAt.is_null())
                .filter(in_sub(Expr::col((
                    envelope_recipient::Entity,
                    envelope_recipient::Column::FolderId,
                ))))
                .into_query();
            select.filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(envelope::Column::SenderAccountId.eq(&me))
                            .add(envelope::Column::SenderDeletedAt.is_not_null())
                            .add(envelope::Column::SenderRemovedAt.is_null())
                            .add(sender_in_sub),
                    )
                    .add(envelope::Column::Id.in_subquery(as_recipient)),
            )
        }
    };
    if let Some(found) = found_filter {
        select = select.filter(found);
    }
    let cursor = match (query.after.as_deref(), query.before.as_deref()) {
        (None, None) => None,
        (Some(after), None) => Some((true, Position::decode(after)?)),
        (None, Some(before)) => Some((false, Position::decode(before)?)),
        (Some(_), Some(_)) => return Err(EnvelopeRefusal::CursorInvalid.into()),
    };
    // Newest first, by (sealing time, id): the inbox in the order of the recipient rows'
    // index (account, sub-folder, sealed_at, envelope), the others in the envelopes'
    // (sender, sub-folder, sealed_at, id).
    let key = if folder == Folder::Inbox {
        Key::Recipient
    } else {
        Key::Envelope
    };
    // Kept up to date by every change (`unread`), never counted here.
    let unread_by_folder = super::unread::of(db, &me).await?;
    let shown = Shown {
        key: place.key(),
        root: folder,
        folders: super::subfolders::tree(db, keys, &me, &unread_by_folder).await?,
        unread: unread_by_folder.get(&None).copied().unwrap_or(0),
    };
    if let Some(q) = &search {
        // A search's pages are cut from its bounded candidates (numbered, no positions).
        // A short list of candidates is looked up by id and put in order here (ordered in
        // SQL, the folder would be walked in its index's order to find them).
        let select = if few {
            select
        } else {
            key.newest_first(select)
        };
        return searched(db, keys, &me, shown, page, select, q).await;
    }
    // The page: from a position, read straight from the index (`after`: the next 50 older
    // ones; `before`: the 50 newer ones, read upwards); without one, page 1 — or, for a
    // page number alone, skipped to (kept for links that name a page).
    let (rows, more) = match &cursor {
        Some((true, at)) => {
            let mut rows = key
                .newest_first(select.clone().filter(key.before_position(at)))
                .limit(PER_PAGE + 1)
                .all(db)
                .await?;
            let more = rows.len() as u64 > PER_PAGE;
            rows.truncate(PER_PAGE as usize);
            (rows, more)
        }
        Some((false, at)) => {
            let mut rows = key
                .oldest_first(select.clone().filter(key.after_position(at)))
                .limit(PER_PAGE + 1)
                .all(db)
                .await?;
            let more = rows.len() as u64 > PER_PAGE;
            rows.truncate(PER_PAGE as usize);
            rows.reverse();
            (rows, more)
        }
        None => {
            let rows = key
                .newest_first(select.clone())
                .offset((page - 1) * PER_PAGE)
                .limit(PER_PAGE)
                .all(db)
                .await?;
            (rows, false)
        }
    };
    // Is there a page before? Going up, when more were found; otherwise past page 1.
    let previous = match &cursor {
        Some((false, _)) => more,
        Some((true, _)) => true,
        None => page > 1,
    };
    let page = match (previous, page) {
        (false, _) => 1,
        (true, 1) => 2,
        (true, n) => n,
    };
    // Counted from this page's first envelope, up to COUNT_AHEAD past the page: an exact
    // count of a large mailbox reads every row of it (93 ms for 100,000 on SQLite).
    let cap = PER_PAGE + COUNT_AHEAD;
    let counted = match rows.first() {
        None => 0,
        Some(first) => {
            count_at_most(
                db,
                select
                    .clone()
                    .filter(key.at_or_before(&Position::of(first)))
                    .select_only()
                    .column(envelope::Column::Id)
                    .limit(cap + 1)
                    .into_query(),
            )
            .await?
        }
    };
    let before = (page - 1) * PER_PAGE;
    let (total, total_capped) = if counted > cap {
        (before + cap, true)
    } else {
        (before + counted, false)
    };
    let next = (counted > rows.len() as u64)
        .then(|| rows.last().map(|r| Position::of(r).encode()))
        .flatten();
    let previous = previous
        .then(|| rows.first().map(|r| Position::of(r).encode()))
        .flatten();
    let unread = unread_among(db, &me, folder, rows.iter().map(|r| r.id.clone()).collect()).await?;
    let mut recipients = if folder == Folder::Sent {
        recipients_of(db, rows.iter().map(|r| r.id.clone()).collect()).await?
    } else {
        Default::default()
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let shown = super::at_rest::shown(keys, &row)?;
        items.push(summary(row, shown, &unread, &mut recipients));
    }
    let mut list = shown.list(page, total, total_capped, items);
    list.next = next;
    list.previous = previous;
    Ok(list)
}

/// A position in a list: the (sealing time, id) of the envelope it is next to. On the
/// wire, base64url of `<nanoseconds>.<id>` — opaque to the pane, checked here.
pub struct Position {
    sealed_at: DateTime<Utc>,
    id: String,
}

impl Position {
    fn of(row: &envelope::Model) -> Self {
        Position {
            sealed_at: row.sealed_at,
            id: row.id.clone(),
        }
    }

    pub fn encode(&self) -> String {
        use base64::Engine;
        let nanos = self.sealed_at.timestamp_nanos_opt().unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{nanos}.{}", self.id))
    }

    pub fn decode(text: &str) -> Result<Self, EnvelopeRefusal> {
        use base64::Engine;
        (text.len() <= 96)
            .then(|| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(text)
                    .ok()
            })
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|plain| {
                let (nanos, id) = plain.split_once('.')?;
                let sealed_at = DateTime::from_timestamp_nanos(nanos.parse().ok()?);
                (!id.is_empty() && id.len() <= 36).then(|| Position {
                    sealed_at,
                    id: id.to_owned(),
                })
            })
            .ok_or(EnvelopeRefusal::CursorInvalid)
    }
}

/// Which columns order a list: the recipient rows' copy of (sealed_at, envelope) for the
/// inbox, the envelopes' own (sealed_at, id) for the others.
#[derive(Clone, Copy)]
enum Key {
    Recipient,
    Envelope,
}

impl Key {
    fn columns(self) -> (Expr, Expr) {
        match self {
            Key::Recipient => (
                Expr::col((
                    envelope_recipient::Entity,
                    envelope_recipient::Column::SealedAt,
                )),
                Expr::col((
                    envelope_recipient::Entity,
                    envelope_recipient::Column::EnvelopeId,
                )),
            ),
            Key::Envelope => (
                Expr::col((envelope::Entity, envelope::Column::SealedAt)),
                Expr::col((envelope::Entity, envelope::Column::Id)),
            ),
        }
    }

    fn pair(self) -> Expr {
        let (at, id) = self.columns();
        Expr::tuple([at, id])
    }

    fn value(at: &Position) -> Expr {
        Expr::tuple([Expr::value(at.sealed_at), Expr::value(at.id.clone())])
    }

    /// Older than the position (the next page).
    fn before_position(self, at: &Position) -> Expr {
        self.pair().lt(Self::value(at))
    }

    /// Newer than the position (the previous page).
    fn after_position(self, at: &Position) -> Expr {
        self.pair().gt(Self::value(at))
    }

    /// The position and everything older (a page and what follows it).
    fn at_or_before(self, at: &Position) -> Expr {
        self.pair().lte(Self::value(at))
    }

    fn newest_first(
        self,
        select: sea_orm::Select<envelope::Entity>,
    ) -> sea_orm::Select<envelope::Entity> {
        let (at, id) = self.columns();
        select
            .order_by(at, sea_orm::Order::Desc)
            .order_by(id, sea_orm::Order::Desc)
    }

    fn oldest_first(
        self,
        select: sea_orm::Select<envelope::Entity>,
    ) -> sea_orm::Select<envelope::Entity> {
        let (at, id) = self.columns();
        select
            .order_by(at, sea_orm::Order::Asc)
            .order_by(id, sea_orm::Order::Asc)
    }
}

/// What a page says of its folder besides its envelopes: its key and top folder, the
/// sub-folders for the menu (each with its unread envelopes), and the envelopes not
/// opened directly in « Messages reçus » (its label: « Messages reçus (3) »).
struct Shown {
    key: String,
    root: Folder,
    folders: Vec<medimail_api::FolderInfo>,
    unread: u64,
}

impl Shown {
    fn list(
        self,
        page: u64,
        total: u64,
        total_capped: bool,
        items: Vec<EnvelopeSummary>,
    ) -> EnvelopeList {
        EnvelopeList {
            folder: self.key,
            page,
            per_page: PER_PAGE,
            total,
            total_capped,
            items,
            unread: self.unread,
            // Exact: the counts are maintained (kept in the contract for older panes).
            unread_capped: false,
            root: self.root,
            folders: self.folders,
            next: None,
            previous: None,
        }
    }
}

/// Postings counted per tag at most (the count reads only that many index rows); a tag
/// with more is common.
const POSTINGS_COUNTED: u64 = 500;

/// When every tag is common, they are counted again up to this to find the rarest.
const COMMON_COUNTED: u64 = 5_000;

/// Rare tags an envelope must carry all of to be a candidate, at most.
const RARE_TAGS: usize = 3;

/// The candidates of a search. Each tag's postings are counted up to
/// [`POSTINGS_COUNTED`] first. When some are rare (under that count), the candidates are
/// the envelopes carrying every one of the [`RARE_TAGS`] rarest — their postings read and
/// intersected here, then given to the folder's query as a list of ids, so that it looks
/// them up instead of walking the folder. When every tag is common, the envelopes carrying
/// the rarest one (a subquery). The opened titles are checked against the query anyway
/// (`at_rest::matches`): the tags only narrow what is opened.
async fn tagged<C: ConnectionTrait>(db: &C, terms: Vec<i64>) -> Result<Candidates, sea_orm::DbErr> {
    let counted = counted_postings(db, &terms, POSTINGS_COUNTED).await?;
    let mut carrying: Option<std::collections::HashSet<String>> = None;
    for (_, term) in counted
        .iter()
        .take_while(|(n, _)| *n <= POSTINGS_COUNTED)
        .take(RARE_TAGS)
    {
        let ids: Vec<String> = postings(*term).into_tuple().all(db).await?;
        carrying = Some(match carrying {
            None => ids.into_iter().collect(),
            Some(kept) => ids.into_iter().filter(|id| kept.contains(id)).collect(),
        });
    }
    Ok(match carrying {
        Some(ids) => Candidates::Few(ids.into_iter().collect()),
        None => {
            let recounted = counted_postings(db, &terms, COMMON_COUNTED).await?;
            Candidates::Carrying(recounted.first().map_or(0, |(_, term)| *term))
        }
    })
}

/// A search's candidates: a short list of ids (every rare tag carried), or the envelopes
/// carrying the rarest of common tags.
enum Candidates {
    Few(Vec<String>),
    Carrying(i64),
}

/// The postings of one tag.
fn postings(term: i64) -> sea_orm::Select<envelope_term::Entity> {
    envelope_term::Entity::find()
        .select_only()
        .column(envelope_term::Column::EnvelopeId)
        .filter(envelope_term::Column::Term.eq(term))
}

/// Each of `terms` with its postings counted up to `cap` (and one past it), rarest first.
async fn counted_postings<C: ConnectionTrait>(
    db: &C,
    terms: &[i64],
    cap: u64,
) -> Result<Vec<(u64, i64)>, sea_orm::DbErr> {
    let mut counted = Vec::with_capacity(terms.len());
    for term in terms {
        let n = count_at_most(db, postings(*term).limit(cap + 1).into_query()).await?;
        counted.push((n, *term));
    }
    counted.sort_unstable();
    Ok(counted)
}

/// One line of a folder.
fn summary(
    row: envelope::Model,
    shown: super::at_rest::Shown,
    unread: &std::collections::HashSet<String>,
    recipients: &mut std::collections::HashMap<String, Vec<String>>,
) -> EnvelopeSummary {
    EnvelopeSummary {
        recipients: recipients.remove(&row.id).unwrap_or_default(),
        unread: unread.contains(&row.id),
        reference: row.reference,
        subject: shown.subject,
        sender: row.sender_mailbox,
        sender_name: shown.sender_name,
        sealed_at: row.sealed_at.to_rfc3339(),
        date: crate::fr::date_time(row.sealed_at),
        attachments: u32::try_from(row.attachment_count).unwrap_or(0),
    }
}

/// A searched folder: the newest [`SEARCH_OPENED`] candidates opened, those that really
/// contain `q` kept, then the page cut from them (the total is exact up to that bound).
async fn searched<C: ConnectionTrait>(
    db: &C,
    keys: &crate::keys::Keys,
    me: &str,
    shown_folder: Shown,
    page: u64,
    select: sea_orm::Select<envelope::Entity>,
    q: &str,
) -> Result<EnvelopeList, AppError> {
    let folder = shown_folder.root;
    let mut candidates = select.limit(SEARCH_OPENED).all(db).await?;
    candidates.sort_unstable_by(|a, b| (b.sealed_at, &b.id).cmp(&(a.sealed_at, &a.id)));
    let capped = candidates.len() as u64 >= SEARCH_OPENED;
    let mut kept = Vec::new();
    for row in candidates {
        let shown = super::at_rest::shown(keys, &row)?;
        if super::at_rest::matches(q, &shown, &row.sender_mailbox) {
            kept.push((row, shown));
        }
    }
    let total = kept.len() as u64;
    let offset = ((page - 1) * PER_PAGE) as usize;
    let rows: Vec<_> = kept
        .into_iter()
        .skip(offset)
        .take(PER_PAGE as usize)
        .collect();
    let ids: Vec<String> = rows.iter().map(|(r, _)| r.id.clone()).collect();
    let unread = unread_among(db, me, folder, ids.clone()).await?;
    let mut recipients = if folder == Folder::Sent {
        recipients_of(db, ids).await?
    } else {
        Default::default()
    };
    let items = rows
        .into_iter()
        .map(|(row, shown)| summary(row, shown, &unread, &mut recipients))
        .collect();
    Ok(shown_folder.list(page, total, capped, items))
}

/// Which of `envelopes` (a page) `me` has not opened, in one query.
async fn unread_among<C: ConnectionTrait>(
    db: &C,
    me: &str,
    folder: Folder,
    envelopes: Vec<String>,
) -> Result<std::collections::HashSet<String>, sea_orm::DbErr> {
    if folder == Folder::Sent {
        return Ok(Default::default());
    }
    Ok(envelope_recipient::Entity::find()
        .select_only()
        .column(envelope_recipient::Column::EnvelopeId)
        .filter(envelope_recipient::Column::EnvelopeId.is_in(envelopes))
        .filter(envelope_recipient::Column::AccountId.eq(me))
        .filter(envelope_recipient::Column::OpenedAt.is_null())
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// `SELECT COUNT(*)` of a bounded subquery.
async fn count_at_most<C: ConnectionTrait>(
    db: &C,
    inner: sea_orm::sea_query::SelectStatement,
) -> Result<u64, sea_orm::DbErr> {
    let statement = sea_orm::sea_query::Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from_subquery(inner, "counted")
        .to_owned();
    let backend = db.get_database_backend();
    Ok(db
        .query_one_raw(backend.build(&statement))
        .await?
        .and_then(|row| row.try_get::<i64>("", "n").ok())
        .map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

/// Who each envelope went to, for "Messages envoyés": "NOM Prénom" where the account
/// has a name, else the address; three at most, then `+N`. Two queries for the page.
async fn recipients_of<C: ConnectionTrait>(
    db: &C,
    envelopes: Vec<String>,
) -> Result<std::collections::HashMap<String, Vec<String>>, sea_orm::DbErr> {
    let rows = envelope_recipient::Entity::find()
        .filter(envelope_recipient::Column::EnvelopeId.is_in(envelopes))
        .order_by_asc(envelope_recipient::Column::Position)
        .all(db)
        .await?;
    let names: std::collections::HashMap<String, String> = account::Entity::find()
        .filter(account::Column::Id.is_in(rows.iter().map(|r| r.account_id.clone())))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| {
            a.display_name
                .filter(|n| !n.trim().is_empty())
                .map(|n| (a.id, n))
        })
        .collect();
    let mut by_envelope: std::collections::HashMap<String, Vec<String>> = Default::default();
    for row in rows {
        let shown = names
            .get(&row.account_id)
            .cloned()
            .unwrap_or_else(|| row.address.clone());
        by_envelope.entry(row.envelope_id).or_default().push(shown);
    }
    for list in by_envelope.values_mut() {
        if list.len() > 3 {
            let more = list.len() - 3;
            list.truncate(3);
            list.push(format!("+{more}"));
        }
    }
    Ok(by_envelope)
}

/// What a folder action changes, for the caller's role(s) in the envelope.
#[derive(Clone, Copy)]
pub enum FolderAction {
    /// "Supprimer": to "Messages supprimés".
    Delete,
    /// Back from "Messages supprimés".
    Restore,
    /// "Supprimer définitivement" (from "Messages supprimés"); the envelope itself
    /// stays until its retention ends, for the others.
    Remove,
}

/// Moves the envelope `reference` in `owner`'s folders (only the owner's view changes).
pub async fn apply(
    db: &DatabaseConnection,
    keys: &crate::keys::Keys,
    owner: &account::Model,
    reference: &str,
    action: FolderAction,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let (envelope, recipient) = super::read::accessible(db, owner, reference).await?;
    let me = &owner.id;
    let in_deleted = (envelope.sender_account_id == *me && envelope.sender_deleted_at.is_some())
        || recipient.as_ref().is_some_and(|r| r.deleted_at.is_some());
    if matches!(action, FolderAction::Remove) && !in_deleted {
        return Err(EnvelopeRefusal::NotDeleted.into());
    }
    let txn = crate::db::begin_write(db).await?;
    if envelope.sender_account_id == *me {
        let column = match action {
            FolderAction::Remove => envelope::Column::SenderRemovedAt,
            _ => envelope::Column::SenderDeletedAt,
        };
        let value = match action {
            FolderAction::Restore => None,
            _ => Some(now),
        };
        let mut update = envelope::Entity::update_many().col_expr(column, Expr::value(value));
        if !matches!(action, FolderAction::Remove) {
            // Deleted or restored: at the top of « Messages supprimés », or back at the top
            // of « Messages envoyés ».
            update = update.col_expr(
                envelope::Column::SenderFolderId,
                Expr::value(Option::<String>::None),
            );
        }
        update
            .filter(envelope::Column::Id.eq(&envelope.id))
            .exec(&txn)
            .await?;
    }
    if let Some(r) = &recipient {
        let counted = super::unread::Rows::lock_ids(&txn, vec![r.id.clone()]).await?;
        let column = match action {
            FolderAction::Remove => envelope_recipient::Column::RemovedAt,
            _ => envelope_recipient::Column::DeletedAt,
        };
        let value = match action {
            FolderAction::Restore => None,
            _ => Some(now),
        };
        let mut update =
            envelope_recipient::Entity::update_many().col_expr(column, Expr::value(value));
        if !matches!(action, FolderAction::Remove) {
            update = update.col_expr(
                envelope_recipient::Column::FolderId,
                Expr::value(Option::<String>::None),
            );
        }
        update
            .filter(envelope_recipient::Column::Id.eq(&r.id))
            .exec(&txn)
            .await?;
        counted.settle(&txn).await?;
    }
    let what = match action {
        FolderAction::Delete => "envelope_deleted",
        FolderAction::Restore => "envelope_restored",
        FolderAction::Remove => "envelope_removed",
    };
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        what,
        serde_json::json!({"envelope": envelope.id, "account": owner.id}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
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
