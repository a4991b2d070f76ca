//! Where envelopes live, as the envelope services take it.

use sea_orm::DatabaseConnection;

use crate::keys::Keys;
use crate::storage::BlobStore;

/// Where envelopes live: the database, the keys that wrap their data keys, the blobs of
/// their attachments.
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    pub db: &'a DatabaseConnection,
    pub keys: &'a Keys,
    pub blobs: &'a BlobStore,
}
