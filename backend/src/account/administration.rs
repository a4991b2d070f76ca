//! « Administration » (issue 17): a manager lists the accounts of the organisation it
//! manages — those whose mailbox is in one of its domains — and, for each, marks it
//! eligible for MSSanté, activates MSSanté, sets its stamps and ends its lock. Only a
//! manager signed in with the strong authentication reaches it; an account outside the
//! organisation is « inconnu » to it, never told apart from one that does not exist.
//! Every change is audited with the manager as the actor.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use medimail_api::{AdministeredAccount, Administration, AdministrationChange};
use sea_orm::sea_query::{Condition, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};

use super::entity::{account, organisation};
use crate::error::Refusal;
use crate::keys::Keys;

/// Accounts per page.
pub const PER_PAGE: u64 = 50;
/// « Timbres alloués » at most (a typing slip of a few zeros is refused).
pub const MAX_STAMPS: u64 = 1_000_000;
/// Pages at most (50 million accounts).
pub const MAX_PAGE: u64 = 1_000_000;
/// Characters of the search text kept.
const MAX_QUERY_CHARS: usize = 100;

/// Why « Administration » refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdministrationRefusal {
    /// The caller manages no organisation.
    NotAManager,
    /// The caller's session was not opened by the strong authentication.
    StrongRequired,
    /// No such account in the organisation.
    AccountUnknown,
    /// « Timbres alloués » is over [`MAX_STAMPS`].
    StampsInvalid,
}

impl Refusal for AdministrationRefusal {
    fn status(&self) -> StatusCode {
        match self {
            AdministrationRefusal::NotAManager | AdministrationRefusal::StrongRequired => {
                StatusCode::FORBIDDEN
            }
            AdministrationRefusal::AccountUnknown => StatusCode::NOT_FOUND,
            AdministrationRefusal::StampsInvalid => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AdministrationRefusal::NotAManager => "administration_forbidden",
            AdministrationRefusal::StrongRequired => "administration_strong_required",
            AdministrationRefusal::AccountUnknown => "administration_account_unknown",
            AdministrationRefusal::StampsInvalid => "stamps_invalid",
        }
    }

    fn message(&self) -> String {
        match self {
            AdministrationRefusal::NotAManager => {
                "L'administration est réservée aux managers Medimail de votre structure.".to_owned()
            }
            AdministrationRefusal::StrongRequired => {
                "L'administration demande une authentification forte (carte CPS ou code à \
                 usage unique) : reconnectez-vous."
                    .to_owned()
            }
            AdministrationRefusal::AccountUnknown => {
                "Ce compte n'appartient pas à votre structure.".to_owned()
            }
            AdministrationRefusal::StampsInvalid => format!(
                "Le nombre de timbres alloués va de 0 à {MAX_STAMPS} (ou « illimité ») : rien \
                 n'a été enregistré."
            ),
        }
    }

    fn field(&self) -> Option<&'static str> {
        matches!(self, AdministrationRefusal::StampsInvalid).then_some("stamps")
    }
}

/// The organisation `account` manages, for a session that is `strong`.
pub async fn managed<C: ConnectionTrait>(
    db: &C,
    account: &account::Model,
    strong: bool,
) -> Result<Result<organisation::Model, AdministrationRefusal>, sea_orm::DbErr> {
    let Some(organisation) = super::organisation::managed_by(db, &account.id).await? else {
        return Ok(Err(AdministrationRefusal::NotAManager));
    };
    if !strong {
        return Ok(Err(AdministrationRefusal::StrongRequired));
    }
    Ok(Ok(organisation))
}

/// `%`, `_` and the escape itself taken literally in a LIKE pattern.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

fn like(pattern: String) -> LikeExpr {
    LikeExpr::new(pattern).escape('!')
}

/// The accounts of the organisation: mailbox in one of `domains`.
fn in_domains(domains: &[String]) -> Condition {
    domains.iter().fold(Condition::any(), |any, d| {
        any.add(account::Column::Mailbox.like(like(format!("%@{}", literal(d)))))
    })
}

/// One page (from 1) of the organisation's accounts whose name or mailbox contains `q`,
/// by mailbox.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    organisation: &organisation::Model,
    q: &str,
    page: u64,
    now: DateTime<Utc>,
) -> Result<Administration, sea_orm::DbErr> {
    let domains = super::organisation::domains_of(db, &organisation.id).await?;
    let managers: Vec<String> = super::organisation::managers_of(db, &organisation.id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    // Past the last page: an empty page, never an overflowing offset.
    let page = page.clamp(1, MAX_PAGE);
    let mut found = account::Entity::find().filter(in_domains(&domains));
    if domains.is_empty() {
        found = found.filter(account::Column::Id.is_null());
    }
    let q: String = q.trim().chars().take(MAX_QUERY_CHARS).collect();
    if !q.is_empty() {
        let mut matching = Condition::any()
            .add(account::Column::Mailbox.like(like(format!("%{}%", literal(&q.to_lowercase())))));
        // The name as the directory keeps it (nothing left of `%`: no name condition).
        let name = crate::directory::keys::normalize(&q);
        if !name.is_empty() {
            matching = matching
                .add(account::Column::SearchName.like(like(format!("%{}%", literal(&name)))));
        }
        found = found.filter(matching);
    }
    let total = found.clone().count(db).await?;
    let rows = found
        .order_by_asc(account::Column::Mailbox)
        .offset((page - 1).saturating_mul(PER_PAGE))
        .limit(PER_PAGE)
        .all(db)
        .await?;
    Ok(Administration {
        organisation: organisation.name.clone(),
        domains,
        reserved_to_managers: organisation.activation_by_managers,
        total,
        page,
        per_page: PER_PAGE,
        accounts: rows
            .iter()
            .map(|a| shown(a, managers.contains(&a.id), now))
            .collect(),
    })
}

/// An account as « Administration » lists it.
pub fn shown(a: &account::Model, manager: bool, now: DateTime<Utc>) -> AdministeredAccount {
    let stamps = super::settings::activity(a);
    AdministeredAccount {
        id: a.id.clone(),
        mailbox: a.label(),
        name: a.display_name.clone(),
        signed_in: a.proven_at.is_some(),
        eligible: a.mssante_eligible,
        identifier: super::mssante::has_identifier(a),
        mssante_address: a.mssante_address.clone(),
        mssante_enabled: a.mssante_enabled,
        stamps_allocated: stamps.allocated,
        stamps_used: stamps.used,
        locked_until: a
            .locked_until
            .filter(|until| *until > now)
            .map(|until| until.to_rfc3339()),
        manager,
    }
}

/// The account `id` if it belongs to the organisation.
pub async fn member<C: ConnectionTrait>(
    db: &C,
    organisation: &organisation::Model,
    id: &str,
) -> Result<Result<account::Model, AdministrationRefusal>, sea_orm::DbErr> {
    let domains = super::organisation::domains_of(db, &organisation.id).await?;
    let found = account::Entity::find_by_id(id.to_owned()).one(db).await?;
    Ok(found
        .filter(|a| {
            a.mailbox
                .as_deref()
                .and_then(super::organisation::domain_of)
                .is_some_and(|d| domains.contains(&d))
        })
        .ok_or(AdministrationRefusal::AccountUnknown))
}

/// A manager's change to `target`: checked whole first (nothing stored when a field is
/// refused), then stored in one transaction and audited — `account_administered` with
/// what changed, `account_unlocked` when the lock ends.
pub async fn change<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    manager: &account::Model,
    organisation: &organisation::Model,
    target: account::Model,
    wanted: AdministrationChange,
    now: DateTime<Utc>,
) -> Result<Result<AdministeredAccount, AdministrationRefusal>, sea_orm::DbErr> {
    let stamps = match wanted.stamps {
        Some(s) if s.allocated.is_some_and(|n| n > MAX_STAMPS) => {
            return Ok(Err(AdministrationRefusal::StampsInvalid));
        }
        Some(s) => Some(s.allocated.and_then(|n| i64::try_from(n).ok())),
        None => None,
    };
    let txn = crate::db::begin_write(db).await?;
    let was_locked_until = target.locked_until.filter(|u| *u > now);
    let id = target.id.clone();
    let mut update: account::ActiveModel = target.into();
    let mut changed = serde_json::Map::new();
    if let Some(on) = wanted.eligible {
        update.mssante_eligible = Set(on);
        changed.insert("mssante_eligible".into(), on.into());
    }
    if let Some(allocated) = stamps {
        update.stamps_allocated = Set(allocated);
        changed.insert("stamps_allocated".into(), allocated.into());
    }
    if !changed.is_empty() {
        update.update(&txn).await?;
        changed.insert("account".into(), id.clone().into());
        changed.insert("organisation".into(), organisation.id.clone().into());
        crate::audit::append(
            &txn,
            keys,
            &manager.label(),
            "account_administered",
            serde_json::Value::Object(changed),
        )
        .await?;
    }
    if wanted.unlock {
        super::settings::unlock(&txn, &id).await?;
        crate::audit::append(
            &txn,
            keys,
            &manager.label(),
            "account_unlocked",
            serde_json::json!({
                "account": id,
                "organisation": organisation.id,
                "via": "administration",
                "was_locked_until": was_locked_until.map(|u| u.to_rfc3339()),
            }),
        )
        .await?;
    }
    let stored = account::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("account".into()))?;
    let manages = super::organisation::managed_by(&txn, &id)
        .await?
        .is_some_and(|o| o.id == organisation.id);
    txn.commit().await?;
    Ok(Ok(shown(&stored, manages, now)))
}
