//! The webmail's sign-in (manual part 1 §1, "Identifiez-vous" → "Authentification par
//! code d'accès"), in a browser outside Outlook: "Adresse mail" and "Mot de passe", then
//! "Connexion" mails a code; "Code OTP", "Connexion" and "Je n'ai pas reçu mon code".
//! A first visit (no passphrase yet) or a forgotten one leaves "Mot de passe" empty: the
//! code alone then leads to the conditions of use and the choice of the passphrase.
//! "Vous n'arrivez pas à accéder à votre compte ?" explains the manual's four cases.
//! The session is a cookie the page never sees; it survives a reload (the page asks the
//! server for it first).

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{WebmailSession, WebmailSignIn, WebmailStage};

use crate::api::{self, ApiError};
use crate::components::busy_button::BusyButton;
use crate::components::feedback::{FieldError, Notice};

#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// Asking the server whether the browser holds a session.
    Resuming,
    /// "Identifiez-vous": address and passphrase.
    Identify,
    /// "Authentification par code OTP".
    Code,
    /// "Vous n'arrivez pas à accéder à votre compte ?".
    Help,
    /// Signed in by a code alone: conditions (if asked) and the passphrase.
    Choose(WebmailSession),
    /// The conditions of use changed: accept them.
    Conditions(WebmailSession),
}

fn focus(id: &str) {
    if let Some(el) = document()
        .get_element_by_id(id)
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
    {
        let _ = el.focus();
    }
}

fn focus_soon(id: &'static str) {
    request_animation_frame(move || focus(id));
}

/// "Dernière connexion : le 15/01/2026 à 09:30" (local time of the browser).
pub fn last_sign_in(session: &WebmailSession) -> Option<String> {
    local_time(session.last_sign_in.as_deref()?).map(|at| format!("Dernière connexion : {at}"))
}

/// "le 15/01/2026 à 09:30": an RFC 3339 time in the browser's local time.
pub fn local_time(at: &str) -> Option<String> {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(at));
    if date.get_time().is_nan() {
        return None;
    }
    Some(format!(
        "le {:02}/{:02}/{} à {:02}:{:02}",
        date.get_date(),
        date.get_month() + 1,
        date.get_full_year(),
        date.get_hours(),
        date.get_minutes()
    ))
}

#[component]
pub fn WebmailSignIn(
    /// The session just ended ("Déconnexion", or it expired).
    #[prop(optional)]
    signed_out: bool,
    /// The session is open: the mailbox may show.
    on_signed_in: Callback<WebmailSession>,
) -> impl IntoView {
    let step = RwSignal::new(if signed_out {
        Step::Identify
    } else {
        Step::Resuming
    });
    let mailbox = RwSignal::new(String::new());
    let passphrase = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let notice = RwSignal::new(signed_out.then(|| "Vous êtes déconnecté de Medimail.".to_owned()));
    let error = RwSignal::new(None::<String>);
    let mailbox_error = RwSignal::new(None::<String>);
    let code_error = RwSignal::new(None::<String>);
    let not_received = RwSignal::new(false);
    let wait = RwSignal::new(0u64);
    // « carte CPx »: offered when the server has Pro Santé Connect; back from it with a
    // card not linked yet (`#/carte-cpx`), the sign-in below links it.
    let psc = LocalResource::new(api::psc_available);
    let linking = !signed_out
        && window()
            .location()
            .hash()
            .is_ok_and(|h| h.starts_with("#/carte-cpx"));
    if linking {
        notice.set(Some(
            "Votre certificat n'est associé à aucun compte Medimail. Veuillez indiquer vos \
             identifiants de connexion afin de déterminer le compte Medimail à associer à \
             votre certificat d'authentification : votre adresse mail, votre mot de passe, \
             puis le code reçu par mail."
                .to_owned(),
        ));
    }

    let arrive = move |session: WebmailSession| match session.stage {
        WebmailStage::SignedIn => on_signed_in.run(session),
        WebmailStage::Passphrase => {
            step.set(Step::Choose(session));
            focus_soon("conditions-text");
        }
        WebmailStage::Conditions => {
            step.set(Step::Conditions(session));
            focus_soon("conditions-text");
        }
    };

    if !signed_out {
        spawn_local(async move {
            match api::webmail_session().await {
                Ok(session) => arrive(session),
                Err(_) => {
                    step.set(Step::Identify);
                    focus_soon("webmail-mailbox");
                }
            }
        });
    }

    // One code a minute: the countdown under "Demander un nouveau code".
    let ticking = StoredValue::new(None::<IntervalHandle>);
    let count_down = move |seconds: u64| {
        wait.set(seconds);
        if ticking.get_value().is_none() {
            let handle = set_interval_with_handle(
                move || {
                    wait.update(|w| *w = w.saturating_sub(1));
                    if wait.get_untracked() == 0
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
    let show = move |e: ApiError| match e.field.as_deref() {
        Some("mailbox") => mailbox_error.set(Some(e.message)),
        Some("code") => code_error.set(Some(e.message)),
        _ => error.set(Some(e.message)),
    };
    let clear = move || {
        error.set(None);
        mailbox_error.set(None);
        code_error.set(None);
    };
    let ask_code = move || {
        if busy.get_untracked() {
            return;
        }
        clear();
        busy.set(true);
        spawn_local(async move {
            match api::webmail_code(mailbox.get_untracked()).await {
                Ok(sent) => {
                    notice.set(Some(format!(
                        "Si {} peut utiliser Medimail, un code à usage unique vient d'y être \
                         envoyé. Il est valable {} minutes. Astuce : il figure aussi dans le \
                         sujet du mail.",
                        mailbox.get_untracked().trim(),
                        sent.validity_minutes
                    )));
                    count_down(sent.next_request_in_seconds);
                    step.set(Step::Code);
                    focus_soon("webmail-code");
                }
                Err(e) => show(e),
            }
            busy.set(false);
        });
    };
    let identify = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if mailbox.get_untracked().trim().is_empty() {
            mailbox_error.set(Some("Saisissez votre adresse mail.".to_owned()));
            focus("webmail-mailbox");
            return;
        }
        ask_code();
    };
    let connect = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        clear();
        busy.set(true);
        let request = WebmailSignIn {
            mailbox: mailbox.get_untracked(),
            code: code.get_untracked(),
            passphrase: Some(passphrase.get_untracked()).filter(|p| !p.is_empty()),
        };
        spawn_local(async move {
            match api::webmail_sign_in(request).await {
                Ok(session) => {
                    passphrase.set(String::new());
                    code.set(String::new());
                    arrive(session);
                }
                Err(e) => {
                    show(e);
                    focus("webmail-code");
                }
            }
            busy.set(false);
        });
    };
    let forgot = move |_| {
        passphrase.set(String::new());
        notice.set(Some(
            "Saisissez votre adresse mail et laissez le mot de passe vide : le code reçu vous \
             permettra d'en choisir un nouveau."
                .to_owned(),
        ));
        step.set(Step::Identify);
        focus_soon("webmail-mailbox");
    };

    move || {
        match step.get() {
        Step::Resuming => view! {
            <section class="card" aria-busy="true"><p>"Chargement de Medimail…"</p></section>
        }
        .into_any(),
        Step::Identify => view! {
            <section class="card" aria-labelledby="webmail-titre" id="webmail-sign-in">
                <h2 id="webmail-titre">"Identifiez-vous"</h2>
                {move || (psc.get() == Some(true) && !linking).then(|| view! {
                    <p><a class="button secondary" id="webmail-psc" href=medimail_api::paths::PSC_START>
                        "Authentification forte à l'aide de votre carte de la famille CPx"
                    </a></p>
                })}
                <h3>"Authentification par code d'accès"</h3>
                <Notice id="webmail-notice" notice=notice/>
                <form on:submit=identify novalidate>
                    <label for="webmail-mailbox">"Adresse mail"</label>
                    <input id="webmail-mailbox" type="email" autocomplete="username" required
                        placeholder="xxx@etablissement.fr"
                        prop:value=move || mailbox.get()
                        on:input=move |ev| mailbox.set(event_target_value(&ev))/>
                    <FieldError id="webmail-mailbox-error" error=mailbox_error/>
                    <label for="webmail-passphrase">"Mot de passe"</label>
                    <input id="webmail-passphrase" type="password" autocomplete="current-password"
                        aria-describedby="webmail-passphrase-hint"
                        prop:value=move || passphrase.get()
                        on:input=move |ev| passphrase.set(event_target_value(&ev))/>
                    <p class="hint" id="webmail-passphrase-hint">
                        "Première connexion, ou mot de passe oublié : laissez ce champ vide, "
                        "vous le choisirez après avoir saisi le code reçu."
                    </p>
                    <FieldError id="webmail-error" error=error/>
                    <BusyButton id="webmail-connect" submit=true class="primary" busy=busy.into()
                        label="Connexion" busy_label="Envoi du code…"/>
                </form>
                <p>
                    <button type="button" class="link" id="webmail-trouble"
                        on:click=move |_| { step.set(Step::Help); focus_soon("aide-acces-titre"); }>
                        "Vous n'arrivez pas à accéder à votre compte ?"
                    </button>
                </p>
            </section>
        }
        .into_any(),
        Step::Code => view! {
            <section class="card" aria-labelledby="otp-titre" id="webmail-otp">
                <h2 id="otp-titre">"Authentification par code OTP"</h2>
                <Notice id="webmail-notice" notice=notice/>
                <form on:submit=connect novalidate>
                    <label for="webmail-code">"Code OTP"</label>
                    <input id="webmail-code" type="text" inputmode="numeric" autocomplete="one-time-code"
                        maxlength="6" pattern="[0-9]{6}" required
                        prop:value=move || code.get()
                        on:input=move |ev| code.set(event_target_value(&ev))/>
                    <FieldError id="webmail-code-error" error=code_error/>
                    <FieldError id="webmail-error" error=error/>
                    <div class="actions">
                        <BusyButton id="webmail-sign-in-submit" submit=true class="primary" busy=busy.into()
                            label="Connexion" busy_label="Vérification…"/>
                        <button type="button" class="secondary" id="webmail-not-received"
                            aria-expanded=move || not_received.get().to_string()
                            on:click=move |_| not_received.update(|v| *v = !*v)>
                            "Je n'ai pas reçu mon code"
                        </button>
                    </div>
                </form>
                <Show when=move || not_received.get()>
                    <div class="hint" id="webmail-not-received-help" role="region" aria-label="Code non reçu">
                        <p>"Le code arrive en général en moins d'une minute, dans le mail « [123456] - Votre code d'accès Medimail »."</p>
                        <ul>
                            <li>"Vérifiez le dossier des courriers indésirables (spam)."</li>
                            <li>"Vérifiez l'adresse saisie : " <strong>{move || mailbox.get()}</strong> "."</li>
                            <li>"Un seul code par minute, dix par heure : seul le dernier code reçu est valable."</li>
                        </ul>
                        <button type="button" class="secondary" id="webmail-new-code"
                            disabled=move || { busy.get() || wait.get() > 0 }
                            on:click=move |_| ask_code()>
                            "Demander un nouveau code"
                        </button>
                        {move || (wait.get() > 0).then(|| view! {
                            <p class="hint" id="webmail-code-wait" role="status">
                                {format!("Vous pourrez demander un nouveau code dans {} s.", wait.get())}
                            </p>
                        })}
                    </div>
                </Show>
                <p>
                    <button type="button" class="link" id="webmail-back"
                        on:click=move |_| { step.set(Step::Identify); focus_soon("webmail-mailbox"); }>
                        "← Modifier l'adresse ou le mot de passe"
                    </button>
                </p>
            </section>
        }
        .into_any(),
        Step::Help => view! { <AccessHelp on_forgot=Callback::new(forgot) on_back=Callback::new(move |()| step.set(Step::Identify))/> }.into_any(),
        Step::Choose(session) => view! {
            <ChoosePassphrase session=session on_done=Callback::new(arrive)/>
        }
        .into_any(),
        Step::Conditions(session) => view! {
            <AcceptConditions session=session on_done=Callback::new(arrive)/>
        }
        .into_any(),
    }
    }
}

/// "Impossible d'accéder à mon compte Medimail": the manual's four cases.
#[component]
fn AccessHelp(on_forgot: Callback<()>, on_back: Callback<()>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="aide-acces-titre" id="webmail-help">
            <h2 id="aide-acces-titre" tabindex="-1">"Impossible d'accéder à mon compte Medimail"</h2>
            <p>"Qu'est-ce qui vous empêche d'accéder à Medimail ?"</p>
            <details id="aide-oubli">
                <summary>"J'ai oublié mon mot de passe"</summary>
                <p>
                    "Saisissez votre adresse mail, laissez le mot de passe vide et cliquez sur "
                    "« Connexion » : un code vous est envoyé. Après le code, choisissez un "
                    "nouveau mot de passe. Toutes vos sessions ouvertes sont alors fermées et un "
                    "mail vous confirme le changement."
                </p>
                <button type="button" class="primary" id="aide-reinitialiser"
                    on:click=move |_| on_forgot.run(())>"Choisir un nouveau mot de passe"</button>
            </details>
            <details id="aide-ne-fonctionne-pas">
                <summary>"Mon mot de passe semble ne pas fonctionner"</summary>
                <p>
                    "Vérifiez la touche majuscule et la disposition du clavier. Le code OTP "
                    "n'est valable que 10 minutes et 5 essais : seul le dernier reçu compte. "
                    "Si votre mot de passe a été réinitialisé par votre responsable Medimail, "
                    "ou si vous ne le retrouvez pas, choisissez-en un nouveau."
                </p>
                <button type="button" class="secondary" id="aide-reinitialiser-2"
                    on:click=move |_| on_forgot.run(())>"Choisir un nouveau mot de passe"</button>
            </details>
            <details id="aide-bloque">
                <summary>"Mon compte est bloqué"</summary>
                <p>
                    "Après 10 échecs d'authentification consécutifs, le compte est bloqué "
                    "pendant 15 minutes : attendez la fin du blocage, puis identifiez-vous à "
                    "nouveau. Si vous demandez un code pendant le blocage, un mail vous indique "
                    "l'heure à laquelle il prend fin. Si ces échecs ne viennent pas de vous, "
                    "prévenez votre responsable Medimail : il peut débloquer le compte."
                </p>
            </details>
            <details id="aide-pas-de-compte">
                <summary>"Je n'ai pas de compte utilisateur"</summary>
                <p>
                    "Votre compte Medimail est votre adresse mail. Il est créé dès qu'une "
                    "enveloppe Medimail vous est envoyée : suivez le lien du mail de "
                    "notification « [MEDIMAIL : Reception] ». Dans un établissement équipé, "
                    "ouvrez Medimail depuis Outlook. Sinon, adressez-vous au responsable "
                    "Medimail de votre établissement."
                </p>
            </details>
            <p>"Vous recevrez un mail contenant la procédure à suivre pour résoudre votre problème."</p>
            <button type="button" class="link" id="aide-retour" on:click=move |_| on_back.run(())>
                "← Retour à l'identification"
            </button>
        </section>
    }
}

/// The conditions of use, in full, scrollable and focusable.
#[component]
fn ConditionsText() -> impl IntoView {
    let text = LocalResource::new(api::webmail_conditions);
    view! {
        <div class="conditions" id="conditions-text" tabindex="0" role="document"
            aria-label="Conditions générales d'utilisation">
            {move || match text.get() {
                None => view! { <p>"Chargement des conditions…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="field-error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(c)) => view! {
                    <h3>{c.title.clone()} " (version " {c.version.clone()} ")"</h3>
                    {c.text.split("\n\n").map(|p| view! { <p>{p.to_owned()}</p> }).collect_view()}
                }
                .into_any(),
            }}
        </div>
    }
}

/// First visit or forgotten passphrase: the conditions (if asked), then the passphrase.
#[component]
fn ChoosePassphrase(session: WebmailSession, on_done: Callback<WebmailSession>) -> impl IntoView {
    let conditions_needed =
        session.conditions_accepted.as_deref() != Some(session.conditions_version.as_str());
    let version = session.conditions_version.clone();
    let resetting = session.resetting;
    let accepted = RwSignal::new(false);
    let passphrase = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let passphrase_error = RwSignal::new(None::<String>);
    let confirmation_error = RwSignal::new(None::<String>);
    let csrf = session.csrf.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        passphrase_error.set(None);
        confirmation_error.set(None);
        if conditions_needed && !accepted.get_untracked() {
            error.set(Some("Pour continuer, lisez et acceptez les conditions d'utilisation du service Medimail.".to_owned()));
            focus("conditions-accept");
            return;
        }
        let (p, k) = (passphrase.get_untracked(), confirmation.get_untracked());
        if p.chars().count() < 12 {
            passphrase_error.set(Some("Le mot de passe doit comporter au moins 12 caractères : une courte phrase facile à retenir convient très bien.".to_owned()));
            focus("webmail-new-passphrase");
            return;
        }
        if p != k {
            confirmation_error.set(Some(
                "Les deux saisies du mot de passe sont différentes.".to_owned(),
            ));
            focus("webmail-new-confirmation");
            return;
        }
        busy.set(true);
        let chosen = medimail_api::WebmailPassphrase {
            passphrase: p,
            confirmation: k,
            conditions_version: conditions_needed.then(|| version.clone()),
        };
        let c = api::Credentials::webmail(csrf.clone());
        spawn_local(async move {
            match api::webmail_choose_passphrase(&c, chosen).await {
                Ok(session) => on_done.run(session),
                Err(e) => match e.field.as_deref() {
                    Some("passphrase") => passphrase_error.set(Some(e.message)),
                    Some("confirmation") => confirmation_error.set(Some(e.message)),
                    _ => error.set(Some(e.message)),
                },
            }
            busy.try_set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="choisir-titre" id="webmail-choose">
            <h2 id="choisir-titre">{if resetting { "Choisissez un nouveau mot de passe" } else { "Bienvenue sur Medimail" }}</h2>
            <p>{if resetting {
                "Votre adresse est vérifiée. Choisissez votre nouveau mot de passe : vos autres sessions seront fermées."
            } else {
                "Votre adresse est vérifiée. Lisez les conditions d'utilisation du service, puis choisissez votre mot de passe : il vous sera demandé avec un code à chaque connexion."
            }}</p>
            <form on:submit=submit novalidate>
                {conditions_needed.then(|| view! {
                    <ConditionsText/>
                    <label class="checkbox">
                        <input id="conditions-accept" type="checkbox"
                            prop:checked=move || accepted.get()
                            on:change=move |ev| accepted.set(event_target_checked(&ev))/>
                        "J'ai lu et j'accepte les conditions générales d'utilisation du service Medimail"
                    </label>
                })}
                <ul class="rules">
                    <li>"au moins 12 caractères (une courte phrase est idéale) ;"</li>
                    <li>"pas un mot de passe courant, ni votre adresse mail ;"</li>
                    <li>"saisi deux fois à l'identique."</li>
                </ul>
                <label for="webmail-new-passphrase">"Mot de passe"</label>
                <input id="webmail-new-passphrase" type="password" autocomplete="new-password" required
                    prop:value=move || passphrase.get()
                    on:input=move |ev| passphrase.set(event_target_value(&ev))/>
                <FieldError id="webmail-new-passphrase-error" error=passphrase_error/>
                <label for="webmail-new-confirmation">"Confirmez le mot de passe"</label>
                <input id="webmail-new-confirmation" type="password" autocomplete="new-password" required
                    prop:value=move || confirmation.get()
                    on:input=move |ev| confirmation.set(event_target_value(&ev))/>
                <FieldError id="webmail-new-confirmation-error" error=confirmation_error/>
                <FieldError id="webmail-choose-error" error=error/>
                <BusyButton id="webmail-choose-submit" submit=true class="primary" busy=busy.into()
                    label="Valider" busy_label="Enregistrement…"/>
            </form>
        </section>
    }
}

/// The conditions of use changed since this account accepted them.
#[component]
fn AcceptConditions(session: WebmailSession, on_done: Callback<WebmailSession>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let version = session.conditions_version.clone();
    let csrf = session.csrf.clone();
    let accept = Callback::new(move |()| {
        busy.set(true);
        let c = api::Credentials::webmail(csrf.clone());
        let v = version.clone();
        spawn_local(async move {
            match api::webmail_accept_conditions(&c, v).await {
                Ok(session) => on_done.run(session),
                Err(e) => error.set(Some(e.message)),
            }
            busy.try_set(false);
        });
    });
    view! {
        <section class="card" aria-labelledby="cgu-titre" id="webmail-conditions">
            <h2 id="cgu-titre">"Conditions d'utilisation"</h2>
            <p>"Les conditions générales d'utilisation du service Medimail ont changé. Lisez-les, puis acceptez-les pour continuer."</p>
            <ConditionsText/>
            <FieldError error=error/>
            <BusyButton id="conditions-submit" class="primary" busy=busy.into()
                label="J'accepte les conditions d'utilisation" busy_label="Enregistrement…" on_click=accept/>
        </section>
    }
}
