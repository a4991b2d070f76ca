//! The tables this feature owns (sea-orm entities): sessions, one-time codes and the used Pro Santé Connect grants.

pub mod auth_session;
pub mod one_time_code;
pub mod psc_grant;
