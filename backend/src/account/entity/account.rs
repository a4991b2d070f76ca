//! `account`: a Medimail account, which *is* one mailbox (unique, lowercase). Sign-in
//! identities reach it through `identity_link`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account")]
pub struct Model {
    /// Random UUID (v4), the account's stable reference.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// From the token's `name`, refreshed at each sign-in.
    pub display_name: Option<String>,
    /// The mailbox this account is: unique, trimmed and lowercase; one-time codes go
    /// there. Changes only when a code proven at the new address moves it.
    pub mailbox: Option<String>,
    /// argon2id PHC string; `None` until the user has chosen a passphrase.
    #[sea_orm(column_type = "Text", nullable)]
    pub passphrase_hash: Option<String>,
    pub failed_attempts: i32,
    pub locked_until: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    /// When the last one-time code was requested (one request per 60 s).
    pub last_code_requested_at: Option<ChronoDateTimeUtc>,
    /// On the "liste rouge": never returned by a directory search (manual part 2 §4).
    pub liste_rouge: bool,
    /// MSSanté activated: the national directory is offered (its activation flow comes
    /// later; for now an administrator sets it with `medimail account`).
    pub mssante_enabled: bool,
    /// The display name normalised (`directory::keys::normalize`), for the Medimail directory.
    pub search_name: Option<String>,
    /// When a code mailed to this mailbox was first proven (`None`: a placeholder that
    /// only receives envelopes).
    pub proven_at: Option<ChronoDateTimeUtc>,
    /// The version of the conditions of use accepted (webmail), and when.
    pub conditions_version: Option<String>,
    pub conditions_accepted_at: Option<ChronoDateTimeUtc>,
    /// Set by `medimail account reset`: the passphrase must be chosen again (webmail
    /// "J'ai oublié mon mot de passe") before signing in.
    pub must_reset: bool,
    /// When this mailbox first received an envelope (`MEDIMAIL_WEBMAIL=recipients`).
    pub received_at: Option<ChronoDateTimeUtc>,
    /// The RPPS number (11 digits) or the ADELI number (9 characters) of the professional:
    /// filled from the CPx card at its first link when empty (Pro Santé Connect).
    pub rpps: Option<String>,
    pub adeli: Option<String>,
    /// An eligible personal account: the first of the three conditions of the MSSanté
    /// activation (manual part 2 §2.1), set by a manager or the operator.
    pub mssante_eligible: bool,
    /// « Timbres alloués à votre compte » (manual part 1 §6.4): envelopes it may send in
    /// all; `None`: illimité. Set by a manager or the operator.
    pub stamps_allocated: Option<i64>,
    /// « Timbres utilisés »: one per envelope sent, counted when it is sealed.
    pub stamps_used: i64,
    /// « Adresse de messagerie MSSanté », given by « Activer » (unique): envelopes
    /// addressed to it reach this account.
    pub mssante_address: Option<String>,
    pub mssante_activated_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// How the account appears in the audit trail and in events: its mailbox, or its id.
    pub fn label(&self) -> String {
        self.mailbox.clone().unwrap_or_else(|| self.id.clone())
    }
}
