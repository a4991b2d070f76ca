//! The shell (header, status line, footer) and the one place that decides which screen
//! shows.
//!
//! The hash chooses the page: help (`#/aide`), "not found" (any unknown hash) or the home
//! page (`#/`, and `#/inbox/open/<reference>` from a notification's link). On the home
//! page the session chooses: signing in, then the signed-in screens under the account
//! card, and "Bienvenue" below them. The session lives only in this page's memory and
//! belongs to the home page: leaving it for help or an unknown hash forgets it, as a
//! reload would.

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::Me;
use wasm_bindgen::JsValue;

use crate::components::account::Account;
use crate::host::Environment;
use crate::office::{self, ComposePrefill};
use crate::pages::{
    accueil::Accueil,
    aide::Aide,
    boite::{Boite, Listing},
    connexion::Connexion,
    introuvable::Introuvable,
    lecture::Lecture,
    nouveau::Compose,
};
#[cfg(feature = "webmail")]
use crate::pages::{parametres::ParametresVolet, signaler::Signaler, webmail::WebmailSignIn};
use crate::route::Route;
use crate::session::Auth;

/// Every screen of the pane. A new screen (the account settings to come, for instance) is
/// one more variant here, one more module under `pages/`, and one more arm in `Screens`
/// below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Getting the Office identity, then the first-use passphrase or "Connexion"
    /// (`pages::connexion`). `signed_out`: the session just ended, so "Connexion" shows at
    /// once and says so.
    SignIn { signed_out: bool },
    /// "Messages reçus", "Messages envoyés", "Messages supprimés" (`pages::boite`).
    Folders,
    /// One envelope (`pages::lecture`): from a row of a list, the notification's link or
    /// the mail selected in Outlook.
    Reading(String),
    /// "Nouveau message" (`pages::nouveau`), with its directory (`pages::annuaire`) opened
    /// inside it so that nothing typed is lost. `prefill`: the Outlook message being
    /// written, or the envelope answered or forwarded. `back_to`: the envelope that was
    /// being read, shown again on "Fermer".
    Compose {
        prefill: Option<ComposePrefill>,
        back_to: Option<String>,
    },
    /// "Aide" (`pages::aide`).
    Help,
    /// "Signaler une erreur de destinataire" (`pages::signaler`), from the notification.
    Report(String),
    /// An unknown hash (`pages::introuvable`).
    NotFound,
    /// « Paramètres du compte » framed by the pane (`pages::parametres`).
    #[cfg(feature = "webmail")]
    PaneSettings,
}

impl Screen {
    /// The screen a hash asks for; on the home page, signing in comes first.
    pub fn of_route(route: &Route) -> Self {
        match route {
            Route::Accueil | Route::Ouvrir(_) | Route::CarteCpx => {
                Screen::SignIn { signed_out: false }
            }
            Route::Aide => Screen::Help,
            Route::Signaler(token) => Screen::Report(token.clone()),
            Route::Introuvable => Screen::NotFound,
            #[cfg(feature = "webmail")]
            Route::VoletParametres => Screen::PaneSettings,
        }
    }

    /// Shown under the account card, with a Medimail session.
    pub fn signed_in(&self) -> bool {
        matches!(
            self,
            Screen::Folders | Screen::Reading(_) | Screen::Compose { .. }
        )
    }

    /// The envelope being read, or to come back to.
    pub fn envelope(&self) -> Option<String> {
        match self {
            Screen::Reading(reference) => Some(reference.clone()),
            Screen::Compose { back_to, .. } => back_to.clone(),
            _ => None,
        }
    }

    /// Where "Fermer" (in "Nouveau message") and "← Retour à la liste" lead: the envelope
    /// that was being read when "Nouveau message" opened, or the lists.
    fn back(&self) -> Self {
        match self {
            Screen::Compose {
                back_to: Some(reference),
                ..
            } => Screen::Reading(reference.clone()),
            _ => Screen::Folders,
        }
    }
}

/// What stays mounted while the screen changes within it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    SignIn,
    /// The account card stays, with what it says.
    SignedIn,
    Help,
    Report,
    NotFound,
    #[cfg(feature = "webmail")]
    PaneSettings,
}

impl Frame {
    fn of(screen: &Screen) -> Self {
        match screen {
            Screen::SignIn { .. } => Frame::SignIn,
            Screen::Folders | Screen::Reading(_) | Screen::Compose { .. } => Frame::SignedIn,
            Screen::Help => Frame::Help,
            Screen::Report(_) => Frame::Report,
            Screen::NotFound => Frame::NotFound,
            #[cfg(feature = "webmail")]
            Screen::PaneSettings => Frame::PaneSettings,
        }
    }
}

/// Mounts the app into `#medimail-app`, replacing the "Chargement" placeholder, and
/// marks the page ready (`data-medimail-ready` on `<html>`, and
/// `window.__medimailShellRenderedAt`, milliseconds since navigation, for the load bench).
pub fn mount(environment: Environment) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(root) = document.get_element_by_id(crate::MOUNT_ID) else {
        return;
    };
    root.set_inner_html("");
    let Ok(root) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(root) else {
        return;
    };
    leptos::mount::mount_to(
        root,
        move || view! { <App environment=environment.clone()/> },
    )
    .forget();
    mark_ready(&document);
}

fn mark_ready(document: &web_sys::Document) {
    if let Some(html) = document.document_element() {
        let _ = html.set_attribute("data-medimail-ready", "true");
    }
    if let Some(window) = web_sys::window() {
        let now = window.performance().map(|p| p.now()).unwrap_or(0.0);
        let _ = js_sys::Reflect::set(
            &window,
            &JsValue::from_str("__medimailShellRenderedAt"),
            &JsValue::from_f64(now),
        );
    }
}

fn current_route() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    Route::from_hash(&hash)
}

#[component]
pub fn App(environment: Environment) -> impl IntoView {
    let (route, set_route) = signal(current_route());
    let handle = window_event_listener(leptos::ev::hashchange, move |_| {
        set_route.set(current_route());
    });
    on_cleanup(move || handle.remove());

    // Entering or leaving the home page starts afresh (see the module's doc); the home
    // page stays (and signed in) when only the envelope to open changes.
    let at_home = Memo::new(move |_| route.with(Route::is_home));
    let screens_environment = environment.clone();
    // The webmail (the page at the public origin, without office.js): no word about
    // Outlook or its library, which this reader does not need.
    let webmail_page =
        cfg!(feature = "webmail") && !matches!(environment, Environment::Office { .. });
    #[cfg(feature = "webmail")]
    let framed_settings = route.with_untracked(|r| *r == Route::VoletParametres);
    #[cfg(not(feature = "webmail"))]
    let framed_settings = false;
    let status = if framed_settings {
        "Messagerie sécurisée de santé · Paramètres du compte".to_owned()
    } else if webmail_page {
        "Messagerie sécurisée de santé, dans votre navigateur.".to_owned()
    } else {
        environment.status_line()
    };
    let code = environment.code();
    view! {
        <div class="shell">
            <header class="app-header">
                <img class="app-logo" src="/icons/icon-32.png" alt="" width="32" height="32"/>
                <h1>"Medimail"</h1>
            </header>
            <p class="status" class:status-ok={environment.in_outlook() || webmail_page} role="status" data-host=code>
                {status}
            </p>
            <main id="contenu" class="content" tabindex="-1">
                {move || {
                    at_home.track();
                    view! { <Screens environment=screens_environment.clone() route=route/> }
                }}
            </main>
            <footer class="app-footer">"Messagerie sécurisée de santé · MSSanté"</footer>
        </div>
    }
}

/// The screens and the session they share (credentials, who is signed in), and every move
/// from one screen to another.
#[component]
fn Screens(environment: Environment, route: ReadSignal<Route>) -> impl IntoView {
    let auth = Auth::new();
    provide_context(auth);
    let me = RwSignal::new(None::<Me>);
    // Where the session is, on the home page.
    let session = RwSignal::new(Screen::SignIn { signed_out: false });
    let screen = Memo::new(move |_| {
        let route = route.get();
        if route.is_home() {
            session.get()
        } else {
            Screen::of_route(&route)
        }
    });
    let opening = Memo::new(move |_| match route.get() {
        Route::Ouvrir(reference) => Some(reference),
        _ => None,
    });

    // Moves between signed-in screens; an answer that arrives after "Déconnexion" (or
    // once this page is left) moves nothing.
    let go = move |next: Screen| {
        session.try_update(|at| {
            if at.signed_in() {
                *at = next;
            }
        });
    };
    // "Nouveau message", coming back to the envelope being read (if any) on "Fermer".
    let compose = move |prefill: Option<ComposePrefill>| {
        session.try_update(|at| {
            if at.signed_in() {
                let back_to = at.envelope();
                *at = Screen::Compose { prefill, back_to };
            }
        });
    };
    let on_signed_in = Callback::new(move |()| {
        // The notification's link, then what Outlook shows: the message being written
        // (start from it) or a Medimail notification (open its envelope).
        session.set(match opening.get_untracked() {
            Some(reference) => Screen::Reading(reference),
            None => Screen::Folders,
        });
        spawn_local(async move {
            if let Some(found) = office::compose_prefill().await {
                compose(Some(found));
            } else if let Some(reference) = office::notification_reference().await {
                go(Screen::Reading(reference));
            }
        });
    });
    let on_signed_out = Callback::new(move |()| {
        auth.credentials.update(|c| {
            if c.as_ref().is_some_and(|c| c.is_webmail()) {
                *c = None;
            } else if let Some(c) = c {
                c.session = None;
            }
        });
        auth.webmail.set(None);
        session.set(Screen::SignIn { signed_out: true });
    });
    // The webmail: the cookie's session stands for the Office identity and its session.
    #[cfg(feature = "webmail")]
    let on_webmail_signed_in = Callback::new(move |opened: medimail_api::WebmailSession| {
        auth.credentials
            .set(Some(crate::api::Credentials::webmail(opened.csrf.clone())));
        me.set(Some(Me {
            tenant_id: String::new(),
            object_id: String::new(),
            name: opened.name.clone(),
            mailbox: Some(opened.mailbox.clone()),
            token_mailbox: None,
            linked: true,
            account_id: None,
            needs_passphrase: false,
            locked_until: None,
            mssante_enabled: false,
            liste_rouge: false,
            psc_available: false,
            psc_linked: opened.psc_linked,
        }));
        auth.webmail.set(Some(opened));
        on_signed_in.run(());
    });
    #[cfg(feature = "webmail")]
    let in_office = matches!(environment, Environment::Office { .. });
    #[cfg(feature = "webmail")]
    let dev_identity = LocalResource::new(move || async move {
        !in_office && crate::api::dev_identity_enabled().await
    });
    // Opened from the notification's link (`#/inbox/open/<reference>`).
    Effect::new(move |_| {
        if let Some(reference) = opening.get() {
            go(Screen::Reading(reference));
        }
    });
    // A pinned pane follows the mail the user selects.
    if route.with_untracked(Route::is_home) {
        office::on_item_changed(move |reference| {
            // Selecting another mail does not throw a written message away unasked.
            if let Some(reference) = reference
                && auth.may_leave_draft()
            {
                go(Screen::Reading(reference));
            }
        });
    }

    let on_new_message = Callback::new(move |()| compose(None));
    let on_compose = Callback::new(move |prefill: ComposePrefill| compose(Some(prefill)));
    let on_back = Callback::new(move |()| {
        session.try_update(|at| {
            if at.signed_in() {
                *at = at.back();
            }
        });
    });
    let on_open = Callback::new(move |reference: String| go(Screen::Reading(reference)));

    let frame = Memo::new(move |_| screen.with(Frame::of));
    let composing = Memo::new(move |_| {
        screen.with(|s| match s {
            Screen::Compose { prefill, .. } => Some(prefill.clone()),
            _ => None,
        })
    });
    let reading = Memo::new(move |_| match screen.get() {
        Screen::Reading(reference) => Some(reference),
        _ => None,
    });
    // "Nouveau message" replaces the lists; the lists keep their folder, page and search
    // while an envelope is read.
    let signed_in_screen = move || match composing.get() {
        Some(prefill) => match prefill {
            Some(p) => view! { <Compose me=me on_close=on_back prefill=p/> }.into_any(),
            None => view! { <Compose me=me on_close=on_back/> }.into_any(),
        },
        None => {
            let listing = Listing::new();
            (move || match reading.get() {
                Some(reference) => view! {
                    <Lecture reference=reference me=me notice=listing.notice on_back=on_back
                        on_compose=on_compose on_session_lost=on_signed_out/>
                }
                .into_any(),
                None => view! {
                    <Boite listing=listing on_open=on_open on_session_lost=on_signed_out/>
                }
                .into_any(),
            })
            .into_any()
        }
    };

    move || match frame.get() {
        Frame::SignIn => {
            let signed_out = matches!(session.get_untracked(), Screen::SignIn { signed_out: true });
            // The webmail, outside Outlook: its sign-in, and the development identity (an
            // Outlook user in a plain browser) where the server offers it.
            #[cfg(feature = "webmail")]
            if !in_office {
                let environment = environment.clone();
                return view! {
                    <WebmailSignIn signed_out=signed_out on_signed_in=on_webmail_signed_in/>
                    {move || (dev_identity.get() == Some(true)).then(|| view! {
                        <Connexion environment=environment.clone() me=me signed_out=false
                            on_signed_in=on_signed_in/>
                    })}
                }
                .into_any();
            }
            view! {
                <Connexion environment=environment.clone() me=me signed_out=signed_out
                    on_signed_in=on_signed_in/>
                <Accueil environment=environment.clone()/>
            }
            .into_any()
        }
        Frame::SignedIn => view! {
            <Account me=me composing=Signal::derive(move || composing.get().is_some())
                on_new_message=on_new_message on_signed_out=on_signed_out/>
            {signed_in_screen}
        }
        .into_any(),
        Frame::Help => view! { <Aide/> }.into_any(),
        #[cfg(feature = "webmail")]
        Frame::Report => match screen.get_untracked() {
            Screen::Report(token) => view! { <Signaler token=token/> }.into_any(),
            _ => view! { <Introuvable/> }.into_any(),
        },
        // The report page is the webmail's (the notification's link opens `/`).
        #[cfg(not(feature = "webmail"))]
        Frame::Report => view! { <Introuvable/> }.into_any(),
        Frame::NotFound => view! { <Introuvable/> }.into_any(),
        #[cfg(feature = "webmail")]
        Frame::PaneSettings => view! { <ParametresVolet/> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_chooses_help_not_found_or_signing_in_first() {
        assert_eq!(
            Screen::of_route(&Route::Accueil),
            Screen::SignIn { signed_out: false }
        );
        assert_eq!(
            Screen::of_route(&Route::Ouvrir("abc".into())),
            Screen::SignIn { signed_out: false }
        );
        assert_eq!(Screen::of_route(&Route::Aide), Screen::Help);
        assert_eq!(Screen::of_route(&Route::Introuvable), Screen::NotFound);
    }

    #[test]
    fn closing_a_new_message_goes_back_to_the_envelope_it_was_opened_from() {
        let from_envelope = Screen::Compose {
            prefill: None,
            back_to: Some("abc".into()),
        };
        assert_eq!(from_envelope.back(), Screen::Reading("abc".into()));
        let from_lists = Screen::Compose {
            prefill: None,
            back_to: None,
        };
        assert_eq!(from_lists.back(), Screen::Folders);
        assert_eq!(Screen::Reading("abc".into()).back(), Screen::Folders);
    }

    #[test]
    fn only_the_mailbox_screens_are_signed_in() {
        assert!(Screen::Folders.signed_in());
        assert!(Screen::Reading("abc".into()).signed_in());
        assert!(!Screen::SignIn { signed_out: true }.signed_in());
        assert!(!Screen::Help.signed_in());
        assert!(!Screen::NotFound.signed_in());
    }
}
