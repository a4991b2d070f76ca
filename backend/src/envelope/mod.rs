//! Secure envelopes: sealing ("Envoyer": `seal`, receiving the files: `upload`), the
//! folders (`folders`), reading and downloading (`read`), the rules of a draft (`rules`),
//! the refusals (`refusal`), the 3-month retention (`retention`) and the orphan-blob
//! sweep (`sweep`), what stays sealed at rest beside the body (`at_rest`), which
//! recipients another MSSanté operator serves (`operators`), which envelope a new one
//! answers (`threads`), the account's draft (`draft`) and sub-folders with moves
//! (`subfolders`); `routes` is the HTTP API.

pub mod at_rest;
pub mod digest;
pub mod draft;
pub mod entity;
pub mod folders;
pub mod lease;
pub mod operators;
pub mod quota;
pub mod read;
pub mod refusal;
pub mod report;
pub mod retention;
pub mod routes;
pub mod rules;
pub mod seal;
pub mod stores;
pub mod subfolders;
pub mod sweep;
pub mod threads;
pub mod unread;
pub mod upload;
