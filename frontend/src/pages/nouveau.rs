//! "Nouveau message" (manual part 3 §4): De, À and CC as removable chips, Objet, the
//! formatted Message, optional "Conditions d'ouverture", up to 5 files with the gauge
//! "Total : … Mo / 25 Mo" and the count "n/5", and "Envoyer" with upload progress.
//! A failure keeps everything typed and attached; a success clears the form. "Annuaire"
//! opens the directory (`annuaire.rs`) whose contacts go to "À" or "CC".

use std::rc::Rc;

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{EnvelopeDraft, Me, limits};
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError};
use crate::components::busy_button::BusyButton;
use crate::components::feedback::{FieldError, Notice};
use crate::components::gauge::FileGauge;
use crate::components::recipients::{Chips, commit, invalid_address};
use crate::compose::{check_files, format_size, pick_files, progress_text};
use crate::session::Auth;

fn exec(command: &str, value: Option<&str>) {
    if let Some(doc) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
    {
        // Colours as `<span style>` (kept by the server's allowlist), not `<font>`; bold,
        // italic… as their tags.
        let css = if matches!(command, "foreColor" | "hiliteColor") {
            "true"
        } else {
            "false"
        };
        let _ = doc.exec_command_with_show_ui_and_value("styleWithCSS", false, css);
        let _ = doc.exec_command_with_show_ui_and_value(command, false, value.unwrap_or(""));
    }
}

/// ISO 8601 (UTC) of a `datetime-local` value, read in the browser's time zone.
fn to_rfc3339(local: &str) -> Option<String> {
    if local.trim().is_empty() {
        return None;
    }
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(local));
    if date.get_time().is_nan() {
        return None;
    }
    date.to_iso_string().as_string()
}

/// The `datetime-local` value of an RFC 3339 date, in the browser's time zone.
fn to_local(rfc3339: &str) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    if d.get_time().is_nan() {
        return String::new();
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// « Conditions d'ouverture » as sent: both dates in RFC 3339, or none when unticked.
fn opening_window(
    opening: RwSignal<bool>,
    from: RwSignal<String>,
    until: RwSignal<String>,
) -> (Option<String>, Option<String>) {
    if opening.get_untracked() {
        (
            to_rfc3339(&from.get_untracked()),
            to_rfc3339(&until.get_untracked()),
        )
    } else {
        (None, None)
    }
}

/// The browser's own dialog (keyboard and screen reader ready).
pub(crate) fn ask(message: &str) -> bool {
    window().confirm_with_message(message).unwrap_or(true)
}

#[component]
pub fn Compose(
    me: RwSignal<Option<Me>>,
    on_close: Callback<()>,
    /// Recipients and subject of the Outlook message being composed, if any.
    #[prop(optional)]
    prefill: Option<crate::office::ComposePrefill>,
) -> impl IntoView {
    let prefill = prefill.unwrap_or_default();
    let to = RwSignal::new(
        prefill
            .to
            .iter()
            .map(|a| crate::text::lower(a))
            .collect::<Vec<_>>(),
    );
    let cc = RwSignal::new(
        prefill
            .cc
            .iter()
            .map(|a| crate::text::lower(a))
            .collect::<Vec<_>>(),
    );
    let to_typed = RwSignal::new(String::new());
    let directory_open = RwSignal::new(false);
    let cc_typed = RwSignal::new(String::new());
    let subject = RwSignal::new(prefill.subject.clone());
    let opening = RwSignal::new(false);
    let opens_from = RwSignal::new(String::new());
    let opens_until = RwSignal::new(String::new());
    let files = StoredValue::new_local(Vec::<web_sys::File>::new());
    let listed = RwSignal::new(Vec::<(String, u64)>::new());
    // "Transférer": the original's files, carried over by the server (id, name, size).
    let carried_from = prefill.forward.as_ref().map(|c| c.reference.clone());
    let thread = prefill.thread.clone();
    let draft_thread = thread.clone();
    // A new screen starts at its first field to fill: "À", or the message of an answer.
    crate::focus::show(if to.get_untracked().is_empty() {
        "compose-to"
    } else {
        "compose-body"
    });
    let carried = RwSignal::new(
        prefill
            .forward
            .as_ref()
            .map(|c| c.files.clone())
            .unwrap_or_default(),
    );
    let initial_body = prefill.body_html.clone();
    // The form as it opened (or as "Envoyer" left it): leaving it unchanged asks nothing.
    let initial = StoredValue::new((
        to.get_untracked(),
        cc.get_untracked(),
        prefill.subject.clone(),
    ));
    let baseline = StoredValue::new(None::<String>);
    let progress = RwSignal::new(None::<f64>);
    // The last "Envoyer" not known to have succeeded: its idempotency key and what it sent.
    let attempt = StoredValue::new(None::<(String, String)>);
    let notice = RwSignal::new(None::<String>);
    let errors = [(); 7].map(|_| RwSignal::new(None::<String>));
    let [
        to_error,
        cc_error,
        subject_error,
        body_error,
        files_error,
        opening_error,
        form_error,
    ] = errors;
    let body_ref = NodeRef::<html::Div>::new();
    let file_input = NodeRef::<html::Input>::new();
    // An answer starts with the quoted original (already made safe by the pane).
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        match body_ref.get() {
            Some(div) => {
                if !initial_body.is_empty() {
                    div.set_inner_html(&initial_body);
                    crate::safe_html::apply_styles(&div);
                }
                true
            }
            None => false,
        }
    });
    // Every file of the message: carried ones first, then the added ones.
    let all_sizes = move || {
        let mut sizes: Vec<(String, u64)> = carried
            .get_untracked()
            .into_iter()
            .map(|(_, name, size)| (name, size))
            .collect();
        sizes.extend(listed.get_untracked());
        sizes
    };

    let clear_errors = move || errors.iter().for_each(|e| e.set(None));
    let show = move |e: ApiError| {
        clear_errors();
        let target = match e.field.as_deref() {
            Some("to") => to_error,
            Some("cc") => cc_error,
            Some("subject") => subject_error,
            Some("body") => body_error,
            Some("attachments") => files_error,
            Some("opening") => opening_error,
            _ => form_error,
        };
        target.set(Some(e.message));
    };

    let add_files = move |_| {
        let Some(input) = file_input.get() else {
            return;
        };
        let Some(list) = input.files() else { return };
        let picked: Vec<_> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        let picked_sizes: Vec<(String, u64)> =
            picked.iter().map(|f| (f.name(), f.size() as u64)).collect();
        input.set_value("");
        // Each file joins while the limits allow; the others are named, with why.
        let (kept, message) = pick_files(&all_sizes(), &picked_sizes);
        let mut current = files.get_value();
        let mut sizes = listed.get_untracked();
        for i in kept {
            sizes.push(picked_sizes[i].clone());
            current.push(picked[i].clone());
        }
        files.set_value(current);
        listed.set(sizes);
        files_error.set(message);
    };
    let remove_file = move |index: usize| {
        files.update_value(|f| {
            if index < f.len() {
                f.remove(index);
            }
        });
        listed.update(|l| {
            if index < l.len() {
                l.remove(index);
            }
        });
        files_error.set(None);
    };

    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if progress.get_untracked().is_some() {
            return;
        }
        clear_errors();
        notice.set(None);
        // Every field is checked: each error under its field, the first one focused.
        let mut first: Option<&'static str> = None;
        let mut refuse = |field: &'static str, error: RwSignal<Option<String>>, message: String| {
            error.set(Some(message));
            first.get_or_insert(field);
        };
        if let Some(bad) = commit(to_typed, to) {
            refuse("compose-to", to_error, invalid_address(&bad));
        } else if to.get_untracked().is_empty() {
            refuse(
                "compose-to",
                to_error,
                "Indiquez au moins un destinataire dans « À ».".to_owned(),
            );
        }
        if let Some(bad) = commit(cc_typed, cc) {
            refuse("compose-cc", cc_error, invalid_address(&bad));
        }
        if subject.get_untracked().trim().is_empty() {
            refuse(
                "compose-subject",
                subject_error,
                "Indiquez l'objet du message.".to_owned(),
            );
        }
        let body_html = body_ref.get().map(|d| d.inner_html()).unwrap_or_default();
        let has_text = body_ref
            .get()
            .and_then(|d| d.text_content())
            .is_some_and(|t| !t.replace('\u{a0}', " ").trim().is_empty())
            || body_html.contains("<img");
        if !has_text && all_sizes().is_empty() {
            refuse(
                "compose-body",
                body_error,
                "Votre message est vide : écrivez un texte ou joignez un fichier avant de \
                 cliquer sur « Envoyer »."
                    .to_owned(),
            );
        }
        if let Err(m) = check_files(&all_sizes()) {
            refuse("add-file", files_error, m);
        }
        if let Some(id) = first {
            if let Some(el) = document()
                .get_element_by_id(id)
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = el.focus();
            }
            return;
        }
        // Files and no text: asked once, as the user may have forgotten the message.
        if !has_text && !confirm_no_message() {
            crate::focus::show("compose-body");
            return;
        }
        let (from, until) = opening_window(opening, opens_from, opens_until);
        let draft = EnvelopeDraft {
            to: to.get_untracked(),
            cc: cc.get_untracked(),
            subject: subject.get_untracked(),
            body_html,
            opens_from: from,
            opens_until: until,
            forward: carried_from
                .clone()
                .filter(|_| !carried.get_untracked().is_empty())
                .map(|reference| medimail_api::ForwardedFiles {
                    reference,
                    attachments: carried
                        .get_untracked()
                        .into_iter()
                        .map(|(id, _, _)| id)
                        .collect(),
                }),
            in_reply_to: thread.clone(),
        };
        let chosen = files.get_value();
        // The same message sent again (its answer lost) carries the same key: the server
        // answers the envelope already sealed instead of sealing a second one. Anything
        // changed since is a new message, with a new key.
        // (Sizes as integers: formatting an f64 would add 10 KB to the pane.)
        let mut fingerprint = serde_json::to_string(&draft).unwrap_or_default();
        for f in &chosen {
            fingerprint.push('|');
            fingerprint.push_str(&f.name());
            fingerprint.push('|');
            fingerprint.push_str(&(f.size() as u64).to_string());
        }
        let key = match attempt.get_value() {
            Some((key, same)) if same == fingerprint => key,
            _ => crate::api::new_idempotency_key(),
        };
        attempt.set_value(Some((key.clone(), fingerprint)));
        let auth = expect_context::<Auth>();
        progress.set(Some(0.0));
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let draft = draft.clone();
                    let chosen = chosen.clone();
                    let key = key.clone();
                    let on_progress: Rc<dyn Fn(f64)> = Rc::new(move |p| progress.set(Some(p)));
                    async move { api::send_envelope(&c, &draft, &chosen, &key, on_progress).await }
                })
                .await;
            progress.set(None);
            match result {
                Ok(sealed) => {
                    attempt.set_value(None);
                    notice.set(Some(format!(
                        "Votre message « {} » a été scellé et envoyé à {} destinataire{}.",
                        draft.subject,
                        sealed.recipients,
                        if sealed.recipients > 1 { "s" } else { "" }
                    )));
                    // The confirmation, in view and read out.
                    crate::focus::show("compose-notice");
                    to.set(Vec::new());
                    cc.set(Vec::new());
                    subject.set(String::new());
                    opening.set(false);
                    opens_from.set(String::new());
                    opens_until.set(String::new());
                    files.set_value(Vec::new());
                    listed.set(Vec::new());
                    carried.set(Vec::new());
                    if let Some(div) = body_ref.get() {
                        div.set_inner_html("");
                    }
                    // Sent: the empty form is nothing to lose.
                    initial.set_value((Vec::new(), Vec::new(), String::new()));
                    baseline.set_value(Some(String::new()));
                }
                Err(e) => show(e),
            }
        });
    };

    let sender = move || {
        me.get()
            .map(|m| match (m.name, m.mailbox) {
                (Some(n), Some(a)) => format!("{n} ({a})"),
                (None, Some(a)) => a,
                (Some(n), None) => n,
                (None, None) => String::new(),
            })
            .unwrap_or_default()
    };
    let count = move || carried.get().len() + listed.get().len();
    let total = move || {
        carried.get().iter().map(|(_, _, s)| s).sum::<u64>()
            + listed.get().iter().map(|(_, s)| s).sum::<u64>()
    };
    let busy = move || progress.get().is_some();
    let full = move || busy() || count() >= limits::MAX_ATTACHMENTS;

    // What "Fermer", "Déconnexion" and closing the page ask about: anything written since
    // the screen opened (its recipients, subject, message, files).
    let auth_context = expect_context::<Auth>();
    Effect::new(move |_| {
        if let Some(d) = body_ref.get()
            && baseline.get_value().is_none()
        {
            baseline.set_value(Some(d.inner_html()));
        }
    });
    let dirty: std::rc::Rc<dyn Fn() -> bool> = std::rc::Rc::new(move || {
        let body = body_ref
            .get_untracked()
            .map(|d| d.inner_html())
            .unwrap_or_default();
        let (first_to, first_cc, first_subject) = initial.get_value();
        to.get_untracked() != first_to
            || cc.get_untracked() != first_cc
            || subject.get_untracked() != first_subject
            || !to_typed.get_untracked().trim().is_empty()
            || !cc_typed.get_untracked().trim().is_empty()
            || baseline.get_value().is_some_and(|b| b != body)
            || !files.get_value().is_empty()
    });
    auth_context.draft.set_value(Some(dirty.clone()));
    let leaving = window_event_listener(leptos::ev::beforeunload, move |e| {
        if dirty() {
            e.prevent_default();
        }
    });
    on_cleanup(move || {
        leaving.remove();
        auth_context.draft.set_value(None);
    });

    let draft_fields = DraftFields {
        to,
        cc,
        subject,
        body_ref,
        opening,
        opens_from,
        opens_until,
        thread: draft_thread,
        notice,
        error: form_error,
        initial,
        baseline,
    };

    view! {
        <section class="card compose" aria-labelledby="compose-titre">
            <h2 id="compose-titre">"Nouveau message"</h2>
            <Notice id="compose-notice" notice=notice/>
            <form on:submit=send novalidate
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    // Ctrl+Entrée (⌘+Entrée on a Mac) is « Envoyer », announced on the button.
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                        ev.prevent_default();
                        if let Some(button) = document()
                            .get_element_by_id("compose-send")
                            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                        {
                            button.click();
                        }
                    }
                }>
                // « Envoyer » at the top, as in the manual (part 3 §3).
                <div class="actions">
                    <BusyButton id="compose-send" submit=true class="primary" busy=Signal::derive(busy)
                        label="Envoyer" busy_label="Envoi en cours…"/>
                    <button id="compose-close" type="button" class="secondary" disabled=busy on:click=move |_| {
                        if expect_context::<Auth>().may_leave_draft() { on_close.run(()) }
                    }>
                        "Fermer"
                    </button>
                    <span class="hint" id="compose-send-keys">"Ctrl+Entrée pour envoyer"</span>
                </div>
                {draft_buttons(draft_fields)}
                <label for="compose-from">"De"</label>
                <input id="compose-from" type="text" readonly prop:value=sender/>
                <Chips id="compose-to" label="À" chips=to typed=to_typed error=to_error/>
                <Chips id="compose-cc" label="CC" chips=cc typed=cc_typed error=cc_error/>
                <button type="button" class="secondary" id="directory-toggle"
                    aria-expanded=move || directory_open.get().to_string()
                    aria-controls="directory"
                    on:click=move |_| directory_open.update(|o| *o = !*o)>
                    "Annuaire"
                </button>
                <Show when=move || directory_open.get()>
                    <crate::pages::annuaire::Annuaire me=me to=to cc=cc
                        on_close=Callback::new(move |_| {
                            directory_open.set(false);
                            if let Some(b) = document().get_element_by_id("directory-toggle")
                                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                            {
                                let _ = b.focus();
                            }
                        })/>
                </Show>
                <label for="compose-subject">"Objet"</label>
                <input id="compose-subject" type="text" maxlength="255"
                    placeholder="Saisissez l'objet de votre message"
                    prop:value=move || subject.get()
                    on:input=move |ev| subject.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        // Entrée goes on to the message; only « Envoyer » sends.
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            if let Some(body) = body_ref.get() {
                                let _ = body.focus();
                            }
                        }
                    }/>
                <FieldError id="compose-subject-error" error=subject_error/>
                <label id="compose-body-label">"Message"</label>
                <div class="toolbar" role="toolbar" aria-label="Mise en forme">
                    <button type="button" id="format-bold" title="Gras" on:mousedown=|ev| { ev.prevent_default(); exec("bold", None) }><b>"G"</b></button>
                    <button type="button" id="format-italic" title="Italique" on:mousedown=|ev| { ev.prevent_default(); exec("italic", None) }><i>"I"</i></button>
                    <button type="button" id="format-underline" title="Souligné" on:mousedown=|ev| { ev.prevent_default(); exec("underline", None) }><u>"S"</u></button>
                    <button type="button" id="format-strike" title="Barré" on:mousedown=|ev| { ev.prevent_default(); exec("strikeThrough", None) }><s>"B"</s></button>
                    <button type="button" id="format-color" title="Couleur du texte (rouge)" on:mousedown=|ev| { ev.prevent_default(); exec("foreColor", Some("#c00000")) }>"A"</button>
                    <button type="button" id="format-highlight" title="Surlignage (jaune)" on:mousedown=|ev| { ev.prevent_default(); exec("hiliteColor", Some("yellow")) }>"▮"</button>
                </div>
                <div id="compose-body" class="editor" contenteditable="true" role="textbox"
                    aria-multiline="true" aria-labelledby="compose-body-label" node_ref=body_ref></div>
                {signature_picker(body_ref, baseline)}
                <p class="hint">"La mise en forme est conservée sous forme de balises HTML."</p>
                <FieldError id="compose-body-error" error=body_error/>
                <label class="checkbox">
                    <input id="compose-opening" type="checkbox"
                        prop:checked=move || opening.get()
                        on:change=move |ev| opening.set(event_target_checked(&ev))/>
                    "Conditions d'ouverture"
                </label>
                <Show when=move || opening.get()>
                    <label for="compose-opens-from">"Ouvrable à partir du"</label>
                    <input id="compose-opens-from" type="datetime-local"
                        prop:value=move || opens_from.get()
                        on:input=move |ev| opens_from.set(event_target_value(&ev))/>
                    <label for="compose-opens-until">"Jusqu'au (3 mois au plus)"</label>
                    <input id="compose-opens-until" type="datetime-local"
                        prop:value=move || opens_until.get()
                        on:input=move |ev| opens_until.set(event_target_value(&ev))/>
                </Show>
                <FieldError id="compose-opening-error" error=opening_error/>
                <p class="attachments-label" id="attachments-label">"Pièces jointes :"</p>
                <div class="attachments" role="group" aria-labelledby="attachments-label">
                    // Reached through « Ajouter un fichier » only: no Tab stop of its own,
                    // no English name read out.
                    <input id="file-input" type="file" multiple class="visually-hidden"
                        tabindex="-1" aria-hidden="true"
                        node_ref=file_input on:change=add_files/>
                    <button type="button" class="secondary" id="add-file"
                        disabled=full
                        on:click=move |_| { if let Some(i) = file_input.get() { i.click() } }>
                        "Ajouter un fichier"
                    </button>
                    <FileGauge total=Signal::derive(total) count=Signal::derive(count)/>
                    <ul class="files">
                        {move || carried.get().into_iter().map(|(id, name, size)| {
                            let label = format!("Retirer {name}");
                            let shown_id = id.clone();
                            view! {
                                <li class="file carried" data-id=shown_id>
                                    <span class="file-name">{name}</span>
                                    " "
                                    <span class="file-size">{format_size(size)}</span>
                                    " "
                                    <span class="hint">"(message d'origine)"</span>
                                    <button type="button" class="file-remove" aria-label=label
                                        disabled=busy on:click=move |_| carried.update(|c| c.retain(|(i, _, _)| i != &id))>"×"</button>
                                </li>
                            }
                        }).collect_view()}
                        {move || listed.get().into_iter().enumerate().map(|(i, (name, size))| {
                            let label = format!("Retirer {name}");
                            view! {
                                <li class="file">
                                    <span class="file-name">{name}</span>
                                    " "
                                    <span class="file-size">{format_size(size)}</span>
                                    <button type="button" class="file-remove" aria-label=label
                                        disabled=busy on:click=move |_| remove_file(i)>"×"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <FieldError id="compose-files-error" error=files_error/>
                </div>
                {move || progress.get().map(|p| view! {
                    <progress id="upload-progress" max="100" prop:value=p * 100.0>{progress_text(p)}</progress>
                })}
                <FieldError id="compose-form-error" error=form_error/>
            </form>
        </section>
    }
}

/// What « Sauvegarder » reads and « Récupérer » fills.
#[derive(Clone)]
pub struct DraftFields {
    to: RwSignal<Vec<String>>,
    cc: RwSignal<Vec<String>>,
    subject: RwSignal<String>,
    body_ref: NodeRef<html::Div>,
    opening: RwSignal<bool>,
    opens_from: RwSignal<String>,
    opens_until: RwSignal<String>,
    thread: Option<String>,
    notice: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    initial: StoredValue<(Vec<String>, Vec<String>, String)>,
    baseline: StoredValue<Option<String>>,
}

/// « Mes signatures », in the webmail; the pane leaves it out (its size budget).
#[cfg(feature = "webmail")]
fn signature_picker(
    body: NodeRef<html::Div>,
    baseline: StoredValue<Option<String>>,
) -> impl IntoView {
    crate::components::signatures::picker(body, baseline)
}

#[cfg(not(feature = "webmail"))]
fn signature_picker(_: NodeRef<html::Div>, _: StoredValue<Option<String>>) -> impl IntoView {}

/// « Sauvegarder », « Récupérer », « Supprimer » (manual part 1 §4.1).
fn draft_buttons(fields: DraftFields) -> impl IntoView {
    let DraftFields {
        to,
        cc,
        subject,
        body_ref,
        opening,
        opens_from,
        opens_until,
        thread,
        notice,
        error: form_error,
        initial,
        baseline,
    } = fields;
    // « Sauvegarder », « Récupérer », « Supprimer » (manual part 1 §4.1): one draft per
    // account, without its files; the last two only when a draft is saved.
    let has_draft = RwSignal::new(false);
    let drafting = RwSignal::new(false);
    let creds = expect_context::<Auth>().credentials;
    let credentials = move || creds.get_untracked();
    spawn_local(async move {
        if let Some(c) = credentials() {
            has_draft.set(api::draft(&c, None).await.is_ok());
        }
    });
    let save_draft = move |_| {
        if drafting.get_untracked()
            || has_draft.get_untracked()
                && !ask(
                    "Un seul brouillon peut être sauvé à la fois : cette sauvegarde \
                     remplacera le brouillon précédent. Continuer ?",
                )
        {
            return;
        }
        let (from, until) = opening_window(opening, opens_from, opens_until);
        let draft = EnvelopeDraft {
            to: to.get_untracked(),
            cc: cc.get_untracked(),
            subject: subject.get_untracked(),
            body_html: body_ref.get().map(|d| d.inner_html()).unwrap_or_default(),
            opens_from: from,
            opens_until: until,
            forward: None,
            in_reply_to: thread.clone(),
        };
        drafting.set(true);
        spawn_local(async move {
            if let Some(c) = credentials() {
                match api::draft(&c, Some(&draft)).await {
                    Ok(saved) => {
                        has_draft.set(true);
                        // Saved: leaving now loses nothing but the files.
                        initial.set_value((
                            to.get_untracked(),
                            cc.get_untracked(),
                            subject.get_untracked(),
                        ));
                        baseline.set_value(body_ref.get_untracked().map(|d| d.inner_html()));
                        notice.set(Some(format!(
                            "Brouillon sauvegardé ({}). La sauvegarde n'inclut pas les pièces \
                             jointes : ajoutez-les avant d'envoyer le message.",
                            api::draft_field(&saved, "saved_on").unwrap_or_default()
                        )));
                    }
                    Err(e) => form_error.set(Some(e.message)),
                }
            }
            drafting.set(false);
        });
    };
    let recover_draft = move |_| {
        drafting.set(true);
        spawn_local(async move {
            if let Some(c) = credentials() {
                match api::draft(&c, None).await {
                    Ok(saved) => {
                        let d = js_sys::Reflect::get(&saved, &"draft".into()).unwrap_or_default();
                        to.set(api::draft_list(&d, "to"));
                        cc.set(api::draft_list(&d, "cc"));
                        subject.set(api::draft_field(&d, "subject").unwrap_or_default());
                        if let Some(div) = body_ref.get() {
                            div.set_inner_html(
                                &api::draft_field(&d, "body_html").unwrap_or_default(),
                            );
                            crate::safe_html::apply_styles(&div);
                        }
                        let from = api::draft_field(&d, "opens_from");
                        let until = api::draft_field(&d, "opens_until");
                        opening.set(from.is_some() || until.is_some());
                        opens_from.set(from.as_deref().map(to_local).unwrap_or_default());
                        opens_until.set(until.as_deref().map(to_local).unwrap_or_default());
                        notice.set(Some(format!(
                            "Brouillon du {} récupéré. Ajoutez les pièces jointes avant d'envoyer.",
                            api::draft_field(&saved, "saved_on").unwrap_or_default()
                        )));
                    }
                    Err(e) => form_error.set(Some(e.message)),
                }
            }
            drafting.set(false);
        });
    };
    let delete_draft = move |_| {
        if !ask("Supprimer le brouillon sauvegardé ?") {
            return;
        }
        spawn_local(async move {
            if let Some(c) = credentials()
                && api::delete_draft(&c).await.is_ok()
            {
                has_draft.set(false);
                notice.set(Some("Brouillon supprimé.".to_owned()));
            }
        });
    };

    view! {
        <div class="actions">
            <button id="draft-save" type="button" class="secondary"
                disabled=move || drafting.get() on:click=save_draft>"Sauvegarder"</button>
            {move || has_draft.get().then(|| view! {
                <button id="draft-recover" type="button" class="secondary"
                    disabled=move || drafting.get() on:click=recover_draft>"Récupérer"</button>
                <button id="draft-delete" type="button" class="secondary"
                    on:click=delete_draft>"Supprimer"</button>
            })}
        </div>
    }
}

/// "Envoyer sans message ?" (files joined, no text).
fn confirm_no_message() -> bool {
    ask("Envoyer sans message ? L'enveloppe ne contiendra que les pièces jointes.")
}
