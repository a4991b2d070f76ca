//! The recipient fields of "Nouveau message" ("À", "CC"): each address typed becomes a
//! removable chip once followed by `;`, `,`, Entrée or leaving the field; Retour arrière
//! in an empty field removes the last chip. An address that does not look like one stays
//! typed, with a message under the field.

use leptos::prelude::*;

use crate::compose::{looks_like_address, split_addresses};

/// Moves what is typed in a recipient field into chips; returns the first invalid one.
pub fn commit(typed: RwSignal<String>, chips: RwSignal<Vec<String>>) -> Option<String> {
    let mut invalid = Vec::new();
    for address in split_addresses(&typed.get_untracked()) {
        if looks_like_address(&address) {
            chips.update(|c| {
                if !c.contains(&address) {
                    c.push(address);
                }
            });
        } else {
            invalid.push(address);
        }
    }
    typed.set(invalid.join("; "));
    invalid.into_iter().next()
}

/// The message for an address that cannot be one.
pub fn invalid_address(address: &str) -> String {
    format!("L'adresse « {address} » n'est pas une adresse de messagerie valide.")
}

#[component]
pub fn Chips(
    /// The input's id; its error line is `<id>-error`.
    id: &'static str,
    label: &'static str,
    chips: RwSignal<Vec<String>>,
    typed: RwSignal<String>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    // A bad address is said at once; an error stays until an address is added (leaving
    // the field empty does not hide « Indiquez au moins un destinataire »).
    let on_commit = move || {
        let before = chips.get_untracked().len();
        match commit(typed, chips) {
            Some(bad) => error.set(Some(invalid_address(&bad))),
            None if chips.get_untracked().len() > before => error.set(None),
            None => {}
        }
    };
    view! {
        <label for=id>{label}</label>
        <div class="chips">
            // A plain list drawn again on change, not `<For>`: the keyed diff weighs ~4 KB
            // (gzip) in the pane, and a few chips gain nothing from it.
            {move || chips.get().into_iter().map(|address| {
                    let shown = address.clone();
                    let remove = address.clone();
                    view! {
                        <span class="chip">
                            {shown}
                            <button type="button" class="chip-remove"
                                aria-label=format!("Retirer {address}")
                                on:click=move |_| chips.update(|c| c.retain(|x| x != &remove))>
                                "×"
                            </button>
                        </span>
                    }
                }).collect_view()}
            <input id=id type="email" multiple autocomplete="email"
                placeholder="Saisissez l'adresse de votre/vos destinataires"
                prop:value=move || typed.get()
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    let ends_with_separator = value.ends_with(';') || value.ends_with(',');
                    typed.set(value);
                    if ends_with_separator {
                        on_commit();
                    }
                }
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    if ev.key() == "Enter" {
                        ev.prevent_default();
                        on_commit();
                    } else if ev.key() == "Backspace" && typed.get_untracked().is_empty() {
                        chips.update(|c| { c.pop(); });
                    }
                }
                on:blur=move |_| on_commit()/>
        </div>
        <crate::components::feedback::FieldError id=format!("{id}-error") error=error/>
    }
}
