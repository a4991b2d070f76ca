//! The account's HTTP API: `PUT /api/account/visibility` ("Liste rouge" or visible to
//! every Medimail user), `GET`/`PUT /api/account/identity` (« Identité ») with
//! `GET /api/account/nomenclatures` (its lists), `GET /api/account/mssante` (the
//! conditions of the MSSanté activation) and `GET /api/account/activity` (the stamps).
//! Signed-in callers only, on their own account.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use medimail_api::{
    AccountActivity, AccountIdentity, Delegation, DelegationRequest, DirectoryVisibility,
    MssanteActivation, MssanteStatus, Nomenclatures, NotificationSettings, Signature,
    SignatureRequest, paths,
};
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::account::delegation::DelegationRefusal;
use crate::account::mssante::MssanteRefusal;
use crate::account::signatures::SignatureRefusal;
use crate::auth::openapi::signed_in;
use crate::auth::session::{Gate, SignedIn};
use crate::clock::Clock;
use crate::error::{AppError, Refusal, RequestRefusal};
use crate::openapi::refusals;
use crate::web::{Json, Path};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Gate: FromRef<S>,
    Clock: FromRef<S>,
    std::sync::Arc<crate::config::Config>: FromRef<S>,
    std::sync::Arc<crate::keys::Keys>: FromRef<S>,
{
    OpenApiRouter::default()
        .routes(routes!(set_visibility))
        .routes(routes!(mssante_status))
        .routes(routes!(mssante_activate))
        .routes(routes!(activity))
        .routes(routes!(identity, set_identity))
        .routes(routes!(nomenclatures))
        .routes(routes!(notifications, set_notifications))
        .routes(routes!(delegation, set_delegation))
        .routes(routes!(list_signatures, create_signature))
        .routes(routes!(modify_signature, delete_signature))
}

/// A field of « Identité » refused (as documented; the answer lists every refused field
/// in `errors`, the first one as its own `code`, `message` and `field`).
pub struct FieldRefused(pub &'static str, pub &'static str);

impl Refusal for FieldRefused {
    fn status(&self) -> StatusCode {
        StatusCode::UNPROCESSABLE_ENTITY
    }
    fn code(&self) -> &'static str {
        self.0
    }
    fn message(&self) -> String {
        "Un champ est refusé : rien n'a été enregistré. Corrigez les champs signalés.".to_owned()
    }
    fn field(&self) -> Option<&'static str> {
        Some(self.1)
    }
}

refusals! {
    VisibilityRefusals = [signed_in(), RequestRefusal::Unreadable];
    StatusRefusals = [signed_in()];
    CreateSignatureRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        SignatureRefusal::NameMissing,
        SignatureRefusal::NameTooLong,
        SignatureRefusal::NameTaken,
        SignatureRefusal::Empty,
        SignatureRefusal::TooLarge,
        SignatureRefusal::Full,
    ];
    ModifySignatureRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        SignatureRefusal::NameMissing,
        SignatureRefusal::NameTooLong,
        SignatureRefusal::NameTaken,
        SignatureRefusal::Empty,
        SignatureRefusal::TooLarge,
        SignatureRefusal::NotFound,
    ];
    DeleteSignatureRefusals = [signed_in(), SignatureRefusal::NotFound];
    DelegationRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        DelegationRefusal::Invalid("x@".into()),
        DelegationRefusal::TooMany,
    ];
    ActivationRefusals = [
        signed_in(),
        MssanteRefusal::ConditionsUnmet,
        MssanteRefusal::NameMissing,
        MssanteRefusal::NotConfigured,
        MssanteRefusal::NoAddressLeft,
        MssanteRefusal::ReservedToManagers,
    ];
    IdentityRefusals = [
        signed_in(),
        RequestRefusal::Unreadable,
        FieldRefused("rpps_invalid", "rpps"),
        FieldRefused("adeli_invalid", "adeli"),
        FieldRefused("identifier_from_card", "rpps"),
        FieldRefused("phone_invalid", "phone1"),
        FieldRefused("postal_code_invalid", "postal_code"),
        FieldRefused("profession_invalid", "profession"),
        FieldRefused("speciality_invalid", "speciality"),
        FieldRefused("department_invalid", "department"),
        FieldRefused("region_invalid", "region"),
        FieldRefused("civility_invalid", "civility"),
        FieldRefused("name_invalid", "last_name"),
        FieldRefused("field_too_long", "city"),
    ];
}

/// « Identité » as stored (manual part 1 §6.1).
#[utoipa::path(
    get,
    path = paths::ACCOUNT_IDENTITY,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The caller's « Identité ».", body = AccountIdentity),
        StatusRefusals,
    ),
)]
async fn identity(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
) -> Result<Json<AccountIdentity>, AppError> {
    Ok(Json(
        crate::account::identity::load(&db, &signed_in.account).await?,
    ))
}

/// « Enregistrer »: « Identité » stored whole. Every field is checked; any refused,
/// nothing is stored and the answer (422) lists each refused field with its code and
/// French message. The directory shows the new values at once. Audited
/// `account_identity_changed` with the names of the fields changed.
#[utoipa::path(
    put,
    path = paths::ACCOUNT_IDENTITY,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = AccountIdentity,
    responses(
        (status = 200, description = "What is stored (the département and region derived where left empty).", body = AccountIdentity),
        IdentityRefusals,
    ),
)]
async fn set_identity(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Json(wanted): Json<AccountIdentity>,
) -> Result<Json<AccountIdentity>, AppError> {
    use crate::account::identity;
    let current = identity::load(&db, &signed_in.account).await?;
    let checked = identity::check(&wanted, &current)
        .map_err(|body| AppError::Rejected(StatusCode::UNPROCESSABLE_ENTITY, Box::new(body)))?;
    Ok(Json(
        identity::save(&db, &keys, &signed_in.account, checked, clock.now()).await?,
    ))
}

/// The lists « Identité » chooses from: civilités, professions (TRE_G15), spécialités
/// (TRE_R38), régions and départements (INSEE).
#[utoipa::path(
    get,
    path = paths::ACCOUNT_NOMENCLATURES,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The lists.", body = Nomenclatures),
        StatusRefusals,
    ),
)]
async fn nomenclatures(_signed_in: SignedIn) -> Json<&'static Nomenclatures> {
    Json(crate::account::nomenclature::all())
}

/// "Visibilité dans l'annuaire": on the liste rouge or visible to every Medimail user.
///
/// Audited `account_settings_changed`; answers the stored value.
#[utoipa::path(
    put,
    path = paths::ACCOUNT_VISIBILITY,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = DirectoryVisibility,
    responses(
        (status = 200, description = "The stored value.", body = DirectoryVisibility),
        VisibilityRefusals,
    ),
)]
async fn set_visibility(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    signed_in: SignedIn,
    Json(wanted): Json<DirectoryVisibility>,
) -> Result<Json<DirectoryVisibility>, AppError> {
    let updated = crate::account::settings::set_liste_rouge(
        &db,
        &keys,
        signed_in.account,
        wanted.liste_rouge,
    )
    .await?;
    Ok(Json(DirectoryVisibility {
        liste_rouge: updated.liste_rouge,
    }))
}

/// « MSSanté »: the three conditions of the activation (« compte personnel Medimail
/// éligible », « numéro RPPS ou ADELI », « authentification forte par carte CPS ou OTP »),
/// each with its state for the caller's account and this session.
#[utoipa::path(
    get,
    path = paths::ACCOUNT_MSSANTE,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The conditions and their state.", body = MssanteStatus),
        StatusRefusals,
    ),
)]
async fn mssante_status(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
) -> Result<Json<MssanteStatus>, AppError> {
    let mut status = crate::account::mssante::status(&signed_in.account, &signed_in.session);
    if let Some(managers) =
        crate::account::organisation::activation_managers(&db, &signed_in.account).await?
    {
        status.reserved_to_managers = true;
        status.managers = managers;
    }
    Ok(Json(status))
}

/// « Activer »: the three conditions met and « Identité »'s Nom and Prénom filled, the
/// account gets its MSSanté address (`prenom.nom@MEDIMAIL_MSSANTE_DOMAIN`, a number after
/// the name when it is taken) and MSSanté is on. Already activated: the same address.
/// Audited `mssante_activated`.
#[utoipa::path(
    post,
    path = paths::ACCOUNT_MSSANTE_ACTIVATION,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "« Activation effectuée. »: the address.", body = MssanteActivation),
        ActivationRefusals,
    ),
)]
async fn mssante_activate(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    State(config): State<std::sync::Arc<crate::config::Config>>,
    signed_in: SignedIn,
) -> Result<Json<MssanteActivation>, AppError> {
    let address = crate::account::mssante::activate(
        &db,
        &keys,
        &signed_in.account,
        &signed_in.session,
        config.mssante_domain.as_deref(),
        clock.now(),
    )
    .await??;
    Ok(Json(MssanteActivation { address }))
}

/// « Activité »: « Timbres alloués à votre compte » (`null`: illimité) and « Timbres
/// utilisés », one per envelope sent.
#[utoipa::path(
    get,
    path = paths::ACCOUNT_ACTIVITY,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The account's stamps.", body = AccountActivity),
        StatusRefusals,
    ),
)]
async fn activity(signed_in: SignedIn) -> Json<AccountActivity> {
    Json(crate::account::settings::activity(&signed_in.account))
}

/// « Signature de mail »: the caller's signatures, by name.
#[utoipa::path(
    get,
    path = paths::ACCOUNT_SIGNATURES,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The signatures.", body = Vec<Signature>),
        StatusRefusals,
    ),
)]
async fn list_signatures(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
) -> Result<Json<Vec<Signature>>, AppError> {
    Ok(Json(
        crate::account::signatures::list(&db, &signed_in.account.id).await?,
    ))
}

/// Creates a signature (20 at most; the name unique; sanitised like a message body;
/// `default` makes it the one inserted in every new message). Audited
/// `signature_created`.
#[utoipa::path(
    post,
    path = paths::ACCOUNT_SIGNATURES,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = SignatureRequest,
    responses(
        (status = 201, description = "Created, as stored.", body = Signature),
        CreateSignatureRefusals,
    ),
)]
async fn create_signature(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Json(request): Json<SignatureRequest>,
) -> Result<(StatusCode, Json<Signature>), AppError> {
    let created =
        crate::account::signatures::create(&db, &keys, &signed_in.account, &request, clock.now())
            .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Modifies one of the caller's signatures. Audited `signature_modified`.
#[utoipa::path(
    put,
    path = "/api/account/signatures/{id}",
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("id" = String, Path, description = "The signature's id.")),
    request_body = SignatureRequest,
    responses(
        (status = 200, description = "As stored.", body = Signature),
        ModifySignatureRefusals,
    ),
)]
async fn modify_signature(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Json(request): Json<SignatureRequest>,
) -> Result<Json<Signature>, AppError> {
    Ok(Json(
        crate::account::signatures::modify(
            &db,
            &keys,
            &signed_in.account,
            &id,
            &request,
            clock.now(),
        )
        .await?,
    ))
}

/// Deletes one of the caller's signatures. Audited `signature_deleted`.
#[utoipa::path(
    delete,
    path = "/api/account/signatures/{id}",
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    params(("id" = String, Path, description = "The signature's id.")),
    responses(
        (status = 204, description = "Deleted."),
        DeleteSignatureRefusals,
    ),
)]
async fn delete_signature(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    crate::account::signatures::delete(&db, &keys, &signed_in.account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// « Notifications »: the mails the caller wants (the defaults until « Enregistrer »).
#[utoipa::path(
    get,
    path = paths::ACCOUNT_NOTIFICATIONS,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The settings.", body = NotificationSettings),
        StatusRefusals,
    ),
)]
async fn notifications(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
) -> Result<Json<NotificationSettings>, AppError> {
    Ok(Json(
        crate::account::notifications::of(&db, &signed_in.account.id).await?,
    ))
}

/// « Enregistrer »: the notification settings stored whole; audited
/// `notifications_changed`.
#[utoipa::path(
    put,
    path = paths::ACCOUNT_NOTIFICATIONS,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = NotificationSettings,
    responses(
        (status = 200, description = "As stored.", body = NotificationSettings),
        VisibilityRefusals,
    ),
)]
async fn set_notifications(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    signed_in: SignedIn,
    Json(wanted): Json<NotificationSettings>,
) -> Result<Json<NotificationSettings>, AppError> {
    Ok(Json(
        crate::account::notifications::save(&db, &keys, &signed_in.account, wanted, clock.now())
            .await?,
    ))
}

/// « Délégation automatique »: the caller's secondary addresses, each confirmed or not.
#[utoipa::path(
    get,
    path = paths::ACCOUNT_DELEGATION,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    responses(
        (status = 200, description = "The addresses.", body = Delegation),
        StatusRefusals,
    ),
)]
async fn delegation(
    State(db): State<DatabaseConnection>,
    signed_in: SignedIn,
) -> Result<Json<Delegation>, AppError> {
    Ok(Json(
        crate::account::delegation::of(&db, &signed_in.account.id).await?,
    ))
}

/// « Enregistrer »: the addresses as typed, separated by `;` (5 at most; not the
/// account's own). Those no longer named are removed; each new one gets a confirmation
/// mail and receives copies once confirmed. Audited `delegation_changed`.
#[utoipa::path(
    put,
    path = paths::ACCOUNT_DELEGATION,
    tag = "account",
    security(("office_token" = [], "medimail_session" = []), ("webmail_session" = [])),
    request_body = DelegationRequest,
    responses(
        (status = 200, description = "As stored.", body = Delegation),
        DelegationRefusals,
    ),
)]
async fn set_delegation(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    State(config): State<std::sync::Arc<crate::config::Config>>,
    signed_in: SignedIn,
    Json(request): Json<DelegationRequest>,
) -> Result<Json<Delegation>, AppError> {
    Ok(Json(
        crate::account::delegation::save(
            &db,
            &keys,
            &signed_in.account,
            &request.addresses,
            &config.origin(),
            clock.now(),
        )
        .await?,
    ))
}

/// The confirmation pages of « Délégation automatique » (outside `/api`: the link of the
/// confirmation mail).
pub fn pages<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
    Clock: FromRef<S>,
    std::sync::Arc<crate::keys::Keys>: FromRef<S>,
{
    OpenApiRouter::default().routes(routes!(confirm_page, confirm))
}

/// The token of the confirmation link.
#[derive(serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
struct ConfirmToken {
    #[serde(default)]
    token: String,
}

/// A small page: nothing runs, it cannot be framed, and its one form posts here.
fn small_page(status: StatusCode, title: &str, body: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    const POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
                          form-action 'self'";
    (
        status,
        [(axum::http::header::CONTENT_SECURITY_POLICY, POLICY)],
        axum::response::Html(format!(
            "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
        )),
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The mailed link: a page with « Confirmer » (fetching the link confirms nothing).
#[utoipa::path(
    get,
    path = paths::DELEGATION_CONFIRM,
    tag = "account",
    params(ConfirmToken),
    responses((status = 200, description = "The page with « Confirmer ».", content_type = "text/html")),
)]
async fn confirm_page(
    crate::web::Query(q): crate::web::Query<ConfirmToken>,
) -> axum::response::Response {
    let token: String = q
        .token
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    small_page(
        StatusCode::OK,
        "Délégation des notifications Medimail",
        &format!(
            "<p>Cette adresse recevra une copie des notifications Medimail de la personne qui \
             l'a indiquée (jamais le contenu des enveloppes).</p>\
             <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"token\" \
             value=\"{}\"><button type=\"submit\">Confirmer</button></form>",
            paths::DELEGATION_CONFIRM,
            escape(&token)
        ),
    )
}

/// « Confirmer »: the address receives copies from now on. Audited
/// `delegation_confirmed`.
#[utoipa::path(
    post,
    path = paths::DELEGATION_CONFIRM,
    tag = "account",
    request_body(content = ConfirmToken, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Confirmed.", content_type = "text/html"),
        (status = 404, description = "Unknown link.", content_type = "text/html"),
    ),
)]
async fn confirm(
    State(db): State<DatabaseConnection>,
    State(keys): State<std::sync::Arc<crate::keys::Keys>>,
    State(clock): State<Clock>,
    axum::Form(form): axum::Form<ConfirmToken>,
) -> Result<axum::response::Response, AppError> {
    let title = "Délégation des notifications Medimail";
    Ok(
        match crate::account::delegation::confirm(&db, &keys, &form.token, clock.now()).await? {
            Some(address) => small_page(
                StatusCode::OK,
                title,
                &format!(
                    "<p>C'est confirmé : {} recevra une copie des notifications.</p>",
                    escape(&address)
                ),
            ),
            None => small_page(
                StatusCode::NOT_FOUND,
                title,
                "<p>Ce lien de confirmation n'est plus valable.</p>",
            ),
        },
    )
}
