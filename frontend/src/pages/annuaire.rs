//! The directory in "Nouveau message" (manual part 3 §4.3.1): choose "Annuaire Medimail"
//! or "Annuaire MSSanté" (offered when MSSanté is activated), type Nom and/or Prénom (3
//! characters in a field, the manual's rule), read rows "NOM Prénom code postal", hover or
//! focus a row for the details (profession, spécialité, structure, adresse, adresse
//! MSSanté), add the contact to "À" or "CC", star it (favorites are listed when both
//! fields are empty). Keyboard: Tab to a row, ↑/↓ between rows, Entrée adds to "À",
//! Échap closes the directory.

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::directory::{self, TOO_SHORT};
use medimail_api::{DirectoryContact, Me, annuaire};
use wasm_bindgen::JsCast;

use crate::api;
use crate::components::feedback::FieldError;
use crate::session::Auth;

/// "NOM Prénom code postal" (an organisation's mailbox: its raison sociale).
pub fn row_label(c: &DirectoryContact) -> String {
    let mut parts: Vec<String> = Vec::new();
    match (&c.last_name, &c.first_name) {
        (None, None) => parts.push(c.organisation.clone().unwrap_or_else(|| c.address.clone())),
        (last, first) => {
            if let Some(l) = last {
                parts.push(crate::text::upper(l));
            }
            if let Some(f) = first {
                parts.push(f.clone());
            }
        }
    }
    if let Some(p) = &c.postal_code {
        parts.push(p.clone());
    }
    parts.join(" ")
}

/// The details shown on hover or focus: (label, value) for each known field.
pub fn details(c: &DirectoryContact) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (label, value) in [
        ("Profession", &c.profession),
        ("Spécialité", &c.speciality),
        ("Structure", &c.organisation),
        ("Adresse", &c.address_lines),
        ("Téléphone", &c.phone),
        ("RPPS / ADELI", &c.identifier),
    ] {
        if let Some(v) = value {
            out.push((label, v.clone()));
        }
    }
    if c.dematerialised {
        out.push((
            "Dématérialisation",
            "tous ses échanges, plus de papier".to_owned(),
        ));
    }
    let label = if c.annuaire == annuaire::MSSANTE {
        "Adresse MSSanté"
    } else {
        "Adresse Medimail"
    };
    out.push((label, c.address.clone()));
    out
}

/// Whether a search may be sent: both empty (favorites) or a field of 3 characters.
pub fn searchable(last: &str, first: &str) -> bool {
    let empty = last.trim().is_empty() && first.trim().is_empty();
    empty || directory::long_enough([last, first])
}

/// Moves the focus to the previous or next row.
fn focus_row(from: &web_sys::EventTarget, down: bool) {
    let Some(row) = from.dyn_ref::<web_sys::Element>() else {
        return;
    };
    let sibling = if down {
        row.next_element_sibling()
    } else {
        row.previous_element_sibling()
    };
    if let Some(next) = sibling.and_then(|s| s.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = next.focus();
    }
}

#[component]
pub fn Annuaire(
    me: RwSignal<Option<Me>>,
    to: RwSignal<Vec<String>>,
    cc: RwSignal<Vec<String>>,
    on_close: Callback<()>,
) -> impl IntoView {
    let which = RwSignal::new(annuaire::MEDIMAIL.to_owned());
    let last = RwSignal::new(String::new());
    let first = RwSignal::new(String::new());
    let results = RwSignal::new(Vec::<DirectoryContact>::new());
    let status = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // Answers to older searches are dropped.
    let generation = StoredValue::new(0u64);
    let mssante = move || me.get().is_some_and(|m| m.mssante_enabled);
    // Taken now: the debounced search runs outside the component's reactive owner.
    let auth = expect_context::<Auth>();

    let run = move || {
        let (l, f, w) = (
            last.get_untracked(),
            first.get_untracked(),
            which.get_untracked(),
        );
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        if !searchable(&l, &f) {
            results.set(Vec::new());
            error.set(None);
            status.set(Some(TOO_SHORT.to_owned()));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let answer = auth
                .call(|c| {
                    let (w, l, f) = (w.clone(), l.clone(), f.clone());
                    async move { api::search_directory(&c, &w, &l, &f).await }
                })
                .await;
            // A newer search was started, or the directory was closed meanwhile.
            if generation.try_get_value() != Some(mine) {
                return;
            }
            busy.set(false);
            match answer {
                Ok(found) => {
                    error.set(None);
                    let message = if found.favorites_only {
                        if found.results.is_empty() {
                            format!("Aucun favori. {TOO_SHORT}")
                        } else {
                            "Favoris :".to_owned()
                        }
                    } else if found.results.is_empty() {
                        "Aucun contact ne correspond à votre recherche.".to_owned()
                    } else {
                        let n = found.results.len();
                        let mut m = format!(
                            "{n} contact{} trouvé{}.",
                            if n > 1 { "s" } else { "" },
                            if n > 1 { "s" } else { "" }
                        );
                        if let Some(hint) = found.hint {
                            m = format!("{m} {hint}");
                        }
                        m
                    };
                    status.set(Some(message));
                    results.set(found.results);
                }
                Err(e) => {
                    results.set(Vec::new());
                    status.set(None);
                    error.set(Some(e.message));
                }
            }
        });
    };
    // Searches as the user types, once they pause.
    let schedule = move || {
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        set_timeout(
            move || {
                if generation.try_get_value() == Some(mine) {
                    run();
                }
            },
            std::time::Duration::from_millis(300),
        );
    };
    // The favorites, when the directory opens.
    Effect::new(move |_| run());

    let add = move |target: RwSignal<Vec<String>>, label: &'static str, c: &DirectoryContact| {
        let address = crate::text::lower(&c.address);
        let name = row_label(c);
        target.update(|list| {
            if !list.contains(&address) {
                list.push(address);
            }
        });
        status.set(Some(format!("{name} ajouté à « {label} ».")));
    };
    let toggle_star = move |c: DirectoryContact| {
        spawn_local(async move {
            let (w, address, starred) = (c.annuaire.clone(), c.address.clone(), c.favorite);
            let answer = auth
                .call(|cr| {
                    let (w, address) = (w.clone(), address.clone());
                    async move {
                        if starred {
                            api::remove_favorite(&cr, &w, &address).await
                        } else {
                            api::add_favorite(&cr, &w, &address).await.map(|_| ())
                        }
                    }
                })
                .await;
            match answer {
                // `try_`: the directory may have been closed meanwhile.
                Ok(()) => {
                    results.try_update(|list| {
                        for r in list.iter_mut().filter(|r| r.address == address) {
                            r.favorite = !starred;
                        }
                    });
                    status.try_set(Some(if starred {
                        format!("{} retiré des favoris.", row_label(&c))
                    } else {
                        format!("{} ajouté aux favoris.", row_label(&c))
                    }));
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };

    view! {
        <section id="directory" class="directory" aria-label="Annuaire"
            on:keydown=move |ev: web_sys::KeyboardEvent| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    on_close.run(());
                }
            }>
            <fieldset class="directory-choice">
                <legend>"Annuaire"</legend>
                <label class="radio">
                    <input type="radio" name="directory-which" id="directory-medimail"
                        prop:checked=move || which.get() == annuaire::MEDIMAIL
                        on:change=move |_| { which.set(annuaire::MEDIMAIL.to_owned()); run(); }/>
                    "Annuaire Medimail"
                </label>
                <Show when=mssante fallback=|| view! {
                    <p class="hint" id="directory-mssante-off">
                        "L'Annuaire National MSSanté est proposé aux comptes dont la fonctionnalité MSSanté est activée."
                    </p>
                }>
                    <label class="radio">
                        <input type="radio" name="directory-which" id="directory-mssante"
                            prop:checked=move || which.get() == annuaire::MSSANTE
                            on:change=move |_| { which.set(annuaire::MSSANTE.to_owned()); run(); }/>
                        "Annuaire MSSanté"
                    </label>
                </Show>
            </fieldset>
            <form class="directory-fields" role="search" novalidate
                on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); run(); }>
                <label for="directory-last-name">"Nom"</label>
                <input id="directory-last-name" type="search" autocomplete="off"
                    placeholder="Nom de votre correspondant" maxlength="100"
                    prop:value=move || last.get()
                    on:input=move |ev| { last.set(event_target_value(&ev)); schedule(); }/>
                <label for="directory-first-name">"Prénom"</label>
                <input id="directory-first-name" type="search" autocomplete="off"
                    placeholder="Prénom de votre correspondant" maxlength="100"
                    prop:value=move || first.get()
                    on:input=move |ev| { first.set(event_target_value(&ev)); schedule(); }/>
                <button type="submit" class="secondary" id="directory-search">"Rechercher"</button>
            </form>
            <p id="directory-status" class="hint" role="status" aria-live="polite">
                {move || if busy.get() { "Recherche…".to_owned() } else { status.get().unwrap_or_default() }}
            </p>
            <FieldError id="directory-error" error=error/>
            <ul id="directory-results" class="directory-results" aria-label="Résultats de l'annuaire">
                // Drawn again when the results change (see `Chips`: no `<For>` in the pane).
                {move || results.get().into_iter().map(|contact| {
                        let label = row_label(&contact);
                        let info = details(&contact);
                        let details_id = format!("directory-details-{}", contact.address.replace(['@', '.'], "-"));
                        let (for_to, for_cc, for_enter, for_star) =
                            (contact.clone(), contact.clone(), contact.clone(), contact.clone());
                        let starred = contact.favorite;
                        let describedby = details_id.clone();
                        let shown = label.clone();
                        view! {
                            <li class="directory-row" tabindex="0"
                                data-address=contact.address.clone()
                                aria-label=label.clone()
                                aria-describedby=describedby
                                on:keydown=move |ev: web_sys::KeyboardEvent| {
                                    let on_row = ev.target() == ev.current_target();
                                    match ev.key().as_str() {
                                        "ArrowDown" | "ArrowUp" => {
                                            ev.prevent_default();
                                            if let Some(row) = ev.current_target() {
                                                focus_row(&row, ev.key() == "ArrowDown");
                                            }
                                        }
                                        "Enter" if on_row => {
                                            ev.prevent_default();
                                            add(to, "À", &for_enter);
                                        }
                                        _ => {}
                                    }
                                }>
                                <span class="directory-name">{shown}</span>
                                <span class="directory-actions">
                                    <button type="button" class="directory-add-to"
                                        aria-label=format!("Ajouter {label} à « À »")
                                        on:click=move |_| add(to, "À", &for_to)>"À"</button>
                                    <button type="button" class="directory-add-cc"
                                        aria-label=format!("Ajouter {label} en copie « CC »")
                                        on:click=move |_| add(cc, "CC", &for_cc)>"CC"</button>
                                    <button type="button" class="directory-star"
                                        aria-pressed=starred.to_string()
                                        aria-label=if starred { format!("Retirer {label} des favoris") } else { format!("Ajouter {label} aux favoris") }
                                        on:click=move |_| toggle_star(for_star.clone())>
                                        {if starred { "★" } else { "☆" }}
                                    </button>
                                </span>
                                <dl class="directory-details" id=details_id role="tooltip">
                                    {info.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                                </dl>
                            </li>
                        }
                    }).collect_view()}
            </ul>
            <button type="button" class="secondary" id="directory-close" on:click=move |_| on_close.run(())>
                "Fermer l'annuaire"
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> DirectoryContact {
        DirectoryContact {
            annuaire: annuaire::MSSANTE.into(),
            address: "b.dupont@chu.mssante.fr".into(),
            kind: "PER".into(),
            last_name: Some("Dupont-Moreau".into()),
            first_name: Some("Bénédicte".into()),
            postal_code: Some("31059".into()),
            speciality: Some("Cardiologie".into()),
            organisation: Some("CHU DE TOULOUSE".into()),
            ..Default::default()
        }
    }

    #[test]
    fn rows_read_last_name_first_name_postal_code() {
        assert_eq!(row_label(&contact()), "DUPONT-MOREAU Bénédicte 31059");
        let org = DirectoryContact {
            last_name: None,
            first_name: None,
            postal_code: None,
            ..contact()
        };
        assert_eq!(row_label(&org), "CHU DE TOULOUSE");
    }

    #[test]
    fn details_name_the_secure_address_of_the_directory() {
        let shown = details(&contact());
        assert!(shown.contains(&("Spécialité", "Cardiologie".to_owned())));
        assert_eq!(
            shown.last(),
            Some(&("Adresse MSSanté", "b.dupont@chu.mssante.fr".to_owned()))
        );
        let medimail = DirectoryContact {
            annuaire: annuaire::MEDIMAIL.into(),
            ..contact()
        };
        assert_eq!(
            details(&medimail).last().map(|d| d.0),
            Some("Adresse Medimail")
        );
    }

    #[test]
    fn a_search_needs_three_characters_in_a_field_or_nothing_at_all() {
        assert!(searchable("", ""), "favorites");
        assert!(!searchable("du", ""));
        assert!(!searchable(" du ", "lu"));
        assert!(searchable("", "Zoé"));
        assert!(searchable("dup", "l"));
    }
}
