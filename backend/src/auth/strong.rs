//! Medimail strong authentication (manual part 3 §2.2 and §4.2): choosing the passphrase
//! on first use, "Demander un code", and "Authentification" with code + passphrase,
//! with rate limits and the account lockout. Every step goes to the audit trail with the
//! client address — never the code or the passphrase.

use chrono::{DateTime, Duration, Utc};
use medimail_api::{CodeRequested, SessionInfo};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::account::entity::account;
use crate::auth::office::OfficeIdentity;
use crate::auth::refusal::{AuthRefusal, seconds_until};
use crate::auth::{otp, passphrase, session};
use crate::error::AppError;
use crate::keys::Keys;
use crate::mail::Mailer;

/// What the strong authentication works with: the database, the server keys (code
/// MACs, sealing of the code mail), the mailer to wake once a mail is queued, and the
/// time of the request (the server's clock).
pub struct Authenticator<'a> {
    pub db: &'a DatabaseConnection,
    pub keys: &'a Keys,
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

/// Audit helper: the actor is the mailbox (or the account id), the detail always names
/// the account and the client address.
async fn audit(
    ctx: &Authenticator<'_>,
    account: &account::Model,
    action: &str,
    client: &Option<String>,
    mut detail: serde_json::Value,
) -> Result<(), AppError> {
    if let Some(map) = detail.as_object_mut() {
        map.insert("account".into(), account.id.clone().into());
        map.insert("client".into(), client.clone().into());
    }
    let actor = account.label();
    crate::audit::record(ctx.db, &actor, action, detail).await?;
    Ok(())
}

fn check_not_locked(account: &account::Model, now: DateTime<Utc>) -> Result<(), AppError> {
    match account.locked_until {
        Some(until) if until > now => Err(locked_error(until, now)),
        _ => Ok(()),
    }
}

fn passphrase_required() -> AppError {
    AuthRefusal::PassphraseRequired.into()
}

/// First use: stores the chosen passphrase (argon2id) if none is set yet.
pub async fn choose_passphrase(
    ctx: &Authenticator<'_>,
    identity: &OfficeIdentity,
    client: Option<String>,
    chosen: medimail_api::ChoosePassphrase,
) -> Result<(), AppError> {
    let account = crate::account::registry::find_or_register(ctx.db, identity).await?;
    if account.passphrase_hash.is_some() {
        return Err(AuthRefusal::PassphraseAlreadySet.into());
    }
    if let Err(rule) = passphrase::check_new(
        &chosen.passphrase,
        &chosen.confirmation,
        account.mailbox.as_deref(),
    ) {
        return Err(AuthRefusal::PassphraseRule(rule).into());
    }
    let phc = passphrase::hash(chosen.passphrase).await?;
    // Only if still unset: two tabs choosing at once cannot overwrite each other.
    let updated = account::Entity::update_many()
        .col_expr(account::Column::PassphraseHash, Expr::value(Some(phc)))
        .filter(account::Column::Id.eq(&account.id))
        .filter(account::Column::PassphraseHash.is_null())
        .exec(ctx.db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AuthRefusal::PassphraseJustChosen.into());
    }
    audit(
        ctx,
        &account,
        "passphrase_chosen",
        &client,
        serde_json::json!({}),
    )
    .await
}

/// "Demander un code".
pub async fn request_code(
    ctx: &Authenticator<'_>,
    identity: &OfficeIdentity,
    client: Option<String>,
) -> Result<CodeRequested, AppError> {
    let account = crate::account::registry::find_or_register(ctx.db, identity).await?;
    let now = ctx.now;
    check_not_locked(&account, now)?;
    if account.passphrase_hash.is_none() {
        return Err(passphrase_required());
    }
    let Some(mailbox) = account.mailbox.clone().filter(|m| m.contains('@')) else {
        return Err(AuthRefusal::MailboxMissing.into());
    };

    // At most 10 per hour…
    let (last_hour, oldest) =
        otp::requested_since(ctx.db, &account.id, now - Duration::hours(1)).await?;
    if last_hour >= otp::MAX_PER_HOUR {
        let until = oldest.unwrap_or(now) + Duration::hours(1);
        let wait = seconds_until(until, now);
        audit(
            ctx,
            &account,
            "code_refused",
            &client,
            serde_json::json!({"reason": "hourly_limit"}),
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
    let (row, code) = otp::issue(&txn, ctx.keys, &account.id, now).await?;
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
    txn.commit().await?;
    ctx.mailer.wake();
    audit(
        ctx,
        &account,
        "code_requested",
        &client,
        serde_json::json!({"code_id": row.id, "outbox": outbox_id}),
    )
    .await?;
    Ok(CodeRequested {
        mailbox,
        expires_at: row.expires_at.to_rfc3339(),
        next_request_in_seconds: otp::MIN_INTERVAL.num_seconds() as u64,
    })
}

/// Counts a failed attempt on the account; locks it at the 10th in a row. Returns the
/// end of the lock if this attempt locked it.
async fn count_account_failure(
    ctx: &Authenticator<'_>,
    account: &account::Model,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    account::Entity::update_many()
        .col_expr(
            account::Column::FailedAttempts,
            Expr::col(account::Column::FailedAttempts).add(1),
        )
        .filter(account::Column::Id.eq(&account.id))
        .exec(ctx.db)
        .await?;
    let failures = account::Entity::find_by_id(&account.id)
        .one(ctx.db)
        .await?
        .map(|a| a.failed_attempts)
        .unwrap_or(MAX_CONSECUTIVE_FAILURES);
    if failures < MAX_CONSECUTIVE_FAILURES {
        return Ok(None);
    }
    let until = now + LOCKOUT;
    account::Entity::update_many()
        .col_expr(account::Column::LockedUntil, Expr::value(Some(until)))
        .col_expr(account::Column::FailedAttempts, Expr::value(0))
        .filter(account::Column::Id.eq(&account.id))
        .exec(ctx.db)
        .await?;
    otp::consume_all(ctx.db, &account.id, now, "locked").await?;
    Ok(Some(until))
}

/// "Authentification": code + passphrase open a session.
pub async fn open_session(
    ctx: &Authenticator<'_>,
    identity: &OfficeIdentity,
    client: Option<String>,
    request: medimail_api::OpenSession,
) -> Result<SessionInfo, AppError> {
    let account = crate::account::registry::find_or_register(ctx.db, identity).await?;
    let now = ctx.now;
    if let Err(e) = check_not_locked(&account, now) {
        audit(
            ctx,
            &account,
            "sign_in_refused",
            &client,
            serde_json::json!({"reason": "locked"}),
        )
        .await?;
        return Err(e);
    }
    let Some(phc) = account.passphrase_hash.clone() else {
        return Err(passphrase_required());
    };
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

    let Some(current) = otp::current(ctx.db, &account.id).await? else {
        return Err(AuthRefusal::CodeMissing.into());
    };
    if current.expires_at <= now {
        otp::consume(ctx.db, &current.id, now, "expired").await?;
        audit(
            ctx,
            &account,
            "sign_in_failed",
            &client,
            serde_json::json!({"reason": "code_expired", "code_id": current.id}),
        )
        .await?;
        return Err(AuthRefusal::CodeExpired.into());
    }

    let code_ok = otp::matches(ctx.keys, &current, &code);
    // Checked whatever the code, so that timing does not tell which of the two is wrong.
    let passphrase_ok = passphrase::verify(request.passphrase, phc).await;

    if !code_ok {
        let tries = otp::count_failure(ctx.db, &current.id).await?;
        let invalidated = tries >= otp::MAX_FAILURES;
        if invalidated {
            otp::consume(ctx.db, &current.id, now, "invalidated").await?;
        }
        let lock = count_account_failure(ctx, &account, now).await?;
        audit(ctx, &account, "sign_in_failed", &client, serde_json::json!({"reason": "code_incorrect", "code_id": current.id, "code_failures": tries})).await?;
        if let Some(until) = lock {
            audit(
                ctx,
                &account,
                "account_locked",
                &client,
                serde_json::json!({"until": until.to_rfc3339()}),
            )
            .await?;
            return Err(locked_error(until, now));
        }
        if invalidated {
            return Err(AuthRefusal::CodeInvalidated.into());
        }
        let left = otp::MAX_FAILURES - tries;
        return Err(AuthRefusal::CodeIncorrect { left }.into());
    }
    if !passphrase_ok {
        let lock = count_account_failure(ctx, &account, now).await?;
        audit(
            ctx,
            &account,
            "sign_in_failed",
            &client,
            serde_json::json!({"reason": "passphrase_incorrect"}),
        )
        .await?;
        if let Some(until) = lock {
            audit(
                ctx,
                &account,
                "account_locked",
                &client,
                serde_json::json!({"until": until.to_rfc3339()}),
            )
            .await?;
            return Err(locked_error(until, now));
        }
        return Err(AuthRefusal::PassphraseIncorrect.into());
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
    let (row, token) = session::open(&txn, &account.id, now, client.clone()).await?;
    txn.commit().await?;
    crate::metrics::sign_in();
    audit(
        ctx,
        &account,
        "sign_in",
        &client,
        serde_json::json!({"session": row.id}),
    )
    .await?;
    let (absolute, idle) = session::ends_at(&row);
    Ok(SessionInfo {
        session: Some(token),
        expires_at: absolute.to_rfc3339(),
        idle_expires_at: idle.to_rfc3339(),
    })
}

/// "Déconnexion".
pub async fn sign_out(
    ctx: &Authenticator<'_>,
    signed_in: &session::SignedIn,
    client: Option<String>,
) -> Result<(), AppError> {
    if session::revoke(ctx.db, &signed_in.session.id, ctx.now).await? {
        audit(
            ctx,
            &signed_in.account,
            "sign_out",
            &client,
            serde_json::json!({"session": signed_in.session.id}),
        )
        .await?;
    }
    Ok(())
}
