//! Where envelopes live, as the envelope services take it.

use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::keys::Keys;
use crate::storage::BlobStore;

/// Where envelopes live: the database, the keys that wrap their data keys, the blobs of
/// their attachments; and the clock (the leases of an upload in progress).
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    pub db: &'a DatabaseConnection,
    pub keys: &'a Keys,
    pub blobs: &'a BlobStore,
    pub clock: &'a Clock,
}
