//! The tables this feature owns (sea-orm entities).

pub mod account;
pub mod identity_link;
