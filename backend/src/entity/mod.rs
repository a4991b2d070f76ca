//! sea-orm entities, one module per table.

pub mod account;
pub mod audit_event;
pub mod auth_session;
pub mod one_time_code;
pub mod outbox;
