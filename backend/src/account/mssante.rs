//! « Paramètres du compte » › « MSSanté » (manual part 1 §6.6, part 2 §2): the three
//! conditions of the activation, each evaluated for the caller's account and the session
//! it signed in with, and « Activer », which gives the account its MSSanté address. A
//! session opened by the CPx card (Pro Santé Connect) or by a one-time code is the strong
//! authentication the third condition asks for.
//!
//! The address is `prenom.nom@MEDIMAIL_MSSANTE_DOMAIN`, from « Identité »'s Prénom and
//! Nom: lower case, accents folded, apostrophes dropped, spaces as hyphens, hyphens kept
//! (`jean-marie.dupont@…`, as the public operator's addresses are; docs/IDENTITE.md).
//! When it is taken — by another account's MSSanté address or mailbox — a number follows
//! the name (`jean-marie.dupont2@…`). The unique index on the address settles two
//! activations of the same name at once: the second one's write fails and it takes the
//! next number.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use medimail_api::MssanteStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, SqlErr, TransactionTrait};

use crate::account::entity::{account, account_identity};
use crate::auth::entity::auth_session;
use crate::auth::session::{BY_CARD, BY_CODE};
use crate::error::Refusal;
use crate::keys::Keys;

/// Numbers tried after the name before giving up (`prenom.nom2` … `prenom.nom999`).
const MAX_SUFFIX: u32 = 999;

/// The conditions' state for `account` signed in with `session`.
pub fn status(account: &account::Model, session: &auth_session::Model) -> MssanteStatus {
    MssanteStatus {
        reserved_to_managers: false,
        managers: Vec::new(),
        eligible: account.mssante_eligible,
        identifier: has_identifier(account),
        strong: is_strong(session),
        method: session.method.clone(),
        activated: account.mssante_enabled,
        address: account.mssante_address.clone(),
    }
}

/// « Authentification forte par carte CPS ou OTP »: the session was opened by the CPx
/// card or by a one-time code.
pub fn is_strong(session: &auth_session::Model) -> bool {
    [BY_CARD, BY_CODE].contains(&session.method.as_str())
}

/// « Renseigner votre numéro RPPS ou ADELI »: the account has one.
pub fn has_identifier(account: &account::Model) -> bool {
    let filled = |n: &Option<String>| n.as_deref().is_some_and(|n| !n.trim().is_empty());
    filled(&account.rpps) || filled(&account.adeli)
}

/// Why « Activer » was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MssanteRefusal {
    /// One of the three conditions is not met.
    ConditionsUnmet,
    /// « Identité » has no Nom or no Prénom: the address is made of them.
    NameMissing,
    /// `MEDIMAIL_MSSANTE_DOMAIN` is not set on this server.
    NotConfigured,
    /// Every numbered form of the name is taken.
    NoAddressLeft,
    /// The account's organisation reserves the activation to its managers.
    ReservedToManagers,
}

impl Refusal for MssanteRefusal {
    fn status(&self) -> StatusCode {
        match self {
            MssanteRefusal::ConditionsUnmet => StatusCode::FORBIDDEN,
            MssanteRefusal::NameMissing => StatusCode::UNPROCESSABLE_ENTITY,
            MssanteRefusal::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            MssanteRefusal::NoAddressLeft => StatusCode::CONFLICT,
            MssanteRefusal::ReservedToManagers => StatusCode::FORBIDDEN,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            MssanteRefusal::ConditionsUnmet => "mssante_conditions_unmet",
            MssanteRefusal::NameMissing => "mssante_name_missing",
            MssanteRefusal::NotConfigured => "mssante_not_configured",
            MssanteRefusal::NoAddressLeft => "mssante_address_unavailable",
            MssanteRefusal::ReservedToManagers => "mssante_reserved_to_managers",
        }
    }

    fn message(&self) -> String {
        match self {
            MssanteRefusal::ConditionsUnmet => {
                "L'ensemble des critères listés est requis pour activer la fonctionnalité \
                 MSSanté : rien n'a été activé."
            }
            MssanteRefusal::NameMissing => {
                "Renseignez votre Nom et votre Prénom dans l'onglet « Identité » : votre \
                 adresse MSSanté en est faite (prenom.nom@domaine)."
            }
            MssanteRefusal::NotConfigured => {
                "L'activation MSSanté n'est pas encore ouverte sur ce serveur Medimail. \
                 Prévenez votre service informatique."
            }
            MssanteRefusal::NoAddressLeft => {
                "Aucune adresse MSSanté n'est libre pour ce nom. Prenez contact avec \
                 l'administrateur de votre structure."
            }
            MssanteRefusal::ReservedToManagers => {
                "Pour activer ou modifier votre adresse MSSanté, veuillez vous rapprocher du \
                 ou des managers de votre structure (onglet « MSSanté »)."
            }
        }
        .to_owned()
    }
}

/// A name as MSSanté addresses write it: the directory's normalisation (lower case,
/// accents folded, `œ` → `oe`, apostrophes dropped), then only `a-z` and `0-9` kept, the
/// words joined by one hyphen.
pub fn fold(name: &str) -> String {
    crate::directory::keys::normalize(name)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The `n`-th address tried for `first last` at `domain`: the name alone, then `2`, `3`…
pub fn candidate(first: &str, last: &str, domain: &str, n: u32) -> String {
    let suffix = if n <= 1 { String::new() } else { n.to_string() };
    format!(
        "{}.{}{suffix}@{}",
        fold(first),
        fold(last),
        domain.to_ascii_lowercase()
    )
}

/// « Activer » by the account's owner: gives the account its MSSanté address and turns
/// MSSanté on. Already activated, answers the address it has. Refused when the account's
/// organisation reserves the activation to its managers. Audited `mssante_activated`.
pub async fn activate<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    account: &account::Model,
    session: &auth_session::Model,
    domain: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<String, MssanteRefusal>, sea_orm::DbErr> {
    if account.mssante_address.is_none()
        && crate::account::organisation::activation_managers(db, account)
            .await?
            .is_some()
    {
        return Ok(Err(MssanteRefusal::ReservedToManagers));
    }
    let strong = status(account, session).strong;
    activate_as(db, keys, account, strong, &account.label(), domain, now).await
}

/// « Activer » for `account`, by `actor` (the account itself, or a manager of its
/// organisation in « Administration »), whose session is `strong` or not: the address
/// found and stored, audited `mssante_activated` with the actor.
pub async fn activate_as<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    account: &account::Model,
    strong: bool,
    actor: &str,
    domain: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<String, MssanteRefusal>, sea_orm::DbErr> {
    if let Some(address) = &account.mssante_address {
        return Ok(Ok(address.clone()));
    }
    if !(account.mssante_eligible && has_identifier(account) && strong) {
        return Ok(Err(MssanteRefusal::ConditionsUnmet));
    }
    let Some(domain) = domain.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(Err(MssanteRefusal::NotConfigured));
    };
    let identity = account_identity::Entity::find_by_id(account.id.clone())
        .one(db)
        .await?;
    let (first, last) = match identity.as_ref().map(|i| (&i.first_name, &i.last_name)) {
        Some((Some(first), Some(last))) if !fold(first).is_empty() && !fold(last).is_empty() => {
            (first.clone(), last.clone())
        }
        _ => return Ok(Err(MssanteRefusal::NameMissing)),
    };
    for n in 1..=MAX_SUFFIX {
        let address = candidate(&first, &last, domain, n);
        // Someone's mailbox already: taken.
        let mailbox_taken = account::Entity::find()
            .filter(account::Column::Mailbox.eq(address.as_str()))
            .filter(account::Column::Id.ne(account.id.as_str()))
            .one(db)
            .await?
            .is_some();
        if mailbox_taken {
            continue;
        }
        let txn = crate::db::begin_write(db).await?;
        let written = account::Entity::update_many()
            .col_expr(
                account::Column::MssanteAddress,
                Expr::value(Some(address.clone())),
            )
            .col_expr(account::Column::MssanteActivatedAt, Expr::value(Some(now)))
            .col_expr(account::Column::MssanteEnabled, Expr::value(true))
            .filter(account::Column::Id.eq(account.id.as_str()))
            .filter(account::Column::MssanteAddress.is_null())
            .exec(&txn)
            .await;
        match written {
            Ok(r) if r.rows_affected == 1 => {
                crate::audit::append(
                    &txn,
                    keys,
                    actor,
                    "mssante_activated",
                    serde_json::json!({"account": account.id, "address": address, "tries": n}),
                )
                .await?;
                sea_orm::TransactionSession::commit(txn).await?;
                return Ok(Ok(address));
            }
            Ok(_) => {
                // Activated meanwhile (another « Activer » of the same account).
                drop(txn);
                let now_stored = account::Entity::find_by_id(account.id.clone())
                    .one(db)
                    .await?
                    .and_then(|a| a.mssante_address);
                return match now_stored {
                    Some(address) => Ok(Ok(address)),
                    None => Err(sea_orm::DbErr::RecordNotFound("account".into())),
                };
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                // Another account took this address at the same moment: the next number.
                drop(txn);
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Err(MssanteRefusal::NoAddressLeft))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_the_way_mssante_addresses_are_written() {
        assert_eq!(fold("Jean-Marie"), "jean-marie");
        assert_eq!(fold("Hélène"), "helene");
        assert_eq!(fold("D'Artagnan"), "dartagnan");
        assert_eq!(fold("Le Goff"), "le-goff");
        assert_eq!(fold("  Cœur  de Lion "), "coeur-de-lion");
        assert_eq!(fold("Müller--Straße"), "muller-strasse");
        assert_eq!(fold("ÉLODIE"), "elodie");
        assert_eq!(
            candidate("Pierre", "Dupond", "Medimail.mssante.fr", 1),
            "pierre.dupond@medimail.mssante.fr"
        );
        assert_eq!(
            candidate("Pierre", "Dupond", "medimail.mssante.fr", 2),
            "pierre.dupond2@medimail.mssante.fr"
        );
    }
}
