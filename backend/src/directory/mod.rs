//! The directories: "Annuaire Medimail" (the accounts of this service plus regional
//! imports) and "Annuaire National MSSanté". `keys` makes matching ignore case, accents
//! and punctuation; `extraction` reads the national file; `import` loads it into a
//! snapshot switched atomically; `search` finds contacts (`pace`: how fast a session may); `favorites` keeps each
//! account's starred contacts; `routes` is the HTTP API; `export` writes the operator's publication file of the
//! activated MSSanté addresses.

pub mod entity;
pub mod export;
pub mod extraction;
pub mod favorites;
pub mod import;
pub mod keys;
pub mod pace;
pub mod refusal;
pub mod routes;
pub mod search;
