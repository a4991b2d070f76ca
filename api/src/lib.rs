//! The HTTP contract between the Medimail task pane and its server.
//!
//! Everything both sides must agree on lives here: the JSON wire types, the error body,
//! the stable error codes and the product limits. The crate has no server or browser
//! dependency so that it compiles both to `wasm32-unknown-unknown` (task pane) and to
//! the native target (server, tests).

use serde::{Deserialize, Serialize};

/// Paths of the HTTP API, shared so that neither side hard-codes them twice.
pub mod paths {
    /// Liveness and database ping.
    pub const HEALTH: &str = "/api/health";
    /// The OpenAPI 3.1 description of this API (public: it describes, it serves no data).
    pub const OPENAPI: &str = "/api/openapi.json";
    /// The Outlook add-in manifest, at the address the user manual gives to sideload.
    pub const MANIFEST: &str = "/Add-in/Manifestes/Medimail.xml";
    /// The task pane page named in the manifest's source locations.
    pub const TASKPANE: &str = "/taskpane.html";
    /// The caller's identity and account state.
    pub const ME: &str = "/api/me";
    /// First use: choose the passphrase.
    pub const AUTH_PASSPHRASE: &str = "/api/auth/passphrase";
    /// "Demander un code".
    pub const AUTH_CODE: &str = "/api/auth/code";
    /// POST: "Authentification" (code + passphrase) opens a session; GET: its state;
    /// DELETE: "Déconnexion".
    pub const AUTH_SESSION: &str = "/api/auth/session";
    /// Development identity provider (only with `MEDIMAIL_DEV_IDENTITY`): GET tells
    /// whether it is on, POST `/token` mints an Office-like token.
    pub const DEV_IDENTITY: &str = "/api/dev/identity";
    pub const DEV_IDENTITY_TOKEN: &str = "/api/dev/identity/token";
    /// POST: seal and send (multipart: part `envelope` JSON, then parts `attachment`).
    pub const ENVELOPES: &str = "/api/envelopes";
    /// GET: search a directory (`annuaire=medimail|mssante`, `nom`, `prenom`,
    /// `raison_sociale`, `rpps`, `code_postal`, `ville`, `profession`, `specialite`,
    /// `departement`); with every field empty, the caller's favorites.
    pub const DIRECTORY_SEARCH: &str = "/api/directory/search";
    /// GET: the caller's favorites; POST [`crate::FavoriteRequest`]: star a contact;
    /// DELETE `…/{annuaire}/{address}`: unstar it.
    pub const DIRECTORY_FAVORITES: &str = "/api/directory/favorites";
    /// PUT [`crate::DirectoryVisibility`]: the caller's visibility in the directories
    /// ("Visibilité dans l'annuaire", manual part 2 §2.2).
    pub const ACCOUNT_VISIBILITY: &str = "/api/account/visibility";
    /// GET [`crate::MssanteStatus`]: « Paramètres du compte » › « MSSanté », the three
    /// conditions of the activation and their state (manual part 2 §2).
    pub const ACCOUNT_MSSANTE: &str = "/api/account/mssante";
    /// POST: « Activer » — the MSSanté address `prenom.nom@<MEDIMAIL_MSSANTE_DOMAIN>`
    /// ([`crate::MssanteActivation`]) when the three conditions are met.
    pub const ACCOUNT_MSSANTE_ACTIVATION: &str = "/api/account/mssante/activation";
    /// GET [`crate::AccountActivity`]: « Activité », the account's stamps (manual part 1
    /// §6.4).
    pub const ACCOUNT_ACTIVITY: &str = "/api/account/activity";
    /// GET / PUT [`crate::AccountIdentity`]: « Paramètres du compte » › « Identité »
    /// (manual part 1 §6.1). A PUT is checked field by field: any field refused, nothing
    /// is saved, and the answer lists every refused field.
    pub const ACCOUNT_IDENTITY: &str = "/api/account/identity";
    /// GET [`crate::Nomenclatures`]: the lists « Identité » chooses from (professions,
    /// spécialités, civilités, régions, départements), with their sources.
    pub const ACCOUNT_NOMENCLATURES: &str = "/api/account/nomenclatures";
    /// GET: « Signature de mail », the caller's signatures ([`crate::Signature`]); POST
    /// [`crate::SignatureRequest`]: create one. `…/{id}`: PUT modify, DELETE delete.
    pub const ACCOUNT_SIGNATURES: &str = "/api/account/signatures";
    /// GET / PUT [`crate::NotificationSettings`]: « Notifications » (manual part 1
    /// §6.3), the notification mails the caller wants.
    pub const ACCOUNT_NOTIFICATIONS: &str = "/api/account/notifications";
    /// GET [`crate::Delegation`] / PUT [`crate::DelegationRequest`]: « Délégation
    /// automatique », the secondary addresses that get a copy of each notification once
    /// confirmed.
    pub const ACCOUNT_DELEGATION: &str = "/api/account/delegation";
    /// GET: the confirmation page of a delegated address (`?token=…`, the mailed link);
    /// POST (form `token`): confirm it.
    pub const DELEGATION_CONFIRM: &str = "/delegation/confirm";
    /// GET [`crate::Administration`] (`?q=…&page=…`): « Administration », the accounts
    /// of the organisation the caller manages (a manager only). `…/{id}`: PUT
    /// [`crate::AdministrationChange`] (eligible, stamps, unlock) on one account of the
    /// organisation; `…/{id}/mssante`: POST, « Activer » MSSanté for it.
    pub const ACCOUNT_ADMINISTRATION: &str = "/api/account/administration";
    /// Webmail (a browser outside Outlook), POST [`crate::WebmailCodeRequest`]:
    /// "Demander un code" for a mailbox. Always the same answer, whatever the mailbox.
    pub const WEBMAIL_CODE: &str = "/api/webmail/code";
    /// Webmail, POST [`crate::WebmailSignIn`]: "Connexion" (address, code, and the
    /// passphrase unless it is to be chosen) sets the session cookie; GET: the session;
    /// DELETE: "Déconnexion".
    pub const WEBMAIL_SESSION: &str = "/api/webmail/session";
    /// Webmail, GET: the conditions of use in force; POST
    /// [`crate::WebmailAcceptConditions`]: accept them.
    pub const WEBMAIL_CONDITIONS: &str = "/api/webmail/conditions";
    /// Webmail, POST [`crate::WebmailPassphrase`]: choose the passphrase (first visit,
    /// forgotten or reset passphrase) in a session opened by a code alone.
    pub const WEBMAIL_PASSPHRASE: &str = "/api/webmail/passphrase";
    /// POST [`crate::WrongRecipientReport`]: "Si vous n'êtes pas le bon destinataire de ce
    /// Medimail, merci de le signaler" (the notification's link; no sign-in: the token
    /// proves the mail).
    pub const WRONG_RECIPIENT: &str = "/api/reports/wrong-recipient";
    /// Webmail, POST [`crate::WebmailChangePassphrase`]: "Changer mon mot de passe".
    pub const WEBMAIL_PASSPHRASE_CHANGE: &str = "/api/webmail/passphrase/change";
    /// « Authentification forte à l'aide de votre carte de la famille CPx » (Pro Santé
    /// Connect). GET: [`crate::PscStatus`], whether it is offered; POST
    /// [`crate::PscSignIn`] (in Outlook, with the Office token): the card's grant opens a
    /// session.
    pub const AUTH_PSC: &str = "/api/auth/psc";
    /// The card sign-in's pages: `start` (303 to Pro Santé Connect; `?pour=volet` in the
    /// pane's Office dialog) and `callback` (Pro Santé Connect's redirect).
    pub const PSC_START: &str = "/auth/psc/start";
    pub const PSC_CALLBACK: &str = "/auth/psc/callback";
    /// DELETE: « Dissocier ma carte » (the CPx card no longer signs in to this account).
    pub const ACCOUNT_PSC: &str = "/api/account/psc";
    /// GET: « Récupérer » the account's draft ([`crate::SavedDraft`]); PUT
    /// [`crate::EnvelopeDraft`]: « Sauvegarder » (replaces it: one at a time, no files);
    /// DELETE: « Supprimer ».
    pub const DRAFT: &str = "/api/draft";
    /// « Dossiers » (sous-dossiers, manual part 1 §6.2). GET: the caller's sub-folders
    /// ([`crate::FolderTree`]); POST [`crate::NewFolder`]: « Créer »; PATCH
    /// `…/{id}` [`crate::RenameFolder`]: rename; DELETE `…/{id}`: delete (its envelopes go
    /// back to the parent folder).
    pub const FOLDERS: &str = "/api/folders";
    /// POST [`crate::MoveEnvelopes`]: file the caller's envelopes in a folder (only the
    /// caller's view changes).
    pub const ENVELOPES_MOVE: &str = "/api/envelopes/move";
}

/// The webmail's session cookie (`__Host-`: Secure, Path=/, no Domain; HttpOnly,
/// SameSite=Strict).
pub const SESSION_COOKIE: &str = "__Host-medimail-session";
/// The pane's session cookie, so that reopening the pane (Outlook reopens it for every
/// message) finds the session again: `__Host-`, HttpOnly, `SameSite=None; Partitioned`
/// (Outlook on the web shows the pane in a third-party frame, where only a partitioned
/// cookie is kept). It never stands alone: the Office token of the identity that opened
/// the session must come with it.
pub const PANE_SESSION_COOKIE: &str = "__Host-medimail-pane";
/// The header every state-changing webmail request carries: the session's CSRF token
/// ([`WebmailSession::csrf`]).
pub const CSRF_HEADER: &str = "X-Medimail-Csrf";

/// The header that carries the Medimail session token on every signed-in call.
pub const SESSION_HEADER: &str = "X-Medimail-Session";

/// Product limits (user manual, part 3 §4: "5 pièces jointes", "25 Mo"), the same on
/// both sides: the server refuses past them, the pane says so before sending.
pub mod limits {
    /// Minutes a one-time code is valid (and its mail worth delivering).
    pub const CODE_VALIDITY_MINUTES: i64 = 10;
    /// At most this many events of an envelope in one answer (the count says the rest).
    pub const EVENTS_SHOWN: u64 = 200;
    /// At most this many attachments in one envelope.
    pub const MAX_ATTACHMENTS: usize = 5;
    /// The total size of an envelope's attachments: 25 Mo = 25 × 1024 × 1024 bytes.
    pub const MAX_ATTACHMENTS_TOTAL_BYTES: u64 = 25 * 1024 * 1024;
    /// Recipients ("À" and "CC" together) of one envelope.
    pub const MAX_RECIPIENTS: usize = 100;
    /// Characters of a title ("Objet").
    pub const MAX_SUBJECT_CHARS: usize = 255;
    /// Bytes of a message body (HTML): 1 Mo.
    pub const MAX_BODY_BYTES: usize = 1024 * 1024;
    /// Characters of an attachment's name.
    pub const MAX_FILE_NAME_CHARS: usize = 255;
    /// Bytes of one "Envoyer" request: 25 Mo of files plus the draft (the body is at most
    /// 1 Mo) and the multipart framing.
    pub const MAX_SEND_REQUEST_BYTES: usize =
        MAX_ATTACHMENTS_TOTAL_BYTES as usize + 4 * 1024 * 1024;
    /// Sub-folders of one account (« Dossiers »).
    pub const MAX_FOLDERS: usize = 100;
    /// How deep a sub-folder may be (1: directly under « Messages reçus »…).
    pub const MAX_FOLDER_DEPTH: u8 = 3;
    /// Characters of a sub-folder's name.
    pub const MAX_FOLDER_NAME_CHARS: usize = 60;
    /// Envelopes moved by one request.
    pub const ENVELOPES_MOVED: usize = 100;
    /// Envelopes on one page of a folder.
    pub const ENVELOPES_PER_PAGE: u64 = 50;
}

/// How long the service keeps an envelope (manual, "Conservation des messages"): its
/// content is purged this many calendar months after sealing, and the opening window
/// ("Conditions d'ouverture") cannot end later.
pub mod retention {
    /// Calendar months an envelope's content is kept after sealing.
    pub const KEPT_MONTHS: u32 = 3;
}

/// Addresses as the user types them in "À" and "CC".
pub mod addresses {
    /// Splits what the user typed: addresses separated by `;`, `,` or line breaks,
    /// trimmed, empty pieces dropped (the server then checks each one).
    pub fn split(typed: &str) -> impl Iterator<Item = &str> {
        typed
            .split([';', ',', '\n', '\r'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
    }
}

/// The directory search's rules, the same on both sides (manual part 1 §5): the pane
/// checks them as the user types, the server refuses what breaks them.
pub mod directory {
    /// One text field (Nom, Prénom, raison sociale, RPPS/ADELI, code postal, ville) needs
    /// at least this many characters.
    pub const MIN_CHARS: usize = 3;
    /// Characters of one criterion at most.
    pub const MAX_FIELD_CHARS: usize = 100;
    /// Contacts returned by one search.
    pub const LIMIT: usize = 50;
    /// Favorites an account may keep.
    pub const MAX_FAVORITES: u64 = 200;
    /// The manual's message when no field has 3 characters.
    pub const TOO_SHORT: &str =
        "Veuillez indiquer vos critères de recherche (3 caractères minimum dans un champ).";
    /// The hint when more than [`LIMIT`] contacts match.
    pub const REFINE: &str =
        "Plus de 50 contacts correspondent : précisez votre recherche (prénom, code postal…).";

    /// Searches one session may run per minute.
    pub const SEARCHES_PER_MINUTE: u32 = 30;

    /// The manual's rule: one of the text fields has a word of [`MIN_CHARS`] characters
    /// or more (spaces do not count: "m m m" is three words of one).
    pub fn long_enough<'a>(text_fields: impl IntoIterator<Item = &'a str>) -> bool {
        text_fields.into_iter().any(|f| {
            f.split(|c: char| c.is_whitespace() || c == '-' || c == '\'')
                .any(|w| w.chars().count() >= MIN_CHARS)
        })
    }
}

/// The folders of a mailbox (manual part 1 §4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Folder {
    /// "Messages reçus".
    #[default]
    Inbox,
    /// "Messages envoyés".
    Sent,
    /// "Messages supprimés".
    Deleted,
}

impl Folder {
    pub const ALL: [Folder; 3] = [Folder::Inbox, Folder::Sent, Folder::Deleted];

    /// The name on the wire (`folder=` of the list query).
    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox",
            Folder::Sent => "sent",
            Folder::Deleted => "deleted",
        }
    }

    /// From its wire name.
    pub fn parse(name: &str) -> Option<Folder> {
        Folder::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Its name in the pane, with the manual's words.
    pub fn label(self) -> &'static str {
        match self {
            Folder::Inbox => "Messages reçus",
            Folder::Sent => "Messages envoyés",
            Folder::Deleted => "Messages supprimés",
        }
    }
}

/// What happened to an envelope ("Scellement", "Ouverture", "Téléchargement", "Remis à
/// l'opérateur", "Échec de remise").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Sealed,
    Opened,
    Downloaded,
    /// A recipient said, from the notification's link, that it was not for them.
    Reported,
    /// Handed to the MSSanté operator serving a recipient (its SMTP server said 250).
    Delivered,
    /// The recipient's MSSanté operator refused it, or could not be reached in time.
    DeliveryFailed,
}

impl EventKind {
    /// The name stored and sent (`kind` of [`EnvelopeEventInfo`]).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Sealed => "sealed",
            EventKind::Opened => "opened",
            EventKind::Downloaded => "downloaded",
            EventKind::Reported => "reported",
            EventKind::Delivered => "delivered",
            EventKind::DeliveryFailed => "delivery_failed",
        }
    }

    pub fn parse(name: &str) -> Option<EventKind> {
        [
            EventKind::Sealed,
            EventKind::Opened,
            EventKind::Downloaded,
            EventKind::Reported,
            EventKind::Delivered,
            EventKind::DeliveryFailed,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }

    /// The manual's word for it.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Sealed => "Scellement",
            EventKind::Opened => "Ouverture",
            EventKind::Downloaded => "Téléchargement",
            EventKind::Reported => "Signalement : mauvais destinataire",
            EventKind::Delivered => "Remis à l'opérateur",
            EventKind::DeliveryFailed => "Échec de remise",
        }
    }
}

/// Extracts an envelope reference from a notification's text: the part after
/// `#/inbox/open/` made of base64url characters (at least 16).
pub fn reference_in(text: &str) -> Option<String> {
    const MARK: &str = "#/inbox/open/";
    let start = text.find(MARK)? + MARK.len();
    let reference: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    (reference.len() >= 16).then_some(reference)
}

/// Query of `GET /api/envelopes`: `folder` (a [`Folder`] name, default `inbox`; an
/// unknown name is refused with `folder_unknown`), `page` (1-based), `q` (title or
/// correspondent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EnvelopeListQuery {
    /// The folder (default `inbox`): `inbox`, `sent`, `deleted` or a sub-folder's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(inline, value_type = Option<Folder>))]
    pub folder: Option<String>,
    /// 1-based (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub page: Option<u64>,
    /// Searched in the title and the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The page after this position ([`EnvelopeList::next`]): read from an index, never
    /// skipped over, and stable while envelopes arrive. `page` then only numbers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The page before this position ([`EnvelopeList::previous`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

/// Query of `GET /api/directory/search`: which directory and the webmail's criteria
/// (manual part 1 §5); every field empty lists the caller's favorites.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct DirectorySearchQuery {
    /// [`annuaire::MEDIMAIL`] (default) or [`annuaire::MSSANTE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annuaire: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prenom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raison_sociale: Option<String>,
    /// RPPS or ADELI (prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpps: Option<String>,
    /// Prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_postal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ville: Option<String>,
    /// Refinements (never enough alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profession: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departement: Option<String>,
}

/// Query of `POST /api/auth/code`: `mailbox=token` mails the code to the mailbox the
/// Office token names now instead of the account's (the address changed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CodeQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
}

/// Query of `GET /api/account/administration`: the accounts whose name or mailbox
/// contains `q`, page `page` (from 1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AdministrationQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
}

/// Query of `GET /api/directory/favorites`: one directory's favorites, or all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct FavoritesQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annuaire: Option<String>,
}

/// What a message body may hold, the same on both sides: the server sanitises with it
/// when storing and serving, the pane rebuilds the body with it before showing it.
pub mod html {
    /// Elements kept (the formatting the compose toolbar produces, and quoting).
    pub const ALLOWED_TAGS: [&str; 15] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "strike",
        "span",
        "p",
        "br",
        "div",
        "blockquote",
        "ul",
        "ol",
        "li",
    ];

    /// A CSS value made only of harmless characters (colour names, `#hex`, `rgb(…)`).
    fn plain_css_value(value: &str) -> bool {
        !value.is_empty()
            && value.len() <= 40
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " #(),.%".contains(c))
            && !value.to_ascii_lowercase().contains("url")
            && !value.to_ascii_lowercase().contains("expression")
    }

    /// Keeps only `color` and `background-color` declarations with plain values
    /// (`#c00000`, `yellow`, `rgb(255, 255, 0)`), or nothing.
    pub fn clean_style(style: &str) -> Option<String> {
        let kept: Vec<String> = style
            .split(';')
            .filter_map(|declaration| {
                let (name, value) = declaration.split_once(':')?;
                let name = name.trim().to_ascii_lowercase();
                let value = value.trim();
                (matches!(name.as_str(), "color" | "background-color") && plain_css_value(value))
                    .then(|| format!("{name}: {value}"))
            })
            .collect();
        (!kept.is_empty()).then(|| kept.join("; "))
    }
}

/// The body of every error answer: `{"code": "...", "message": "..."}`.
///
/// `code` is stable and meant for programs (`not_found`, `database_unavailable`, …);
/// `message` is French and meant for the person in front of the task pane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// The form field the error concerns (`code`, `passphrase`, `confirmation`…), so
    /// that the pane can show the message next to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For rate limits and lockouts: seconds before trying again is useful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// A form refused field by field (« Identité »…): every field refused, each with its
    /// code and message; `code`, `message` and `field` above are the first of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldRefusal>,
}

/// One refused field of a form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldRefusal {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            field: None,
            retry_after_seconds: None,
            errors: Vec::new(),
        }
    }

    /// A form refused field by field: the first refusal as the body's own, all of them
    /// in `errors`.
    pub fn fields(code: impl Into<String>, refused: Vec<FieldRefusal>) -> Self {
        let first = refused.first().cloned();
        let mut body = Self::new(
            code,
            first
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default(),
        );
        if let Some(first) = first {
            body.code = first.code;
            body.field = Some(first.field);
        }
        body.errors = refused;
        body
    }

    /// The same error, attached to a form field.
    pub fn on_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The same error, with a delay before retrying.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }
}

/// Body of `POST /api/auth/passphrase` (first use).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChoosePassphrase {
    pub passphrase: String,
    /// The passphrase typed a second time.
    pub confirmation: String,
}

/// Answer of `POST /api/auth/code`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeRequested {
    /// The Office 365 mailbox the code is mailed to.
    pub mailbox: String,
    /// RFC 3339 time after which the code no longer works (10 minutes).
    pub expires_at: String,
    /// Seconds before another code may be requested.
    pub next_request_in_seconds: u64,
}

/// Body of `POST /api/auth/session` ("Authentification").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenSession {
    pub code: String,
    pub passphrase: String,
    /// A verified CPx card not linked yet (`psc_not_linked`): proving the code links it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psc_grant: Option<String>,
}

/// Answer of `GET`/`PUT /api/draft`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedDraft {
    /// Recipients, subject, message and opening conditions (never files).
    pub draft: EnvelopeDraft,
    /// RFC 3339, and in French words ("lundi 25 janvier 2016 à 17:15").
    pub saved_at: String,
    pub saved_on: String,
    /// `PUT`: a previous draft was replaced.
    #[serde(default)]
    pub replaced: bool,
}

/// A sub-folder of the caller's (« Dossiers », manual part 1 §6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FolderInfo {
    /// Its key: `folder=` of the list, `target` of a move.
    pub id: String,
    /// The folder it is under at the top: « Messages reçus », « … envoyés », « … supprimés ».
    pub root: Folder,
    /// The sub-folder it is in (none: directly under `root`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    pub name: String,
    /// 1 directly under `root`, at most 3.
    pub depth: u8,
    /// Envelopes in it not opened yet (under « Messages reçus »).
    #[serde(default)]
    pub unread: u64,
}

/// Answer of `GET /api/folders`: every sub-folder, each after its parent, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FolderTree {
    pub folders: Vec<FolderInfo>,
}

/// Body of `POST /api/folders` (« Choisissez le dossier… », name, « Créer »).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewFolder {
    /// Where: `inbox`, `sent`, `deleted`, or a sub-folder's id.
    pub parent: String,
    pub name: String,
}

/// Body of `PATCH /api/folders/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameFolder {
    pub name: String,
}

/// Answer of `DELETE /api/folders/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FolderDeleted {
    /// Envelopes moved back to the parent folder.
    pub moved: u64,
}

/// Body of `POST /api/envelopes/move`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoveEnvelopes {
    /// The envelopes' references (at most [`limits::ENVELOPES_MOVED`]).
    pub references: Vec<String>,
    /// `inbox`, `sent`, `deleted`, or a sub-folder's id. A received envelope goes under
    /// « Messages reçus », a sent one under « Messages envoyés », any under « Messages
    /// supprimés ».
    pub target: String,
}

/// Answer of `POST /api/envelopes/move`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopesMoved {
    pub moved: u64,
}

/// Answer of `GET /api/auth/psc`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PscStatus {
    /// The « carte CPx » sign-in is offered (`MEDIMAIL_PSC_CLIENT_ID`).
    pub available: bool,
}

/// Body of `POST /api/auth/psc`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PscSignIn {
    /// What the card sign-in's dialog handed over (sealed, 15 minutes, single use).
    pub grant: String,
}

/// Answer of `POST /api/auth/session` and `GET /api/auth/session`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// The session token to send as `X-Medimail-Session` (only in the answer that
    /// opens the session; `GET` leaves it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// RFC 3339: the session ends at this time whatever happens (12 hours).
    pub expires_at: String,
    /// RFC 3339: the session ends at this time unless used before (30 minutes idle).
    pub idle_expires_at: String,
}

/// Body of `POST /api/reports/wrong-recipient`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WrongRecipientReport {
    /// The token of the notification's link (`#/signaler/<token>`).
    pub token: String,
}

/// Answer of `POST /api/reports/wrong-recipient`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WrongRecipientReported {
    /// The title of the envelope reported.
    pub subject: String,
    /// False when this recipient had already reported it.
    pub first: bool,
}

/// Body of `POST /api/webmail/code`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebmailCodeRequest {
    pub mailbox: String,
}

/// Answer of `POST /api/webmail/code`: the same for every address (a code is mailed
/// only if the address may use the webmail).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebmailCodeSent {
    /// Seconds before another code may be asked for.
    pub next_request_in_seconds: u64,
    /// Minutes the code is valid.
    pub validity_minutes: u32,
}

/// Body of `POST /api/webmail/session` ("Connexion").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebmailSignIn {
    pub mailbox: String,
    pub code: String,
    /// Left out (or empty) to choose a passphrase: first visit, or forgotten.
    #[serde(default)]
    pub passphrase: Option<String>,
}

/// Where a webmail session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebmailStage {
    /// Signed in: the mailbox is open.
    SignedIn,
    /// Opened by a code alone: choose the passphrase (and accept the conditions of use
    /// if they are not accepted yet).
    Passphrase,
    /// The conditions of use changed (or were never accepted): accept them.
    Conditions,
}

/// Answer of `POST`/`GET /api/webmail/session`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebmailSession {
    pub mailbox: String,
    pub name: Option<String>,
    pub stage: WebmailStage,
    /// To send as `X-Medimail-Csrf` on every state-changing request.
    pub csrf: String,
    /// RFC 3339: absolute end (12 hours) and idle end (30 minutes).
    pub expires_at: String,
    pub idle_expires_at: String,
    /// RFC 3339: the previous sign-in to this account ("Dernière connexion").
    pub last_sign_in: Option<String>,
    /// The version of the conditions of use in force, and the one this account accepted.
    pub conditions_version: String,
    pub conditions_accepted: Option<String>,
    /// Stage `passphrase` because the account already had one (forgotten or reset).
    pub resetting: bool,
    /// Whether this session may write new messages (`MEDIMAIL_WEBMAIL=all`); otherwise
    /// it replies and forwards within the envelopes it received.
    pub may_compose: bool,
    /// A CPx card is linked to the account (« Un certificat est associé à votre compte »).
    #[serde(default)]
    pub psc_linked: bool,
    /// This session was opened by the CPx card (`psc`) or by a code (`otp`).
    #[serde(default)]
    pub method: String,
    /// The organisation this account manages (« Administration »), if it is a manager.
    #[serde(default)]
    pub manages: Option<String>,
}

/// Answer of `GET /api/webmail/conditions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebmailConditions {
    pub version: String,
    pub title: String,
    /// Plain text, paragraphs separated by blank lines.
    pub text: String,
}

/// Body of `POST /api/webmail/conditions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebmailAcceptConditions {
    pub version: String,
}

/// Body of `POST /api/webmail/passphrase`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebmailPassphrase {
    pub passphrase: String,
    pub confirmation: String,
    /// The version of the conditions of use accepted with it, when they are asked.
    #[serde(default)]
    pub conditions_version: Option<String>,
}

/// Body of `POST /api/webmail/passphrase/change` ("Changer mon mot de passe").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebmailChangePassphrase {
    pub current: String,
    pub passphrase: String,
    pub confirmation: String,
}

/// The `envelope` part of `POST /api/envelopes`: what the user composed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopeDraft {
    /// "À": addresses (each entry may hold several, separated by `;`, `,` or a line break).
    pub to: Vec<String>,
    /// "CC".
    #[serde(default)]
    pub cc: Vec<String>,
    /// "Objet".
    pub subject: String,
    /// "Message": HTML (bold, italic, underline, strike, colour, highlight).
    #[serde(default)]
    pub body_html: String,
    /// "Conditions d'ouverture": RFC 3339 start (default: the sealing time).
    #[serde(default)]
    pub opens_from: Option<String>,
    /// RFC 3339 end (default and maximum: 3 months after sealing).
    #[serde(default)]
    pub opens_until: Option<String>,
    /// "Transférer": attachments of an envelope the sender can read, carried over on the
    /// server (no re-upload); they count towards the 5 files and 25 Mo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<ForwardedFiles>,
    /// "Répondre", "Répondre à tous": the reference of the envelope answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
}

/// Attachments of another envelope to carry into a new one ("Transférer").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForwardedFiles {
    /// The original envelope's reference.
    pub reference: String,
    /// Ids of its attachments to carry over, in order.
    pub attachments: Vec<String>,
}

/// Answer of `POST /api/envelopes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopeSealed {
    /// The envelope's unguessable reference (used in links).
    pub reference: String,
    /// RFC 3339 sealing time.
    pub sealed_at: String,
    pub recipients: usize,
    pub attachments: usize,
}

/// One line of a folder ("Messages reçus", "Messages envoyés").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopeSummary {
    pub reference: String,
    /// "Titre".
    pub subject: String,
    /// "Expéditeur": mailbox, and name when known.
    pub sender: String,
    pub sender_name: Option<String>,
    /// RFC 3339 sealing time ("Date").
    pub sealed_at: String,
    /// The same in French, Paris time: "27/11/2026 à 16:42".
    #[serde(default)]
    pub date: String,
    pub attachments: u32,
    /// Not opened yet by the caller (always false in "Messages envoyés").
    pub unread: bool,
    /// In "Messages envoyés": who it went to ("NOM Prénom", else the address), the
    /// first three, then `+N` for the others. Empty in the other folders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
}

/// Answer of `GET /api/envelopes?folder=…&page=…&q=…`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopeList {
    #[cfg_attr(feature = "openapi", schema(value_type = Folder))]
    pub folder: String,
    /// 1-based.
    pub page: u64,
    pub per_page: u64,
    /// How many envelopes the folder holds, counted up to 1,000 past this page (a
    /// mailbox of 100,000 is not counted on every page turn): with `total_capped`, there
    /// are more than `total`.
    pub total: u64,
    #[serde(default)]
    pub total_capped: bool,
    pub items: Vec<EnvelopeSummary>,
    /// Envelopes directly in "Messages reçus" (not in a sub-folder) not opened yet (the
    /// manual's "Messages reçus (1)"): exact, maintained at each change.
    #[serde(default)]
    pub unread: u64,
    /// Always false since the counts are maintained (kept for the contract).
    #[serde(default)]
    pub unread_capped: bool,
    /// The top folder `folder` is (or is under).
    #[serde(default)]
    pub root: Folder,
    /// The caller's sub-folders, with their unread envelopes, for the menu.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<FolderInfo>,
    /// « Suivant »: `after=` of the next page, when there is one (none in a search, whose
    /// pages are numbered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// « Précédent »: `before=` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// An attachment as the reader sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentInfo {
    pub id: String,
    /// The name as the sender chose it.
    pub name: String,
    pub size: u64,
    pub content_type: String,
}

/// One event of an envelope ("Scellement", "Ouverture", "Téléchargement", "Remis à
/// l'opérateur", "Échec de remise").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopeEventInfo {
    /// `sealed`, `opened`, `downloaded`, `reported`, `delivered` or `delivery_failed`.
    #[cfg_attr(feature = "openapi", schema(value_type = EventKind))]
    pub kind: String,
    /// Who (mailbox).
    pub actor: String,
    /// RFC 3339.
    pub at: String,
    /// The same in French, Paris time: "27/11/2026 à 16:42".
    #[serde(default)]
    pub when: String,
    /// For downloads: the attachment's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<String>,
}

/// Answer of `GET /api/envelopes/{reference}`: the envelope, for its sender or one of
/// its recipients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopeView {
    pub reference: String,
    pub subject: String,
    pub sender: String,
    pub sender_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// "Propriétés", "Destinataires": `to` then `cc` as the manual shows them, "NOM Prénom
    /// (adresse)" where the recipient's account has a name, else the address.
    #[serde(default)]
    pub recipients_named: Vec<String>,
    pub sealed_at: String,
    /// "lundi 25 janvier 2016 à 17:15" (Paris time), for "Envoyé le …".
    #[serde(default)]
    pub sent_on: String,
    pub opens_from: String,
    pub opens_until: String,
    /// "Moteur de cryptage".
    pub engine: String,
    /// The sanitised HTML body.
    pub body_html: String,
    pub attachments: Vec<AttachmentInfo>,
    /// The first [`limits::EVENTS_SHOWN`] events, in order.
    pub events: Vec<EnvelopeEventInfo>,
    /// How many events the envelope has in all (more than `events` past the limit).
    #[serde(default)]
    pub events_total: u64,
    /// RFC 3339: kept on the server until then (3 months after sealing).
    pub kept_until: String,
    /// In the caller's "Messages supprimés".
    #[serde(default)]
    pub deleted: bool,
    /// The caller sent it.
    #[serde(default)]
    pub sent_by_me: bool,
    /// The reference of the envelope it answers (« Répondre », or a reply from a mail
    /// client), when the caller may see that one too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
}

/// Body of `POST /api/dev/identity/token`: who to be in development.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevIdentityRequest {
    pub mailbox: String,
    pub name: String,
}

/// Answer of `POST /api/dev/identity/token`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevIdentityToken {
    pub access_token: String,
    /// Seconds the token stays valid.
    pub expires_in: u64,
}

/// Which database engine the server runs on, as reported by the health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// Answer of `GET /api/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `"ok"` when the database answered the ping.
    pub status: String,
    /// The server's version (its Cargo package version).
    pub version: String,
    pub database: DatabaseKind,
}

/// Answer of `GET /api/me`: the caller's verified Office identity and account state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// Entra tenant id (`tid`).
    pub tenant_id: String,
    /// Entra object id of the user (`oid`).
    pub object_id: String,
    /// Display name, for the greeting ("Bonjour Prénom NOM,").
    pub name: Option<String>,
    /// The mailbox that receives one-time codes: the account's mailbox once the
    /// identity is linked to it, else the one its token names (to be proven).
    pub mailbox: Option<String>,
    /// The mailbox the Office token names now. When it differs from `mailbox`, the
    /// user's address changed: codes still go to `mailbox` until a code mailed to the
    /// new one is proven (`POST /api/auth/code?mailbox=token`), which moves the account.
    #[serde(default)]
    pub token_mailbox: Option<String>,
    /// True once this identity has proven a code at `mailbox` (its account is known).
    #[serde(default)]
    pub linked: bool,
    /// The Medimail account this identity is linked to; `None` before the first proof.
    #[serde(default)]
    pub account_id: Option<String>,
    /// True until the user has chosen a passphrase (first use).
    pub needs_passphrase: bool,
    /// RFC 3339 time until which the account is locked after repeated failures.
    pub locked_until: Option<String>,
    /// MSSanté activated: the national directory ("Annuaire National MSSanté") is offered.
    #[serde(default)]
    pub mssante_enabled: bool,
    /// On the "liste rouge": absent from directory searches.
    #[serde(default)]
    pub liste_rouge: bool,
    /// The « carte CPx » sign-in is offered on this server.
    #[serde(default)]
    pub psc_available: bool,
    /// A CPx card is linked to the account (« Un certificat est associé à votre compte »).
    #[serde(default)]
    pub psc_linked: bool,
}

/// The two directories (manual part 1 §5, part 2 §4).
pub mod annuaire {
    /// "Annuaire Medimail": the accounts of this service plus regional imports.
    pub const MEDIMAIL: &str = "medimail";
    /// "Annuaire National MSSanté".
    pub const MSSANTE: &str = "mssante";
}

/// One contact found in a directory (or starred).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryContact {
    /// [`annuaire::MEDIMAIL`] or [`annuaire::MSSANTE`].
    pub annuaire: String,
    /// The secure messaging address, what "À" / "CC" receive.
    pub address: String,
    /// `PER` (a person), `ORG` (an organisation's mailbox) or `COMPTE` (a Medimail account).
    pub kind: String,
    #[serde(default)]
    pub civility: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub profession: Option<String>,
    #[serde(default)]
    pub speciality: Option<String>,
    #[serde(default)]
    pub organisation: Option<String>,
    /// Street lines and town, as one line.
    #[serde(default)]
    pub address_lines: Option<String>,
    /// RPPS or ADELI.
    #[serde(default)]
    pub identifier: Option<String>,
    /// Starred by the caller.
    #[serde(default)]
    pub favorite: bool,
    /// Telephones, as one line (a Medimail account's « Identité »).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The contact wants every exchange dematerialised, no more paper (« Identité »).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dematerialised: bool,
}

/// Answer of `GET /api/directory/search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryResults {
    /// At most 50, exact matches first, then by name.
    pub results: Vec<DirectoryContact>,
    /// More than 50 matched: [`DirectoryResults::hint`] says to refine.
    pub more: bool,
    /// The search was empty: these are the caller's favorites.
    pub favorites_only: bool,
    /// A French hint to show above the results, if any.
    #[serde(default)]
    pub hint: Option<String>,
}

/// Body and answer of `PUT /api/account/visibility`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryVisibility {
    /// On the liste rouge: absent from every directory search.
    pub liste_rouge: bool,
}

/// Answer of `GET /api/account/mssante`: « Conditions nécessaires à l'activation de la
/// communication avec l'espace de confiance MSSanté » (manual part 2 §2), each with its
/// state for the caller's account and session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MssanteStatus {
    /// « Bénéficier d'un compte personnel Medimail éligible »: set by a manager or the
    /// operator (`medimail account set --eligible on`).
    pub eligible: bool,
    /// « Renseigner votre numéro RPPS ou ADELI »: the account has one (filled from the
    /// CPx card at its link, or in « Identité »).
    pub identifier: bool,
    /// « Authentification forte par carte CPS ou OTP »: this session was opened by the
    /// CPx card (Pro Santé Connect) or by a one-time code.
    pub strong: bool,
    /// How this session was opened: `psc` (the card) or `otp` (a one-time code).
    pub method: String,
    /// MSSanté is activated on the account (the national directory is offered).
    pub activated: bool,
    /// « Adresse de messagerie MSSanté », once « Activer » gave it.
    #[serde(default)]
    pub address: Option<String>,
    /// The account's organisation reserves the activation to its managers: « Activer »
    /// is theirs (« Administration »), and `managers` says whom to ask.
    #[serde(default)]
    pub reserved_to_managers: bool,
    /// The managers of the account's organisation (« Pour activer ou modifier votre
    /// adresse MSSanté, veuillez vous rapprocher du ou des managers de votre structure »).
    #[serde(default)]
    pub managers: Vec<OrganisationManager>,
}

/// A manager of an organisation, as the MSSanté tab lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganisationManager {
    pub name: Option<String>,
    pub mailbox: String,
}

/// Answer of `GET /api/account/administration`: the organisation the caller manages and
/// one page of its accounts (by mailbox).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Administration {
    /// The organisation's name (« CHU de Toulouse »).
    pub organisation: String,
    /// The mail domains whose accounts belong to it.
    pub domains: Vec<String>,
    /// The MSSanté activation is reserved to the managers.
    pub reserved_to_managers: bool,
    /// The accounts matching `q`, in all.
    pub total: u64,
    /// The page shown (from 1) and the accounts per page.
    pub page: u64,
    pub per_page: u64,
    pub accounts: Vec<AdministeredAccount>,
}

/// One account of the organisation, as « Administration » lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdministeredAccount {
    pub id: String,
    pub mailbox: String,
    pub name: Option<String>,
    /// A code has been proven at the mailbox (`false`: it only receives envelopes yet).
    pub signed_in: bool,
    /// « Compte personnel Medimail éligible » (MSSanté).
    pub eligible: bool,
    /// An RPPS or ADELI number is filled (the second MSSanté condition).
    pub identifier: bool,
    /// Its « Adresse de messagerie MSSanté », once activated.
    pub mssante_address: Option<String>,
    pub mssante_enabled: bool,
    /// « Timbres alloués » (`None`: illimité) and « Timbres utilisés ».
    pub stamps_allocated: Option<u64>,
    pub stamps_used: u64,
    /// RFC 3339: locked until then (ten failed sign-ins in a row).
    pub locked_until: Option<String>,
    /// A manager of the organisation.
    pub manager: bool,
}

/// Body of `PUT /api/account/administration/{id}`: what changes, every field optional.
/// A refused field refuses the whole change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdministrationChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible: Option<bool>,
    /// « Timbres alloués »: `{"allocated": null}` is illimité.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamps: Option<StampsAllocation>,
    /// Ends the account's lock now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlock: bool,
}

/// « Timbres alloués à votre compte »: a number of envelopes in all, or `None` (illimité).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StampsAllocation {
    pub allocated: Option<u64>,
}

/// Answer of `POST /api/account/mssante/activation` (« Activer »).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MssanteActivation {
    /// The MSSanté address given (`prenom.nom@domaine`, a number after the name when
    /// taken).
    pub address: String,
}

/// « Paramètres du compte » › « Identité » (manual part 1 §6.1): what `GET` answers and
/// what `PUT` stores whole. Text fields are trimmed; an empty one is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountIdentity {
    /// « Adresse mail » (read-only: ignored in a PUT).
    #[serde(default)]
    pub mailbox: Option<String>,
    /// « Je souhaite dématérialiser tous mes échanges et ne plus recevoir de papier. »
    #[serde(default)]
    pub dematerialised: bool,
    /// `M.`, `Mme`, `Dr` or `Pr`.
    #[serde(default)]
    pub civility: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    /// 11 digits, with its check digit (`rpps_invalid`).
    #[serde(default)]
    pub rpps: Option<String>,
    /// 9 characters, département then profession then order, with its key
    /// (`adeli_invalid`).
    #[serde(default)]
    pub adeli: Option<String>,
    /// A code of [`Nomenclatures::professions`].
    #[serde(default)]
    pub profession: Option<String>,
    /// A code of [`Nomenclatures::specialities`].
    #[serde(default)]
    pub speciality: Option<String>,
    /// « Activité libérale ».
    #[serde(default)]
    pub liberal: bool,
    #[serde(default)]
    pub raison_sociale: Option<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    /// 5 digits.
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// INSEE region code; derived from the département when empty.
    #[serde(default)]
    pub region: Option<String>,
    /// INSEE département code; derived from the postal code when empty.
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub phone1: Option<String>,
    #[serde(default)]
    pub phone2: Option<String>,
    /// « Liste rouge » (`true`) or « visible par l'ensemble des utilisateurs Medimail ».
    #[serde(default)]
    pub liste_rouge: bool,
    /// The RPPS / ADELI came from the CPx card: they cannot be changed here (read-only).
    #[serde(default)]
    pub identifier_from_card: bool,
}

/// « Notifications » (manual part 1 §6.3): the mails the account wants. « Événements de
/// votre part »: on envelopes you wrote, `sealed` (« Notification de scellement ») and
/// `opened_by_me_sent`; on envelopes you received, `received` (« Notification de
/// réception pour chaque message »), `opened_by_me_received`, `daily_digest`
/// (« Notification quotidienne des réceptions »). « Événements de la part d'un autre
/// utilisateur »: `opened_by_others_sent`, `opened_by_others_received`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationSettings {
    pub sealed: bool,
    pub opened_by_me_sent: bool,
    pub received: bool,
    pub opened_by_me_received: bool,
    pub daily_digest: bool,
    pub opened_by_others_sent: bool,
    pub opened_by_others_received: bool,
}

/// « Délégation automatique »: the caller's secondary addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delegation {
    pub addresses: Vec<DelegatedAddress>,
}

/// One secondary address, and whether it confirmed (only then does it get copies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegatedAddress {
    pub address: String,
    pub confirmed: bool,
}

/// Body of `PUT /api/account/delegation`: the addresses as typed, separated by `;` (5 at
/// most). Addresses no longer named are removed; new ones get a confirmation mail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegationRequest {
    pub addresses: String,
}

/// « Signature de mail »: the limits of an account's signatures.
pub mod signature {
    /// Signatures an account may keep.
    pub const MAX_SIGNATURES: u64 = 20;
    /// Characters of a signature's name.
    pub const MAX_NAME_CHARS: usize = 60;
    /// Bytes of a signature once sanitised.
    pub const MAX_BODY_BYTES: usize = 20_000;
}

/// One of the caller's signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    pub id: String,
    pub name: String,
    /// Sanitised like a message body.
    pub body_html: String,
    /// Inserted automatically in every new message.
    pub default: bool,
}

/// Body of `POST /api/account/signatures` and `PUT /api/account/signatures/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureRequest {
    pub name: String,
    pub body_html: String,
    #[serde(default)]
    pub default: bool,
}

/// A code and its label in a nomenclature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coded {
    pub code: String,
    pub label: String,
    /// For a département, its region's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// Answer of `GET /api/account/nomenclatures`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Nomenclatures {
    pub civilities: Vec<Coded>,
    /// TRE_G15 « Profession de santé » (the extraction's « Code Profession »).
    pub professions: Vec<Coded>,
    /// TRE_R38 « Spécialité ordinale » (the extraction's « Code savoir-faire »).
    pub specialities: Vec<Coded>,
    pub regions: Vec<Coded>,
    pub departments: Vec<Coded>,
}

/// Answer of `GET /api/account/activity` (« Activité », manual part 1 §6.4): one stamp
/// per envelope sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountActivity {
    /// « Timbres alloués à votre compte »: `None` is « illimité ».
    pub allocated: Option<u64>,
    /// « Timbres utilisés ».
    pub used: u64,
}

/// Body of `POST /api/directory/favorites`: star this contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FavoriteRequest {
    pub annuaire: String,
    pub address: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_event_kinds_round_trip_through_their_wire_names() {
        for folder in Folder::ALL {
            assert_eq!(Folder::parse(folder.as_str()), Some(folder));
            assert_eq!(
                serde_json::to_value(folder).expect("json"),
                serde_json::json!(folder.as_str())
            );
        }
        assert_eq!(Folder::parse("spam"), None);
        for kind in [
            EventKind::Sealed,
            EventKind::Opened,
            EventKind::Downloaded,
            EventKind::Reported,
            EventKind::Delivered,
            EventKind::DeliveryFailed,
        ] {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn the_directory_wants_three_characters_in_one_text_field() {
        assert!(!directory::long_enough(["ab", " c ", ""]));
        assert!(directory::long_enough(["ab", "dup"]));
        assert!(!directory::long_enough(["  ab  "]));
        assert!(directory::long_enough(["Zoé"]));
    }

    #[test]
    fn addresses_split_on_semicolons_commas_and_lines() {
        let split: Vec<&str> = addresses::split("a@b.fr; c@d.fr,e@f.fr\ng@h.fr ;").collect();
        assert_eq!(split, ["a@b.fr", "c@d.fr", "e@f.fr", "g@h.fr"]);
    }

    #[test]
    fn error_body_serialises_as_code_and_message() {
        let body = ErrorBody::new("not_found", "Introuvable.");
        let json = serde_json::to_value(&body).expect("serialise");
        assert_eq!(
            json,
            serde_json::json!({"code": "not_found", "message": "Introuvable."})
        );
        let back: ErrorBody = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, body);
    }

    #[test]
    fn health_names_the_database_in_lowercase() {
        let health = Health {
            status: "ok".into(),
            version: "0.1.0".into(),
            database: DatabaseKind::Postgres,
        };
        let json = serde_json::to_value(&health).expect("serialise");
        assert_eq!(json["database"], "postgres");
        assert_eq!(json["status"], "ok");
    }

    #[test]
    fn the_attachment_limit_is_25_mebibytes() {
        // The manual's gauge reads "25 Mo"; the server and the pane count in bytes.
        assert_eq!(limits::MAX_ATTACHMENTS_TOTAL_BYTES, 26_214_400);
        assert_eq!(limits::MAX_ATTACHMENTS, 5);
    }
}
