//! Organisations and their managers (issue 17). The operator configures them
//! (`medimail organisation …`): an organisation owns mail domains — an account belongs to
//! the organisation of its mailbox's domain, so nothing is to keep in step when accounts
//! come and go — and has managers, accounts that administer the others
//! (« Administration »). An organisation may reserve the MSSanté activation to its
//! managers (manual part 1 §6.6.1): the MSSanté tab then lists them. Every change is
//! audited with the actor `cli`.

use chrono::{DateTime, Utc};
use medimail_api::OrganisationManager;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr, TransactionSession, TransactionTrait,
};

use super::entity::{account, organisation, organisation_domain, organisation_manager};
use crate::keys::Keys;

/// Why an operator's change was refused: one French line for the operator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrganisationRefusal {
    #[error(
        "« {0} » : l'identifiant d'une organisation s'écrit en minuscules, chiffres et tirets \
         (64 caractères au plus), par exemple chu-toulouse"
    )]
    IdInvalid(String),
    #[error("l'organisation n'a pas de nom : --name « CHU de Toulouse »")]
    NameMissing,
    #[error("« {0} » n'est pas un domaine de messagerie (par exemple chu-toulouse.fr)")]
    DomainInvalid(String),
    #[error("le domaine {domain} appartient déjà à l'organisation {owner}")]
    DomainTaken { domain: String, owner: String },
    #[error("aucune organisation « {0} » : voyez medimail organisation list")]
    Unknown(String),
    #[error("« {0} » n'est pas une adresse de messagerie")]
    NotAMailbox(String),
    #[error("{mailbox} est déjà manager de l'organisation {owner}")]
    ManagesAnother { mailbox: String, owner: String },
}

/// What `medimail organisation set` asks: `None` leaves a setting as it is (a new
/// organisation needs its name).
#[derive(Clone, Debug, Default)]
pub struct OrganisationSpec {
    pub id: String,
    pub name: Option<String>,
    /// Replaces the organisation's domains when given.
    pub domains: Option<Vec<String>>,
    pub activation_by_managers: Option<bool>,
}

/// An organisation with its domains and its managers' mailboxes, as the CLI prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Described {
    pub organisation: organisation::Model,
    pub domains: Vec<String>,
    pub managers: Vec<String>,
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

/// A mail domain as stored (trimmed, lower case), if it is one: labels of letters, digits
/// and inner hyphens, at least two of them.
pub fn normalize_domain(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    (domain.len() <= 253 && labels.len() >= 2 && labels.iter().all(label_ok)).then_some(domain)
}

/// The domain of a mailbox (after its last `@`), lower case.
pub fn domain_of(mailbox: &str) -> Option<String> {
    mailbox
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// `medimail organisation set`: creates the organisation or changes it, its domains
/// replaced when given. A domain another organisation owns is refused, and nothing is
/// changed.
pub async fn set<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    spec: OrganisationSpec,
    now: DateTime<Utc>,
) -> Result<Result<Described, OrganisationRefusal>, sea_orm::DbErr> {
    let id = spec.id.trim().to_owned();
    if !valid_id(&id) {
        return Ok(Err(OrganisationRefusal::IdInvalid(id)));
    }
    let name = spec
        .name
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "));
    if name.as_deref().is_some_and(str::is_empty) {
        return Ok(Err(OrganisationRefusal::NameMissing));
    }
    let domains = match spec.domains {
        None => None,
        Some(typed) => {
            let mut domains = Vec::with_capacity(typed.len());
            for d in typed.iter().filter(|d| !d.trim().is_empty()) {
                match normalize_domain(d) {
                    Some(d) if !domains.contains(&d) => domains.push(d),
                    Some(_) => {}
                    None => return Ok(Err(OrganisationRefusal::DomainInvalid(d.clone()))),
                }
            }
            Some(domains)
        }
    };
    let txn = crate::db::begin_write(db).await?;
    let existing = organisation::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?;
    let stored = match existing {
        Some(found) => {
            let mut update: organisation::ActiveModel = found.into();
            if let Some(name) = name {
                update.name = Set(name);
            }
            if let Some(on) = spec.activation_by_managers {
                update.activation_by_managers = Set(on);
            }
            update.update(&txn).await?
        }
        None => {
            let Some(name) = name else {
                return Ok(Err(OrganisationRefusal::NameMissing));
            };
            organisation::ActiveModel {
                id: Set(id.clone()),
                name: Set(name),
                activation_by_managers: Set(spec.activation_by_managers.unwrap_or(false)),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    if let Some(domains) = &domains {
        organisation_domain::Entity::delete_many()
            .filter(organisation_domain::Column::OrganisationId.eq(id.as_str()))
            .exec(&txn)
            .await?;
        for domain in domains {
            let owner = organisation_domain::Entity::find_by_id(domain.clone())
                .one(&txn)
                .await?;
            if let Some(owner) = owner {
                return Ok(Err(OrganisationRefusal::DomainTaken {
                    domain: domain.clone(),
                    owner: owner.organisation_id,
                }));
            }
            let inserted = organisation_domain::ActiveModel {
                domain: Set(domain.clone()),
                organisation_id: Set(id.clone()),
            }
            .insert(&txn)
            .await;
            match inserted {
                Ok(_) => {}
                // Claimed by another organisation at the same moment.
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    return Ok(Err(OrganisationRefusal::DomainTaken {
                        domain: domain.clone(),
                        owner: "(une autre, à l'instant)".to_owned(),
                    }));
                }
                Err(e) => return Err(e),
            }
        }
    }
    let domains = domains_of(&txn, &id).await?;
    crate::audit::append(
        &txn,
        keys,
        "cli",
        "organisation_changed",
        serde_json::json!({
            "organisation": id,
            "name": stored.name,
            "domains": domains,
            "activation_by_managers": stored.activation_by_managers,
        }),
    )
    .await?;
    let managers = manager_mailboxes(&txn, &id).await?;
    txn.commit().await?;
    Ok(Ok(Described {
        organisation: stored,
        domains,
        managers,
    }))
}

/// `medimail organisation remove`: the organisation, its domains and its managers' role
/// (the accounts stay). False if there was none.
pub async fn remove<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    id: &str,
) -> Result<bool, sea_orm::DbErr> {
    let txn = crate::db::begin_write(db).await?;
    organisation_manager::Entity::delete_many()
        .filter(organisation_manager::Column::OrganisationId.eq(id))
        .exec(&txn)
        .await?;
    organisation_domain::Entity::delete_many()
        .filter(organisation_domain::Column::OrganisationId.eq(id))
        .exec(&txn)
        .await?;
    let removed = organisation::Entity::delete_by_id(id.to_owned())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if removed {
        crate::audit::append(
            &txn,
            keys,
            "cli",
            "organisation_removed",
            serde_json::json!({"organisation": id}),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(removed)
}

/// `medimail organisation list`: every organisation, by id.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<Described>, sea_orm::DbErr> {
    let mut all = Vec::new();
    for organisation in organisation::Entity::find()
        .order_by_asc(organisation::Column::Id)
        .all(db)
        .await?
    {
        let domains = domains_of(db, &organisation.id).await?;
        let managers = manager_mailboxes(db, &organisation.id).await?;
        all.push(Described {
            organisation,
            domains,
            managers,
        });
    }
    Ok(all)
}

/// `medimail organisation add-manager`: the account of `mailbox` — created for it if
/// nobody has signed in with it yet — manages the organisation. An account manages one
/// organisation at most.
pub async fn add_manager<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    id: &str,
    mailbox: &str,
    now: DateTime<Utc>,
) -> Result<Result<account::Model, OrganisationRefusal>, sea_orm::DbErr> {
    let mailbox = crate::account::registry::normalize_mailbox(mailbox);
    if !mailbox.contains('@') {
        return Ok(Err(OrganisationRefusal::NotAMailbox(mailbox)));
    }
    if organisation::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .is_none()
    {
        return Ok(Err(OrganisationRefusal::Unknown(id.to_owned())));
    }
    let found = crate::account::registry::for_mailbox(db, &mailbox, now).await?;
    let txn = crate::db::begin_write(db).await?;
    match organisation_manager::Entity::find_by_id(found.id.clone())
        .one(&txn)
        .await?
    {
        Some(role) if role.organisation_id == id => {}
        Some(role) => {
            return Ok(Err(OrganisationRefusal::ManagesAnother {
                mailbox,
                owner: role.organisation_id,
            }));
        }
        None => {
            organisation_manager::ActiveModel {
                account_id: Set(found.id.clone()),
                organisation_id: Set(id.to_owned()),
            }
            .insert(&txn)
            .await?;
            crate::audit::append(
                &txn,
                keys,
                "cli",
                "organisation_manager_added",
                serde_json::json!({"organisation": id, "account": found.id}),
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(Ok(found))
}

/// `medimail organisation remove-manager`: the account no longer manages anything. False
/// if it managed nothing.
pub async fn remove_manager<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    mailbox: &str,
) -> Result<bool, sea_orm::DbErr> {
    let mailbox = crate::account::registry::normalize_mailbox(mailbox);
    let Some(found) = crate::account::registry::by_mailbox(db, &mailbox).await? else {
        return Ok(false);
    };
    let txn = crate::db::begin_write(db).await?;
    let Some(role) = organisation_manager::Entity::find_by_id(found.id.clone())
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    organisation_manager::Entity::delete_by_id(found.id.clone())
        .exec(&txn)
        .await?;
    crate::audit::append(
        &txn,
        keys,
        "cli",
        "organisation_manager_removed",
        serde_json::json!({"organisation": role.organisation_id, "account": found.id}),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// The organisation's domains, sorted.
pub async fn domains_of<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Vec<String>, sea_orm::DbErr> {
    Ok(organisation_domain::Entity::find()
        .filter(organisation_domain::Column::OrganisationId.eq(id))
        .order_by_asc(organisation_domain::Column::Domain)
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.domain)
        .collect())
}

/// The organisation's managers' accounts, by mailbox.
pub async fn managers_of<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Vec<account::Model>, sea_orm::DbErr> {
    let ids: Vec<String> = organisation_manager::Entity::find()
        .filter(organisation_manager::Column::OrganisationId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.account_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    account::Entity::find()
        .filter(account::Column::Id.is_in(ids))
        .order_by_asc(account::Column::Mailbox)
        .all(db)
        .await
}

async fn manager_mailboxes<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Vec<String>, sea_orm::DbErr> {
    Ok(managers_of(db, id)
        .await?
        .into_iter()
        .filter_map(|a| a.mailbox)
        .collect())
}

/// The organisation `account` belongs to: the one owning its mailbox's domain.
pub async fn of_account<C: ConnectionTrait>(
    db: &C,
    account: &account::Model,
) -> Result<Option<organisation::Model>, sea_orm::DbErr> {
    let Some(domain) = account.mailbox.as_deref().and_then(domain_of) else {
        return Ok(None);
    };
    let Some(owned) = organisation_domain::Entity::find_by_id(domain)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    organisation::Entity::find_by_id(owned.organisation_id)
        .one(db)
        .await
}

/// The organisation the account manages, if any.
pub async fn managed_by<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<Option<organisation::Model>, sea_orm::DbErr> {
    let Some(role) = organisation_manager::Entity::find_by_id(account_id.to_owned())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    organisation::Entity::find_by_id(role.organisation_id)
        .one(db)
        .await
}

/// Whether the MSSanté activation of `account` is its managers' (its organisation
/// reserves it), and who they are — as the MSSanté tab lists them.
pub async fn activation_managers<C: ConnectionTrait>(
    db: &C,
    account: &account::Model,
) -> Result<Option<Vec<OrganisationManager>>, sea_orm::DbErr> {
    let Some(organisation) = of_account(db, account)
        .await?
        .filter(|o| o.activation_by_managers)
    else {
        return Ok(None);
    };
    Ok(Some(
        managers_of(db, &organisation.id)
            .await?
            .into_iter()
            .filter_map(|m| {
                m.mailbox.map(|mailbox| OrganisationManager {
                    name: m.display_name,
                    mailbox,
                })
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_ids_are_checked() {
        assert_eq!(
            normalize_domain(" CHU-Toulouse.fr "),
            Some("chu-toulouse.fr".into())
        );
        assert_eq!(normalize_domain("@chu.fr"), Some("chu.fr".into()));
        for bad in [
            "chu", "chu..fr", "-chu.fr", "chu_t.fr", "chu.fr%", "", "a b.fr",
        ] {
            assert_eq!(normalize_domain(bad), None, "{bad:?}");
        }
        assert!(valid_id("chu-toulouse"));
        for bad in ["CHU", "chu toulouse", "-chu", "", "chu_t"] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        assert_eq!(domain_of("a.b@CHU.fr"), Some("chu.fr".into()));
        assert_eq!(domain_of("ab"), None);
    }
}
