//! Signing in (manual part 3 §2.2 and §4.2): the Office identity first (office.js, or the
//! development mailbox picker in a plain browser), then the first-use passphrase screen
//! or the "Connexion" screen — "Demander un code", "Code à usage unique", "Passephrase",
//! "Authentification". Once the Medimail session is open, the app shows the signed-in
//! screens; after "Déconnexion" it comes back here, straight to "Connexion". The session
//! lives only in this page's memory (`crate::session`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::Me;

use crate::api::{self, ApiError, Credentials};
use crate::components::account::greeting;
use crate::components::busy_button::BusyButton;
use crate::components::feedback::{FieldError, Notice};
use crate::host::Environment;
use crate::session::{Auth, TokenSource};

#[derive(Clone, Debug, PartialEq)]
enum Stage {
    /// Getting the Office identity.
    Starting,
    /// No Office identity can be had here; the message says why.
    NoIdentity(String),
    /// Single sign-on is unavailable in this Outlook: sign in through the Office dialog.
    Fallback,
    /// The user cancelled single sign-on: the message, and "Réessayer".
    Cancelled(String),
    /// Plain browser with the development identity provider.
    DevPicker,
    ChoosePassphrase,
    SignIn,
}

/// Where a refusal is shown: next to its field, or above the form.
#[derive(Clone, Copy)]
struct Errors {
    code: RwSignal<Option<String>>,
    passphrase: RwSignal<Option<String>>,
    confirmation: RwSignal<Option<String>>,
    mailbox: RwSignal<Option<String>>,
    name: RwSignal<Option<String>>,
    form: RwSignal<Option<String>>,
}

impl Errors {
    fn new() -> Self {
        Self {
            code: RwSignal::new(None),
            passphrase: RwSignal::new(None),
            confirmation: RwSignal::new(None),
            mailbox: RwSignal::new(None),
            name: RwSignal::new(None),
            form: RwSignal::new(None),
        }
    }

    fn clear(&self) {
        for s in [
            self.code,
            self.passphrase,
            self.confirmation,
            self.mailbox,
            self.name,
            self.form,
        ] {
            s.set(None);
        }
    }

    fn show(&self, error: ApiError) {
        self.clear();
        let target = match error.field.as_deref() {
            Some("code") => self.code,
            Some("passphrase") => self.passphrase,
            Some("confirmation") => self.confirmation,
            Some("mailbox") => self.mailbox,
            Some("name") => self.name,
            _ => self.form,
        };
        target.set(Some(error.message));
    }
}

fn field_error(id: &'static str, error: RwSignal<Option<String>>) -> impl IntoView {
    view! { <FieldError id=id error=error/> }
}

fn input_value(ev: &leptos::ev::Event) -> String {
    event_target_value(ev)
}

#[component]
pub fn Connexion(
    environment: Environment,
    /// Who the Office identity is (name, mailbox, settings), shared with the signed-in
    /// screens.
    me: RwSignal<Option<Me>>,
    /// The session just ended: the Office identity is known already, so "Connexion"
    /// shows at once, saying "Vous êtes déconnecté de Medimail."
    #[prop(optional)]
    signed_out: bool,
    /// The Medimail session is open (its token is in the credentials).
    on_signed_in: Callback<()>,
) -> impl IntoView {
    let stage = RwSignal::new(if signed_out {
        Stage::SignIn
    } else {
        Stage::Starting
    });
    let auth = expect_context::<Auth>();
    let credentials = auth.credentials;
    let notice = RwSignal::new(signed_out.then(|| "Vous êtes déconnecté de Medimail.".to_owned()));

    // With an Office token: who am I, and is my passphrase chosen?
    let load_me = move |office_token: String| {
        spawn_local(async move {
            let c = Credentials {
                office_token,
                session: None,
                csrf: None,
            };
            match api::me(&c).await {
                Ok(found) => {
                    // The pane reopened within the session (its cookie, bound to this
                    // identity): no new code, no passphrase.
                    let resumed = !signed_out
                        && found.linked
                        && !found.needs_passphrase
                        && api::session_alive(&c).await;
                    let next = if found.needs_passphrase {
                        Stage::ChoosePassphrase
                    } else {
                        Stage::SignIn
                    };
                    credentials.set(Some(c));
                    me.set(Some(found));
                    if resumed {
                        on_signed_in.run(());
                    } else {
                        stage.set(next);
                    }
                }
                Err(e) => stage.set(Stage::NoIdentity(e.message)),
            }
        });
    };

    // Office single sign-on, or the dialog where it is unavailable (Microsoft's guidance:
    // SSO always needs a fallback).
    let try_sso = move || async move {
        if !crate::office::identity_api_supported() {
            stage.set(Stage::Fallback);
            return;
        }
        match crate::office::get_access_token().await {
            Ok(token) => {
                auth.source.set_value(Some(TokenSource::Office));
                load_me(token)
            }
            Err(e) => match crate::office::sso_failure(e.code) {
                crate::office::SsoFailure::Fallback => stage.set(Stage::Fallback),
                crate::office::SsoFailure::Cancelled => {
                    stage.set(Stage::Cancelled(e.message().to_owned()))
                }
                crate::office::SsoFailure::Other => {
                    stage.set(Stage::NoIdentity(e.message().to_owned()))
                }
            },
        }
    };
    let on_dialog_token = Callback::new(move |token: String| {
        auth.source.set_value(Some(TokenSource::Dialog));
        load_me(token)
    });
    if !signed_out {
        let env = environment.clone();
        spawn_local(async move {
            if matches!(env, Environment::Office { .. }) {
                try_sso().await;
            } else if api::dev_identity_enabled().await {
                stage.set(Stage::DevPicker);
            } else {
                stage.set(Stage::NoIdentity(
                    "Pour vous identifier, ouvrez Medimail depuis Outlook : le complément \
                     utilise votre compte Office 365."
                        .to_owned(),
                ));
            }
        });
    }

    let on_dev_token = Callback::new(move |(token, mailbox, name): (String, String, String)| {
        auth.source
            .set_value(Some(TokenSource::Development { mailbox, name }));
        load_me(token)
    });
    let on_passphrase_chosen = Callback::new(move |()| {
        notice.set(Some(
            "Votre passephrase est enregistrée. Demandez maintenant un code pour vous \
             identifier."
                .to_owned(),
        ));
        stage.set(Stage::SignIn);
    });
    let on_session = Callback::new(move |session: String| {
        credentials.update(|c| {
            if let Some(c) = c {
                c.session = Some(session);
            }
        });
        on_signed_in.run(());
        // The account's settings (MSSanté, liste rouge) as they are now.
        if let Some(c) = credentials.get_untracked() {
            spawn_local(async move {
                if let Ok(found) = api::me(&c).await {
                    me.set(Some(found));
                }
            });
        }
    });

    // Each new sign-in screen takes the focus on its first control (or its title when it
    // has none), so that the next Tab starts there and a screen reader reads it.
    // A control is focused where it is, the explanation above it left in view.
    Effect::new(move |_| match stage.get() {
        Stage::Starting => {}
        Stage::NoIdentity(_) | Stage::Cancelled(_) => crate::focus::show("identite-titre"),
        Stage::Fallback => focus("dialog-sign-in"),
        Stage::DevPicker => focus("dev-mailbox"),
        Stage::ChoosePassphrase => focus("choose-passphrase"),
        Stage::SignIn => focus("request-code"),
    });

    move || {
        match stage.get() {
        Stage::Starting => view! {
            <section class="card" aria-busy="true"><p>"Identification Office 365 en cours…"</p></section>
        }
        .into_any(),
        Stage::NoIdentity(message) => view! {
            <section class="card" aria-labelledby="identite-titre">
                <h2 id="identite-titre">"Identification impossible"</h2>
                <p id="identity-error" role="alert">{message}</p>
                <p><a href="#/aide">"Aide et assistance"</a></p>
            </section>
        }
        .into_any(),
        Stage::Fallback => view! { <DialogSignIn on_token=on_dialog_token/> }.into_any(),
        Stage::Cancelled(message) => view! {
            <section class="card" aria-labelledby="identite-titre">
                <h2 id="identite-titre">"Identification annulée"</h2>
                <p id="identity-error" role="alert">{message}</p>
                <button type="button" class="primary" id="sso-retry"
                    on:click=move |_| { stage.set(Stage::Starting); spawn_local(try_sso()); }>
                    "Réessayer"
                </button>
            </section>
        }
        .into_any(),
        Stage::DevPicker => view! { <DevPicker on_token=on_dev_token/> }.into_any(),
        Stage::ChoosePassphrase => view! {
            <ChoosePassphraseForm me=me on_done=on_passphrase_chosen/>
        }
        .into_any(),
        Stage::SignIn => view! {
            <SignInForm me=me notice=notice on_signed_in=on_session/>
        }
        .into_any(),
    }
    }
}

/// Development only: choose which mailbox and name to be.
#[component]
fn DevPicker(on_token: Callback<(String, String, String)>) -> impl IntoView {
    let mailbox = RwSignal::new("marie.curie@chu-dev.fr".to_owned());
    let name = RwSignal::new("Marie CURIE".to_owned());
    let busy = RwSignal::new(false);
    let errors = Errors::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get() {
            return;
        }
        busy.set(true);
        errors.clear();
        spawn_local(async move {
            let (m, n) = (mailbox.get_untracked(), name.get_untracked());
            match api::dev_token(m.clone(), n.clone()).await {
                Ok(t) => on_token.run((t.access_token, m, n)),
                Err(e) => errors.show(e),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="dev-titre">
            <h2 id="dev-titre">"Identité de développement"</h2>
            <p class="warning">
                "Ce serveur fonctionne en mode développement, hors d'Office 365 : choisissez "
                "la boîte aux lettres et le nom sous lesquels vous identifier. Les codes "
                "à usage unique arrivent dans la boîte d'envoi de développement du serveur."
            </p>
            <form on:submit=submit novalidate>
                <label for="dev-mailbox">"Adresse Office 365"</label>
                <input id="dev-mailbox" type="email" autocomplete="email" required
                    prop:value=move || mailbox.get()
                    on:input=move |ev| mailbox.set(input_value(&ev))/>
                {field_error("dev-mailbox-error", errors.mailbox)}
                <label for="dev-name">"Prénom NOM"</label>
                <input id="dev-name" type="text" autocomplete="name" required
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(input_value(&ev))/>
                {field_error("dev-name-error", errors.name)}
                {field_error("form-error", errors.form)}
                <BusyButton id="dev-continue" submit=true class="primary" busy=busy.into()
                    label="Continuer" busy_label="Connexion…"/>
            </form>
        </section>
    }
}

/// First use: choose the personal passphrase, typed twice.
#[component]
fn ChoosePassphraseForm(me: RwSignal<Option<Me>>, on_done: Callback<()>) -> impl IntoView {
    let passphrase = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = Errors::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get() {
            return;
        }
        let auth = expect_context::<Auth>();
        errors.clear();
        let (p, k) = (passphrase.get_untracked(), confirmation.get_untracked());
        // The same first checks as the server, for an immediate answer.
        if p.chars().count() < 12 {
            errors.passphrase.set(Some(
                "La passephrase doit comporter au moins 12 caractères : une courte phrase \
                 facile à retenir convient très bien."
                    .to_owned(),
            ));
            return;
        }
        if p != k {
            errors.confirmation.set(Some(
                "Les deux saisies de la passephrase sont différentes.".to_owned(),
            ));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let (p, k) = (p.clone(), k.clone());
                    async move { api::choose_passphrase(&c, p, k).await }
                })
                .await;
            match result {
                Ok(()) => {
                    me.update(|m| {
                        if let Some(m) = m {
                            m.needs_passphrase = false;
                        }
                    });
                    on_done.run(());
                }
                Err(e) => errors.show(e),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="passephrase-titre">
            <h2 id="passephrase-titre">{move || greeting(me)}</h2>
            <p>
                "C'est votre première connexion à Medimail : votre compte vient d'être créé. "
                "Choisissez votre passephrase personnelle ; elle vous sera demandée avec un "
                "code à usage unique à chaque identification."
            </p>
            <ul class="rules">
                <li>"au moins 12 caractères (une courte phrase est idéale) ;"</li>
                <li>"pas un mot de passe courant, ni votre adresse de messagerie ;"</li>
                <li>"saisie deux fois à l'identique."</li>
            </ul>
            <form on:submit=submit novalidate>
                <label for="choose-passphrase">"Passephrase"</label>
                <input id="choose-passphrase" type="password" autocomplete="new-password" required
                    prop:value=move || passphrase.get()
                    on:input=move |ev| passphrase.set(input_value(&ev))/>
                {field_error("choose-passphrase-error", errors.passphrase)}
                <label for="choose-confirmation">"Confirmez la passephrase"</label>
                <input id="choose-confirmation" type="password" autocomplete="new-password" required
                    prop:value=move || confirmation.get()
                    on:input=move |ev| confirmation.set(input_value(&ev))/>
                {field_error("choose-confirmation-error", errors.confirmation)}
                {field_error("form-error", errors.form)}
                <BusyButton id="choose-submit" submit=true class="primary" busy=busy.into()
                    label="Enregistrer ma passephrase" busy_label="Enregistrement…"/>
            </form>
        </section>
    }
}

/// The "Connexion" screen of the manual.
#[component]
fn SignInForm(
    me: RwSignal<Option<Me>>,
    notice: RwSignal<Option<String>>,
    on_signed_in: Callback<String>,
) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let passphrase = RwSignal::new(String::new());
    let requesting = RwSignal::new(false);
    let verifying = RwSignal::new(false);
    let errors = Errors::new();

    // The Office token names another address than the account's: codes still go to
    // the account's until the new one is proven.
    let moved_to = move || {
        me.get().and_then(|m| {
            m.token_mailbox
                .filter(|t| m.linked && Some(t) != m.mailbox.as_ref())
                .map(|t| (m.mailbox.unwrap_or_default(), t))
        })
    };
    // A code asked too soon: how long to wait, counted down under the button, the
    // notice of the code sent kept above.
    let wait = RwSignal::new(None::<(bool, u64)>);
    let ticking = StoredValue::new(None::<IntervalHandle>);
    let count_down = move |hourly: bool, seconds: u64| {
        wait.set(Some((hourly, seconds)));
        if ticking.get_value().is_none() {
            let handle = set_interval_with_handle(
                move || {
                    wait.update(|w| {
                        *w = w.and_then(|(h, s)| (s > 1).then_some((h, s - 1)));
                    });
                    if wait.get_untracked().is_none()
                        && let Some(h) = ticking.get_value()
                    {
                        h.clear();
                        ticking.set_value(None);
                    }
                },
                std::time::Duration::from_secs(1),
            )
            .ok();
            ticking.set_value(handle);
        }
    };
    let ask = move |to_token_mailbox: bool| {
        if requesting.get() {
            return;
        }
        let auth = expect_context::<Auth>();
        requesting.set(true);
        errors.clear();
        spawn_local(async move {
            match auth
                .call(|c| async move { api::request_code(&c, to_token_mailbox).await })
                .await
            {
                Ok(sent) => {
                    wait.set(None);
                    notice.set(Some(format!(
                        "Un code à usage unique vient d'être envoyé à {}. Il est valable 10 \
                         minutes. Astuce : il figure aussi dans le sujet du mail.",
                        sent.mailbox
                    )));
                    focus("code");
                }
                Err(e) if matches!(e.code.as_str(), "code_too_soon" | "code_rate_limited") => {
                    count_down(
                        e.code == "code_rate_limited",
                        e.retry_after_seconds.unwrap_or(60).max(1),
                    );
                }
                Err(e) => {
                    notice.set(None);
                    errors.show(e)
                }
            }
            requesting.set(false);
        });
    };
    let ask_code = Callback::new(move |()| ask(false));
    let ask_code_new = Callback::new(move |()| ask(true));

    // « carte CPx »: Pro Santé Connect in an Office dialog; its grant opens the session,
    // or, for a card not linked yet, goes with the next code, which links it.
    let card = StoredValue::new(None::<String>);
    let carding = RwSignal::new(false);
    let with_card = Callback::new(move |()| {
        if carding.get_untracked() {
            return;
        }
        let auth = expect_context::<Auth>();
        carding.set(true);
        errors.clear();
        let url = format!(
            "{}{}?pour=volet",
            window().location().origin().unwrap_or_default(),
            medimail_api::paths::PSC_START
        );
        spawn_local(async move {
            match crate::office::dialog_sign_in(&url, "Carte CPx").await {
                // The Office token was just used to open the pane: no renewal here.
                Ok(grant) => {
                    let Some(c) = auth.credentials.get_untracked() else {
                        carding.set(false);
                        return;
                    };
                    match api::psc_sign_in(&c, grant.clone()).await {
                        Ok(info) => on_signed_in.run(info.session.unwrap_or_default()),
                        Err(e) => {
                            if e.code == "psc_not_linked" {
                                card.set_value(Some(grant));
                                notice.set(Some(e.message));
                                focus("request-code");
                            } else {
                                errors.show(e);
                            }
                        }
                    }
                }
                Err(message) => errors.form.set(Some(message)),
            }
            carding.try_set(false);
        });
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if verifying.get() {
            return;
        }
        let auth = expect_context::<Auth>();
        errors.clear();
        let typed = code.get_untracked().trim().to_owned();
        if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
            errors.code.set(Some(
                "Le code à usage unique est composé de 6 chiffres : recopiez-le depuis le \
                 mail « Votre code d'accès Medimail »."
                    .to_owned(),
            ));
            focus("code");
            return;
        }
        if passphrase.get_untracked().is_empty() {
            errors
                .passphrase
                .set(Some("Saisissez votre passephrase.".to_owned()));
            focus("passphrase");
            return;
        }
        verifying.set(true);
        spawn_local(async move {
            let secret = passphrase.get_untracked();
            let result = auth
                .call(|c| {
                    let (typed, secret) = (typed.clone(), secret.clone());
                    async move { api::open_session(&c, typed, secret, card.get_value()).await }
                })
                .await;
            match result {
                Ok(info) => {
                    passphrase.set(String::new());
                    code.set(String::new());
                    card.set_value(None);
                    if let Some(session) = info.session {
                        on_signed_in.run(session);
                    }
                }
                Err(e) => {
                    let field = e.field.clone();
                    errors.show(e);
                    match field.as_deref() {
                        Some("passphrase") => {
                            passphrase.set(String::new());
                            focus("passphrase");
                        }
                        Some("code") => focus("code"),
                        _ => {}
                    }
                }
            }
            verifying.set(false);
        });
    };

    view! {
        <section class="card" aria-labelledby="connexion-titre">
            <h2 id="connexion-titre">{move || greeting(me)}</h2>
            <p>
                "Afin d'assurer une authentification forte avec Medimail, un code à usage "
                "unique doit être envoyé sur votre messagerie Office 365."
            </p>
            <p>
                "Cliquez sur le bouton ci-dessous pour effectuer l'envoi de ce dernier et "
                "indiquez-le ensuite, ainsi que votre passephrase personnelle, dans les "
                "champs suivants."
            </p>
            <Notice id="notice" notice=notice/>
            {move || me.with(|m| m.as_ref().is_some_and(|m| m.psc_available)).then(|| view! {
                <BusyButton id="psc-sign-in" class="secondary" busy=carding.into()
                    label="Authentification forte à l'aide de votre carte de la famille CPx"
                    busy_label="Fenêtre de connexion ouverte…" on_click=with_card/>
            })}
            {move || moved_to().map(|(old, new)| view! {
                <p id="mailbox-changed" class="notice" role="status">{format!(
                    "Votre adresse Office 365 est désormais {new}, mais vos codes sont encore \
                     envoyés à {old}, l'adresse de votre compte Medimail. Pour passer votre \
                     compte à {new} (les plis qui y attendent le rejoindront), recevez le code \
                     à la nouvelle adresse et saisissez-le."
                )}</p>
                <BusyButton id="request-code-new" class="secondary" busy=requesting.into()
                    label="Recevoir le code à la nouvelle adresse" busy_label="Envoi du code…"
                    on_click=ask_code_new/>
            })}
            <BusyButton id="request-code" class="secondary" busy=requesting.into()
                label="Demander un code" busy_label="Envoi du code…" on_click=ask_code/>
            <p id="code-wait" class="hint" role="status" aria-live="polite">{move || {
                wait.get().map(|(hourly, s)| {
                    let left = if s >= 120 {
                        format!("{} min", s.div_ceil(60))
                    } else {
                        format!("{s} s")
                    };
                    if hourly {
                        format!("Vous avez demandé 10 codes en une heure : vous pourrez en demander un nouveau dans {left}.")
                    } else {
                        format!("Un code vient de vous être envoyé : vous pourrez en demander un autre dans {left}.")
                    }
                })
            }}</p>
            <form on:submit=submit novalidate>
                <label for="code">"Code à usage unique"</label>
                <input id="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                    maxlength="6" pattern="[0-9]{6}"
                    prop:value=move || code.get()
                    on:input=move |ev| code.set(input_value(&ev))/>
                {field_error("code-error", errors.code)}
                <label for="passphrase">"Passephrase"</label>
                <input id="passphrase" type="password" autocomplete="current-password"
                    prop:value=move || passphrase.get()
                    on:input=move |ev| passphrase.set(input_value(&ev))/>
                {field_error("passphrase-error", errors.passphrase)}
                {field_error("form-error", errors.form)}
                <BusyButton id="authenticate" submit=true class="primary" busy=verifying.into()
                    label="Authentification" busy_label="Vérification…"/>
            </form>
        </section>
    }
}

/// Moves keyboard focus to the element `id` (after the current render).
fn focus(id: &'static str) {
    request_animation_frame(move || {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
        {
            let _ = el.focus();
        }
    });
}

/// Where Office single sign-on is unavailable: an Office dialog on the server's
/// `/auth/dialog/start` (Microsoft 365 sign-in, then back), then the Medimail code and
/// passphrase as usual.
#[component]
fn DialogSignIn(on_token: Callback<String>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let open = Callback::new(move |()| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let url = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .map(|o| format!("{o}/auth/dialog/start"))
            .unwrap_or_default();
        spawn_local(async move {
            let result =
                crate::office::dialog_sign_in(&url, "Se connecter avec Microsoft 365").await;
            busy.try_set(false);
            match result {
                Ok(token) => on_token.run(token),
                Err(message) => {
                    error.try_set(Some(message));
                }
            }
        });
    });
    view! {
        <section class="card" aria-labelledby="dialog-titre">
            <h2 id="dialog-titre">"Identification Microsoft 365"</h2>
            <p id="dialog-explanation">
                "Cette version d'Outlook ne permet pas la connexion automatique. Identifiez-vous \
                 avec votre compte Microsoft 365 dans la fenêtre qui va s'ouvrir ; vous \
                 saisirez ensuite votre code Medimail et votre passephrase."
            </p>
            <BusyButton id="dialog-sign-in" class="primary" busy=busy.into()
                label="Se connecter avec Microsoft 365" busy_label="Fenêtre de connexion ouverte…"
                on_click=open/>
            <FieldError id="dialog-error" error=error/>
        </section>
    }
}
