//! The shell: header, status line, and the screen chosen by the hash route.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::host::Environment;
use crate::pages::{accueil::Accueil, aide::Aide, introuvable::Introuvable};
use crate::route::Route;

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Screen {
    Accueil,
    Aide,
    Introuvable,
}

#[component]
pub fn App(environment: Environment) -> impl IntoView {
    let (route, set_route) = signal(current_route());
    let handle = window_event_listener(leptos::ev::hashchange, move |_| {
        set_route.set(current_route());
    });
    on_cleanup(move || handle.remove());

    // The home screen stays mounted (and signed in) when only the envelope to open
    // changes.
    let screen = Memo::new(move |_| match route.get() {
        Route::Accueil | Route::Ouvrir(_) => Screen::Accueil,
        Route::Aide => Screen::Aide,
        Route::Introuvable => Screen::Introuvable,
    });
    let opening = Memo::new(move |_| match route.get() {
        Route::Ouvrir(reference) => Some(reference),
        _ => None,
    });
    let status = environment.status_line();
    let code = environment.code();
    let page_env = environment.clone();
    view! {
        <div class="shell">
            <header class="app-header">
                <img class="app-logo" src="/icons/icon-32.png" alt="" width="32" height="32"/>
                <h1>"Medimail"</h1>
            </header>
            <p class="status" class:status-ok=environment.in_outlook() role="status" data-host=code>
                {status}
            </p>
            <main id="contenu" class="content" tabindex="-1">
                {move || match screen.get() {
                    Screen::Accueil => view! { <Accueil environment=page_env.clone() opening=opening/> }.into_any(),
                    Screen::Aide => view! { <Aide/> }.into_any(),
                    Screen::Introuvable => view! { <Introuvable/> }.into_any(),
                }}
            </main>
            <footer class="app-footer">"Messagerie sécurisée de santé · MSSanté"</footer>
        </div>
    }
}
