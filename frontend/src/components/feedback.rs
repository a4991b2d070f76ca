//! The lines that tell the user what happened: a refusal next to its field or above a
//! form (`role="alert"`), and a notice after a success (`role="status"`). Each is in the
//! page only while it has something to say.

use leptos::prelude::*;

/// `<p class="field-error" role="alert">`, while `error` holds a message.
#[component]
pub fn FieldError(
    /// The line's id, if tests or `aria-describedby` need one.
    #[prop(optional, into)]
    id: Option<String>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    move || {
        error.get().map(|message| {
            view! { <p class="field-error" id=id.clone() role="alert">{message}</p> }
        })
    }
}

/// `<p class="notice" role="status">`, while `notice` holds a message.
#[component]
pub fn Notice(id: &'static str, #[prop(into)] notice: Signal<Option<String>>) -> impl IntoView {
    move || {
        notice
            .get()
            .map(|n| view! { <p class="notice" id=id role="status">{n}</p> })
    }
}
