//! The SMTP gateway (manual part 4, "depuis un client de messagerie"): a message from
//! the hospital's mail server whose subject starts with `#med# `, or addressed to an
//! MSSanté or hosted domain, becomes a secure envelope by the same sealing code as
//! « Envoyer »; anything else is refused. `listener` speaks SMTP; `message` reads the
//! MIME and decides. The other way, `outbound` hands envelopes to the other MSSanté
//! operators' servers through `client`, as the outbox's courier.

pub mod client;
pub mod listener;
pub mod message;
pub mod outbound;
