//! A button that says what it is doing while its request runs ("Envoi du code…",
//! "Déconnexion…"): disabled and `aria-busy` meanwhile, so that a second click cannot
//! send the request twice.

use leptos::prelude::*;

#[component]
pub fn BusyButton(
    id: &'static str,
    /// `primary`, `secondary` or `danger` (see `taskpane.css`).
    class: &'static str,
    busy: Signal<bool>,
    /// What the button says at rest…
    label: &'static str,
    /// …and while `busy`.
    busy_label: &'static str,
    /// A form's submit button (otherwise a plain button).
    #[prop(optional)]
    submit: bool,
    #[prop(optional)] on_click: Option<Callback<()>>,
) -> impl IntoView {
    view! {
        <button id=id type=if submit { "submit" } else { "button" } class=class
            disabled=move || busy.get() aria-busy=move || busy.get().to_string()
            on:click=move |_| {
                if let Some(on_click) = on_click {
                    on_click.run(());
                }
            }>
            {move || if busy.get() { busy_label } else { label }}
        </button>
    }
}
