//! The tables this feature owns (sea-orm entities): envelopes, their recipients, their
//! attachments, their events, the account's draft and sub-folders, the unread counts.

pub mod attachment;
pub mod blob_lease;
pub mod digest_sent;
pub mod draft;
pub mod envelope;
pub mod envelope_event;
pub mod envelope_recipient;
pub mod envelope_term;
pub mod folder;
pub mod unread_count;
