//! Accounts: the account is the mailbox. This feature owns the `account` table: the
//! registry (an account found or created for a verified identity, the placeholder that
//! receives mail for an address without an account) and the account's settings (liste
//! rouge, « Identité », the MSSanté flag and the conditions of its activation), with their
//! routes; the organisations (by mail domain) and their managers' « Administration ».
//!
//! A new setting goes in `settings.rs` (service), `routes.rs` (its endpoint) and the
//! contract type in `medimail_api`; see docs/ARCHITECTURE.md.

pub mod administration;
pub mod administration_routes;
pub mod delegation;
pub mod entity;
pub mod identity;
pub mod mssante;
pub mod nomenclature;
pub mod notifications;
pub mod organisation;
pub mod registry;
pub mod routes;
pub mod settings;
pub mod signatures;
