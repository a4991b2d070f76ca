//! The tables this feature owns (sea-orm entities): envelopes, their recipients, their
//! attachments and their events.

pub mod attachment;
pub mod blob_lease;
pub mod envelope;
pub mod envelope_event;
pub mod envelope_recipient;
pub mod envelope_term;
