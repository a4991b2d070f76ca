//! Where the pane runs, and what the status line says about it. Pure: no browser needed.

/// What office.js reported (or failed to report) at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Environment {
    /// Inside an Office host: `Office.onReady` gave this host and platform.
    Office {
        host: String,
        platform: Option<String>,
    },
    /// office.js loaded but the page is not inside Office (a plain browser tab).
    Browser,
    /// office.js did not load (blocked, offline, wrong address).
    NoOfficeJs,
    /// office.js loaded but `Office.onReady` never answered.
    OfficeTimeout,
}

impl Environment {
    /// From the `host` and `platform` fields of `Office.onReady`'s answer.
    pub fn from_ready(host: Option<String>, platform: Option<String>) -> Self {
        match host.filter(|h| !h.is_empty()) {
            Some(host) => Environment::Office {
                host,
                platform: platform.filter(|p| !p.is_empty()),
            },
            None => Environment::Browser,
        }
    }

    /// True inside Outlook, where the mailbox API is available.
    pub fn in_outlook(&self) -> bool {
        matches!(self, Environment::Office { host, .. } if host == "Outlook")
    }

    /// A short machine-readable name, exposed as `data-host` for tests and support.
    pub fn code(&self) -> &'static str {
        match self {
            Environment::Office { .. } if self.in_outlook() => "outlook",
            Environment::Office { .. } => "office",
            Environment::Browser => "browser",
            Environment::NoOfficeJs => "no-office-js",
            Environment::OfficeTimeout => "office-timeout",
        }
    }

    /// The French status line shown under the header.
    pub fn status_line(&self) -> String {
        match self {
            Environment::Office { host, platform } if host == "Outlook" => {
                format!("Connecté à {}", outlook_name(platform.as_deref()))
            }
            Environment::Office { host, .. } => format!(
                "Ouvert dans {host} : Medimail est conçu pour Outlook et peut y être limité."
            ),
            Environment::Browser => "Ouvert dans un navigateur, hors d'Outlook. \
                 Pour lire et envoyer vos enveloppes depuis vos messages, ajoutez le \
                 complément Medimail à Outlook."
                .to_owned(),
            Environment::NoOfficeJs => "Hors d'Outlook : la bibliothèque Office n'a pas pu \
                 être chargée. Vérifiez votre connexion, puis rouvrez le volet."
                .to_owned(),
            Environment::OfficeTimeout => "Outlook ne répond pas : Medimail démarre sans lui. \
                 Si le problème persiste, fermez et rouvrez le volet."
                .to_owned(),
        }
    }
}

/// The French name of an Outlook flavour, from office.js's `Office.PlatformType`.
fn outlook_name(platform: Option<&str>) -> &'static str {
    match platform {
        Some("OfficeOnline") => "Outlook sur le web",
        Some("PC") => "Outlook pour Windows",
        Some("Mac") => "Outlook pour Mac",
        Some("iOS") => "Outlook pour iPhone et iPad",
        Some("Android") => "Outlook pour Android",
        Some("Universal") => "Outlook pour Windows (nouvelle version)",
        _ => "Outlook",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_outlook_platform_in_french() {
        let on = |p: &str| Environment::from_ready(Some("Outlook".into()), Some(p.into()));
        assert_eq!(
            on("OfficeOnline").status_line(),
            "Connecté à Outlook sur le web"
        );
        assert_eq!(on("PC").status_line(), "Connecté à Outlook pour Windows");
        assert_eq!(on("Mac").status_line(), "Connecté à Outlook pour Mac");
        assert_eq!(on("Something").status_line(), "Connecté à Outlook");
        assert!(on("PC").in_outlook());
        assert_eq!(on("PC").code(), "outlook");
    }

    #[test]
    fn a_missing_host_means_a_plain_browser() {
        let env = Environment::from_ready(None, None);
        assert_eq!(env, Environment::Browser);
        assert!(!env.in_outlook());
        assert!(env.status_line().contains("hors d'Outlook"));
        assert_eq!(
            Environment::from_ready(Some(String::new()), None),
            Environment::Browser
        );
    }

    #[test]
    fn another_office_host_is_not_outlook() {
        let env = Environment::from_ready(Some("Word".into()), Some("PC".into()));
        assert!(!env.in_outlook());
        assert_eq!(env.code(), "office");
        assert!(env.status_line().contains("Word"));
    }

    #[test]
    fn failures_say_what_to_do() {
        assert!(
            Environment::NoOfficeJs
                .status_line()
                .contains("rouvrez le volet")
        );
        assert!(
            Environment::OfficeTimeout
                .status_line()
                .contains("rouvrez le volet")
        );
    }
}

/// French explanation of an `Office.auth.getAccessToken` error code (Microsoft, "Troubleshoot
/// error messages for single sign-on (SSO)"). 0 stands for "the API is missing".
pub fn office_auth_message(code: i32) -> &'static str {
    match code {
        13001 => {
            "Vous n'êtes pas connecté à Office : connectez-vous avec votre compte \
                  Microsoft 365 professionnel, puis réessayez."
        }
        13002 => {
            "La connexion ou l'autorisation a été annulée. Réessayez et acceptez la \
                  demande d'autorisation de Medimail."
        }
        13003 => {
            "Ce type de compte n'est pas pris en charge : utilisez votre compte \
                  Microsoft 365 professionnel."
        }
        13004 | 13005 => {
            "Medimail n'est pas correctement autorisé pour votre organisation. \
                          Contactez votre service informatique."
        }
        13006 => {
            "Outlook a rencontré une erreur. Fermez et rouvrez le volet Medimail, puis \
                  réessayez."
        }
        13007 => {
            "Outlook n'a pas pu obtenir votre identité auprès de Microsoft. Réessayez \
                  dans quelques instants."
        }
        13008 => "Une connexion est déjà en cours : patientez quelques secondes.",
        13013 => {
            "Trop de tentatives de connexion en peu de temps : patientez quelques \
                  secondes, puis réessayez."
        }
        13000 | 13010 | 13012 | 0 => {
            "La connexion automatique n'est pas disponible dans \
                  cette version d'Outlook."
        }
        _ => {
            "Votre identité Office n'a pas pu être obtenue. Fermez et rouvrez le volet \
              Medimail ; si le problème persiste, contactez votre service informatique."
        }
    }
}

#[cfg(test)]
mod auth_message_tests {
    use super::office_auth_message;

    #[test]
    fn explains_the_common_sso_errors_in_french() {
        assert!(office_auth_message(13001).contains("pas connecté à Office"));
        assert!(office_auth_message(13002).contains("annulée"));
        assert!(office_auth_message(13012).contains("n'est pas disponible"));
        assert!(office_auth_message(13006).contains("rouvrez le volet"));
        assert_ne!(office_auth_message(13001), office_auth_message(13002));
        assert!(office_auth_message(99999).contains("service informatique"));
    }
}
