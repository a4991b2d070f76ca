//! `auth_session`: a Medimail session opened by code + passphrase, or by the CPx card. Only the SHA-256 of
//! its 256-bit token is stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_session")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub token_hash: String,
    pub created_at: ChronoDateTimeUtc,
    /// Last use: the session ends 30 minutes after it.
    pub last_seen_at: ChronoDateTimeUtc,
    /// Absolute end: 12 hours after creation.
    pub expires_at: ChronoDateTimeUtc,
    /// "Déconnexion".
    pub revoked_at: Option<ChronoDateTimeUtc>,
    /// Client address when the session was opened.
    pub client: Option<String>,
    /// The identity that opened it: no other identity's token can carry it.
    pub tenant_id: String,
    pub subject: String,
    /// `full`, or `enrol`: opened by a code alone (webmail first visit or forgotten
    /// passphrase), it may only choose the passphrase.
    pub scope: String,
    /// How the strong authentication was done: [`crate::auth::session::BY_CODE`] (code
    /// and passphrase) or [`crate::auth::session::BY_CARD`] (Pro Santé Connect).
    pub method: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
