//! Identity: the Office identity token (this module's `office`), then Medimail's own
//! strong authentication (one-time code + passphrase, to come).

pub mod account;
pub mod office;
pub mod passphrase;
pub mod routes;
