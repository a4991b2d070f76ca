//! The tables this feature owns (sea-orm entities).

pub mod account;
pub mod account_identity;
pub mod delegation;
pub mod identity_link;
pub mod notification_setting;
pub mod organisation;
pub mod organisation_domain;
pub mod organisation_manager;
pub mod signature;
