//! Hash routing. office.js sets `history.pushState` to null, so screens are addressed by
//! the fragment (`#/aide`), never by the path.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `#/` or no fragment: the home screen.
    Accueil,
    /// `#/aide`: help (the manifest's SupportUrl).
    Aide,
    /// Anything else.
    Introuvable,
}

impl Route {
    /// From `location.hash` (with or without the leading `#`).
    pub fn from_hash(hash: &str) -> Self {
        let path = hash.trim_start_matches('#');
        let path = path.split(['?', '&']).next().unwrap_or("");
        match path.trim_end_matches('/') {
            "" => Route::Accueil,
            "/aide" => Route::Aide,
            _ => Route::Introuvable,
        }
    }

    pub fn hash(self) -> &'static str {
        match self {
            Route::Accueil | Route::Introuvable => "#/",
            Route::Aide => "#/aide",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_known_screens() {
        for empty in ["", "#", "#/", "/"] {
            assert_eq!(Route::from_hash(empty), Route::Accueil, "{empty:?}");
        }
        assert_eq!(Route::from_hash("#/aide"), Route::Aide);
        assert_eq!(Route::from_hash("#/aide/"), Route::Aide);
        assert_eq!(Route::from_hash("#/aide?x=1"), Route::Aide);
    }

    #[test]
    fn anything_else_is_not_found() {
        assert_eq!(Route::from_hash("#/nimporte"), Route::Introuvable);
        assert_eq!(Route::from_hash("#aide"), Route::Introuvable);
    }

    #[test]
    fn round_trips_through_its_hash() {
        for route in [Route::Accueil, Route::Aide] {
            assert_eq!(Route::from_hash(route.hash()), route);
        }
    }
}
