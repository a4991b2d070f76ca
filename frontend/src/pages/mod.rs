//! One module per screen.

pub mod accueil;
pub mod aide;
pub mod annuaire;
pub mod boite;
pub mod connexion;
pub mod introuvable;
pub mod nouveau;
