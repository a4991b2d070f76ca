//! `envelope`: a sealed secure envelope. The body is sealed with the envelope's data key,
//! which is stored wrapped by the master key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "envelope")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Unguessable reference (192 random bits, base64url) used in links.
    pub reference: String,
    pub sender_account_id: String,
    pub sender_mailbox: String,
    pub sender_name: Option<String>,
    /// "Objet" (sanitised, single line).
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    /// The sanitised HTML body sealed with the data key, base64.
    #[sea_orm(column_type = "Text")]
    pub body_sealed: String,
    /// The data key wrapped by the master key, base64.
    #[sea_orm(column_type = "Text")]
    pub wrapped_key: String,
    /// "Moteur de cryptage".
    pub engine: String,
    pub sealed_at: ChronoDateTimeUtc,
    pub opens_from: ChronoDateTimeUtc,
    pub opens_until: ChronoDateTimeUtc,
    pub attachment_count: i32,
    /// The sender moved it to "Messages supprimés".
    pub sender_deleted_at: Option<ChronoDateTimeUtc>,
    /// The sender removed it for good from "Messages supprimés".
    pub sender_removed_at: Option<ChronoDateTimeUtc>,
    /// Content removed by the retention job.
    pub purged_at: Option<ChronoDateTimeUtc>,
    /// The sender's `Idempotency-Key` for this send (unique per sender), if it gave one.
    pub idempotency_key: Option<String>,
    /// The envelope this one answers (its id), when the sender could read it.
    pub in_reply_to_id: Option<String>,
    /// The title, sealed under the envelope's key (base64); blank once purged.
    #[sea_orm(column_type = "Text", nullable)]
    pub subject_sealed: Option<String>,
    /// The sender's name as it was when sealed, sealed the same way.
    #[sea_orm(column_type = "Text", nullable)]
    pub sender_name_sealed: Option<String>,
    /// The sender's sub-folder (`folder`) under « Messages envoyés » (or, once deleted,
    /// under « Messages supprimés »); none: the folder itself.
    pub sender_folder_id: Option<String>,
    /// Which search tags it has (`at_rest::TERMS_VERSION`): 0, its title and sender's
    /// name (written before issue 18's one-word search); 1, its sender's mailbox too.
    pub terms_version: i16,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
