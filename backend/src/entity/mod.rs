//! sea-orm entities, one module per table.

pub mod account;
pub mod attachment;
pub mod audit_event;
pub mod auth_session;
pub mod directory_entry;
pub mod directory_favorite;
pub mod directory_key;
pub mod directory_snapshot;
pub mod directory_top;
pub mod envelope;
pub mod envelope_event;
pub mod envelope_recipient;
pub mod one_time_code;
pub mod outbox;
