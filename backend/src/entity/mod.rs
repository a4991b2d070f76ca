//! The infrastructure's tables (sea-orm entities): the outbox of mails, the audit trail
//! and the one-off maintenance tasks finished. Each feature's tables live in its own `entity` module (`account::entity`,
//! `auth::entity`, `envelope::entity`, `directory::entity`).

pub mod audit_event;
pub mod audit_head;
pub mod maintenance;
pub mod outbox;
