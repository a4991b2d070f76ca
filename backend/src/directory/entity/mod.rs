//! The tables this feature owns (sea-orm entities): snapshots, entries, search keys, the
//! prefix lists and the favorites.

pub mod directory_entry;
pub mod directory_favorite;
pub mod directory_key;
pub mod directory_snapshot;
pub mod directory_top;
