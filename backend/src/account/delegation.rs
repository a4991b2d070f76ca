//! « Délégation automatique » (manual part 1 §6.3): secondary addresses, separated by `;`,
//! that receive a copy of each notification mail. At most [`MAX_ADDRESSES`]; each new one
//! first gets a confirmation mail, and receives nothing until its link is followed and
//! confirmed (a page with a button: a mail scanner that fetches the link confirms
//! nothing). Changes and confirmations are audited, without the addresses.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use medimail_api::{DelegatedAddress, Delegation};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};

use super::entity::{account, delegation};
use crate::error::{AppError, Refusal};
use crate::keys::Keys;

/// Secondary addresses an account may have.
pub const MAX_ADDRESSES: usize = 5;

/// Why a delegation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DelegationRefusal {
    /// Not an address (as typed, shortened).
    Invalid(String),
    /// The account's own mailbox.
    Own,
    TooMany,
}

impl Refusal for DelegationRefusal {
    fn status(&self) -> StatusCode {
        StatusCode::UNPROCESSABLE_ENTITY
    }
    fn code(&self) -> &'static str {
        match self {
            DelegationRefusal::Invalid(_) | DelegationRefusal::Own => "delegation_address_invalid",
            DelegationRefusal::TooMany => "delegation_too_many",
        }
    }
    fn message(&self) -> String {
        match self {
            DelegationRefusal::Invalid(typed) => format!(
                "« {typed} » n'est pas une adresse de messagerie valide : rien n'a été enregistré."
            ),
            DelegationRefusal::Own => {
                "Votre propre adresse reçoit déjà les notifications : indiquez une adresse \
                 secondaire."
                    .to_owned()
            }
            DelegationRefusal::TooMany => {
                format!("{MAX_ADDRESSES} adresses secondaires au plus : rien n'a été enregistré.")
            }
        }
    }
    fn field(&self) -> Option<&'static str> {
        Some("addresses")
    }
}

/// The caller's secondary addresses.
pub async fn of<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<Delegation, sea_orm::DbErr> {
    Ok(Delegation {
        addresses: delegation::Entity::find()
            .filter(delegation::Column::AccountId.eq(account_id))
            .order_by_asc(delegation::Column::Address)
            .all(db)
            .await?
            .into_iter()
            .map(|d| DelegatedAddress {
                address: d.address,
                confirmed: d.confirmed_at.is_some(),
            })
            .collect(),
    })
}

/// The confirmed secondary addresses of `account_id`: where copies go.
pub async fn copies_for<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<Vec<String>, sea_orm::DbErr> {
    delegation::Entity::find()
        .select_only()
        .column(delegation::Column::Address)
        .filter(delegation::Column::AccountId.eq(account_id))
        .filter(delegation::Column::ConfirmedAt.is_not_null())
        .into_tuple()
        .all(db)
        .await
}

/// Queues `mail` for `account_id` and a copy for each confirmed secondary address.
pub async fn enqueue_with_copies<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
    now: DateTime<Utc>,
    purpose: &str,
    account_id: &str,
    mail: &crate::mail::OutgoingMail,
) -> Result<(), sea_orm::DbErr> {
    crate::mail::enqueue(db, keys, now, purpose, Some(account_id), mail).await?;
    for address in copies_for(db, account_id).await? {
        let copy = crate::mail::OutgoingMail {
            to: address,
            message_id: None,
            ..mail.clone()
        };
        crate::mail::enqueue(db, keys, now, "delegation_copy", Some(account_id), &copy).await?;
    }
    Ok(())
}

/// The addresses typed, checked: lower case, without duplicates.
fn checked(typed: &str, own: Option<&str>) -> Result<Vec<String>, DelegationRefusal> {
    let mut out: Vec<String> = Vec::new();
    for part in typed.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(address) = crate::envelope::rules::normalise_address(part) else {
            return Err(DelegationRefusal::Invalid(part.chars().take(80).collect()));
        };
        if Some(address.as_str()) == own {
            return Err(DelegationRefusal::Own);
        }
        if !out.contains(&address) {
            out.push(address);
        }
    }
    if out.len() > MAX_ADDRESSES {
        return Err(DelegationRefusal::TooMany);
    }
    Ok(out)
}

/// « Enregistrer »: the addresses no longer named are removed; each new one gets a
/// confirmation mail (its link at `origin`). Under the account's lock: two saves at once
/// end as one of them, whole.
pub async fn save<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    owner: &account::Model,
    typed: &str,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Delegation, AppError> {
    let wanted = checked(typed, owner.mailbox.as_deref())?;
    let txn = crate::db::begin_write(db).await?;
    account::Entity::find_by_id(owner.id.as_str())
        .lock_exclusive()
        .one(&txn)
        .await?;
    let existing: Vec<String> = delegation::Entity::find()
        .select_only()
        .column(delegation::Column::Address)
        .filter(delegation::Column::AccountId.eq(owner.id.as_str()))
        .into_tuple()
        .all(&txn)
        .await?;
    let removed = delegation::Entity::delete_many()
        .filter(delegation::Column::AccountId.eq(owner.id.as_str()))
        .filter(delegation::Column::Address.is_not_in(wanted.iter().map(String::as_str)))
        .exec(&txn)
        .await?
        .rows_affected;
    let mut added = 0;
    for address in wanted.iter().filter(|a| !existing.contains(a)) {
        let token = crate::keys::hex(&rand::random::<[u8; 32]>());
        delegation::ActiveModel {
            account_id: Set(owner.id.clone()),
            address: Set(address.clone()),
            token_hash: Set(crate::auth::session::token_hash(&token)),
            requested_at: Set(now),
            confirmed_at: Set(None),
        }
        .insert(&txn)
        .await?;
        let mail = crate::mail::OutgoingMail {
            to: address.clone(),
            subject: "[MEDIMAIL] Confirmez la délégation des notifications".to_owned(),
            text: format!(
                "Bonjour,\r\n\r\n{} souhaite que cette adresse reçoive une copie de ses \
                 notifications Medimail (jamais le contenu des enveloppes).\r\n\r\nPour \
                 l'accepter, ouvrez ce lien puis cliquez sur « Confirmer » :\r\n{origin}{}?token={token}\r\n\r\n\
                 Sans confirmation, cette adresse ne recevra rien.\r\n\r\nL'équipe Medimail\r\n",
                owner.label(),
                medimail_api::paths::DELEGATION_CONFIRM
            ),
            ..Default::default()
        };
        crate::mail::enqueue(
            &txn,
            keys,
            now,
            "delegation_confirmation",
            Some(&owner.id),
            &mail,
        )
        .await?;
        added += 1;
    }
    crate::audit::append(
        &txn,
        keys,
        &owner.label(),
        "delegation_changed",
        serde_json::json!({"account": owner.id, "added": added, "removed": removed,
                           "addresses": wanted.len()}),
    )
    .await?;
    let stored = of(&txn, &owner.id).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Confirms the address of `token`; answers it, or `None` for an unknown or used token.
pub async fn confirm<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, sea_orm::DbErr> {
    if token.len() != 64 {
        return Ok(None);
    }
    let hash = crate::auth::session::token_hash(token);
    let txn = crate::db::begin_write(db).await?;
    let Some(row) = delegation::Entity::find()
        .filter(delegation::Column::TokenHash.eq(hash.as_str()))
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    let first = delegation::Entity::update_many()
        .col_expr(delegation::Column::ConfirmedAt, Expr::value(Some(now)))
        .filter(delegation::Column::TokenHash.eq(hash.as_str()))
        .filter(delegation::Column::ConfirmedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if first {
        crate::audit::append(
            &txn,
            keys,
            "delegation",
            "delegation_confirmed",
            serde_json::json!({"account": row.account_id}),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Some(row.address))
}
