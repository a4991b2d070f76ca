//! The webmail's sign-in (manual part 1, "Identifiez-vous" → "Authentification par code
//! d'accès"): in a browser outside Outlook the identity is the mailbox itself. A code
//! mailed there and the passphrase open a session held in a `__Host-` cookie; a code
//! alone opens a session that may only choose the passphrase (first visit from a
//! notification, "J'ai oublié mon mot de passe", a reset by an operator).
//!
//! Nothing here tells whether an address has an account: "Demander un code" answers the
//! same for every address (the work is done after the answer), and "Connexion" refuses
//! an unknown address, a locked account, a missing or burnt code, a wrong code and a wrong
//! passphrase with one answer, after the same argon2 work. What the owner of the mailbox
//! needs to know (the lock, the change of passphrase) goes to the mailbox by mail.
//! The limits are the pane's: code claimed atomically, 5 tries per code, 10 failures in a
//! row lock the account for 15 minutes, one code a minute and ten an hour.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use medimail_api::{WebmailSession, WebmailStage};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::account::entity::account;
use crate::account::registry::{self, Identity};
use crate::auth::entity::auth_session;
use crate::auth::strong::{self, Authenticator};
use crate::auth::{conditions, otp, passphrase, session};
use crate::config::WebmailMode;
use crate::error::{AppError, Refusal};

/// Why the webmail refuses a request (beyond the pane's refusals, which it shares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebmailRefusal {
    /// Not an e-mail address.
    MailboxInvalid,
    /// "Échec de l'authentification": unknown address, locked account, no code, wrong
    /// code or wrong passphrase — never said which.
    Failed,
    /// The passphrase is chosen with the conditions of use, which were not accepted.
    ConditionsRequired,
    /// The conditions accepted are not the version in force.
    ConditionsOutdated,
    /// This session is not one that chooses a passphrase.
    NotEnrolling,
    /// "Changer mon mot de passe": the current passphrase is wrong.
    CurrentIncorrect,
}

impl Refusal for WebmailRefusal {
    fn status(&self) -> StatusCode {
        use WebmailRefusal::*;
        match self {
            MailboxInvalid | ConditionsRequired => StatusCode::UNPROCESSABLE_ENTITY,
            Failed | CurrentIncorrect => StatusCode::BAD_REQUEST,
            ConditionsOutdated | NotEnrolling => StatusCode::CONFLICT,
        }
    }

    fn code(&self) -> &'static str {
        use WebmailRefusal::*;
        match self {
            MailboxInvalid => "mailbox_invalid",
            Failed => "authentication_failed",
            ConditionsRequired => "conditions_required",
            ConditionsOutdated => "conditions_outdated",
            NotEnrolling => "passphrase_not_expected",
            CurrentIncorrect => "current_passphrase_incorrect",
        }
    }

    fn message(&self) -> String {
        use WebmailRefusal::*;
        match self {
            MailboxInvalid => "Saisissez une adresse mail complète, par exemple \
                 marie.curie@chu-exemple.fr."
                .to_owned(),
            Failed => "Échec de l'authentification. Veuillez vérifier vos identifiants de \
                 connexion : votre adresse mail, votre mot de passe et le dernier code reçu \
                 (valable 10 minutes, 5 essais). Après 10 échecs consécutifs, le compte est \
                 bloqué 15 minutes."
                .to_owned(),
            ConditionsRequired => "Pour continuer, lisez et acceptez les conditions \
                 d'utilisation du service Medimail."
                .to_owned(),
            ConditionsOutdated => "Les conditions d'utilisation ont changé pendant votre \
                 lecture : rechargez la page pour lire la nouvelle version."
                .to_owned(),
            NotEnrolling => "Votre mot de passe est déjà choisi. Pour le changer, utilisez \
                 « Changer mon mot de passe »."
                .to_owned(),
            CurrentIncorrect => "Votre mot de passe actuel est incorrect. Après 10 échecs \
                 consécutifs, le compte est bloqué 15 minutes."
                .to_owned(),
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            WebmailRefusal::MailboxInvalid => Some("mailbox"),
            WebmailRefusal::ConditionsRequired => Some("conditions"),
            WebmailRefusal::CurrentIncorrect => Some("current"),
            _ => None,
        }
    }
}

/// The address as typed, normalised; refused unless it looks like an address.
pub fn mailbox_of(typed: &str) -> Result<String, WebmailRefusal> {
    let mailbox = registry::normalize_mailbox(typed);
    let ok = mailbox.len() <= 254
        && mailbox.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !mailbox.contains(char::is_whitespace)
                && mailbox.matches('@').count() == 1
        });
    if ok {
        Ok(mailbox)
    } else {
        Err(WebmailRefusal::MailboxInvalid)
    }
}

/// The identity of the webmail: the mailbox.
pub fn identity_of(mailbox: &str) -> Identity {
    Identity {
        tenant_id: session::WEBMAIL.to_owned(),
        object_id: mailbox.to_owned(),
        name: None,
        mailbox: Some(mailbox.to_owned()),
    }
}

/// Whether `account` may sign in to the webmail under `mode`.
pub fn may_sign_in(mode: WebmailMode, account: &account::Model) -> bool {
    match mode {
        WebmailMode::Off => false,
        WebmailMode::Recipients => account.received_at.is_some(),
        WebmailMode::All => true,
    }
}

/// "Demander un code", done after the answer: mails a code if the address may use the
/// webmail, a notice if its account is locked, nothing otherwise. Refusals (too soon, ten
/// in an hour) are audited, never told to the page.
pub async fn request_code(
    ctx: &Authenticator<'_>,
    mode: WebmailMode,
    mailbox: &str,
    client: Option<String>,
) -> Result<(), AppError> {
    let Some(account) = registry::by_mailbox(ctx.db, mailbox)
        .await?
        .filter(|a| may_sign_in(mode, a))
    else {
        return Ok(());
    };
    let identity = identity_of(mailbox);
    if let Some(until) = account.locked_until.filter(|until| *until > ctx.now) {
        return locked_notice(ctx, &account, mailbox, &identity, &client, until).await;
    }
    match strong::send_code(ctx, &account, mailbox, &identity, &client).await {
        Ok(_) => Ok(()),
        // Too soon or too many: the page shows the same answer; the mailbox gets nothing.
        Err(AppError::Rejected(..)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The webmail's code requests, each done after its answer: how many are over, for the
/// tests and for a clean stop to wait on.
#[derive(Clone, Default)]
pub struct CodeRequests {
    done: std::sync::Arc<std::sync::atomic::AtomicU64>,
    notify: std::sync::Arc<tokio::sync::Notify>,
}

impl CodeRequests {
    /// Runs `work` after the answer, and counts it once over (whatever its outcome).
    pub fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let this = self.clone();
        tokio::spawn(async move {
            work.await;
            this.done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            this.notify.notify_waiters();
        });
    }

    /// How many are over.
    pub fn done(&self) -> u64 {
        self.done.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until `count` are over.
    pub async fn wait_for(&self, count: u64) {
        loop {
            let notified = self.notify.notified();
            if self.done() >= count {
                return;
            }
            notified.await;
        }
    }
}

/// Mails "Votre compte Medimail est bloqué" (at most once a minute, like a code).
async fn locked_notice(
    ctx: &Authenticator<'_>,
    account: &account::Model,
    mailbox: &str,
    identity: &Identity,
    client: &Option<String>,
    until: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = crate::db::begin_write(ctx.db).await?;
    let claimed = account::Entity::update_many()
        .col_expr(
            account::Column::LastCodeRequestedAt,
            Expr::value(Some(ctx.now)),
        )
        .filter(account::Column::Id.eq(&account.id))
        .filter(
            sea_orm::Condition::any()
                .add(account::Column::LastCodeRequestedAt.is_null())
                .add(account::Column::LastCodeRequestedAt.lte(ctx.now - otp::MIN_INTERVAL)),
        )
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(());
    }
    let mail = crate::mail::account_locked_mail(mailbox, &crate::fr::long_date_time(until));
    crate::mail::enqueue(
        &txn,
        ctx.keys,
        ctx.now,
        "account_locked",
        Some(&account.id),
        &mail,
    )
    .await?;
    strong::audit_in(
        &txn,
        ctx,
        mailbox,
        identity,
        client,
        "code_refused",
        serde_json::json!({"reason": "locked", "account": account.id, "notice_mailed": true}),
    )
    .await?;
    txn.commit().await?;
    ctx.mailer.wake();
    Ok(())
}

/// A passphrase hash nobody knows, to spend the same argon2 work on a refusal as on a
/// real check (so that time does not tell an unknown address from a wrong passphrase).
static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

async fn decoy_check(ctx: &Authenticator<'_>, typed: Option<String>) -> Result<(), AppError> {
    let phc = DECOY
        .get_or_try_init(|| async {
            ctx.hashing
                .hash(session::new_token())
                .await
                .map_err(|_| strong::busy())?
                .map_err(AppError::Internal)
        })
        .await?
        .clone();
    let permit = ctx.hashing.permit().await.map_err(|_| strong::busy())?;
    ctx.hashing
        .verify_holding(permit, typed.unwrap_or_default(), phc)
        .await;
    Ok(())
}

/// The answer after the decoy work.
async fn refuse(ctx: &Authenticator<'_>, typed: Option<String>) -> AppError {
    match decoy_check(ctx, typed).await {
        Ok(()) => WebmailRefusal::Failed.into(),
        Err(e) => e,
    }
}

/// What "Connexion" opened.
pub struct Opened {
    pub account: account::Model,
    pub session: auth_session::Model,
    pub token: String,
}

/// "Connexion": the code and the passphrase open the mailbox; the code alone opens a
/// session that chooses the passphrase.
pub async fn open_session(
    ctx: &Authenticator<'_>,
    mode: WebmailMode,
    request: medimail_api::WebmailSignIn,
    client: Option<String>,
    card: Option<crate::auth::card::Grant>,
) -> Result<Opened, AppError> {
    let now = ctx.now;
    let mailbox = mailbox_of(&request.mailbox)?;
    let code = request.code.trim().to_owned();
    if !otp::is_well_formed(&code) {
        return Err(crate::auth::refusal::AuthRefusal::CodeFormat.into());
    }
    let typed = request.passphrase.filter(|p| !p.is_empty());
    if typed
        .as_ref()
        .is_some_and(|p| p.chars().count() > passphrase::MAX_CHARS)
    {
        return Err(crate::auth::refusal::AuthRefusal::PassphraseTooLong.into());
    }
    let identity = identity_of(&mailbox);
    let account = registry::by_mailbox(ctx.db, &mailbox)
        .await?
        .filter(|a| may_sign_in(mode, a));
    let current = otp::current(ctx.db, session::WEBMAIL, &mailbox).await?;
    let (Some(account), Some(current)) = (account, current) else {
        return Err(refuse(ctx, typed).await);
    };
    if current.account_id != account.id {
        return Err(refuse(ctx, typed).await);
    }
    if strong::check_not_locked(&account, now).is_err() {
        strong::audit_alone(
            ctx,
            &mailbox,
            &identity,
            &client,
            "sign_in_refused",
            serde_json::json!({"reason": "locked", "account": account.id, "via": "webmail"}),
        )
        .await?;
        return Err(refuse(ctx, typed).await);
    }
    if current.expires_at <= now {
        otp::consume(ctx.db, &current.id, now, "expired").await?;
        return Err(refuse(ctx, typed).await);
    }
    // Claim the try before checking anything: on the code (5 at most)…
    if !otp::claim_try(ctx.db, &current.id).await? {
        return Err(refuse(ctx, typed).await);
    }
    // …and on the account (10 failures in a row at most).
    if !strong::claim_account_try(ctx, &account.id).await? {
        return Err(refuse(ctx, typed).await);
    }
    let Ok(permit) = ctx.hashing.permit().await else {
        otp::release_try(ctx.db, &current.id).await?;
        strong::release_account_try(ctx, &account.id).await?;
        return Err(strong::busy());
    };
    let code_ok = otp::matches(ctx.keys, &current, &code);
    // The passphrase is checked whatever the code; with none typed, the code alone
    // proves the mailbox (and the session may only choose a passphrase).
    let passphrase_ok = match (&typed, &account.passphrase_hash) {
        (Some(p), Some(phc)) => {
            ctx.hashing
                .verify_holding(permit, p.clone(), phc.clone())
                .await
        }
        // No passphrase to check against (none typed: the code alone proves the mailbox;
        // none chosen: whatever was typed is wrong): the same work on the decoy.
        (typed, _) => {
            drop(permit);
            if let Err(e) = decoy_check(ctx, typed.clone()).await {
                // Nothing was checked: the claimed tries are given back, as when busy.
                otp::release_try(ctx.db, &current.id).await?;
                strong::release_account_try(ctx, &account.id).await?;
                return Err(e);
            }
            typed.is_none()
        }
    };
    if !(code_ok && passphrase_ok) {
        let refusal = strong::failed(ctx, &identity, &client, &account, &current)
            .await
            .unwrap_or_else(|e| e);
        return Err(match refusal {
            AppError::Rejected(..) => WebmailRefusal::Failed.into(),
            other => other,
        });
    }
    let scope = if typed.is_some() && account.passphrase_hash.is_some() && !account.must_reset {
        session::FULL
    } else {
        session::ENROL
    };

    let txn = crate::db::begin_write(ctx.db).await?;
    if !otp::consume(&txn, &current.id, now, "used").await? {
        txn.rollback().await?;
        return Err(WebmailRefusal::Failed.into());
    }
    account::Entity::update_many()
        .col_expr(account::Column::FailedAttempts, Expr::value(0))
        .filter(account::Column::Id.eq(&account.id))
        .exec(&txn)
        .await?;
    account::Entity::update_many()
        .col_expr(account::Column::ProvenAt, Expr::value(Some(now)))
        .filter(account::Column::Id.eq(&account.id))
        .filter(account::Column::ProvenAt.is_null())
        .exec(&txn)
        .await?;
    if let Some(grant) = &card {
        // The CPx card waiting for this sign-in is linked with it; refused (another
        // RPPS, a card linked elsewhere), nothing of this sign-in stays.
        crate::auth::card::link_in(&txn, ctx.keys, &account, grant, now, &client).await?;
    }
    let (row, token) =
        session::open(&txn, &account.id, &identity, now, client.clone(), scope).await?;
    otp::cooldown_ends(&txn, &account.id).await?;
    strong::audit_in(
        &txn,
        ctx,
        &mailbox,
        &identity,
        &client,
        "sign_in",
        serde_json::json!({
            "account": account.id,
            "session": row.id,
            "via": "webmail",
            "scope": scope,
        }),
    )
    .await?;
    txn.commit().await?;
    crate::metrics::sign_in();
    let account = account::Entity::find_by_id(&account.id)
        .one(ctx.db)
        .await?
        .unwrap_or(account);
    Ok(Opened {
        account,
        session: row,
        token,
    })
}

/// What the page is told about its session.
pub async fn describe<C: ConnectionTrait>(
    db: &C,
    keys: &crate::keys::Keys,
    mode: WebmailMode,
    account: &account::Model,
    row: &auth_session::Model,
) -> Result<WebmailSession, sea_orm::DbErr> {
    let stage = if row.scope != session::FULL {
        WebmailStage::Passphrase
    } else if account.conditions_version.as_deref() != Some(conditions::VERSION) {
        WebmailStage::Conditions
    } else {
        WebmailStage::SignedIn
    };
    let previous = auth_session::Entity::find()
        .filter(auth_session::Column::AccountId.eq(&account.id))
        .filter(auth_session::Column::Id.ne(&row.id))
        .filter(auth_session::Column::Scope.eq(session::FULL))
        .filter(auth_session::Column::CreatedAt.lte(row.created_at))
        .order_by_desc(auth_session::Column::CreatedAt)
        .one(db)
        .await?;
    let (absolute, idle) = session::ends_at(row);
    Ok(WebmailSession {
        mailbox: account.label(),
        name: account.display_name.clone(),
        stage,
        csrf: session::csrf(keys, &row.token_hash),
        expires_at: absolute.to_rfc3339(),
        idle_expires_at: idle.to_rfc3339(),
        last_sign_in: previous.map(|p| p.created_at.to_rfc3339()),
        conditions_version: conditions::VERSION.to_owned(),
        conditions_accepted: account.conditions_version.clone(),
        resetting: account.passphrase_hash.is_some() || account.must_reset,
        may_compose: mode == WebmailMode::All,
        psc_linked: crate::auth::card::has_card(db, &account.id).await?,
        method: row.method.clone(),
        manages: crate::account::organisation::managed_by(db, &account.id)
            .await?
            .map(|o| o.name),
    })
}

/// Records the acceptance of the conditions in force, in `txn`.
async fn accept_in<C: ConnectionTrait>(
    txn: &C,
    ctx: &Authenticator<'_>,
    account: &account::Model,
    identity: &Identity,
    client: &Option<String>,
) -> Result<(), AppError> {
    account::Entity::update_many()
        .col_expr(
            account::Column::ConditionsVersion,
            Expr::value(Some(conditions::VERSION)),
        )
        .col_expr(
            account::Column::ConditionsAcceptedAt,
            Expr::value(Some(ctx.now)),
        )
        .filter(account::Column::Id.eq(&account.id))
        .exec(txn)
        .await?;
    strong::audit_in(
        txn,
        ctx,
        &account.label(),
        identity,
        client,
        "conditions_accepted",
        serde_json::json!({"account": account.id, "version": conditions::VERSION}),
    )
    .await
}

/// Accepts the conditions in force (a returning user, once they changed).
pub async fn accept_conditions(
    ctx: &Authenticator<'_>,
    account: &account::Model,
    row: &auth_session::Model,
    version: &str,
    client: Option<String>,
) -> Result<(), AppError> {
    if version != conditions::VERSION {
        return Err(WebmailRefusal::ConditionsOutdated.into());
    }
    let identity = session::webmail_identity(account, row);
    let txn = crate::db::begin_write(ctx.db).await?;
    accept_in(&txn, ctx, account, &identity, &client).await?;
    txn.commit().await?;
    Ok(())
}

/// Sets `phc` as the account's passphrase and ends every other session of the account;
/// mails the mailbox when a passphrase is replaced.
async fn replace_passphrase<C: ConnectionTrait>(
    txn: &C,
    ctx: &Authenticator<'_>,
    account: &account::Model,
    keep_session: &str,
    phc: String,
    support: &str,
) -> Result<(), AppError> {
    account::Entity::update_many()
        .col_expr(account::Column::PassphraseHash, Expr::value(Some(phc)))
        .col_expr(account::Column::MustReset, Expr::value(false))
        .col_expr(account::Column::FailedAttempts, Expr::value(0))
        .filter(account::Column::Id.eq(&account.id))
        .exec(txn)
        .await?;
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(Some(ctx.now)))
        .filter(auth_session::Column::AccountId.eq(&account.id))
        .filter(auth_session::Column::Id.ne(keep_session))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    if (account.passphrase_hash.is_some() || account.must_reset)
        && let Some(mailbox) = account.mailbox.as_deref()
    {
        let mail = crate::mail::passphrase_changed_mail(
            mailbox,
            &crate::fr::long_date_time(ctx.now),
            support,
        );
        crate::mail::enqueue(
            txn,
            ctx.keys,
            ctx.now,
            "passphrase_changed",
            Some(&account.id),
            &mail,
        )
        .await?;
    }
    Ok(())
}

/// The first passphrase, or a new one after "J'ai oublié mon mot de passe" or a reset,
/// chosen in a session opened by a code alone (with the conditions, when they are
/// asked). The session then opens the mailbox; every other session of the account ends.
pub async fn choose_passphrase(
    ctx: &Authenticator<'_>,
    account: &account::Model,
    row: &auth_session::Model,
    chosen: medimail_api::WebmailPassphrase,
    client: Option<String>,
    support: &str,
) -> Result<(), AppError> {
    if row.scope != session::ENROL {
        return Err(WebmailRefusal::NotEnrolling.into());
    }
    let conditions_needed = account.conditions_version.as_deref() != Some(conditions::VERSION);
    if conditions_needed {
        match chosen.conditions_version.as_deref() {
            None => return Err(WebmailRefusal::ConditionsRequired.into()),
            Some(v) if v != conditions::VERSION => {
                return Err(WebmailRefusal::ConditionsOutdated.into());
            }
            Some(_) => {}
        }
    }
    if let Err(rule) = passphrase::check_new(
        &chosen.passphrase,
        &chosen.confirmation,
        account.mailbox.as_deref(),
    ) {
        return Err(crate::auth::refusal::AuthRefusal::PassphraseRule(rule).into());
    }
    let phc = ctx
        .hashing
        .hash(chosen.passphrase)
        .await
        .map_err(|_| strong::busy())?
        .map_err(AppError::Internal)?;
    let identity = session::webmail_identity(account, row);
    let txn = crate::db::begin_write(ctx.db).await?;
    // Only one window turns this session into a full one.
    let upgraded = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::Scope, Expr::value(session::FULL))
        .col_expr(
            auth_session::Column::ExpiresAt,
            Expr::value(row.created_at + session::ABSOLUTE_TIMEOUT),
        )
        .filter(auth_session::Column::Id.eq(&row.id))
        .filter(auth_session::Column::Scope.eq(session::ENROL))
        .exec(&txn)
        .await?;
    if upgraded.rows_affected != 1 {
        txn.rollback().await?;
        return Err(WebmailRefusal::NotEnrolling.into());
    }
    replace_passphrase(&txn, ctx, account, &row.id, phc, support).await?;
    if conditions_needed {
        accept_in(&txn, ctx, account, &identity, &client).await?;
    }
    let resetting = account.passphrase_hash.is_some() || account.must_reset;
    strong::audit_in(
        &txn,
        ctx,
        &account.label(),
        &identity,
        &client,
        if resetting {
            "passphrase_reset"
        } else {
            "passphrase_chosen"
        },
        serde_json::json!({"account": account.id, "session": row.id, "via": "webmail"}),
    )
    .await?;
    txn.commit().await?;
    ctx.mailer.wake();
    Ok(())
}

/// "Changer mon mot de passe": the current passphrase, then the new one twice. A wrong
/// current passphrase counts as a failure towards the lock. From the webmail's session or
/// the pane's (its « Paramètres du compte »): the caller's session stays open, every
/// other one of the account ends.
pub async fn change_passphrase(
    ctx: &Authenticator<'_>,
    signed_in: &session::SignedIn,
    request: medimail_api::WebmailChangePassphrase,
    client: Option<String>,
    support: &str,
) -> Result<(), AppError> {
    let account = &signed_in.account;
    if request.current.is_empty() || request.current.chars().count() > passphrase::MAX_CHARS {
        return Err(WebmailRefusal::CurrentIncorrect.into());
    }
    if let Err(rule) = passphrase::check_new(
        &request.passphrase,
        &request.confirmation,
        account.mailbox.as_deref(),
    ) {
        return Err(crate::auth::refusal::AuthRefusal::PassphraseRule(rule).into());
    }
    let Some(current_phc) = account.passphrase_hash.clone() else {
        return Err(WebmailRefusal::CurrentIncorrect.into());
    };
    if !strong::claim_account_try(ctx, &account.id).await? {
        return Err(WebmailRefusal::Failed.into());
    }
    let Ok(permit) = ctx.hashing.permit().await else {
        strong::release_account_try(ctx, &account.id).await?;
        return Err(strong::busy());
    };
    if !ctx
        .hashing
        .verify_holding(permit, request.current, current_phc)
        .await
    {
        strong::audit_alone(
            ctx,
            &account.label(),
            &signed_in.identity,
            &client,
            "passphrase_change_failed",
            serde_json::json!({"account": account.id}),
        )
        .await?;
        return Err(WebmailRefusal::CurrentIncorrect.into());
    }
    let phc = ctx
        .hashing
        .hash(request.passphrase)
        .await
        .map_err(|_| strong::busy())?
        .map_err(AppError::Internal)?;
    let txn = crate::db::begin_write(ctx.db).await?;
    replace_passphrase(&txn, ctx, account, &signed_in.session.id, phc, support).await?;
    strong::audit_in(
        &txn,
        ctx,
        &account.label(),
        &signed_in.identity,
        &client,
        "passphrase_changed",
        serde_json::json!({"account": account.id, "session": signed_in.session.id}),
    )
    .await?;
    txn.commit().await?;
    ctx.mailer.wake();
    Ok(())
}

/// "Déconnexion" of a webmail session.
pub async fn sign_out(
    ctx: &Authenticator<'_>,
    account: &account::Model,
    row: &auth_session::Model,
    client: Option<String>,
) -> Result<(), AppError> {
    let identity = session::webmail_identity(account, row);
    let txn = crate::db::begin_write(ctx.db).await?;
    if session::revoke(&txn, &row.id, ctx.now).await? {
        strong::audit_in(
            &txn,
            ctx,
            &account.label(),
            &identity,
            &client,
            "sign_out",
            serde_json::json!({"account": account.id, "session": row.id, "via": "webmail"}),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `medimail account unlock`: ends the lock now. False if the mailbox has no account.
pub async fn unlock_by_operator(
    db: &sea_orm::DatabaseConnection,
    keys: &crate::keys::Keys,
    mailbox: &str,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let Some(account) = registry::by_mailbox(db, mailbox).await? else {
        return Ok(false);
    };
    let txn = crate::db::begin_write(db).await?;
    crate::account::settings::unlock(&txn, &account.id).await?;
    crate::audit::append(
        &txn,
        keys,
        "operator",
        "account_unlocked",
        serde_json::json!({"account": account.id, "mailbox": mailbox, "was_locked_until": account.locked_until.filter(|u| *u > now).map(|u| u.to_rfc3339())}),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// `medimail account reset`: the passphrase stops working, every session ends, and a new
/// one is chosen at the next sign-in. False if the mailbox has no account.
pub async fn reset_by_operator(
    db: &sea_orm::DatabaseConnection,
    keys: &crate::keys::Keys,
    mailbox: &str,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let Some(account) = registry::by_mailbox(db, mailbox).await? else {
        return Ok(false);
    };
    let txn = crate::db::begin_write(db).await?;
    account::Entity::update_many()
        .col_expr(
            account::Column::PassphraseHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(account::Column::MustReset, Expr::value(true))
        .filter(account::Column::Id.eq(&account.id))
        .exec(&txn)
        .await?;
    let ended = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(Some(now)))
        .filter(auth_session::Column::AccountId.eq(&account.id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    crate::audit::append(
        &txn,
        keys,
        "operator",
        "passphrase_reset_forced",
        serde_json::json!({"account": account.id, "mailbox": mailbox, "sessions_ended": ended.rows_affected}),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_are_accepted() {
        assert_eq!(
            mailbox_of("  Marie.Curie@CHU-exemple.fr "),
            Ok("marie.curie@chu-exemple.fr".into())
        );
        for bad in [
            "",
            "marie",
            "@chu.fr",
            "marie@",
            "marie@chu",
            "a b@chu.fr",
            "a@b@c.fr",
        ] {
            assert_eq!(
                mailbox_of(bad),
                Err(WebmailRefusal::MailboxInvalid),
                "{bad:?}"
            );
        }
    }
}
