//! Medimail strong authentication (manual part 3 §2.2 and §4.2): choosing the passphrase
//! on first use, "Demander un code", and "Authentification" with code + passphrase,
//! with rate limits and the account lockout. Every step goes to the audit trail with the
//! client address — never the code or the passphrase.

use chrono::{DateTime, Duration, Utc};
use medimail_api::{CodeRequested, SessionInfo};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::account::entity::account;
use crate::account::registry;
use crate::auth::entity::{auth_session, one_time_code};
use crate::auth::office::OfficeIdentity;
use crate::auth::passphrase::Hashing;
use crate::auth::refusal::{AuthRefusal, seconds_until};
use crate::auth::{otp, passphrase, session};
use crate::error::AppError;
use crate::keys::Keys;
use crate::mail::Mailer;

/// What the strong authentication works with: the database, the server keys (code
/// MACs, sealing of the code mail, the audit trail), the bound on argon2 work, the
/// mailer to wake once a mail is queued, and the time of the request (the server's
/// clock).
pub struct Authenticator<'a> {
    pub db: &'a DatabaseConnection,
    pub keys: &'a Keys,
    pub hashing: &'a Hashing,
    pub mailer: &'a Mailer,
    pub now: DateTime<Utc>,
}

/// Consecutive failures (wrong code or passphrase) that lock the account…
pub use crate::auth::refusal::MAX_CONSECUTIVE_FAILURES;
/// …for this long.
pub const LOCKOUT: Duration = Duration::minutes(15);

/// 423 with the time the lock ends.
pub fn locked_error(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    AuthRefusal::Locked { until, now }.into()
}

/// One audit event of the sign-in: the actor is the account's mailbox (or the
/// identity), the detail always names the identity and the client address.
fn event(
    actor: &str,
    identity: &OfficeIdentity,
    client: &Option<String>,
    mut detail: serde_json::Value,
) -> (String, serde_json::Value) {
    if let Some(map) = detail.as_object_mut() {
        map.insert("tenant".into(), identity.tenant_id.clone().into());
        map.insert("subject".into(), identity.object_id.clone().into());
        map.insert("client".into(), client.clone().into());
    }
    (actor.to_owned(), detail)
}

/// Records an event on its own (a refusal: nothing else is written with it).
pub(crate) async fn audit_alone(
    ctx: &Authenticator<'_>,
    actor: &str,
    identity: &OfficeIdentity,
    client: &Option<String>,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let (actor, detail) = event(actor, identity, client, detail);
    crate::audit::record(ctx.db, ctx.keys, &actor, action, detail).await?;
    Ok(())
}

/// Records an event in the transaction of the action it describes.
pub(crate) async fn audit_in<C: ConnectionTrait>(
    txn: &C,
    ctx: &Authenticator<'_>,
    actor: &str,
    identity: &OfficeIdentity,
    client: &Option<String>,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let (actor, detail) = event(actor, identity, client, detail);
    crate::audit::append(txn, ctx.keys, &actor, action, detail).await?;
    Ok(())
}

pub(crate) fn check_not_locked(
    account: &account::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    match account.locked_until {
        Some(until) if until > now => Err(locked_error(until, now)),
        _ => Ok(()),
    }
}

pub(crate) fn busy() -> AppError {
    AuthRefusal::Busy.into()
}

/// Where an identity stands: the account it is linked to (it proved that mailbox),
/// else the account of the mailbox its token names (which it must prove).
pub struct Standing {
    pub link: Option<crate::account::entity::identity_link::Model>,
    pub linked: Option<account::Model>,
    /// The mailbox the token names, normalised.
    pub claimed: Option<String>,
}

impl Standing {
    pub async fn of<C: ConnectionTrait>(
        db: &C,
        identity: &OfficeIdentity,
    ) -> Result<Self, sea_orm::DbErr> {
        let link = registry::link_of(db, identity).await?;
        let linked = registry::linked_account(db, link.as_ref()).await?;
        Ok(Self {
            link,
            linked,
            claimed: identity.claimed_mailbox(),
        })
    }

    /// The account this identity signs in to: the one it is linked to, else the account
    /// of the mailbox its token names (read only: `None` if that mailbox has none yet).
    pub async fn target<C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> Result<Option<account::Model>, sea_orm::DbErr> {
        match (&self.linked, &self.claimed) {
            (Some(linked), _) => Ok(Some(linked.clone())),
            (None, Some(claimed)) => registry::by_mailbox(db, claimed).await,
            (None, None) => Ok(None),
        }
    }

    /// The passphrase chosen before the first proof, if any.
    pub fn chosen_passphrase(&self) -> Option<&str> {
        self.link
            .as_ref()
            .and_then(|l| l.chosen_passphrase_hash.as_deref())
    }
}

/// First use: chooses the passphrase. The identity has not proven its mailbox yet, so
/// the passphrase is kept with the identity and becomes the account's when the first
/// code is proven — never before: nobody can set the passphrase of a mailbox they do
/// not receive.
pub async fn choose_passphrase(
    ctx: &Authenticator<'_>,
    identity: &OfficeIdentity,
    client: Option<String>,
    chosen: medimail_api::ChoosePassphrase,
) -> Result<(), AppError> {
    let standing = Standing::of(ctx.db, identity).await?;
    // A linked account keeps its passphrase, unless an operator reset it
    // (`medimail account reset`).
    if standing
        .linked
        .as_ref()
        .is_some_and(|a| a.passphrase_hash.is_some())
        || standing.chosen_passphrase().is_some()
    {
        return Err(AuthRefusal::PassphraseAlreadySet.into());
    }
    let Some(mailbox) = standing.claimed.clone() else {
        return Err(AuthRefusal::MailboxMissing.into());
    };
    if registry::by_mailbox(ctx.db, &mailbox)
        .await?
        .is_some_and(|a| a.passphrase_hash.is_some())
    {
        return Err(AuthRefusal::PassphraseAlreadySet.into());
    }
    if let Err(rule) =
        passphrase::check_new(&chosen.passphrase, &chosen.confirmation, Some(&mailbox))
    {
        return Err(AuthRefusal::PassphraseRule(rule).into());
    }
    let phc = ctx
        .hashing
        .hash(chosen.passphrase)
        .await
        .map_err(|_| busy())?
        .map_err(AppError::Internal)?;
    if !registry::keep_chosen_passphrase(ctx.db, identity, phc, ctx.now).await? {
        return Err(AuthRefusal::PassphraseJustChosen.into());
    }
    audit_alone(
        ctx,
        &mailbox,
        identity,
        &client,
        "passphrase_chosen",
        serde_json::json!({}),
    )
    .await
}

/// Which code "Demander un code" mails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CodeFor {
    /// The mailbox of the account the identity is linked to (or, not linked yet, the
    /// mailbox its token names).
    #[default]
    Account,
    /// The mailbox the token names now, for a linked identity whose mailbox changed:
    /// proving it moves the account there.
    TokenMailbox,
}

/// "Demander un code".
pub async fn request_code(
    ctx: &Authenticator<'_>,
    identity: &OfficeIdentity,
    client: Option<String>,
    target: CodeFor,
) -> Result<CodeRequested, AppError> {
    let now = ctx.now;
    let standing = Standing::of(ctx.db, identity).await?;
    // The account whose passphrase and lock apply, and the mailbox the code goes to.
    let (account, mailbox) = match (&standing.linked, target) {
        (Some(linked), CodeFor::Account) => {
            let Some(mailbox) = linked.mailbox.clone() else {
                return Err(AuthRefusal::MailboxMissing.into());
            };
            (linked.clone(), mailbox)
        }
        (Some(linked), CodeFor::TokenMailbox) => {
            let Some(claimed) = standing.claimed.clone() else {
                return Err(AuthRefusal::MailboxMissing.into());
            };
            match registry::by_mailbox(ctx.db, &claimed).await? {
                // A mailbox with its own passphrase: proving it joins that account.
                Some(other) if other.passphrase_hash.is_some() => (other, claimed),
                _ => (linked.clone(), claimed),
            }
        }
        (None, _) => {
            let Some(claimed) = standing.claimed.clone() else {
                return Err(AuthRefusal::MailboxMissing.into());
            };
            (registry::for_mailbox(ctx.db, &claimed, now).await?, claimed)
        }
    };
    check_not_locked(&account, now)?;
    if account.passphrase_hash.is_none() && standing.chosen_passphrase().is_none() {
        return Err(AuthRefusal::PassphraseRequired.into());
    }
    send_code(ctx, &account, &mailbox, identity, &client).await
}

/// Mails a code to `mailbox` for `account`, asked by `identity`: at most 10 an hour and
/// one a minute (claimed atomically), the code, its mail and its audit event in one
/// transaction.
pub(crate) async fn send_code(
    ctx: &Authenticator<'_>,
    account: &account::Model,
    mailbox: &str,
    identity: &OfficeIdentity,
    client: &Option<String>,
) -> Result<CodeRequested, AppError> {
    let now = ctx.now;
    let (mailbox, client) = (mailbox.to_owned(), client.clone());
    // At most 10 per hour…
    let (last_hour, oldest) =
        otp::requested_since(ctx.db, &account.id, now - Duration::hours(1)).await?;
    if last_hour >= otp::MAX_PER_HOUR {
        let until = oldest.unwrap_or(now) + Duration::hours(1);
        let wait = seconds_until(until, now);
        audit_alone(
            ctx,
            &mailbox,
            identity,
            &client,
            "code_refused",
            serde_json::json!({"reason": "hourly_limit", "account": account.id}),
        )
        .await?;
        return Err(AuthRefusal::CodeRateLimited { until, wait }.into());
    }

    let txn = crate::db::begin_write(ctx.db).await?;
    // …and one per minute, claimed atomically so that two requests at once cannot both pass.
    let claimed = account::Entity::update_many()
        .col_expr(account::Column::LastCodeRequestedAt, Expr::value(Some(now)))
        .filter(account::Column::Id.eq(&account.id))
        .filter(
            sea_orm::Condition::any()
                .add(account::Column::LastCodeRequestedAt.is_null())
                .add(account::Column::LastCodeRequestedAt.lte(now - otp::MIN_INTERVAL)),
        )
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        let last = account.last_code_requested_at.unwrap_or(now);
        let wait = seconds_until(last + otp::MIN_INTERVAL, now);
        return Err(AuthRefusal::CodeTooSoon { wait }.into());
    }
    let requester = otp::Requester {
        tenant_id: &identity.tenant_id,
        subject: &identity.object_id,
        mailbox: &mailbox,
    };
    let (row, code) = otp::issue(&txn, ctx.keys, &account.id, &requester, now).await?;
    let mail = crate::mail::one_time_code_mail(&mailbox, &code);
    let outbox_id = crate::mail::enqueue(
        &txn,
        ctx.keys,
        now,
        "one_time_code",
        Some(&account.id),
        &mail,
    )
    .await?;
    audit_in(
        &txn,
        ctx,
        &mailbox,
        identity,
        &client,
        "code_requested",
        serde_json::json!({"account": account.id, "code_id": row.id, "outbox": outbox_id}),
    )
    .await?;
    txn.commit().await?;
    ctx.mailer.wake();
    Ok(CodeRequested {
        mailbox,
        expires_at: row.expires_at.to_rfc3339(),
        next_request_in_seconds: otp::MIN_INTERVAL.num_seconds() as u64,
    })
}

/// Claims one failure's worth of the account's budget before a check, atomically: at
/// most [`MAX_CONSECUTIVE_FAILURES`] checks are ever in flight or failed in a row
/// before the lock, whatever the concurrency. False when the budget is spent or the
/// account is locked.
pub(crate) async fn claim_account_try(
    ctx: &Authenticator<'_>,
    account_id: &str,
) -> Result<bool, sea_orm::DbErr> {
    let r = account::Entity::update_many()
        .col_expr(
            account::Column::FailedAttempts,
            Expr::col(account::Column::FailedAttempts).add(1),
        )
        .filter(account::Column::Id.eq(account_id))
        .filter(account::Column::FailedAttempts.lt(MAX_CONSECUTIVE_FAILURES))
        .filter(
            sea_orm::Condition::any()
                .add(account::Column::LockedUntil.is_null())
                .add(account::Column::LockedUntil.lte(ctx.now)),
        )
        .exec(ctx.db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Gives back an account try claimed but never checked.
pub(crate) async fn release_account_try(
    ctx: &Authenticator<'_>,
    account_id: &str,
) -> Result<(), sea_orm::DbErr> {
    account::Entity::update_many()
        .col_expr(
            account::Column::FailedAttempts,
            Expr::col(account::Column::FailedAttempts).sub(1),
        )
        .filter(account::Column::Id.eq(account_id))
        .filter(account::Column::FailedAttempts.gt(0))
        .exec(ctx.db)
        .await?;
    Ok(())
}

/// The lock now in force (or about to be, when the budget is spent and the failure
/// that spends it is being recorded).
async fn current_lock(ctx: &Authenticator<'_>, account_id: &str) -> Result<AppError, AppError> {
    let until = account::Entity::find_by_id(account_id)
        .one(ctx.db)
        .await?
        .and_then(|a| a.locked_until)
        .filter(|until| *until > ctx.now)
        .unwrap_or(ctx.now + LOCKOUT);
    Ok(locked_error(until, ctx.now))
}

/// "Authentification": code + passphrase open a session. The code is the identity's
/// latest; proving it links the identity to the code's account (first sign-in, a
/// placeholder adopted) or moves the account to the new mailbox the code went to.
pub async fn open_session(
    ctx: &Authenticator<'_>,
    identity: &OfficeIdentity,
    client: Option<String>,
    request: medimail_api::OpenSession,
) -> Result<SessionInfo, AppError> {
    let now = ctx.now;
    let code = request.code.trim().to_owned();
    if !otp::is_well_formed(&code) {
        return Err(AuthRefusal::CodeFormat.into());
    }
    if request.passphrase.is_empty() {
        return Err(AuthRefusal::PassphraseMissing.into());
    }
    if request.passphrase.chars().count() > passphrase::MAX_CHARS {
        return Err(AuthRefusal::PassphraseTooLong.into());
    }
    // A CPx card waiting to be linked (checked before any try is spent).
    let card = request
        .psc_grant
        .as_deref()
        .map(|g| crate::auth::card::Grant::open(ctx.keys, g, now))
        .transpose()?;
    let standing = Standing::of(ctx.db, identity).await?;
    let Some(current) = otp::current(ctx.db, &identity.tenant_id, &identity.object_id).await?
    else {
        if let Some(target) = standing.target(ctx.db).await? {
            check_not_locked(&target, now)?;
        }
        return Err(AuthRefusal::CodeMissing.into());
    };
    let Some(account) = account::Entity::find_by_id(&current.account_id)
        .one(ctx.db)
        .await?
    else {
        return Err(AuthRefusal::CodeMissing.into());
    };
    let actor = current.mailbox.clone();
    if let Err(e) = check_not_locked(&account, now) {
        audit_alone(
            ctx,
            &actor,
            identity,
            &client,
            "sign_in_refused",
            serde_json::json!({"reason": "locked", "account": account.id}),
        )
        .await?;
        return Err(e);
    }
    let Some(phc) = account
        .passphrase_hash
        .clone()
        .or_else(|| standing.chosen_passphrase().map(str::to_owned))
    else {
        return Err(AuthRefusal::PassphraseRequired.into());
    };
    if current.expires_at <= now {
        otp::consume(ctx.db, &current.id, now, "expired").await?;
        audit_alone(
            ctx,
            &actor,
            identity,
            &client,
            "sign_in_failed",
            serde_json::json!({"reason": "code_expired", "code_id": current.id}),
        )
        .await?;
        return Err(AuthRefusal::CodeExpired.into());
    }

    // Claim the try before checking anything: on the code (5 at most)…
    if !otp::claim_try(ctx.db, &current.id).await? {
        return Err(AuthRefusal::CodeInvalidated.into());
    }
    // …and on the account (10 failures in a row at most).
    if !claim_account_try(ctx, &account.id).await? {
        return Err(current_lock(ctx, &account.id).await?);
    }
    let Ok(permit) = ctx.hashing.permit().await else {
        otp::release_try(ctx.db, &current.id).await?;
        release_account_try(ctx, &account.id).await?;
        return Err(busy());
    };
    let code_ok = otp::matches(ctx.keys, &current, &code);
    // Checked whatever the code, so that timing does not tell which of the two is wrong.
    let passphrase_ok = ctx
        .hashing
        .verify_holding(permit, request.passphrase, phc.clone())
        .await;

    if !(code_ok && passphrase_ok) {
        // The answer is the refusal, or the error met while recording it.
        return Err(failed(ctx, identity, &client, &account, &current)
            .await
            .unwrap_or_else(|e| e));
    }

    let txn = crate::db::begin_write(ctx.db).await?;
    // Single use, even against two simultaneous requests with the same code.
    if !otp::consume(&txn, &current.id, now, "used").await? {
        txn.rollback().await?;
        return Err(AuthRefusal::CodeJustUsed.into());
    }
    account::Entity::update_many()
        .col_expr(account::Column::FailedAttempts, Expr::value(0))
        .filter(account::Column::Id.eq(&account.id))
        .exec(&txn)
        .await?;
    if account.passphrase_hash.is_none() {
        account::Entity::update_many()
            .col_expr(account::Column::PassphraseHash, Expr::value(Some(phc)))
            .col_expr(account::Column::MustReset, Expr::value(false))
            .filter(account::Column::Id.eq(&account.id))
            .filter(account::Column::PassphraseHash.is_null())
            .exec(&txn)
            .await?;
    }
    let moved = account.mailbox.as_deref() != Some(current.mailbox.as_str());
    if moved {
        registry::move_to_mailbox(&txn, &account.id, &current.mailbox).await?;
    }
    let previous = standing.linked.as_ref().map(|a| a.id.clone());
    registry::link(&txn, identity, &account.id, now).await?;
    if previous.as_deref().is_some_and(|p| p != account.id) {
        // The identity left its previous account: its sessions there end.
        auth_session::Entity::update_many()
            .col_expr(auth_session::Column::RevokedAt, Expr::value(Some(now)))
            .filter(auth_session::Column::TenantId.eq(&identity.tenant_id))
            .filter(auth_session::Column::Subject.eq(&identity.object_id))
            .filter(auth_session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
    }
    if previous.as_deref() != Some(account.id.as_str()) || moved {
        audit_in(
            &txn,
            ctx,
            &actor,
            identity,
            &client,
            if moved {
                "mailbox_moved"
            } else {
                "identity_linked"
            },
            serde_json::json!({
                "account": account.id,
                "previous_account": previous,
                "previous_mailbox": account.mailbox,
            }),
        )
        .await?;
    }
    if let Some(grant) = &card {
        // Refused (another RPPS, a card linked elsewhere): nothing of this sign-in stays.
        crate::auth::card::link_in(&txn, ctx.keys, &account, grant, now, &client).await?;
    }
    let (row, token) = session::open(
        &txn,
        &account.id,
        identity,
        now,
        client.clone(),
        session::FULL,
    )
    .await?;
    otp::cooldown_ends(&txn, &account.id).await?;
    audit_in(
        &txn,
        ctx,
        &actor,
        identity,
        &client,
        "sign_in",
        serde_json::json!({"account": account.id, "session": row.id}),
    )
    .await?;
    txn.commit().await?;
    crate::metrics::sign_in();
    Ok(session::info(&row, Some(token)))
}

/// A checked try failed (the code, the passphrase or both: the answer does not say
/// which). The account's claimed failure stands; at the 10th the account locks, and at
/// the code's 5th try the code ends.
pub(crate) async fn failed(
    ctx: &Authenticator<'_>,
    identity: &OfficeIdentity,
    client: &Option<String>,
    account: &account::Model,
    code: &one_time_code::Model,
) -> Result<AppError, AppError> {
    let now = ctx.now;
    let actor = code.mailbox.as_str();
    let tries = otp::tries(ctx.db, &code.id).await?;
    let failures = account::Entity::find_by_id(&account.id)
        .one(ctx.db)
        .await?
        .map_or(MAX_CONSECUTIVE_FAILURES, |a| a.failed_attempts);
    let txn = crate::db::begin_write(ctx.db).await?;
    audit_in(
        &txn,
        ctx,
        actor,
        identity,
        client,
        "sign_in_failed",
        serde_json::json!({
            "reason": "credentials_incorrect",
            "account": account.id,
            "code_id": code.id,
            "code_tries": tries,
        }),
    )
    .await?;
    if failures >= MAX_CONSECUTIVE_FAILURES {
        let until = now + LOCKOUT;
        // Only one request locks (and records it).
        let locked = account::Entity::update_many()
            .col_expr(account::Column::LockedUntil, Expr::value(Some(until)))
            .col_expr(account::Column::FailedAttempts, Expr::value(0))
            .filter(account::Column::Id.eq(&account.id))
            .filter(account::Column::FailedAttempts.gte(MAX_CONSECUTIVE_FAILURES))
            .exec(&txn)
            .await?;
        if locked.rows_affected == 1 {
            otp::consume_all(&txn, &account.id, now, "locked").await?;
            audit_in(
                &txn,
                ctx,
                actor,
                identity,
                client,
                "account_locked",
                serde_json::json!({"account": account.id, "until": until.to_rfc3339()}),
            )
            .await?;
        }
        txn.commit().await?;
        return Ok(locked_error(until, now));
    }
    let left = otp::MAX_FAILURES - tries;
    if left <= 0 {
        otp::consume(&txn, &code.id, now, "invalidated").await?;
    }
    txn.commit().await?;
    Ok(AuthRefusal::CredentialsIncorrect {
        left: Ord::max(left, 0),
    }
    .into())
}

/// "Déconnexion": ends the session and every other session of the same identity (the
/// pane's session outlives the pane, so signing out in one place signs out everywhere).
pub async fn sign_out(
    ctx: &Authenticator<'_>,
    signed_in: &session::SignedIn,
    client: Option<String>,
) -> Result<(), AppError> {
    let txn = crate::db::begin_write(ctx.db).await?;
    let ended = session::revoke_identity(&txn, &signed_in.identity, ctx.now).await?;
    if ended > 0 {
        audit_in(
            &txn,
            ctx,
            &signed_in.account.label(),
            &signed_in.identity,
            &client,
            "sign_out",
            serde_json::json!({
                "account": signed_in.account.id,
                "session": signed_in.session.id,
                "sessions_ended": ended,
            }),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
