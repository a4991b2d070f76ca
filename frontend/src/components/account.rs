//! The signed-in card, above every signed-in screen: "Bonjour …", the mailbox the user is
//! identified with, "Nouveau message", « Paramètres du compte » (among them « Liste
//! rouge », manual part 2 §2.2: visibility in the directory, in « Identité ») and
//! "Déconnexion".

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::Me;

use crate::api;
use crate::components::busy_button::BusyButton;
use crate::components::feedback::FieldError;
use crate::session::Auth;

/// "Bonjour Marie CURIE," (or "Bonjour et bienvenue," before the name is known).
pub fn greeting(me: RwSignal<Option<Me>>) -> String {
    let name = me
        .get()
        .and_then(|m| m.name)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "et bienvenue".to_owned());
    format!("Bonjour {name},")
}

#[component]
pub fn Account(
    me: RwSignal<Option<Me>>,
    /// "Nouveau message" is already open (the button is disabled meanwhile).
    #[prop(into)]
    composing: Signal<bool>,
    on_new_message: Callback<()>,
    /// The session ended ("Déconnexion", or it had already ended on the server).
    on_signed_out: Callback<()>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let sign_out = Callback::new(move |()| {
        if busy.get() {
            return;
        }
        let auth = expect_context::<Auth>();
        // A message being written is not thrown away unasked.
        if !auth.may_leave_draft() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match auth.call(|c| async move { api::sign_out(&c).await }).await {
                // An already-ended session is as good as signed out.
                Ok(()) => on_signed_out.run(()),
                Err(e) if e.code.starts_with("session_") => on_signed_out.run(()),
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    });
    let mailbox = move || me.get().and_then(|m| m.mailbox).unwrap_or_default();
    let auth = expect_context::<Auth>();
    let webmail = auth.webmail;
    let may_compose = move || webmail.with(|w| w.as_ref().is_none_or(|w| w.may_compose));
    #[cfg(feature = "webmail")]
    let last = move || {
        webmail.with(|w| {
            w.as_ref()
                .and_then(crate::pages::webmail::last_sign_in)
                .map(|l| view! { <p class="hint" id="last-sign-in">{l}</p> })
        })
    };
    #[cfg(not(feature = "webmail"))]
    let last = || ();
    view! {
        <section class="card" id="signed-in" aria-labelledby="espace-titre">
            <h2 id="espace-titre">{move || greeting(me)}</h2>
            <p>"Vous êtes identifié à Medimail (" {mailbox} ")."</p>
            {last}
            <FieldError error=error/>
            {move || if may_compose() {
                view! {
                    <button id="new-message" type="button" class="primary"
                        on:click=move |_| on_new_message.run(()) disabled=move || composing.get()>
                        "Nouveau message"
                    </button>
                }.into_any()
            } else {
                view! {
                    <p class="hint" id="reply-only">
                        "Depuis votre navigateur, vous répondez aux enveloppes reçues et les "
                        "transférez (« Répondre », « Répondre à tous », « Transférer »)."
                    </p>
                }.into_any()
            }}
            <h3 id="parametres">"Paramètres"</h3>
            {certificate(me)}
            {change_passphrase(webmail)}
            {webmail_sections(webmail, me)}
            <BusyButton id="sign-out" class="secondary" busy=busy.into()
                label="Déconnexion" busy_label="Déconnexion…" on_click=sign_out/>
            <p class="hint"><a id="help-link" href="#/aide">"Aide et assistance"</a></p>
        </section>
    }
}

/// "Changer mon mot de passe", in the webmail only.
#[cfg(feature = "webmail")]
fn change_passphrase(webmail: RwSignal<Option<medimail_api::WebmailSession>>) -> impl IntoView {
    move || {
        webmail
            .with(Option::is_some)
            .then(|| view! { <ChangePassphrase/> })
    }
}

/// « Identité », « Notifications », « Activité », « Signature de mail », « MSSanté » and,
/// for a manager, « Administration », in the webmail only.
#[cfg(feature = "webmail")]
fn webmail_sections(
    webmail: RwSignal<Option<medimail_api::WebmailSession>>,
    me: RwSignal<Option<Me>>,
) -> impl IntoView {
    use crate::components::administration::Administration;
    use crate::components::identite::Identite;
    use crate::components::notifications::Notifications;
    use crate::components::signatures::Signatures;
    let sections = move || {
        webmail.with(Option::is_some).then(
            || view! { <Identite me=me/> <Notifications/> <Activite/> <Signatures/> <Mssante/> },
        )
    };
    // « Administration », for the managers of an organisation.
    let administration = move || {
        webmail
            .with(|w| w.as_ref().and_then(|w| w.manages.clone()))
            .map(|organisation| view! { <Administration organisation=organisation/> })
    };
    view! { {sections} {administration} }
}

/// What a section of « Paramètres du compte » shows once read: its answer or the error.
#[cfg(feature = "webmail")]
type Loaded<T> = RwSignal<Option<Result<T, String>>>;

/// The `toggle` handler of a `<details>` that reads its content (`fetch`) the first time
/// it is opened, into `into`.
#[cfg(feature = "webmail")]
fn load_when_opened<T, F, Fut>(into: Loaded<T>, fetch: F) -> impl Fn(leptos::ev::Event)
where
    T: Send + Sync + 'static,
    F: Fn(crate::api::Credentials) -> Fut + Copy + 'static,
    Fut: std::future::Future<Output = Result<T, crate::api::ApiError>> + 'static,
{
    move |ev| {
        let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
        if !open || into.with_untracked(Option::is_some) {
            return;
        }
        let auth = expect_context::<Auth>();
        spawn_local(async move {
            let answer = auth.call(fetch).await;
            into.try_set(Some(answer.map_err(|e| e.message)));
        });
    }
}

/// « Activité » (manual part 1 §6.4): « Timbres alloués à votre compte » and « Timbres
/// utilisés », read when the section is opened.
#[cfg(feature = "webmail")]
#[component]
pub fn Activite() -> impl IntoView {
    let stamps: Loaded<medimail_api::AccountActivity> = RwSignal::new(None);
    let load = load_when_opened(stamps, |c| async move { api::account_activity(&c).await });
    let shown = move || {
        stamps.get().map(|s| match s {
            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            Ok(s) => view! {
                <p id="stamps-allocated">"Timbres alloués à votre compte : " {match s.allocated {
                    Some(n) => n.to_string(),
                    None => "illimité".to_owned(),
                }}</p>
                <p id="stamps-used">"Timbres utilisés : " {s.used}</p>
                <p class="hint">"Un timbre est utilisé pour chaque enveloppe envoyée."</p>
            }
            .into_any(),
        })
    };
    view! {
        <details id="activite" on:toggle=load>
            <summary>"Activité"</summary>
            <h4>"Timbres"</h4>
            {move || stamps.with(Option::is_none).then(|| view! { <p class="hint" role="status">"Chargement…"</p> })}
            {shown}
        </details>
    }
}

/// In the pane, what only the webmail has: « Paramètres du compte » opens the webmail's
/// screens in a frame over the pane (`office::open_parametres`); the rest is one link
/// away (the pane's size budget).
#[cfg(not(feature = "webmail"))]
fn webmail_sections(
    _: RwSignal<Option<medimail_api::WebmailSession>>,
    _: RwSignal<Option<Me>>,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let open = move |_| {
        let c = auth.credentials.get_untracked().unwrap_or_default();
        crate::office::open_parametres(&c.office_token, c.session.as_deref().unwrap_or(""));
    };
    view! {
        <button id="open-parametres" type="button" class="secondary" on:click=open>
            "Paramètres du compte"
        </button>
        <p class="hint">
            <a id="open-webmail" href="/" target="_blank" rel="noopener">"Ouvrir la messagerie web"</a>
            " : gérer les sous-dossiers."
        </p>
    }
}

/// « MSSanté » (manual part 1 §6.6, part 2 §2): « Activer la fonctionnalité MSSanté »
/// with its three conditions, each met or not, and « Activer » once all are; then
/// « Adresse de messagerie MSSanté ». Read when the section is opened.
#[cfg(feature = "webmail")]
#[component]
pub fn Mssante() -> impl IntoView {
    let status: Loaded<medimail_api::MssanteStatus> = RwSignal::new(None);
    let load = load_when_opened(status, |c| async move { api::mssante_status(&c).await });
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let just_activated = RwSignal::new(false);
    let activate = Callback::new(move |()| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let auth = expect_context::<Auth>();
        spawn_local(async move {
            let answer = auth
                .call(|c| async move { api::mssante_activate(&c).await })
                .await;
            busy.try_set(false);
            match answer {
                Ok(done) => {
                    just_activated.try_set(true);
                    status.try_update(|s| {
                        if let Some(Ok(s)) = s {
                            s.activated = true;
                            s.address = Some(done.address);
                        }
                    });
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    });
    let condition = |met: bool, id: &'static str, text: &'static str| {
        view! {
            <li id=id class=if met { "met" } else { "unmet" }>
                {text} {if met { " : remplie ✓" } else { " : non remplie ✗" }}
            </li>
        }
    };
    let shown = move || {
        status.get().map(|s| match s {
            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            Ok(s) if s.activated => {
                let address = s.address.clone().unwrap_or_default();
                view! {
                    {just_activated.get().then(|| view! {
                        <p class="notice" id="mssante-activated" role="status">
                            "Activation effectuée. Vous allez être inscrit sur l'annuaire national MSSanté avec l'adresse suivante : "
                            <strong>{address.clone()}</strong>
                        </p>
                    })}
                    <h4>"Adresse de messagerie MSSanté"</h4>
                    {if address.is_empty() {
                        view! {
                            <p id="mssante-state">"La fonctionnalité MSSanté est activée sur votre compte : l'annuaire national MSSanté vous est proposé."</p>
                        }.into_any()
                    } else {
                        view! {
                            <p id="mssante-state">"Vous êtes inscrit sur l'annuaire national MSSanté avec l'adresse suivante : "
                                <strong id="mssante-address">{address}</strong></p>
                        }.into_any()
                    }}
                    <p class="hint">"La visibilité sur l'annuaire national peut prendre jusqu'à 24h après l'activation de la fonctionnalité sur votre compte."</p>
                    <p class="hint">"Si vous êtes inscrit en liste rouge sur Medimail, vous n'apparaîtrez pas sur l'annuaire national MSSanté."</p>
                }.into_any()
            }
            Ok(s) if s.reserved_to_managers => view! {
                <p id="mssante-managers-intro">
                    "Pour activer ou modifier votre adresse MSSanté, veuillez vous rapprocher du ou des managers de votre structure :"
                </p>
                <ul id="mssante-managers">
                    {s.managers.into_iter().map(|m| {
                        let href = format!("mailto:{}", m.mailbox);
                        view! {
                            <li>{m.name.map(|n| format!("{n} — "))}<a href=href>{m.mailbox}</a></li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
            Ok(s) => {
                let all = s.eligible && s.identifier && s.strong;
                view! {
                    <p>"Conditions nécessaires à l'activation de la communication avec l'espace de confiance MSSanté :"</p>
                    <ul id="mssante-conditions" class="mssante">
                        {condition(s.eligible, "mssante-eligible", "Bénéficier d'un compte personnel Medimail éligible")}
                        {condition(s.identifier, "mssante-identifier", "Renseigner votre numéro RPPS ou ADELI")}
                        {condition(s.strong, "mssante-strong", if s.method == "psc" {
                            "Authentification forte par carte CPS ou OTP (carte CPx)"
                        } else {
                            "Authentification forte par carte CPS ou OTP (code à usage unique)"
                        })}
                    </ul>
                    <p class="hint">
                        "L'identifiant MSSanté est défini de la manière suivante : prenom.nom@domaine.mssante.fr. "
                        "Dans le cas où ce dernier est déjà utilisé, un suffixe viendra compléter le nom."
                    </p>
                    {if all {
                        view! {
                            <BusyButton id="mssante-activate" class="primary" busy=busy.into()
                                label="Activer" busy_label="Activation…" on_click=activate/>
                        }.into_any()
                    } else {
                        view! {
                            <p class="hint" id="mssante-next" role="status">{if !s.eligible {
                                "L'espace de confiance MSSanté est réservé aux professionnels de santé habilités. Si vous estimez que votre compte devrait être éligible, prenez contact avec l'administrateur de votre structure."
                            } else {
                                "L'ensemble des critères listés est requis pour activer la fonctionnalité MSSanté."
                            }}</p>
                        }.into_any()
                    }}
                    <FieldError id="mssante-error" error=error/>
                }.into_any()
            }
        })
    };
    view! {
        <details id="mssante" on:toggle=load>
            <summary>"MSSanté"</summary>
            <h4>"Activer la fonctionnalité MSSanté"</h4>
            {move || status.with(Option::is_none).then(|| view! { <p class="hint" role="status">"Chargement…"</p> })}
            {shown}
        </details>
    }
}

#[cfg(not(feature = "webmail"))]
fn change_passphrase(_: RwSignal<Option<medimail_api::WebmailSession>>) -> impl IntoView {}

/// The card's « Certificat » in the webmail; in the pane it is in « Paramètres du
/// compte » (`pages::parametres`, the manual's place), out of the pane's size budget.
#[cfg(feature = "webmail")]
fn certificate(me: RwSignal<Option<Me>>) -> impl IntoView {
    view! { <Certificate me=me/> }
}

#[cfg(not(feature = "webmail"))]
fn certificate(_: RwSignal<Option<Me>>) -> impl IntoView {}

/// « Certificat : Un certificat est associé à votre compte. » and « Dissocier ma carte »
/// (manual part 1 §1.2.2, Paramètres du compte › Identité), shown while a CPx card is
/// linked (and the line « Aucun certificat… » once it is dissociated here).
#[cfg(feature = "webmail")]
#[component]
pub fn Certificate(me: RwSignal<Option<Me>>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let unlinked = RwSignal::new(false);
    let linked = move || me.with(|m| m.as_ref().is_some_and(|m| m.psc_linked));
    // Back from the card's linking in the webmail (`#/carte-cpx`): say it is done.
    let just_linked = window()
        .location()
        .hash()
        .is_ok_and(|h| h.starts_with("#/carte-cpx"));
    let unlink = Callback::new(move |()| {
        if busy.get_untracked() {
            return;
        }
        let auth = expect_context::<Auth>();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match auth
                .call(|c| async move { api::psc_unlink(&c).await })
                .await
            {
                Ok(()) => {
                    unlinked.set(true);
                    me.update(|m| {
                        if let Some(m) = m {
                            m.psc_linked = false;
                        }
                    });
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.try_set(false);
        });
    });
    move || {
        (linked() || unlinked.get()).then(|| {
            view! {
                <p id="psc-certificate">
                    {if !linked() {
                        "Certificat : Aucun certificat n'est associé à votre compte."
                    } else if just_linked {
                        "Votre compte est maintenant associé à votre carte CPx. Certificat : un certificat est associé à votre compte."
                    } else {
                        "Certificat : Un certificat est associé à votre compte."
                    }}
                </p>
                {linked().then(|| view! {
                    <BusyButton id="psc-unlink" class="secondary" busy=busy.into()
                        label="Dissocier ma carte CPx" busy_label="Dissociation…" on_click=unlink/>
                })}
                <FieldError id="psc-unlink-error" error=error/>
            }
        })
    }
}

/// "Changer mon mot de passe" (webmail): the current one, then the new one twice.
#[cfg(feature = "webmail")]
#[component]
pub fn ChangePassphrase() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let passphrase = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        done.set(None);
        let change = medimail_api::WebmailChangePassphrase {
            current: current.get_untracked(),
            passphrase: passphrase.get_untracked(),
            confirmation: confirmation.get_untracked(),
        };
        if change.passphrase != change.confirmation {
            error.set(Some(
                "Les deux saisies du nouveau mot de passe sont différentes.".to_owned(),
            ));
            return;
        }
        let auth = expect_context::<Auth>();
        busy.set(true);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let change = change.clone();
                    async move { api::webmail_change_passphrase(&c, change).await }
                })
                .await;
            match result {
                Ok(()) => {
                    for s in [current, passphrase, confirmation] {
                        s.set(String::new());
                    }
                    done.set(Some(
                        "Votre mot de passe est changé ; vos autres sessions sont fermées et un \
                         mail vous le confirme."
                            .to_owned(),
                    ));
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.try_set(false);
        });
    };
    view! {
        <details id="change-passphrase">
            <summary>"Changer mon mot de passe"</summary>
            <form on:submit=submit novalidate>
                <label for="change-current">"Mot de passe actuel"</label>
                <input id="change-current" type="password" autocomplete="current-password"
                    prop:value=move || current.get()
                    on:input=move |ev| current.set(event_target_value(&ev))/>
                <label for="change-new">"Nouveau mot de passe (12 caractères au moins)"</label>
                <input id="change-new" type="password" autocomplete="new-password"
                    prop:value=move || passphrase.get()
                    on:input=move |ev| passphrase.set(event_target_value(&ev))/>
                <label for="change-confirmation">"Confirmez le nouveau mot de passe"</label>
                <input id="change-confirmation" type="password" autocomplete="new-password"
                    prop:value=move || confirmation.get()
                    on:input=move |ev| confirmation.set(event_target_value(&ev))/>
                <FieldError id="change-error" error=error/>
                {move || done.get().map(|m| view! { <p class="notice" id="change-done" role="status">{m}</p> })}
                <BusyButton id="change-submit" submit=true class="secondary" busy=busy.into()
                    label="Changer mon mot de passe" busy_label="Enregistrement…"/>
            </form>
        </details>
    }
}
