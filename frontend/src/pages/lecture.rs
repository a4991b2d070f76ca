//! Reading an envelope (manual part 3 §3): De, À, CC, Objet, "Envoyé le …", the message
//! (rebuilt from the pane's allowlist), the attachments (download on click), the "Moteur
//! de cryptage", the retention note and the events; "Répondre", "Répondre à tous",
//! "Transférer", "Supprimer", "Restaurer", "Supprimer définitivement". What the answers
//! put in the new message is decided by `crate::lecture`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{EnvelopeView, Me};

use crate::api::{self, ApiError};
use crate::components::feedback::FieldError;
use crate::compose::format_size;
use crate::lecture::{self, Answer};
use crate::office::ComposePrefill;
use crate::session::Auth;

/// The message body as HTML safe to put in the page.
fn safe(html: &str) -> String {
    crate::safe_html::safe_html(html)
}

#[component]
pub fn Lecture(
    /// The envelope's reference.
    reference: String,
    me: RwSignal<Option<Me>>,
    /// The lists' notice line: says what a folder action did once back on the list.
    notice: RwSignal<Option<String>>,
    /// "← Retour à la liste", and after a folder action.
    on_back: Callback<()>,
    /// Starts a new message prefilled (answers and forwards).
    on_compose: Callback<ComposePrefill>,
    /// The session ended on the server: back to "Connexion".
    on_session_lost: Callback<()>,
) -> impl IntoView {
    let view_data = RwSignal::new(None::<Result<EnvelopeView, ApiError>>);
    let action_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let auth = expect_context::<Auth>();
    let body_ref = NodeRef::<leptos::html::Div>::new();
    // The body's colours, once it is in the page.
    Effect::new(move |_| {
        view_data.track();
        if let Some(div) = body_ref.get() {
            crate::safe_html::apply_styles(&div);
        }
    });

    let lost = move |e: &ApiError| {
        if e.code.starts_with("session_") {
            on_session_lost.run(());
            true
        } else {
            false
        }
    };

    // The first opening by a recipient is recorded by the server.
    let opened = reference.clone();
    spawn_local(async move {
        let result = auth
            .call(|c| {
                let r = opened.clone();
                async move { api::open_envelope(&c, &r).await }
            })
            .await;
        if let Err(e) = &result
            && lost(e)
        {
            return;
        }
        view_data.set(Some(result));
        // The subject (or why it cannot be read), at the top, focused.
        crate::focus::show("reading-subject");
    });
    let reference = StoredValue::new(reference);

    // Folder actions on the envelope being read; back to the list afterwards.
    let act = move |action: &'static str| {
        let reference = reference.get_value();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        action_error.set(None);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let r = reference.clone();
                    async move {
                        match action {
                            "remove" => api::remove_envelope(&c, &r).await,
                            other => api::envelope_action(&c, &r, other).await,
                        }
                    }
                })
                .await;
            busy.set(false);
            match result {
                Ok(()) => {
                    notice.set(Some(
                        match action {
                            "delete" => "Le message a été déplacé dans « Messages supprimés ».",
                            "restore" => "Le message a été restauré.",
                            _ => "Le message a été supprimé définitivement.",
                        }
                        .to_owned(),
                    ));
                    on_back.run(());
                }
                Err(e) if lost(&e) => {}
                Err(e) => action_error.set(Some(e.message)),
            }
        });
    };

    let answer = move |kind: Answer| {
        let Some(Ok(v)) = view_data.get_untracked() else {
            return;
        };
        let mine = me
            .get_untracked()
            .and_then(|m| m.mailbox)
            .unwrap_or_default();
        let (to, cc) = lecture::answer_recipients(kind, &v, &mine);
        let forward = (kind == Answer::Forward && !v.attachments.is_empty()).then(|| {
            crate::office::Carried {
                reference: v.reference.clone(),
                files: v
                    .attachments
                    .iter()
                    .map(|a| (a.id.clone(), a.name.clone(), a.size))
                    .collect(),
            }
        });
        on_compose.run(ComposePrefill {
            to,
            cc,
            subject: lecture::answer_subject(kind, &v.subject),
            body_html: lecture::quoted_original(&v, &safe(&v.body_html)),
            forward,
            thread: Some(v.reference.clone()),
        });
    };

    let download = move |id: String, name: String| {
        let reference = reference.get_value();
        action_error.set(None);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let (r, i, n) = (reference.clone(), id.clone(), name.clone());
                    async move { api::download_attachment(&c, &r, &i, &n).await }
                })
                .await;
            match result {
                Ok(()) => {
                    // The download is an event of the envelope: show the list as it is now.
                    let fresh = auth
                        .call(|c| {
                            let r = reference.clone();
                            async move { api::open_envelope(&c, &r).await }
                        })
                        .await;
                    if let Ok(fresh) = fresh {
                        view_data.update(|v| {
                            if let Some(Ok(v)) = v {
                                v.events = fresh.events;
                            }
                        });
                    }
                }
                Err(e) if lost(&e) => {}
                Err(e) => action_error.set(Some(e.message)),
            }
        });
    };

    view! {
        <article class="card lecture" id="reading" aria-labelledby="reading-subject">
            <button type="button" class="secondary" id="back-to-list" on:click=move |_| on_back.run(())>"← Retour à la liste"</button>
            {move || match view_data.get() {
                None => view! { <p aria-busy="true">"Ouverture de l'enveloppe…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <h2 id="reading-subject">"Enveloppe indisponible"</h2>
                    <p class="field-error" id="reading-error" role="alert">{e.message}</p>
                }.into_any(),
                Some(Ok(v)) => {
                    let sender = match &v.sender_name {
                        Some(n) if !n.trim().is_empty() => format!("{n} ({})", v.sender),
                        _ => v.sender.clone(),
                    };
                    let body = safe(&v.body_html);
                    let reference = v.reference.clone();
                    let deleted = v.deleted;
                    let kept = v.kept_until.get(..10).map(|d| {
                        let parts: Vec<&str> = d.split('-').collect();
                        if parts.len() == 3 { format!("{}/{}/{}", parts[2], parts[1], parts[0]) } else { d.to_owned() }
                    }).unwrap_or_default();
                    view! {
                        <h2 id="reading-subject">{v.subject.clone()}</h2>
                        // The actions at the top, as in the manual (part 3 §4.3).
                        <FieldError id="reading-action-error" error=action_error/>
                        <div class="actions" role="group" aria-label="Actions">
                            <button type="button" class="primary" id="reply" on:click=move |_| answer(Answer::Reply)>"Répondre"</button>
                            <button type="button" class="secondary" id="reply-all" on:click=move |_| answer(Answer::ReplyAll)>"Répondre à tous"</button>
                            <button type="button" class="secondary" id="forward" on:click=move |_| answer(Answer::Forward)>"Transférer"</button>
                            <button type="button" class="secondary" id="print" on:click=move |_| { let _ = window().print(); }>"Imprimer"</button>
                            {if deleted {
                                view! {
                                    <button type="button" class="secondary" id="restore" disabled=move || busy.get() on:click=move |_| act("restore")>"Restaurer"</button>
                                    <button type="button" class="danger" id="remove" disabled=move || busy.get() on:click=move |_| act("remove")>"Supprimer définitivement"</button>
                                }.into_any()
                            } else {
                                view! {
                                    <button type="button" class="secondary" id="delete" disabled=move || busy.get() on:click=move |_| act("delete")>"Supprimer"</button>
                                }.into_any()
                            }}
                        </div>
                        {move_to(v.reference.clone(), notice, on_back)}
                        <dl class="headers">
                            <dt>"De"</dt><dd id="reading-from">{sender}</dd>
                            <dt>"Destinataires"</dt><dd id="reading-recipients">{if v.recipients_named.is_empty() {
                                v.to.iter().chain(v.cc.iter()).cloned().collect::<Vec<_>>().join("; ")
                            } else {
                                v.recipients_named.join("; ")
                            }}</dd>
                        </dl>
                        <p id="reading-date" class="hint">{format!("Envoyé le {}", v.sent_on)}</p>
                        {v.in_reply_to.clone().map(|r| view! {
                            <p class="hint"><a id="reading-thread" href=format!("#/inbox/open/{r}")>"En réponse à un message précédent"</a></p>
                        })}
                        <div id="reading-body" class="message-body" inner_html=body node_ref=body_ref></div>
                        {(!v.attachments.is_empty()).then(|| view! {
                            <h3>"Pièces jointes"</h3>
                            <ul class="files" id="reading-attachments">
                                {v.attachments.iter().map(|a| {
                                    let (id, name) = (a.id.clone(), a.name.clone());
                                    view! {
                                        <li class="file">
                                            <button type="button" class="link attachment-download" data-id=a.id.clone()
                                                title=format!("Télécharger ({})", a.content_type)
                                                on:click=move |_| download(id.clone(), name.clone())>{a.name.clone()}</button>
                                            " "
                                            <span class="file-size">{format_size(a.size)}</span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        })}
                        // The engine's name; the technical detail in the tooltip.
                        <p id="reading-engine" class="hint" title=v.engine.clone()>{format!(
                            "Moteur de cryptage : {}",
                            v.engine.split([' ', ';']).next().unwrap_or(&v.engine)
                        )}</p>
                        <p id="reading-retention" class="hint">
                            {format!("Ce message sera conservé pendant {} mois sur le serveur Medimail (jusqu'au {kept}).", medimail_api::retention::KEPT_MONTHS)}
                        </p>
                        <h3>"Événements"</h3>
                        <ul class="events" id="reading-events" data-reference=reference>
                            {v.events.iter().map(|e| view! {
                                <li class="event" data-kind=e.kind.clone()>
                                    <span class="event-what">{lecture::event_label(e)}</span>
                                    " — "
                                    <span class="event-when">{e.when.clone()}</span>
                                    " — "
                                    <span class="event-who">{e.actor.clone()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                        {(v.events_total > v.events.len() as u64).then(|| view! {
                            <p id="reading-events-more" class="hint">{format!(
                                "Et {} autres événements, non affichés.",
                                v.events_total - v.events.len() as u64
                            )}</p>
                        })}
                    }.into_any()
                }
            }}
        </article>
    }
}

/// « Déplacer vers » (webmail): the message being read, filed in a folder; back to the
/// list, which says so.
#[cfg(feature = "webmail")]
fn move_to(
    reference: String,
    notice: RwSignal<Option<String>>,
    on_back: Callback<()>,
) -> impl IntoView {
    use medimail_api::Folder;
    let auth = expect_context::<Auth>();
    let tree = RwSignal::new(Vec::new());
    spawn_local(async move {
        if let Ok(t) = auth.call(|c| async move { api::folders(&c).await }).await {
            tree.set(t.folders);
        }
    });
    view! {
        <crate::pages::dossiers::MoveTo id="reading-move" references=Signal::stored(vec![reference])
            tree=tree.into() roots=Signal::stored(Folder::ALL.to_vec())
            on_moved=Callback::new(move |said| {
                notice.set(Some(said));
                on_back.run(());
            })/>
    }
}

/// The pane leaves « Déplacer vers » out until its size budget has room.
#[cfg(not(feature = "webmail"))]
fn move_to(_: String, _: RwSignal<Option<String>>, _: Callback<()>) -> impl IntoView {}
