//! One module per screen; `crate::app` decides which one shows.

pub mod accueil;
pub mod aide;
pub mod annuaire;
pub mod boite;
pub mod connexion;
#[cfg(feature = "webmail")]
pub mod dossiers;
pub mod introuvable;
pub mod lecture;
pub mod nouveau;
#[cfg(feature = "webmail")]
pub mod parametres;
#[cfg(feature = "webmail")]
pub mod signaler;
#[cfg(feature = "webmail")]
pub mod webmail;
