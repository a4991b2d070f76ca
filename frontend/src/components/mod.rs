//! Widgets shared by several screens. Each renders exactly the markup the screens wrote
//! by hand before (ids, classes, ARIA roles), so that tests and style sheets find the
//! same page.

pub mod account;
#[cfg(feature = "webmail")]
pub mod administration;
pub mod busy_button;
pub mod feedback;
pub mod gauge;
#[cfg(feature = "webmail")]
pub mod identite;
#[cfg(feature = "webmail")]
pub mod notifications;
pub mod recipients;
#[cfg(feature = "webmail")]
pub mod signatures;
