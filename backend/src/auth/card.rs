//! The « carte CPx » on the account side (issue 20; manual part 1 §1.2.1, part 2 §2.3):
//! what a Pro Santé Connect sign-in (`auth::psc`) proves, and what it opens.
//!
//! - A verified card becomes a **grant**: sealed with the server key, good 15 minutes and
//!   once (`psc_grant` keeps the used ones). The webmail keeps it in an HttpOnly cookie,
//!   the pane in memory (the Office dialog hands it over with `messageParent`).
//! - A card **linked** to an account (`identity_link`, provider `psc`, tenant the issuer,
//!   subject the national identifier) signs in alone: the card and its PIN are the two
//!   factors, so the passphrase is not asked (docs/PRO-SANTE-CONNECT.md says why).
//! - A card not linked yet is linked by the account's own sign-in (the one-time code
//!   mailed to its mailbox), in the transaction that consumes the code. The account's
//!   RPPS/ADELI is filled from the card when empty; a different one refuses the link.
//! - « Dissocier ma carte » removes the link. Every step is audited.

use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use crate::account::entity::{account, identity_link};
use crate::auth::entity::psc_grant;
use crate::auth::psc::Professional;
use crate::error::{AppError, Refusal};
use crate::keys::Keys;

/// The provider of card identities in `identity_link`.
pub const PROVIDER: &str = "psc";
/// How long a verified card waits to be used (the time to receive and type a code).
pub const GRANT_SECONDS: i64 = 900;
const SEALED_AS: &str = "psc-grant";

/// A card Pro Santé Connect vouched for, waiting to sign in or to be linked.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub issuer: String,
    /// `SubjectNameID`.
    pub national_id: String,
    pub rpps: Option<String>,
    pub adeli: Option<String>,
    pub acr: String,
    pub expires: i64,
}

impl Grant {
    pub fn new(issuer: &str, professional: &Professional, now: DateTime<Utc>) -> Grant {
        Grant {
            id: uuid::Uuid::new_v4().to_string(),
            issuer: issuer.to_owned(),
            national_id: professional.national_id.clone(),
            rpps: professional.rpps.clone(),
            adeli: professional.adeli.clone(),
            acr: professional.acr.clone(),
            expires: now.timestamp() + GRANT_SECONDS,
        }
    }

    /// The grant, sealed for the browser (base64url).
    pub fn seal(&self, keys: &Keys) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(keys.seal_outbox(SEALED_AS, &json))
    }

    /// A sealed grant back, refused when altered, foreign or expired.
    pub fn open(keys: &Keys, sealed: &str, now: DateTime<Utc>) -> Result<Grant, CardRefusal> {
        let grant: Grant = (sealed.len() <= 4096)
            .then(|| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(sealed.trim())
                    .ok()
            })
            .flatten()
            .and_then(|bytes| keys.open_outbox(SEALED_AS, &bytes))
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(CardRefusal::GrantInvalid)?;
        if grant.expires < now.timestamp() {
            return Err(CardRefusal::GrantInvalid);
        }
        Ok(grant)
    }

    /// What the audit trail says of the card (never a token).
    pub fn audited(&self) -> serde_json::Value {
        serde_json::json!({"issuer": self.issuer, "national_id": self.national_id, "acr": self.acr})
    }
}

/// Why a card sign-in or link is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardRefusal {
    /// `MEDIMAIL_PSC_CLIENT_ID` is not set.
    Unavailable,
    /// Altered, foreign or older than 15 minutes.
    GrantInvalid,
    /// Already used (a grant signs in or links once).
    GrantUsed,
    /// The card is linked to no account yet: sign in once with a code.
    NotLinked,
    /// The card is linked to another account.
    LinkedElsewhere,
    /// The card's RPPS/ADELI is not the account's.
    IdentifierMismatch,
    /// In Outlook: the card's account is not the one of this Office identity.
    OtherAccount,
    /// In Outlook: this Office identity has never signed in with a code.
    OfficeUnlinked,
    /// The webmail is not open to this account (`MEDIMAIL_WEBMAIL`).
    WebmailClosed,
}

impl Refusal for CardRefusal {
    fn status(&self) -> StatusCode {
        use CardRefusal::*;
        match self {
            Unavailable => StatusCode::NOT_FOUND,
            GrantInvalid | GrantUsed => StatusCode::BAD_REQUEST,
            NotLinked | LinkedElsewhere | IdentifierMismatch | OtherAccount | OfficeUnlinked => {
                StatusCode::CONFLICT
            }
            WebmailClosed => StatusCode::FORBIDDEN,
        }
    }

    fn code(&self) -> &'static str {
        use CardRefusal::*;
        match self {
            Unavailable => "psc_unavailable",
            GrantInvalid => "psc_grant_invalid",
            GrantUsed => "psc_grant_used",
            NotLinked => "psc_not_linked",
            LinkedElsewhere => "psc_linked_elsewhere",
            IdentifierMismatch => "psc_identifier_mismatch",
            OtherAccount => "psc_other_account",
            OfficeUnlinked => "psc_office_unlinked",
            WebmailClosed => "psc_webmail_closed",
        }
    }

    fn message(&self) -> String {
        use CardRefusal::*;
        match self {
            Unavailable => "La connexion par carte CPx n'est pas proposée sur ce serveur : \
                 identifiez-vous avec le code reçu par mail."
                .to_owned(),
            GrantInvalid => "La connexion par carte a expiré (15 minutes) : recommencez depuis \
                 le bouton « carte CPx »."
                .to_owned(),
            GrantUsed => "Cette connexion par carte a déjà servi : recommencez depuis le bouton \
                 « carte CPx »."
                .to_owned(),
            NotLinked => "Votre carte CPx n'est pas encore liée à votre compte Medimail. \
                 Identifiez-vous une fois avec le code reçu par mail et votre passephrase : \
                 votre carte sera liée à votre compte, et suffira ensuite."
                .to_owned(),
            LinkedElsewhere => "Cette carte CPx est déjà liée à un autre compte Medimail. \
                 Dissociez-la d'abord depuis cet autre compte."
                .to_owned(),
            IdentifierMismatch => "Le numéro RPPS/ADELI de votre carte CPx n'est pas celui de \
                 ce compte Medimail : la carte n'a pas été liée. Vérifiez que vous vous \
                 identifiez sur votre propre compte, ou contactez le support."
                .to_owned(),
            OtherAccount => "Votre carte CPx est liée à un autre compte Medimail que celui de \
                 votre session Outlook : identifiez-vous avec le code reçu par mail."
                .to_owned(),
            OfficeUnlinked => "Identifiez-vous une première fois dans Outlook avec le code \
                 reçu par mail et votre passephrase ; votre carte CPx suffira ensuite."
                .to_owned(),
            WebmailClosed => "La messagerie Medimail du navigateur n'est pas ouverte à ce \
                 compte : utilisez Medimail depuis Outlook."
                .to_owned(),
        }
    }
}

/// The account the card of `grant` is linked to, if any.
pub async fn linked_account<C: ConnectionTrait>(
    db: &C,
    grant: &Grant,
) -> Result<Option<account::Model>, sea_orm::DbErr> {
    let Some(link) = identity_link::Entity::find()
        .filter(identity_link::Column::Provider.eq(PROVIDER))
        .filter(identity_link::Column::TenantId.eq(&grant.issuer))
        .filter(identity_link::Column::Subject.eq(&grant.national_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    match link.account_id {
        Some(id) => account::Entity::find_by_id(id).one(db).await,
        None => Ok(None),
    }
}

/// Whether `account_id` has a card linked (« Un certificat est associé à votre compte »).
pub async fn has_card<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<bool, sea_orm::DbErr> {
    Ok(identity_link::Entity::find()
        .filter(identity_link::Column::Provider.eq(PROVIDER))
        .filter(identity_link::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .is_some())
}

/// Spends `grant` (in the caller's transaction): false when it was already spent.
pub async fn spend<C: ConnectionTrait>(
    txn: &C,
    grant: &Grant,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let inserted = psc_grant::Entity::insert(psc_grant::ActiveModel {
        id: Set(grant.id.clone()),
        used_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(psc_grant::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    // Grants live 15 minutes: the ones used a day ago can go.
    psc_grant::Entity::delete_many()
        .filter(psc_grant::Column::UsedAt.lt(now - chrono::Duration::days(1)))
        .exec(txn)
        .await?;
    Ok(inserted == 1)
}

/// The national identifier the card gives for `account`, refused when it differs from
/// the one the account has; `(rpps, adeli)` to fill where the account has none.
fn identifiers_to_fill(
    account: &account::Model,
    grant: &Grant,
) -> Result<(Option<String>, Option<String>), CardRefusal> {
    let differs = |own: &Option<String>, card: &Option<String>| matches!((own, card), (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b));
    if differs(&account.rpps, &grant.rpps) || differs(&account.adeli, &grant.adeli) {
        return Err(CardRefusal::IdentifierMismatch);
    }
    Ok((
        grant.rpps.clone().filter(|_| account.rpps.is_none()),
        grant.adeli.clone().filter(|_| account.adeli.is_none()),
    ))
}

/// Links the card of `grant` to `account`, in the transaction that proves the account
/// (the one-time code consumed): the grant spent, the link written, the account's
/// RPPS/ADELI filled when empty, the event audited. Any refusal leaves the transaction to
/// be rolled back by the caller.
pub async fn link_in<C: ConnectionTrait>(
    txn: &C,
    keys: &Keys,
    account: &account::Model,
    grant: &Grant,
    now: DateTime<Utc>,
    client: &Option<String>,
) -> Result<(), AppError> {
    let (rpps, adeli) = identifiers_to_fill(account, grant)?;
    if !spend(txn, grant, now).await? {
        return Err(CardRefusal::GrantUsed.into());
    }
    identity_link::Entity::insert(identity_link::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        provider: Set(PROVIDER.to_owned()),
        tenant_id: Set(grant.issuer.clone()),
        subject: Set(grant.national_id.clone()),
        account_id: Set(Some(account.id.clone())),
        chosen_passphrase_hash: Set(None),
        created_at: Set(now),
        linked_at: Set(Some(now)),
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
    .exec_without_returning(txn)
    .await?;
    // Two links of one card at once: the row that took says which account has it.
    if linked_account(txn, grant).await?.map(|a| a.id) != Some(account.id.clone()) {
        return Err(CardRefusal::LinkedElsewhere.into());
    }
    if rpps.is_some() || adeli.is_some() {
        let mut update = account::Entity::update_many().filter(account::Column::Id.eq(&account.id));
        if let Some(rpps) = &rpps {
            update = update.col_expr(account::Column::Rpps, Expr::value(Some(rpps.clone())));
        }
        if let Some(adeli) = &adeli {
            update = update.col_expr(account::Column::Adeli, Expr::value(Some(adeli.clone())));
        }
        update.exec(txn).await?;
    }
    let mut detail = grant.audited();
    detail["account"] = account.id.clone().into();
    detail["client"] = client.clone().into();
    detail["filled"] = serde_json::json!({"rpps": rpps.is_some(), "adeli": adeli.is_some()});
    crate::audit::append(txn, keys, &account.label(), "psc_linked", detail).await?;
    Ok(())
}

/// « Dissocier ma carte »: removes the account's card links; how many.
pub async fn unlink_in<C: ConnectionTrait>(
    txn: &C,
    keys: &Keys,
    account: &account::Model,
    client: &Option<String>,
) -> Result<u64, AppError> {
    let removed = identity_link::Entity::delete_many()
        .filter(identity_link::Column::Provider.eq(PROVIDER))
        .filter(identity_link::Column::AccountId.eq(&account.id))
        .exec(txn)
        .await?
        .rows_affected;
    if removed > 0 {
        crate::audit::append(
            txn,
            keys,
            &account.label(),
            "psc_unlinked",
            serde_json::json!({"account": account.id, "client": client}),
        )
        .await?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(rpps: Option<&str>, adeli: Option<&str>) -> account::Model {
        account::Model {
            id: "a".into(),
            display_name: None,
            mailbox: Some("m@x.fr".into()),
            passphrase_hash: None,
            failed_attempts: 0,
            locked_until: None,
            created_at: Utc::now(),
            last_code_requested_at: None,
            liste_rouge: false,
            mssante_enabled: false,
            search_name: None,
            proven_at: None,
            conditions_version: None,
            conditions_accepted_at: None,
            must_reset: false,
            received_at: None,
            rpps: rpps.map(str::to_owned),
            adeli: adeli.map(str::to_owned),
            mssante_eligible: false,
            stamps_allocated: None,
            stamps_used: 0,
            mssante_address: None,
            mssante_activated_at: None,
        }
    }

    fn grant(rpps: Option<&str>, adeli: Option<&str>) -> Grant {
        Grant {
            id: "g".into(),
            issuer: "https://psc".into(),
            national_id: "8x".into(),
            rpps: rpps.map(str::to_owned),
            adeli: adeli.map(str::to_owned),
            acr: "eidas1".into(),
            expires: 0,
        }
    }

    #[test]
    fn the_card_fills_an_empty_identifier_and_a_different_one_refuses() {
        let card = grant(Some("99700427885"), None);
        assert_eq!(
            identifiers_to_fill(&account(None, None), &card),
            Ok((Some("99700427885".into()), None))
        );
        assert_eq!(
            identifiers_to_fill(&account(Some("99700427885"), None), &card),
            Ok((None, None))
        );
        assert_eq!(
            identifiers_to_fill(&account(Some("10000000001"), None), &card),
            Err(CardRefusal::IdentifierMismatch)
        );
        // An ADELI account and an RPPS card: nothing to compare, the RPPS is added.
        assert_eq!(
            identifiers_to_fill(&account(None, Some("751234567")), &card),
            Ok((Some("99700427885".into()), None))
        );
        // A test identity without RPPS/ADELI changes nothing.
        assert_eq!(
            identifiers_to_fill(&account(Some("10000000001"), None), &grant(None, None)),
            Ok((None, None))
        );
    }

    #[test]
    fn a_grant_opens_only_sealed_by_this_server_and_in_time() {
        let keys = Keys::random();
        let now = Utc::now();
        let mut g = grant(Some("99700427885"), None);
        g.expires = now.timestamp() + 10;
        let sealed = g.seal(&keys);
        assert_eq!(Grant::open(&keys, &sealed, now), Ok(g.clone()));
        assert_eq!(
            Grant::open(&keys, &sealed, now + chrono::Duration::seconds(11)),
            Err(CardRefusal::GrantInvalid)
        );
        assert_eq!(
            Grant::open(&Keys::random(), &sealed, now),
            Err(CardRefusal::GrantInvalid)
        );
        assert_eq!(
            Grant::open(&keys, "pas-un-jeton", now),
            Err(CardRefusal::GrantInvalid)
        );
    }
}
