//! Why the sign-in refuses a request: each refusal's status, stable code and French
//! message (with its field and `Retry-After` where the pane needs them), in one place.
//! The Office token's refusals are `office::TokenError`, the session's
//! `session::SessionError`.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use super::otp;
use super::passphrase::{self, PassphraseRule};
use crate::error::Refusal;

/// Consecutive failures (wrong code or passphrase) that lock the account…
pub const MAX_CONSECUTIVE_FAILURES: i32 = 10;

/// Whole seconds from `now` to `until`, at least 1.
pub fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    Ord::max((until - now).num_seconds(), 1) as u64
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthRefusal {
    /// 10 failures in a row: locked until then (the request's time beside it).
    Locked {
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    /// No passphrase chosen yet.
    PassphraseRequired,
    /// A passphrase is already chosen.
    PassphraseAlreadySet,
    /// Another window chose it a moment ago.
    PassphraseJustChosen,
    /// The chosen passphrase breaks a rule.
    PassphraseRule(PassphraseRule),
    /// The identity names no mailbox to mail the code to.
    MailboxMissing,
    /// Ten codes in the last hour; a new one from `until`.
    CodeRateLimited {
        until: DateTime<Utc>,
        wait: u64,
    },
    /// One code a minute; a new one in `wait` seconds.
    CodeTooSoon {
        wait: u64,
    },
    /// Not 6 digits.
    CodeFormat,
    PassphraseMissing,
    PassphraseTooLong,
    /// No code pending.
    CodeMissing,
    /// The code was used a moment ago (by a concurrent request).
    CodeJustUsed,
    CodeExpired,
    /// Five tries: the code is burnt.
    CodeInvalidated,
    /// The code or the passphrase is wrong (never said which); `left` tries remain
    /// with this code.
    CredentialsIncorrect {
        left: i32,
    },
    /// Too many passphrase checks at once: none could start in time.
    Busy,
    /// Development identity: not an address.
    DevMailboxInvalid,
    /// Development identity: no usable name.
    DevNameInvalid,
    /// Development routes: called from another machine, or another `Host`.
    DevNotLocal,
}

impl Refusal for AuthRefusal {
    fn status(&self) -> StatusCode {
        use AuthRefusal::*;
        match self {
            Locked { .. } => StatusCode::LOCKED,
            PassphraseRequired | PassphraseAlreadySet | PassphraseJustChosen => {
                StatusCode::CONFLICT
            }
            PassphraseRule(_) | MailboxMissing | CodeFormat | PassphraseMissing
            | PassphraseTooLong | DevMailboxInvalid | DevNameInvalid => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            CodeRateLimited { .. } | CodeTooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
            DevNotLocal => StatusCode::FORBIDDEN,
            CodeMissing
            | CodeJustUsed
            | CodeExpired
            | CodeInvalidated
            | CredentialsIncorrect { .. } => StatusCode::BAD_REQUEST,
            Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        use AuthRefusal::*;
        match self {
            Locked { .. } => "account_locked",
            PassphraseRequired => "passphrase_required",
            PassphraseAlreadySet | PassphraseJustChosen => "passphrase_already_set",
            PassphraseRule(rule) => rule.code(),
            MailboxMissing => "mailbox_missing",
            CodeRateLimited { .. } => "code_rate_limited",
            CodeTooSoon { .. } => "code_too_soon",
            CodeFormat => "code_format",
            PassphraseMissing => "passphrase_missing",
            PassphraseTooLong => "passphrase_too_long",
            CodeMissing | CodeJustUsed => "code_missing",
            CodeExpired => "code_expired",
            CodeInvalidated => "code_invalidated",
            CredentialsIncorrect { .. } => "credentials_incorrect",
            Busy => "busy",
            DevMailboxInvalid => "dev_mailbox_invalid",
            DevNameInvalid => "dev_name_invalid",
            DevNotLocal => "dev_identity_local_only",
        }
    }

    fn message(&self) -> String {
        use AuthRefusal::*;
        match self {
            Locked { until, now } => format!(
                "Votre compte Medimail est verrouillé pour 15 minutes après {MAX_CONSECUTIVE_FAILURES} \
                 échecs d'authentification consécutifs. Vous pourrez réessayer à {} ({}).",
                crate::fr::time_of_day(*until),
                crate::fr::in_duration(seconds_until(*until, *now) as i64)
            ),
            PassphraseRequired => "Choisissez d'abord votre passephrase personnelle.".to_owned(),
            PassphraseAlreadySet => "Votre passephrase est déjà choisie. Pour la changer, \
                 adressez-vous à votre responsable Medimail."
                .to_owned(),
            PassphraseJustChosen => {
                "Votre passephrase vient d'être choisie depuis une autre fenêtre.".to_owned()
            }
            PassphraseRule(rule) => rule.message().to_owned(),
            MailboxMissing => "Votre identité Office 365 ne comporte pas d'adresse de \
                 messagerie : le code ne peut pas vous être envoyé. Prévenez votre service \
                 informatique."
                .to_owned(),
            CodeRateLimited { until, wait } => format!(
                "Vous avez demandé {} codes en une heure. Vous pourrez en demander un \
                 nouveau à {} ({}).",
                otp::MAX_PER_HOUR,
                crate::fr::time_of_day(*until),
                crate::fr::in_duration(*wait as i64)
            ),
            CodeTooSoon { wait } => format!(
                "Un code vient de vous être envoyé. Vous pourrez en demander un autre {}.",
                crate::fr::in_duration(*wait as i64)
            ),
            CodeFormat => "Le code à usage unique est composé de 6 chiffres : recopiez-le \
                 depuis le mail « Votre code d'accès Medimail »."
                .to_owned(),
            PassphraseMissing => "Saisissez votre passephrase.".to_owned(),
            PassphraseTooLong => format!(
                "La passephrase ne peut pas dépasser {} caractères.",
                passphrase::MAX_CHARS
            ),
            CodeMissing => "Aucun code en cours pour votre compte : cliquez sur « Demander un \
                 code »."
                .to_owned(),
            CodeJustUsed => "Ce code vient d'être utilisé. Cliquez sur « Demander un code » \
                 pour en recevoir un nouveau."
                .to_owned(),
            CodeExpired => "Ce code a expiré : un code n'est valable que 10 minutes. Cliquez \
                 sur « Demander un code » pour en recevoir un nouveau."
                .to_owned(),
            CodeInvalidated => "Code erroné 5 fois : ce code n'est plus valable. Cliquez sur \
                 « Demander un code » pour en recevoir un nouveau."
                .to_owned(),
            CredentialsIncorrect { left } if *left > 0 => format!(
                "Code à usage unique ou passephrase incorrect. Vérifiez le dernier mail « Votre \
                 code d'accès Medimail » et votre passephrase ({left} essai{} restant{} avec ce \
                 code). Attention : après {MAX_CONSECUTIVE_FAILURES} échecs consécutifs, le \
                 compte est verrouillé pendant 15 minutes.",
                if *left > 1 { "s" } else { "" },
                if *left > 1 { "s" } else { "" }
            ),
            CredentialsIncorrect { .. } => "Code à usage unique ou passephrase incorrect, 5 \
                 fois avec ce code : il n'est plus valable. Cliquez sur « Demander un code » \
                 pour en recevoir un nouveau."
                .to_owned(),
            Busy => "Le serveur Medimail est très sollicité en ce moment : réessayez dans \
                 quelques secondes."
                .to_owned(),
            DevMailboxInvalid => "Saisissez une adresse de messagerie complète, par exemple \
                 marie.curie@chu-exemple.fr."
                .to_owned(),
            DevNameInvalid => {
                "Saisissez un nom de 1 à 128 caractères, par exemple Marie CURIE.".to_owned()
            }
            DevNotLocal => "Le fournisseur d'identité de développement ne répond qu'à cette \
                 machine, à l'adresse publique configurée."
                .to_owned(),
        }
    }

    fn field(&self) -> Option<&'static str> {
        use AuthRefusal::*;
        match self {
            PassphraseRule(passphrase::PassphraseRule::Mismatch) => Some("confirmation"),
            PassphraseRule(_) | PassphraseMissing | PassphraseTooLong => Some("passphrase"),
            CodeFormat
            | CodeMissing
            | CodeJustUsed
            | CodeExpired
            | CodeInvalidated
            | CredentialsIncorrect { .. } => Some("code"),
            DevMailboxInvalid => Some("mailbox"),
            DevNameInvalid => Some("name"),
            _ => None,
        }
    }

    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            AuthRefusal::Locked { until, now } => Some(seconds_until(*until, *now)),
            AuthRefusal::CodeRateLimited { wait, .. } | AuthRefusal::CodeTooSoon { wait } => {
                Some(*wait)
            }
            AuthRefusal::Busy => Some(2),
            _ => None,
        }
    }
}

/// Why a sign-in through the Office dialog ends without a token: the code and French
/// message the dialog page hands to the pane (`{"status":"error","code","message"}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialogRefusal {
    /// No client id or no credential configured.
    Unavailable,
    /// A credential configured but unusable (the certificate's key cannot sign).
    Misconfigured,
    /// No sealed cookie: expired, or started in another window.
    Expired,
    /// The sealed cookie is older than 10 minutes.
    TimedOut,
    /// `state` differs from the one sent.
    StateMismatch,
    /// The user (or the organisation) refused the consent.
    ConsentRefused,
    /// The authority answered another error.
    AuthorityFailed,
    /// The authority answered neither a code nor an error.
    NoCode,
    /// The code exchange was refused (a replayed code, a wrong verifier…).
    ExchangeFailed,
    /// The access token received does not verify.
    Token(super::office::TokenError),
    /// No ID token beside the access token.
    NoIdentity,
    /// The ID token's `nonce` or person differs.
    NonceMismatch,
}

impl DialogRefusal {
    pub fn code(&self) -> &'static str {
        use DialogRefusal::*;
        match self {
            Unavailable | Misconfigured => "dialog_unavailable",
            Expired | TimedOut => "dialog_expired",
            StateMismatch => "dialog_state_mismatch",
            ConsentRefused => "dialog_consent_refused",
            AuthorityFailed | NoCode | NoIdentity => "dialog_failed",
            ExchangeFailed => "dialog_exchange_failed",
            Token(e) => e.code(),
            NonceMismatch => "dialog_nonce_mismatch",
        }
    }

    pub fn message(&self) -> String {
        use DialogRefusal::*;
        match self {
            Unavailable => "La connexion par fenêtre n'est pas configurée sur ce serveur \
                 Medimail : prévenez votre service informatique."
                .to_owned(),
            Misconfigured => "La connexion par fenêtre n'est pas configurée correctement sur \
                 ce serveur Medimail : prévenez votre service informatique."
                .to_owned(),
            Expired => "Cette connexion a expiré ou a été commencée dans une autre fenêtre. \
                 Fermez cette fenêtre et recommencez depuis le volet Medimail."
                .to_owned(),
            TimedOut => "Cette connexion a expiré (10 minutes). Fermez cette fenêtre et \
                 recommencez depuis le volet Medimail."
                .to_owned(),
            StateMismatch => "La réponse reçue ne correspond pas à cette connexion : elle a été \
                 refusée par précaution. Fermez cette fenêtre et recommencez."
                .to_owned(),
            ConsentRefused => "L'accès de Medimail à votre compte Microsoft 365 n'a pas été \
                 accordé. Sans cet accord, Medimail ne peut pas vous identifier ; votre \
                 service informatique peut l'accorder pour toute l'organisation."
                .to_owned(),
            AuthorityFailed => "Microsoft 365 n'a pas pu vous identifier. Fermez cette fenêtre \
                 et réessayez ; si le problème persiste, prévenez votre service informatique."
                .to_owned(),
            NoCode => "Microsoft 365 n'a renvoyé aucune autorisation. Fermez cette fenêtre et \
                 réessayez."
                .to_owned(),
            ExchangeFailed => "L'autorisation de Microsoft 365 n'a pas pu être validée (elle a \
                 peut-être déjà servi). Fermez cette fenêtre et recommencez."
                .to_owned(),
            Token(e) => e.message().to_owned(),
            NoIdentity => "Microsoft 365 n'a pas renvoyé d'identité. Fermez cette fenêtre et \
                 réessayez."
                .to_owned(),
            NonceMismatch => "L'identité renvoyée ne correspond pas à cette connexion : elle a \
                 été refusée par précaution. Fermez cette fenêtre et recommencez."
                .to_owned(),
        }
    }
}
