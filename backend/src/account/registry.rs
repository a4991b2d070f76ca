//! The account registry (docs/ARCHITECTURE.md "Identity model"). A Medimail account *is*
//! a mailbox: one row per mailbox, unique, trimmed and lowercase. Sign-in identities
//! reach an account through `identity_link`, set only once the identity has proven a
//! one-time code mailed to that mailbox (`auth::strong`). An envelope for an address
//! with no account creates the account of that mailbox (a *placeholder*: nobody proved
//! it yet, `proven_at` is `None`), where it waits until someone proves the mailbox.
//! Every creation is race-free: two at once end in one row.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::account::entity::{account, account_identity, identity_link};

/// Who a verified sign-in says the user is: `(tenant_id, object_id)` names the person;
/// name and mailbox are what the identity provider says today — the mailbox is only a
/// claim until a code mailed there is proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub tenant_id: String,
    pub object_id: String,
    pub name: Option<String>,
    pub mailbox: Option<String>,
}

/// The provider of Office identities in `identity_link`.
pub const OFFICE: &str = "office";

impl Identity {
    /// The mailbox the token names, normalised (`None` when it names none, or something
    /// that is not an address).
    pub fn claimed_mailbox(&self) -> Option<String> {
        self.mailbox
            .as_deref()
            .map(normalize_mailbox)
            .filter(|m| m.contains('@') && m.len() <= 320)
    }
}

/// How mailboxes are stored and compared: trimmed, lowercase.
pub fn normalize_mailbox(mailbox: &str) -> String {
    mailbox.trim().to_lowercase()
}

fn new_account(mailbox: &str, now: DateTime<Utc>) -> account::ActiveModel {
    account::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        search_name: Set(None),
        display_name: Set(None),
        mailbox: Set(Some(mailbox.to_owned())),
        passphrase_hash: Set(None),
        failed_attempts: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        last_code_requested_at: Set(None),
        liste_rouge: Set(false),
        mssante_enabled: Set(false),
        proven_at: Set(None),
        conditions_version: Set(None),
        conditions_accepted_at: Set(None),
        must_reset: Set(false),
        received_at: Set(None),
        rpps: Set(None),
        adeli: Set(None),
        mssante_eligible: Set(false),
        stamps_allocated: Set(None),
        stamps_used: Set(0),
        mssante_address: Set(None),
        mssante_activated_at: Set(None),
    }
}

/// The account of `mailbox` (normalised), if it has one.
pub async fn by_mailbox<C: ConnectionTrait>(
    db: &C,
    mailbox: &str,
) -> Result<Option<account::Model>, sea_orm::DbErr> {
    account::Entity::find()
        .filter(account::Column::Mailbox.eq(mailbox))
        .one(db)
        .await
}

/// The account of `mailbox` (normalised), created as a placeholder if it has none.
pub async fn for_mailbox<C: ConnectionTrait>(
    db: &C,
    mailbox: &str,
    now: DateTime<Utc>,
) -> Result<account::Model, sea_orm::DbErr> {
    Ok(made_for_mailbox(db, mailbox, now).await?.0)
}

/// [`for_mailbox`], and whether this call made the account: of many calls at once for a
/// new mailbox, exactly one is told so (the one whose insert took).
pub async fn made_for_mailbox<C: ConnectionTrait>(
    db: &C,
    mailbox: &str,
    now: DateTime<Utc>,
) -> Result<(account::Model, bool), sea_orm::DbErr> {
    if let Some(existing) = by_mailbox(db, mailbox).await? {
        return Ok((existing, false));
    }
    let inserted = account::Entity::insert(new_account(mailbox, now))
        .on_conflict(
            OnConflict::column(account::Column::Mailbox)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let account = by_mailbox(db, mailbox)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("account after insert".into()))?;
    Ok((account, inserted == 1))
}

/// The account that receives mail for `address`: the account whose MSSanté address it
/// is, else the mailbox's account, created as a placeholder if it has none; marked as
/// having received an envelope.
pub async fn for_recipient<C: ConnectionTrait>(
    db: &C,
    address: &str,
    now: DateTime<Utc>,
) -> Result<account::Model, sea_orm::DbErr> {
    let address = normalize_mailbox(address);
    // An activated MSSanté address is its account's.
    let account = match account::Entity::find()
        .filter(account::Column::MssanteAddress.eq(address.as_str()))
        .one(db)
        .await?
    {
        Some(account) => account,
        None => for_mailbox(db, &address, now).await?,
    };
    if account.received_at.is_some() {
        return Ok(account);
    }
    account::Entity::update_many()
        .col_expr(account::Column::ReceivedAt, Expr::value(Some(now)))
        .filter(account::Column::Id.eq(&account.id))
        .filter(account::Column::ReceivedAt.is_null())
        .exec(db)
        .await?;
    Ok(account::Model {
        received_at: Some(now),
        ..account
    })
}

/// The identity's row in `identity_link`, if it has one.
pub async fn link_of<C: ConnectionTrait>(
    db: &C,
    identity: &Identity,
) -> Result<Option<identity_link::Model>, sea_orm::DbErr> {
    identity_link::Entity::find()
        .filter(identity_link::Column::Provider.eq(OFFICE))
        .filter(identity_link::Column::TenantId.eq(&identity.tenant_id))
        .filter(identity_link::Column::Subject.eq(&identity.object_id))
        .one(db)
        .await
}

/// The account the identity is linked to (it proved a code at its mailbox), if any.
pub async fn linked_account<C: ConnectionTrait>(
    db: &C,
    link: Option<&identity_link::Model>,
) -> Result<Option<account::Model>, sea_orm::DbErr> {
    match link.and_then(|l| l.account_id.as_deref()) {
        Some(id) => account::Entity::find_by_id(id).one(db).await,
        None => Ok(None),
    }
}

async fn ensure_row<C: ConnectionTrait>(
    db: &C,
    identity: &Identity,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    identity_link::Entity::insert(identity_link::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        provider: Set(OFFICE.to_owned()),
        tenant_id: Set(identity.tenant_id.clone()),
        subject: Set(identity.object_id.clone()),
        account_id: Set(None),
        chosen_passphrase_hash: Set(None),
        created_at: Set(now),
        linked_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([
            identity_link::Column::Provider,
            identity_link::Column::TenantId,
            identity_link::Column::Subject,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn this_identity(identity: &Identity) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(identity_link::Column::Provider.eq(OFFICE))
        .add(identity_link::Column::TenantId.eq(&identity.tenant_id))
        .add(identity_link::Column::Subject.eq(&identity.object_id))
}

/// Keeps the passphrase chosen by a not-yet-linked identity (first sign-in), if it has
/// none yet; false when one was already chosen (two windows at once: the first wins).
pub async fn keep_chosen_passphrase<C: ConnectionTrait>(
    db: &C,
    identity: &Identity,
    phc: String,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    ensure_row(db, identity, now).await?;
    let r = identity_link::Entity::update_many()
        .col_expr(
            identity_link::Column::ChosenPassphraseHash,
            Expr::value(Some(phc)),
        )
        .filter(this_identity(identity))
        .filter(identity_link::Column::ChosenPassphraseHash.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Links the identity to `account_id` (called in the transaction that consumes the
/// code proven at that account's mailbox); the account is now proven, and takes the
/// name the identity provider gives (unless the user typed one in « Identité »).
pub async fn link<C: ConnectionTrait>(
    db: &C,
    identity: &Identity,
    account_id: &str,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    ensure_row(db, identity, now).await?;
    identity_link::Entity::update_many()
        .col_expr(
            identity_link::Column::AccountId,
            Expr::value(Some(account_id)),
        )
        .col_expr(identity_link::Column::LinkedAt, Expr::value(Some(now)))
        .col_expr(
            identity_link::Column::ChosenPassphraseHash,
            Expr::value(Option::<String>::None),
        )
        .filter(this_identity(identity))
        .exec(db)
        .await?;
    account::Entity::update_many()
        .col_expr(account::Column::ProvenAt, Expr::value(Some(now)))
        .filter(account::Column::Id.eq(account_id))
        .filter(account::Column::ProvenAt.is_null())
        .exec(db)
        .await?;
    // A name typed in « Identité » is the user's own: the provider's does not replace it.
    let named_by_user = account_identity::Entity::find_by_id(account_id.to_owned())
        .one(db)
        .await?
        .is_some_and(|i| i.last_name.is_some());
    if let Some(name) = identity
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty() && !named_by_user)
    {
        account::Entity::update_many()
            .col_expr(account::Column::DisplayName, Expr::value(Some(name)))
            .col_expr(
                account::Column::SearchName,
                Expr::value(Some(crate::directory::keys::normalize(name))),
            )
            .filter(account::Column::Id.eq(account_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Moves a proven account to a new mailbox its identity has just proven. A placeholder
/// of that mailbox (envelopes waiting there, nobody proved it) is merged into the
/// account first; the old address keeps nothing, so mail sent to it later waits for
/// whoever proves it next.
pub async fn move_to_mailbox<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    mailbox: &str,
) -> Result<(), sea_orm::DbErr> {
    if let Some(placeholder) = by_mailbox(db, mailbox).await?
        && placeholder.id != account_id
    {
        absorb(db, &placeholder.id, account_id).await?;
    }
    account::Entity::update_many()
        .col_expr(account::Column::Mailbox, Expr::value(Some(mailbox)))
        .filter(account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Merges account `from` (a placeholder) into `into`: its envelopes, events, favorites
/// and mail move; its codes end; the row goes.
async fn absorb<C: ConnectionTrait>(db: &C, from: &str, into: &str) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{Statement, Value};
    let backend = db.get_database_backend();
    let p = |n: usize| match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    let both = |sql: String| {
        Statement::from_sql_and_values(
            backend,
            sql,
            [Value::from(from.to_owned()), Value::from(into.to_owned())],
        )
    };
    let (a, b) = (p(1), p(2));
    for sql in [
        // An envelope sent to both addresses stays once.
        format!(
            "DELETE FROM envelope_recipient WHERE account_id = {a} AND envelope_id IN \
             (SELECT envelope_id FROM envelope_recipient WHERE account_id = {b})"
        ),
        format!("UPDATE envelope_recipient SET account_id = {b} WHERE account_id = {a}"),
        format!("UPDATE envelope SET sender_account_id = {b} WHERE sender_account_id = {a}"),
        format!("UPDATE envelope_event SET account_id = {b} WHERE account_id = {a}"),
        format!(
            "DELETE FROM directory_favorite WHERE account_id = {a} AND EXISTS (SELECT 1 \
             FROM directory_favorite f WHERE f.account_id = {b} AND f.annuaire = \
             directory_favorite.annuaire AND f.address = directory_favorite.address)"
        ),
        format!("UPDATE directory_favorite SET account_id = {b} WHERE account_id = {a}"),
        format!("UPDATE outbox SET account_id = {b} WHERE account_id = {a}"),
        format!("UPDATE identity_link SET account_id = {b} WHERE account_id = {a}"),
    ] {
        db.execute_raw(both(sql)).await?;
    }
    for sql in [
        format!("DELETE FROM one_time_code WHERE account_id = {a}"),
        format!("DELETE FROM account_identity WHERE account_id = {a}"),
        format!("DELETE FROM auth_session WHERE account_id = {a}"),
        format!("DELETE FROM account WHERE id = {a}"),
    ] {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [Value::from(from.to_owned())],
        ))
        .await?;
    }
    Ok(())
}
