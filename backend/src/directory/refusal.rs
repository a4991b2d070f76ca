//! Why the directory refuses a request: each refusal's status, stable code and French
//! message, in one place.

use axum::http::StatusCode;
use medimail_api::directory::{MAX_FAVORITES, MAX_FIELD_CHARS, TOO_SHORT};

use crate::error::Refusal;

/// Why the directory refuses a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryRefusal {
    /// The national directory, for an account without MSSanté.
    MssanteNotEnabled,
    /// Neither `medimail` nor `mssante`.
    Unknown,
    /// A criterion too long or with control characters.
    CriteriaInvalid(&'static str),
    /// No text field of 3 characters.
    CriteriaTooShort,
    /// More than `SEARCHES_PER_MINUTE` searches in a minute from one session.
    RateLimited { wait: u64 },
    /// Starring a contact the directory does not (or no longer) hold.
    ContactUnknown,
    /// Starring past the 200 favorites.
    FavoritesFull,
}

impl Refusal for DirectoryRefusal {
    fn status(&self) -> StatusCode {
        match self {
            DirectoryRefusal::MssanteNotEnabled => StatusCode::FORBIDDEN,
            DirectoryRefusal::Unknown
            | DirectoryRefusal::CriteriaInvalid(_)
            | DirectoryRefusal::CriteriaTooShort => StatusCode::BAD_REQUEST,
            DirectoryRefusal::ContactUnknown => StatusCode::NOT_FOUND,
            DirectoryRefusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            DirectoryRefusal::FavoritesFull => StatusCode::CONFLICT,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            DirectoryRefusal::MssanteNotEnabled => "directory_mssante_not_enabled",
            DirectoryRefusal::Unknown => "directory_unknown",
            DirectoryRefusal::CriteriaInvalid(_) => "directory_criteria_invalid",
            DirectoryRefusal::CriteriaTooShort => "directory_criteria_too_short",
            DirectoryRefusal::RateLimited { .. } => "directory_rate_limited",
            DirectoryRefusal::ContactUnknown => "directory_contact_unknown",
            DirectoryRefusal::FavoritesFull => "favorites_full",
        }
    }

    fn message(&self) -> String {
        match self {
            DirectoryRefusal::MssanteNotEnabled => {
                "L'Annuaire National MSSanté est réservé aux comptes dont la fonctionnalité \
                 MSSanté est activée. Utilisez l'Annuaire Medimail."
                    .to_owned()
            }
            DirectoryRefusal::Unknown => "Annuaire inconnu : choisissez l'Annuaire Medimail ou \
                                          l'Annuaire National MSSanté."
                .to_owned(),
            DirectoryRefusal::CriteriaInvalid(_) => format!(
                "Ce critère est trop long ou illisible ({MAX_FIELD_CHARS} caractères au plus)."
            ),
            DirectoryRefusal::CriteriaTooShort => TOO_SHORT.to_owned(),
            DirectoryRefusal::RateLimited { wait } => format!(
                "Vous avez lancé {} recherches dans la minute : patientez {wait} secondes avant \
                 la prochaine.",
                medimail_api::directory::SEARCHES_PER_MINUTE
            ),
            DirectoryRefusal::ContactUnknown => {
                "Ce contact ne figure pas (ou plus) dans l'annuaire.".to_owned()
            }
            DirectoryRefusal::FavoritesFull => format!(
                "Vous avez déjà {MAX_FAVORITES} favoris : retirez-en un avant d'en ajouter un autre."
            ),
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            DirectoryRefusal::CriteriaInvalid(field) => Some(field),
            DirectoryRefusal::CriteriaTooShort => Some("nom"),
            _ => None,
        }
    }

    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            DirectoryRefusal::RateLimited { wait } => Some(*wait),
            _ => None,
        }
    }
}
