//! The tables this feature owns (sea-orm entities): sessions and one-time codes.

pub mod auth_session;
pub mod one_time_code;
