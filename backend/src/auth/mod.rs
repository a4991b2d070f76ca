//! Identity, in two layers: the Office identity token (`office`), then Medimail's own
//! strong authentication (`otp` codes + `passphrase`, or the CPx `card` through Pro Santé
//! Connect, `psc`, opening a `session`).

pub mod card;
pub mod conditions;
pub mod dev_identity;
pub mod dialog;
pub mod entity;
pub mod office;
pub mod openapi;
pub mod otp;
pub mod passphrase;
pub mod psc;
pub mod psc_routes;
pub mod refusal;
pub mod routes;
pub mod session;
pub mod strong;
pub mod webmail;
pub mod webmail_routes;
