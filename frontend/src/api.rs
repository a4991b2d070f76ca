//! The pane's HTTP client for the Medimail API: every call carries the Office token and,
//! once signed in, the Medimail session (kept in memory only, never in storage). JSON
//! calls and downloads go through the browser's `fetch`; "Envoyer" goes through
//! XMLHttpRequest, the one browser API that reports upload progress. A refusal is the
//! server's JSON error body with its French message; anything unreadable becomes a
//! French message of its own.

use medimail_api::{
    ChoosePassphrase, CodeRequested, DevIdentityRequest, DevIdentityToken, ErrorBody, Me,
    OpenSession, SessionInfo, paths,
};
#[cfg(feature = "webmail")]
use medimail_api::{
    WebmailAcceptConditions, WebmailChangePassphrase, WebmailCodeRequest, WebmailCodeSent,
    WebmailConditions, WebmailPassphrase, WebmailSession, WebmailSignIn, WrongRecipientReport,
    WrongRecipientReported,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// An error to show: the server's `{code, message, field}`, or a local one.
pub type ApiError = ErrorBody;

/// The server could not be reached at all.
pub fn network_error() -> ApiError {
    ErrorBody::new(
        "network",
        "Le serveur Medimail ne répond pas. Vérifiez votre connexion au réseau, puis \
         réessayez.",
    )
}

/// The credentials of the current user: in Outlook, the Office token and the Medimail
/// session; in the webmail, the CSRF token of the session whose cookie the browser
/// sends by itself (`office_token` empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub office_token: String,
    pub session: Option<String>,
    pub csrf: Option<String>,
}

impl Credentials {
    /// The webmail's: the cookie and its CSRF token.
    #[cfg(feature = "webmail")]
    pub fn webmail(csrf: String) -> Self {
        Self {
            csrf: Some(csrf),
            ..Self::default()
        }
    }

    pub fn is_webmail(&self) -> bool {
        self.office_token.is_empty()
    }

    /// The headers that carry them: the Office token as a bearer token and, once signed
    /// in, the Medimail session; or the webmail's CSRF token.
    fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        (!self.office_token.is_empty())
            .then(|| ("Authorization", format!("Bearer {}", self.office_token)))
            .into_iter()
            .chain(
                self.session
                    .iter()
                    .map(|session| (medimail_api::SESSION_HEADER, session.clone())),
            )
            .chain(
                self.csrf
                    .iter()
                    .map(|csrf| (medimail_api::CSRF_HEADER, csrf.clone())),
            )
    }
}

/// The HTTP methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
enum Method {
    GET,
    POST,
    PUT,
    #[cfg(feature = "webmail")]
    PATCH,
    DELETE,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            #[cfg(feature = "webmail")]
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
        }
    }
}

/// The browser's `fetch` (same origin: the browser adds the cookies itself), with the
/// credentials' headers and a JSON body if any; the response whatever its status.
async fn fetch(
    method: Method,
    path: &str,
    credentials: Option<&Credentials>,
    body: Option<String>,
) -> Result<web_sys::Response, ApiError> {
    let headers = web_sys::Headers::new().map_err(|_| network_error())?;
    let _ = headers.set("Accept", "application/json");
    for (name, value) in credentials.into_iter().flat_map(Credentials::headers) {
        let _ = headers.set(name, &value);
    }
    let init = web_sys::RequestInit::new();
    init.set_method(method.as_str());
    if let Some(body) = body {
        let _ = headers.set("Content-Type", "application/json");
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or_else(network_error)?;
    JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .ok()
        .and_then(|r| r.dyn_into().ok())
        .ok_or_else(network_error)
}

/// The body of `response` as text; empty if unreadable (`error_from` then explains with
/// the status).
async fn text_of(response: &web_sys::Response) -> String {
    match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Sends one JSON request; `Ok((status, body text))` whatever the status.
async fn send(
    method: Method,
    path: &str,
    credentials: Option<&Credentials>,
    body: Option<String>,
) -> Result<(u16, String), ApiError> {
    let response = fetch(method, path, credentials, body).await?;
    let text = text_of(&response).await;
    Ok((response.status(), text))
}

/// What the pane reads of an error body: all but the refused fields of a form (`errors`,
/// which only the webmail's « Identité » shows; their reader weighs 0.7 KB of the pane's
/// budget).
#[cfg(not(feature = "webmail"))]
#[derive(serde::Deserialize)]
struct PaneError {
    code: String,
    message: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    retry_after_seconds: Option<u64>,
}

/// The error body of a failed answer (or a generic French one if unreadable).
pub fn error_from(status: u16, text: &str) -> ApiError {
    #[cfg(not(feature = "webmail"))]
    let read = serde_json::from_str::<PaneError>(text).map(|e| ErrorBody {
        field: e.field,
        retry_after_seconds: e.retry_after_seconds,
        ..ErrorBody::new(e.code, e.message)
    });
    #[cfg(feature = "webmail")]
    let read = serde_json::from_str::<ErrorBody>(text);
    read.unwrap_or_else(|_| {
        ErrorBody::new(
            "unexpected_answer",
            format!(
                "Le serveur Medimail a répondu de façon inattendue (statut {status}). \
                 Réessayez dans quelques instants."
            ),
        )
    })
}

async fn json_call<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    credentials: Option<&Credentials>,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let body = body.and_then(|b| serde_json::to_string(b).ok());
    let (status, text) = send(method, path, credentials, body).await?;
    if (200..300).contains(&status) {
        serde_json::from_str(&text).map_err(|_| error_from(status, ""))
    } else {
        Err(error_from(status, &text))
    }
}

async fn empty_call<B: Serialize>(
    method: Method,
    path: &str,
    credentials: Option<&Credentials>,
    body: Option<&B>,
) -> Result<(), ApiError> {
    let body = body.and_then(|b| serde_json::to_string(b).ok());
    let (status, text) = send(method, path, credentials, body).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(error_from(status, &text))
    }
}

/// True when the server runs the development identity provider.
pub async fn dev_identity_enabled() -> bool {
    matches!(
        send(Method::GET, paths::DEV_IDENTITY, None, None).await,
        Ok((200, _))
    )
}

pub async fn dev_token(mailbox: String, name: String) -> Result<DevIdentityToken, ApiError> {
    json_call(
        Method::POST,
        paths::DEV_IDENTITY_TOKEN,
        None,
        Some(&DevIdentityRequest { mailbox, name }),
    )
    .await
}

pub async fn me(c: &Credentials) -> Result<Me, ApiError> {
    json_call::<(), _>(Method::GET, paths::ME, Some(c), None).await
}

pub async fn choose_passphrase(
    c: &Credentials,
    passphrase: String,
    confirmation: String,
) -> Result<(), ApiError> {
    empty_call(
        Method::POST,
        paths::AUTH_PASSPHRASE,
        Some(c),
        Some(&ChoosePassphrase {
            passphrase,
            confirmation,
        }),
    )
    .await
}

/// "Demander un code": to the account's mailbox, or (`to_token_mailbox`) to the new
/// address the Office token names, which moves the account there once proven.
pub async fn request_code(
    c: &Credentials,
    to_token_mailbox: bool,
) -> Result<CodeRequested, ApiError> {
    let path = if to_token_mailbox {
        format!("{}?mailbox=token", paths::AUTH_CODE)
    } else {
        paths::AUTH_CODE.to_owned()
    };
    json_call::<(), _>(Method::POST, &path, Some(c), None).await
}

/// "Authentification"; `psc_grant`: a CPx card not linked yet, linked by this code.
pub async fn open_session(
    c: &Credentials,
    code: String,
    passphrase: String,
    psc_grant: Option<String>,
) -> Result<SessionInfo, ApiError> {
    json_call(
        Method::POST,
        paths::AUTH_SESSION,
        Some(c),
        Some(&OpenSession {
            code,
            passphrase,
            psc_grant,
        }),
    )
    .await
}

/// The account's draft, as the browser's JSON reads it (`medimail_api::SavedDraft`):
/// « Récupérer » (`GET`, 404 `draft_none` when none is saved) and « Sauvegarder » (`PUT`
/// with the draft, which it replaces). Read with `JSON.parse` rather than serde: a serde
/// reader of the draft weighs 4 KB of the pane's budget. `draft_field` and `draft_list`
/// take its fields.
pub async fn draft(
    c: &Credentials,
    save: Option<&medimail_api::EnvelopeDraft>,
) -> Result<JsValue, ApiError> {
    let (method, body) = match save {
        Some(d) => (Method::PUT, serde_json::to_string(d).ok()),
        None => (Method::GET, None),
    };
    let (status, text) = send(method, paths::DRAFT, Some(c), body).await?;
    if (200..300).contains(&status) {
        js_sys::JSON::parse(&text).map_err(|_| error_from(status, ""))
    } else {
        Err(error_from(status, &text))
    }
}

/// A text field of `at` (`None` when absent, null or not text).
pub fn draft_field(at: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(at, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

/// A list of texts of `at` (empty when absent).
pub fn draft_list(at: &JsValue, key: &str) -> Vec<String> {
    js_sys::Reflect::get(at, &JsValue::from_str(key))
        .ok()
        .filter(js_sys::Array::is_array)
        .map(|v| {
            js_sys::Array::from(&v)
                .iter()
                .filter_map(|x| x.as_string())
                .collect()
        })
        .unwrap_or_default()
}

/// « Supprimer » the draft.
pub async fn delete_draft(c: &Credentials) -> Result<(), ApiError> {
    empty_call::<()>(Method::DELETE, paths::DRAFT, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Dossiers »: the caller's sub-folders.
pub async fn folders(c: &Credentials) -> Result<medimail_api::FolderTree, ApiError> {
    json_call::<(), _>(Method::GET, paths::FOLDERS, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Créer » a sub-folder under `parent` (`inbox`, `sent`, `deleted` or a sub-folder).
pub async fn create_folder(
    c: &Credentials,
    parent: String,
    name: String,
) -> Result<medimail_api::FolderInfo, ApiError> {
    json_call(
        Method::POST,
        paths::FOLDERS,
        Some(c),
        Some(&medimail_api::NewFolder { parent, name }),
    )
    .await
}

#[cfg(feature = "webmail")]
fn folder_path(id: &str) -> String {
    format!(
        "{}/{}",
        paths::FOLDERS,
        String::from(js_sys::encode_uri_component(id))
    )
}

#[cfg(feature = "webmail")]
/// Renames a sub-folder.
pub async fn rename_folder(
    c: &Credentials,
    id: &str,
    name: String,
) -> Result<medimail_api::FolderInfo, ApiError> {
    json_call(
        Method::PATCH,
        &folder_path(id),
        Some(c),
        Some(&medimail_api::RenameFolder { name }),
    )
    .await
}

#[cfg(feature = "webmail")]
/// Deletes a sub-folder (its envelopes go back to its parent).
pub async fn delete_folder(
    c: &Credentials,
    id: &str,
) -> Result<medimail_api::FolderDeleted, ApiError> {
    json_call::<(), _>(Method::DELETE, &folder_path(id), Some(c), None).await
}

#[cfg(feature = "webmail")]
/// Files envelopes in `target` (`inbox`, `sent`, `deleted` or a sub-folder).
pub async fn move_envelopes(
    c: &Credentials,
    references: Vec<String>,
    target: String,
) -> Result<medimail_api::EnvelopesMoved, ApiError> {
    json_call(
        Method::POST,
        paths::ENVELOPES_MOVE,
        Some(c),
        Some(&medimail_api::MoveEnvelopes { references, target }),
    )
    .await
}

/// The CPx card's grant (from the Office dialog) opens a session.
pub async fn psc_sign_in(c: &Credentials, grant: String) -> Result<SessionInfo, ApiError> {
    json_call(
        Method::POST,
        paths::AUTH_PSC,
        Some(c),
        Some(&medimail_api::PscSignIn { grant }),
    )
    .await
}

#[cfg(feature = "webmail")]
/// Whether the « carte CPx » sign-in is offered.
pub async fn psc_available() -> bool {
    json_call::<(), medimail_api::PscStatus>(Method::GET, paths::AUTH_PSC, None, None)
        .await
        .is_ok_and(|s| s.available)
}

#[cfg(feature = "webmail")]
/// « MSSanté »: the conditions of the activation and their state.
pub async fn mssante_status(c: &Credentials) -> Result<medimail_api::MssanteStatus, ApiError> {
    json_call::<(), _>(Method::GET, paths::ACCOUNT_MSSANTE, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Activer » (MSSanté): the address given.
pub async fn mssante_activate(
    c: &Credentials,
) -> Result<medimail_api::MssanteActivation, ApiError> {
    json_call::<(), _>(
        Method::POST,
        paths::ACCOUNT_MSSANTE_ACTIVATION,
        Some(c),
        None,
    )
    .await
}

#[cfg(feature = "webmail")]
/// « Notifications »: the mails the caller wants.
pub async fn notifications(
    c: &Credentials,
) -> Result<medimail_api::NotificationSettings, ApiError> {
    json_call::<(), _>(Method::GET, paths::ACCOUNT_NOTIFICATIONS, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Enregistrer » in « Notifications ».
pub async fn set_notifications(
    c: &Credentials,
    wanted: medimail_api::NotificationSettings,
) -> Result<medimail_api::NotificationSettings, ApiError> {
    json_call(
        Method::PUT,
        paths::ACCOUNT_NOTIFICATIONS,
        Some(c),
        Some(&wanted),
    )
    .await
}

#[cfg(feature = "webmail")]
/// « Délégation automatique »: the caller's secondary addresses.
pub async fn delegation(c: &Credentials) -> Result<medimail_api::Delegation, ApiError> {
    json_call::<(), _>(Method::GET, paths::ACCOUNT_DELEGATION, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Enregistrer » in « Délégation automatique ».
pub async fn set_delegation(
    c: &Credentials,
    addresses: String,
) -> Result<medimail_api::Delegation, ApiError> {
    let request = medimail_api::DelegationRequest { addresses };
    json_call(
        Method::PUT,
        paths::ACCOUNT_DELEGATION,
        Some(c),
        Some(&request),
    )
    .await
}

#[cfg(feature = "webmail")]
/// « Signature de mail »: the caller's signatures.
pub async fn signatures(c: &Credentials) -> Result<Vec<medimail_api::Signature>, ApiError> {
    json_call::<(), _>(Method::GET, paths::ACCOUNT_SIGNATURES, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// Creates (`id` none) or modifies a signature.
pub async fn save_signature(
    c: &Credentials,
    id: Option<String>,
    request: medimail_api::SignatureRequest,
) -> Result<medimail_api::Signature, ApiError> {
    match id {
        None => {
            json_call(
                Method::POST,
                paths::ACCOUNT_SIGNATURES,
                Some(c),
                Some(&request),
            )
            .await
        }
        Some(id) => {
            let path = format!("{}/{}", paths::ACCOUNT_SIGNATURES, encoded(&id));
            json_call(Method::PUT, &path, Some(c), Some(&request)).await
        }
    }
}

#[cfg(feature = "webmail")]
/// Deletes a signature.
pub async fn delete_signature(c: &Credentials, id: String) -> Result<(), ApiError> {
    let path = format!("{}/{}", paths::ACCOUNT_SIGNATURES, encoded(&id));
    empty_call::<()>(Method::DELETE, &path, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Activité »: the account's stamps.
pub async fn account_activity(c: &Credentials) -> Result<medimail_api::AccountActivity, ApiError> {
    json_call::<(), _>(Method::GET, paths::ACCOUNT_ACTIVITY, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Administration »: the organisation the caller manages, one page of its accounts.
pub async fn administration(
    c: &Credentials,
    q: String,
    page: u64,
) -> Result<medimail_api::Administration, ApiError> {
    let path = format!(
        "{}?q={}&page={page}",
        paths::ACCOUNT_ADMINISTRATION,
        encoded(&q)
    );
    json_call::<(), _>(Method::GET, &path, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Administration »: a manager's change to one account.
pub async fn administer(
    c: &Credentials,
    id: String,
    change: medimail_api::AdministrationChange,
) -> Result<medimail_api::AdministeredAccount, ApiError> {
    let path = format!("{}/{}", paths::ACCOUNT_ADMINISTRATION, encoded(&id));
    json_call(Method::PUT, &path, Some(c), Some(&change)).await
}

#[cfg(feature = "webmail")]
/// « Administration »: « Activer » MSSanté for one account.
pub async fn administer_mssante(
    c: &Credentials,
    id: String,
) -> Result<medimail_api::MssanteActivation, ApiError> {
    let path = format!("{}/{}/mssante", paths::ACCOUNT_ADMINISTRATION, encoded(&id));
    json_call::<(), _>(Method::POST, &path, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Identité » as stored.
pub async fn account_identity(c: &Credentials) -> Result<medimail_api::AccountIdentity, ApiError> {
    json_call::<(), _>(Method::GET, paths::ACCOUNT_IDENTITY, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Enregistrer » in « Identité »: the form stored whole, or every refused field.
pub async fn set_account_identity(
    c: &Credentials,
    identity: medimail_api::AccountIdentity,
) -> Result<medimail_api::AccountIdentity, ApiError> {
    json_call(
        Method::PUT,
        paths::ACCOUNT_IDENTITY,
        Some(c),
        Some(&identity),
    )
    .await
}

#[cfg(feature = "webmail")]
/// The lists « Identité » chooses from.
pub async fn nomenclatures(c: &Credentials) -> Result<medimail_api::Nomenclatures, ApiError> {
    json_call::<(), _>(Method::GET, paths::ACCOUNT_NOMENCLATURES, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// « Dissocier ma carte ».
pub async fn psc_unlink(c: &Credentials) -> Result<(), ApiError> {
    empty_call::<()>(Method::DELETE, paths::ACCOUNT_PSC, Some(c), None).await
}

/// True when the pane's session is still open for this Office identity: a reopened
/// pane (its cookie, sent by the browser) goes straight to the signed-in screens.
pub async fn session_alive(c: &Credentials) -> bool {
    matches!(
        send(Method::GET, paths::AUTH_SESSION, Some(c), None).await,
        Ok((200, _))
    )
}

pub async fn sign_out(c: &Credentials) -> Result<(), ApiError> {
    let path = if c.is_webmail() {
        paths::WEBMAIL_SESSION
    } else {
        paths::AUTH_SESSION
    };
    empty_call::<()>(Method::DELETE, path, Some(c), None).await
}

#[cfg(feature = "webmail")]
/// Webmail "Demander un code" (the same answer for every address).
pub async fn webmail_code(mailbox: String) -> Result<WebmailCodeSent, ApiError> {
    json_call(
        Method::POST,
        paths::WEBMAIL_CODE,
        None,
        Some(&WebmailCodeRequest { mailbox }),
    )
    .await
}

#[cfg(feature = "webmail")]
/// Webmail "Connexion": sets the session cookie.
pub async fn webmail_sign_in(request: WebmailSignIn) -> Result<WebmailSession, ApiError> {
    json_call(Method::POST, paths::WEBMAIL_SESSION, None, Some(&request)).await
}

#[cfg(feature = "webmail")]
/// The webmail session the browser's cookie holds, if any.
pub async fn webmail_session() -> Result<WebmailSession, ApiError> {
    json_call::<(), _>(Method::GET, paths::WEBMAIL_SESSION, None, None).await
}

#[cfg(feature = "webmail")]
pub async fn webmail_conditions() -> Result<WebmailConditions, ApiError> {
    json_call::<(), _>(Method::GET, paths::WEBMAIL_CONDITIONS, None, None).await
}

#[cfg(feature = "webmail")]
pub async fn webmail_accept_conditions(
    c: &Credentials,
    version: String,
) -> Result<WebmailSession, ApiError> {
    json_call(
        Method::POST,
        paths::WEBMAIL_CONDITIONS,
        Some(c),
        Some(&WebmailAcceptConditions { version }),
    )
    .await
}

#[cfg(feature = "webmail")]
pub async fn webmail_choose_passphrase(
    c: &Credentials,
    chosen: WebmailPassphrase,
) -> Result<WebmailSession, ApiError> {
    json_call(
        Method::POST,
        paths::WEBMAIL_PASSPHRASE,
        Some(c),
        Some(&chosen),
    )
    .await
}

#[cfg(feature = "webmail")]
pub async fn webmail_change_passphrase(
    c: &Credentials,
    change: WebmailChangePassphrase,
) -> Result<(), ApiError> {
    empty_call(
        Method::POST,
        paths::WEBMAIL_PASSPHRASE_CHANGE,
        Some(c),
        Some(&change),
    )
    .await
}

#[cfg(feature = "webmail")]
/// "Signaler": the notification's link says it was not for this recipient.
pub async fn report_wrong_recipient(token: String) -> Result<WrongRecipientReported, ApiError> {
    json_call(
        Method::POST,
        paths::WRONG_RECIPIENT,
        None,
        Some(&WrongRecipientReport { token }),
    )
    .await
}

/// A folder page: `folder` is `inbox`, `sent`, `deleted` or a sub-folder's id; `page` is
/// 1-based; `at`: the page after (true) or before a position the last page gave.
pub async fn list_envelopes(
    c: &Credentials,
    folder: &str,
    page: u64,
    query: &str,
    at: Option<(bool, String)>,
) -> Result<medimail_api::EnvelopeList, ApiError> {
    let mut path = format!(
        "{}?folder={folder}&page={page}&q={}",
        paths::ENVELOPES,
        String::from(js_sys::encode_uri_component(query))
    );
    // `after=` / `before=` (base64url: nothing to escape).
    if let Some((after, position)) = at {
        path.push_str(if after { "&after=" } else { "&before=" });
        path.push_str(&position);
    }
    json_call::<(), _>(Method::GET, &path, Some(c), None).await
}

fn envelope_path(reference: &str) -> String {
    format!(
        "{}/{}",
        paths::ENVELOPES,
        String::from(js_sys::encode_uri_component(reference))
    )
}

/// Opens an envelope (the first opening by a recipient is recorded by the server).
pub async fn open_envelope(
    c: &Credentials,
    reference: &str,
) -> Result<medimail_api::EnvelopeView, ApiError> {
    json_call::<(), _>(Method::GET, &envelope_path(reference), Some(c), None).await
}

/// "Supprimer" (`delete`), "Restaurer" (`restore`).
pub async fn envelope_action(
    c: &Credentials,
    reference: &str,
    action: &str,
) -> Result<(), ApiError> {
    let path = format!("{}/{action}", envelope_path(reference));
    empty_call::<()>(Method::POST, &path, Some(c), None).await
}

fn encoded(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

/// A directory search: `annuaire` is `medimail` or `mssante`; with both names empty, the
/// caller's favorites.
pub async fn search_directory(
    c: &Credentials,
    annuaire: &str,
    last_name: &str,
    first_name: &str,
) -> Result<medimail_api::DirectoryResults, ApiError> {
    let path = format!(
        "{}?annuaire={}&nom={}&prenom={}",
        paths::DIRECTORY_SEARCH,
        encoded(annuaire),
        encoded(last_name),
        encoded(first_name)
    );
    json_call::<(), _>(Method::GET, &path, Some(c), None).await
}

/// Stars a contact (favorites).
pub async fn add_favorite(
    c: &Credentials,
    annuaire: &str,
    address: &str,
) -> Result<medimail_api::DirectoryContact, ApiError> {
    json_call(
        Method::POST,
        paths::DIRECTORY_FAVORITES,
        Some(c),
        Some(&medimail_api::FavoriteRequest {
            annuaire: annuaire.to_owned(),
            address: address.to_owned(),
        }),
    )
    .await
}

/// Unstars a contact.
pub async fn remove_favorite(
    c: &Credentials,
    annuaire: &str,
    address: &str,
) -> Result<(), ApiError> {
    let path = format!(
        "{}/{}/{}",
        paths::DIRECTORY_FAVORITES,
        encoded(annuaire),
        encoded(address)
    );
    empty_call::<()>(Method::DELETE, &path, Some(c), None).await
}

/// "Supprimer définitivement".
pub async fn remove_envelope(c: &Credentials, reference: &str) -> Result<(), ApiError> {
    empty_call::<()>(Method::DELETE, &envelope_path(reference), Some(c), None).await
}

/// Downloads an attachment (decrypted by the server) and hands it to the browser as a
/// file named as the sender chose it.
pub async fn download_attachment(
    c: &Credentials,
    reference: &str,
    id: &str,
    name: &str,
) -> Result<(), ApiError> {
    let window = web_sys::window().ok_or_else(network_error)?;
    let path = format!(
        "{}/attachments/{}",
        envelope_path(reference),
        String::from(js_sys::encode_uri_component(id))
    );
    let response = fetch(Method::GET, &path, Some(c), None).await?;
    if !response.ok() {
        let text = text_of(&response).await;
        return Err(error_from(response.status(), &text));
    }
    let download_failed = || {
        ErrorBody::new(
            "download_failed",
            "Le téléchargement a été interrompu : réessayez.",
        )
    };
    let blob: web_sys::Blob = JsFuture::from(response.blob().map_err(|_| download_failed())?)
        .await
        .map_err(|_| download_failed())?
        .dyn_into()
        .map_err(|_| download_failed())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| download_failed())?;
    let document = window.document().ok_or_else(download_failed)?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| download_failed())?
        .dyn_into()
        .map_err(|_| download_failed())?;
    link.set_href(&url);
    link.set_download(name);
    link.set_hidden(true);
    if let Some(body) = document.body() {
        let _ = body.append_child(&link);
        link.click();
        let _ = body.remove_child(&link);
    }
    // Released once the browser has started saving it.
    let release = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(release.unchecked_ref(), 60_000);
    Ok(())
}

/// A new `Idempotency-Key` for "Envoyer": a random UUID from the browser's CSPRNG.
pub fn new_idempotency_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("{:x}", (js_sys::Math::random() * 1e15) as u64))
}

/// "Envoyer": the draft and the files as multipart, through XMLHttpRequest so that the
/// upload's progress (0.0 to 1.0) can be shown. `idempotency_key` is the same when the
/// same message is sent again.
pub async fn send_envelope(
    c: &Credentials,
    draft: &medimail_api::EnvelopeDraft,
    files: &[web_sys::File],
    idempotency_key: &str,
    on_progress: std::rc::Rc<dyn Fn(f64)>,
) -> Result<medimail_api::EnvelopeSealed, ApiError> {
    use wasm_bindgen::closure::Closure;

    let form = web_sys::FormData::new().map_err(|_| network_error())?;
    let json = serde_json::to_string(draft).map_err(|_| network_error())?;
    let parts = js_sys::Array::of1(&JsValue::from_str(&json));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag)
        .map_err(|_| network_error())?;
    form.append_with_blob("envelope", &blob)
        .map_err(|_| network_error())?;
    for file in files {
        form.append_with_blob_and_filename("attachment", file, &file.name())
            .map_err(|_| network_error())?;
    }
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| network_error())?;
    xhr.open("POST", paths::ENVELOPES)
        .map_err(|_| network_error())?;
    for (name, value) in c.headers() {
        let _ = xhr.set_request_header(name, &value);
    }
    let _ = xhr.set_request_header("Accept", "application/json");
    let _ = xhr.set_request_header("Idempotency-Key", idempotency_key);
    let progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                on_progress(e.loaded() / e.total());
            }
        });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        xhr.set_onload(Some(&resolve));
        xhr.set_onerror(Some(&reject));
        xhr.set_onabort(Some(&reject));
    });
    xhr.send_with_opt_form_data(Some(&form))
        .map_err(|_| network_error())?;
    let outcome = JsFuture::from(done).await;
    drop(progress);
    outcome.map_err(|_| network_error())?;
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    if (200..300).contains(&status) {
        serde_json::from_str(&text).map_err(|_| error_from(status, ""))
    } else {
        Err(error_from(status, &text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_servers_error_body_with_its_field() {
        let e = error_from(
            400,
            r#"{"code":"code_incorrect","message":"Code à usage unique incorrect.","field":"code"}"#,
        );
        assert_eq!(e.code, "code_incorrect");
        assert_eq!(e.field.as_deref(), Some("code"));
        assert_eq!(e.message, "Code à usage unique incorrect.");
    }

    #[test]
    fn an_unreadable_answer_still_gives_a_french_message_with_the_status() {
        let e = error_from(502, "<html>Bad Gateway</html>");
        assert_eq!(e.code, "unexpected_answer");
        assert!(e.message.contains("statut 502"), "{}", e.message);
        assert_eq!(e.field, None);
    }
}
