//! Hash routing. office.js sets `history.pushState` to null, so screens are addressed by
//! the fragment (`#/aide`), never by the path.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `#/` or no fragment: the home screen.
    Accueil,
    /// `#/inbox/open/<reference>`: the home screen, then that envelope once signed in
    /// (the link of the notification mail).
    Ouvrir(String),
    /// `#/aide`: help (the manifest's SupportUrl).
    Aide,
    /// `#/signaler/<token>`: "Si vous n'êtes pas le bon destinataire… signalez-le" (the
    /// notification's footer).
    Signaler(String),
    /// `#/carte-cpx`: the webmail's sign-in, a verified CPx card waiting to be linked.
    CarteCpx,
    /// `#/volet/parametres`: « Paramètres du compte » framed by the pane, in the
    /// webmail's page (`pages::parametres`).
    #[cfg(feature = "webmail")]
    VoletParametres,
    /// Anything else.
    Introuvable,
}

impl Route {
    /// From `location.hash` (with or without the leading `#`).
    pub fn from_hash(hash: &str) -> Self {
        let path = hash.trim_start_matches('#');
        let path = path.split(['?', '&']).next().unwrap_or("");
        let path = path.trim_end_matches('/');
        if let Some(reference) = path.strip_prefix("/inbox/open/")
            && !reference.is_empty()
            && reference.len() <= 64
            && reference
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Route::Ouvrir(reference.to_owned());
        }
        if let Some(token) = path.strip_prefix("/signaler/")
            && token.len() == 64
            && token.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Route::Signaler(token.to_owned());
        }
        match path {
            "" => Route::Accueil,
            "/aide" => Route::Aide,
            "/carte-cpx" => Route::CarteCpx,
            #[cfg(feature = "webmail")]
            "/volet/parametres" => Route::VoletParametres,
            _ => Route::Introuvable,
        }
    }

    /// The home page: signing in and the signed-in screens.
    pub fn is_home(&self) -> bool {
        matches!(self, Route::Accueil | Route::Ouvrir(_) | Route::CarteCpx)
    }

    pub fn hash(&self) -> &'static str {
        match self {
            Route::Accueil
            | Route::Ouvrir(_)
            | Route::Introuvable
            | Route::Signaler(_)
            | Route::CarteCpx => "#/",
            Route::Aide => "#/aide",
            #[cfg(feature = "webmail")]
            Route::VoletParametres => "#/volet/parametres",
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
    fn the_notification_link_opens_an_envelope() {
        assert_eq!(
            Route::from_hash("#/inbox/open/AbC-d_12"),
            Route::Ouvrir("AbC-d_12".into())
        );
        assert_eq!(Route::from_hash("#/inbox/open/"), Route::Introuvable);
        assert_eq!(Route::from_hash("#/inbox/open/a<b"), Route::Introuvable);
    }

    #[test]
    fn the_report_link_carries_its_token() {
        let token = "ab".repeat(32);
        assert_eq!(
            Route::from_hash(&format!("#/signaler/{token}")),
            Route::Signaler(token)
        );
        assert_eq!(Route::from_hash("#/signaler/xyz"), Route::Introuvable);
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
        #[cfg(feature = "webmail")]
        assert_eq!(
            Route::from_hash(Route::VoletParametres.hash()),
            Route::VoletParametres
        );
    }
}
