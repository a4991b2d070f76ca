//! The table this feature owns (sea-orm entity).

pub mod account;
