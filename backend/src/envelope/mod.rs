//! Secure envelopes: compose and send (issue 4), read (issue 5). Rules first: what an
//! envelope may hold, checked before anything is stored.

pub mod list;
pub mod read;
pub mod retention;
pub mod rules;
pub mod send;
pub mod sweep;
