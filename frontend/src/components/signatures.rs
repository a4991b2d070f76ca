//! « Paramètres du compte » › « Signature de mail » (manual part 1 §6.5), in the webmail:
//! the account's signatures listed by name, each with « Modifier » and « Supprimer »;
//! « Créer une signature » opens the form (its name, the text with the compose
//! toolbar's formatting, and « Insérer automatiquement cette signature dans chaque
//! nouveau message »). « Mes signatures » in Nouveau message inserts one.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{Signature, SignatureRequest};

use crate::api;
use crate::components::busy_button::BusyButton;
use crate::components::feedback::FieldError;
use crate::session::Auth;

/// The form: the signature modified (`None`: a new one), or closed.
#[derive(Clone, Debug, PartialEq)]
enum Editing {
    Closed,
    New,
    Existing(Signature),
}

#[component]
pub fn Signatures() -> impl IntoView {
    let list = RwSignal::new(None::<Result<Vec<Signature>, String>>);
    let editing = RwSignal::new(Editing::Closed);
    let name = RwSignal::new(String::new());
    let default = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let editor = NodeRef::<html::Div>::new();
    // Taken now: the handlers below also run after an `await`, outside any owner.
    let auth = expect_context::<Auth>();
    let reload = move || {
        spawn_local(async move {
            let answer = auth
                .call(|c| async move { api::signatures(&c).await })
                .await;
            list.try_set(Some(answer.map_err(|e| e.message)));
        });
    };
    let load = move |ev: leptos::ev::Event| {
        let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
        if open && list.with_untracked(Option::is_none) {
            reload();
        }
    };
    // The editor shows the signature being modified (empty for a new one).
    Effect::new(move |_| {
        let shown = editing.get();
        if let Some(div) = editor.get() {
            match &shown {
                Editing::Existing(s) => {
                    div.set_inner_html(&s.body_html);
                    crate::safe_html::apply_styles(&div);
                }
                _ => div.set_inner_html(""),
            }
        }
    });
    let open_form = move |what: Editing| {
        match &what {
            Editing::Existing(s) => {
                name.set(s.name.clone());
                default.set(s.default);
            }
            _ => {
                name.set(String::new());
                default.set(false);
            }
        }
        error.set(None);
        notice.set(None);
        editing.set(what);
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let id = match editing.get_untracked() {
            Editing::Existing(s) => Some(s.id),
            Editing::New => None,
            Editing::Closed => return,
        };
        let request = SignatureRequest {
            name: name.get_untracked(),
            body_html: editor
                .get_untracked()
                .map(|d| d.inner_html())
                .unwrap_or_default(),
            default: default.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let answer = auth
                .call(|c| {
                    let (id, request) = (id.clone(), request.clone());
                    async move { api::save_signature(&c, id, request).await }
                })
                .await;
            busy.try_set(false);
            match answer {
                Ok(saved) => {
                    editing.try_set(Editing::Closed);
                    notice.try_set(Some(format!(
                        "La signature « {} » est enregistrée.",
                        saved.name
                    )));
                    reload();
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    let remove = move |s: Signature| {
        if !crate::pages::nouveau::ask(&format!("Supprimer la signature « {} » ?", s.name)) {
            return;
        }
        spawn_local(async move {
            let answer = auth
                .call(|c| {
                    let id = s.id.clone();
                    async move { api::delete_signature(&c, id).await }
                })
                .await;
            match answer {
                Ok(()) => {
                    notice.try_set(Some(format!("La signature « {} » est supprimée.", s.name)));
                    reload();
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    let listed = move || {
        list.get().map(|l| match l {
            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            Ok(items) if items.is_empty() => {
                view! { <p class="hint" id="signatures-none">"Aucune signature."</p> }.into_any()
            }
            Ok(items) => view! {
                <ul id="signatures-list" class="signatures">
                    {items.into_iter().map(|s| {
                        let (edit, gone) = (s.clone(), s.clone());
                        view! {
                            <li class="signature" data-name=s.name.clone()>
                                <span class="signature-name">{s.name.clone()}</span>
                                {s.default.then(|| view! { <span class="hint">" (par défaut)"</span> })}
                                <button type="button" class="secondary signature-modify"
                                    on:click=move |_| open_form(Editing::Existing(edit.clone()))>"Modifier"</button>
                                <button type="button" class="secondary signature-delete"
                                    on:click=move |_| remove(gone.clone())>"Supprimer"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any(),
        })
    };
    view! {
        <details id="signature-de-mail" on:toggle=load>
            <summary>"Signature de mail"</summary>
            {move || list.with(Option::is_none).then(|| view! { <p class="hint" role="status">"Chargement…"</p> })}
            {listed}
            {move || notice.get().map(|m| view! { <p class="notice" id="signature-saved" role="status">{m}</p> })}
            <Show when=move || editing.get() == Editing::Closed>
                <button type="button" class="secondary" id="signature-new"
                    on:click=move |_| open_form(Editing::New)>"Créer une signature"</button>
            </Show>
            <form id="signature-form" on:submit=save novalidate
                hidden=move || editing.get() == Editing::Closed>
                <label for="signature-name">"Nom de la signature"</label>
                <input id="signature-name" type="text" maxlength="60"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))/>
                <label id="signature-body-label">"Signature"</label>
                <div id="signature-body" class="editor" contenteditable="true" role="textbox"
                    aria-multiline="true" aria-labelledby="signature-body-label" node_ref=editor></div>
                <p class="hint">"Gras (Ctrl+B), italique (Ctrl+I) et souligné (Ctrl+U) sont conservés, comme dans un message."</p>
                <label class="checkbox">
                    <input id="signature-default" type="checkbox"
                        prop:checked=move || default.get()
                        on:change=move |ev| default.set(event_target_checked(&ev))/>
                    "Insérer automatiquement cette signature dans chaque nouveau message"
                </label>
                <FieldError id="signature-error" error=error/>
                <BusyButton id="signature-save" submit=true class="primary" busy=busy.into()
                    label="Enregistrer" busy_label="Enregistrement…"/>
                <button type="button" class="secondary" id="signature-cancel"
                    on:click=move |_| editing.set(Editing::Closed)>"Annuler"</button>
            </form>
        </details>
    }
}

/// « Mes signatures » in Nouveau message: inserts the one chosen at the end of the
/// message; the default one, if any, goes in at the top when the screen opens (above a
/// quoted original), and the screen still counts as untouched.
pub fn picker(body: NodeRef<html::Div>, baseline: StoredValue<Option<String>>) -> impl IntoView {
    let mine = RwSignal::new(Vec::<Signature>::new());
    let auth = expect_context::<Auth>();
    spawn_local(async move {
        let Ok(list) = auth
            .call(|c| async move { api::signatures(&c).await })
            .await
        else {
            return;
        };
        if let Some(default) = list.iter().find(|s| s.default)
            && let Some(div) = body.get_untracked()
        {
            let _ = div
                .insert_adjacent_html("afterbegin", &format!("<p><br></p>{}", default.body_html));
            crate::safe_html::apply_styles(&div);
            baseline.set_value(Some(div.inner_html()));
        }
        mine.try_set(list);
    });
    let insert = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        let Some(s) = mine.with_untracked(|l| l.iter().find(|s| s.id == chosen).cloned()) else {
            return;
        };
        if let Some(div) = body.get_untracked() {
            let _ = div.insert_adjacent_html("beforeend", &s.body_html);
            crate::safe_html::apply_styles(&div);
        }
        // Back to « Mes signatures », so that the same one can be inserted again.
        event_target::<web_sys::HtmlSelectElement>(&ev).set_value("");
    };
    move || {
        (!mine.with(Vec::is_empty)).then(|| {
            view! {
                <label for="compose-signature" class="visually-hidden">"Mes signatures"</label>
                <select id="compose-signature" on:change=insert>
                    <option value="">"Mes signatures"</option>
                    {mine.get().into_iter().map(|s| view! { <option value=s.id>{s.name}</option> }).collect_view()}
                </select>
            }
        })
    }
}
