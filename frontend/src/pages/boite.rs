//! The signed-in mailbox (manual part 3 §2 and §3): "Messages reçus", "Messages
//! envoyés", "Messages supprimés" (Titre, Expéditeur, Date, unread and attachment
//! markers, 50 a page, search by title or sender), and the reading screen: De, À, CC,
//! Objet, "Envoyé le …", the message (rebuilt from the pane's allowlist), the attachments
//! (download on click), the "Moteur de cryptage", the retention note and the events;
//! "Répondre", "Répondre à tous", "Transférer", "Supprimer", "Restaurer", "Supprimer
//! définitivement".

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{EnvelopeList, EnvelopeView, Me};

use crate::api::{self, ApiError};
use crate::compose::format_size;
use crate::lecture::{self, Answer};
use crate::office::ComposePrefill;
use crate::session::Auth;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    Inbox,
    Sent,
    Deleted,
}

impl Folder {
    fn code(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox",
            Folder::Sent => "sent",
            Folder::Deleted => "deleted",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Folder::Inbox => "Messages reçus",
            Folder::Sent => "Messages envoyés",
            Folder::Deleted => "Messages supprimés",
        }
    }
}

/// The message body as HTML safe to put in the page.
fn safe(html: &str) -> String {
    crate::safe_html::safe_html(html)
}

#[component]
pub fn Boite(
    me: RwSignal<Option<Me>>,
    /// An envelope to open (from the notification's link or the selected Outlook mail).
    reading: RwSignal<Option<String>>,
    /// Starts a new message prefilled (answers and forwards).
    on_compose: Callback<ComposePrefill>,
    /// The session ended on the server: back to "Connexion".
    on_session_lost: Callback<()>,
) -> impl IntoView {
    let folder = RwSignal::new(Folder::Inbox);
    let page = RwSignal::new(1u64);
    let query = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let list = RwSignal::new(None::<Result<EnvelopeList, ApiError>>);
    let loading = RwSignal::new(false);
    let view_data = RwSignal::new(None::<Result<EnvelopeView, ApiError>>);
    let notice = RwSignal::new(None::<String>);
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

    let load_list = move || {
        let (f, p, q) = (
            folder.get_untracked(),
            page.get_untracked(),
            query.get_untracked(),
        );
        loading.set(true);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let q = q.clone();
                    async move { api::list_envelopes(&c, f.code(), p, &q).await }
                })
                .await;
            if let Err(e) = &result
                && lost(e)
            {
                return;
            }
            list.set(Some(result));
            loading.set(false);
        });
    };

    // The list follows the folder, page and search; the reading screen its reference.
    Effect::new(move |_| {
        folder.track();
        page.track();
        query.track();
        if reading.get().is_none() {
            load_list();
        }
    });
    Effect::new(move |_| {
        let Some(reference) = reading.get() else {
            return;
        };
        view_data.set(None);
        action_error.set(None);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let r = reference.clone();
                    async move { api::open_envelope(&c, &r).await }
                })
                .await;
            if let Err(e) = &result
                && lost(e)
            {
                return;
            }
            view_data.set(Some(result));
        });
    });

    let choose = move |f: Folder| {
        notice.set(None);
        folder.set(f);
        page.set(1);
    };
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        page.set(1);
        query.set(typed.get_untracked().trim().to_owned());
    };
    let back = move || {
        reading.set(None);
        view_data.set(None);
    };

    // Folder actions on the envelope being read; back to the list afterwards.
    let act = move |action: &'static str| {
        let Some(reference) = reading.get_untracked() else {
            return;
        };
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
                    back();
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
        });
    };

    let download = move |id: String, name: String| {
        let Some(reference) = reading.get_untracked() else {
            return;
        };
        action_error.set(None);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let (r, i, n) = (reference.clone(), id.clone(), name.clone());
                    async move { api::download_attachment(&c, &r, &i, &n).await }
                })
                .await;
            match result {
                Ok(()) => {}
                Err(e) if lost(&e) => {}
                Err(e) => action_error.set(Some(e.message)),
            }
        });
    };

    let folders = move || {
        [Folder::Inbox, Folder::Sent, Folder::Deleted]
            .into_iter()
            .map(|f| {
                view! {
                    <button type="button" role="tab" id=format!("folder-{}", f.code())
                        class="folder" class:folder-current=move || folder.get() == f
                        aria-selected=move || (folder.get() == f).to_string()
                        on:click=move |_| choose(f)>
                        {f.label()}
                    </button>
                }
            })
            .collect_view()
    };

    let list_view = move || {
        view! {
            <section class="card boite" aria-labelledby="boite-titre">
                <h2 id="boite-titre" class="visually-hidden">"Messagerie"</h2>
                <nav class="folders" role="tablist" aria-label="Dossiers">{folders}</nav>
                {move || notice.get().map(|n| view! { <p class="notice" id="boite-notice" role="status">{n}</p> })}
                <form class="search" role="search" on:submit=search>
                    <label for="search" class="visually-hidden">"Rechercher par titre ou expéditeur"</label>
                    <input id="search" type="search" placeholder="Titre ou expéditeur"
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev))/>
                    <button type="submit" class="secondary" id="search-submit">"Rechercher"</button>
                </form>
                <div aria-live="polite" aria-busy=move || loading.get().to_string()>
                {move || match list.get() {
                    None => view! { <p>"Chargement…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="field-error" id="list-error" role="alert">{e.message}</p> }.into_any(),
                    Some(Ok(l)) if l.items.is_empty() => view! {
                        <p id="list-empty">{if query.get().is_empty() { "Aucun message." } else { "Aucun message ne correspond à votre recherche." }}</p>
                    }.into_any(),
                    Some(Ok(l)) => {
                        let pages = l.total.div_ceil(l.per_page.max(1)).max(1);
                        let current = l.page;
                        let capped = l.total_capped;
                        view! {
                            <p id="list-count" class="hint">{if capped { format!("Plus de {} messages", l.total) } else { format!("{} message{}", l.total, if l.total > 1 { "s" } else { "" }) }}</p>
                            <ul class="envelopes" id="envelope-list">
                                {l.items.into_iter().map(|item| {
                                    let reference = item.reference.clone();
                                    let who = item.sender_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or(item.sender.clone());
                                    let label = format!(
                                        "{}{}, de {}, le {}{}",
                                        if item.unread { "Non lu : " } else { "" },
                                        item.subject, who, item.date,
                                        if item.attachments > 0 { ", avec pièces jointes" } else { "" }
                                    );
                                    view! {
                                        <li class="envelope-row" class:unread=item.unread>
                                            <button type="button" class="envelope-open" aria-label=label
                                                data-reference=item.reference.clone()
                                                on:click=move |_| reading.set(Some(reference.clone()))>
                                                <span class="envelope-subject">{item.subject.clone()}</span>
                                                <span class="envelope-from">{who.clone()}</span>
                                                <span class="envelope-date">{item.date.clone()}</span>
                                                {(item.attachments > 0).then(|| view! { <span class="envelope-clip" aria-hidden="true">"📎"</span> })}
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {(pages > 1).then(|| view! {
                                <nav class="pager" aria-label="Pages">
                                    <button type="button" class="secondary" id="page-previous" disabled=current <= 1
                                        on:click=move |_| page.update(|p| *p = p.saturating_sub(1).max(1))>"Précédent"</button>
                                    <span id="page-position">{format!("Page {current} / {pages}{}", if capped { "+" } else { "" })}</span>
                                    <button type="button" class="secondary" id="page-next" disabled=current >= pages
                                        on:click=move |_| page.update(|p| *p += 1)>"Suivant"</button>
                                </nav>
                            })}
                        }.into_any()
                    }
                }}
                </div>
            </section>
        }
    };

    let reading_view = move || {
        view! {
            <article class="card lecture" id="reading" aria-labelledby="reading-subject">
                <button type="button" class="secondary" id="back-to-list" on:click=move |_| back()>"← Retour à la liste"</button>
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
                            <dl class="headers">
                                <dt>"De"</dt><dd id="reading-from">{sender}</dd>
                                <dt>"À"</dt><dd id="reading-to">{v.to.join("; ")}</dd>
                                {(!v.cc.is_empty()).then(|| view! { <dt>"CC"</dt><dd id="reading-cc">{v.cc.join("; ")}</dd> })}
                            </dl>
                            <p id="reading-date" class="hint">{format!("Envoyé le {}", v.sent_on)}</p>
                            <div id="reading-body" class="message-body" inner_html=body node_ref=body_ref></div>
                            {(!v.attachments.is_empty()).then(|| view! {
                                <h3>"Pièces jointes"</h3>
                                <ul class="files" id="reading-attachments">
                                    {v.attachments.iter().map(|a| {
                                        let (id, name) = (a.id.clone(), a.name.clone());
                                        view! {
                                            <li class="file">
                                                <button type="button" class="link attachment-download" data-id=a.id.clone()
                                                    title="Télécharger"
                                                    on:click=move |_| download(id.clone(), name.clone())>{a.name.clone()}</button>
                                                " "
                                                <span class="file-size">{format_size(a.size)}</span>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            })}
                            {move || action_error.get().map(|m| view! { <p class="field-error" id="reading-action-error" role="alert">{m}</p> })}
                            <div class="actions" role="group" aria-label="Actions">
                                <button type="button" class="primary" id="reply" on:click=move |_| answer(Answer::Reply)>"Répondre"</button>
                                <button type="button" class="secondary" id="reply-all" on:click=move |_| answer(Answer::ReplyAll)>"Répondre à tous"</button>
                                <button type="button" class="secondary" id="forward" on:click=move |_| answer(Answer::Forward)>"Transférer"</button>
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
                            <p id="reading-engine" class="hint">{format!("Moteur de cryptage : {}", v.engine)}</p>
                            <p id="reading-retention" class="hint">
                                {format!("Ce message sera conservé pendant 3 mois sur le serveur Medimail (jusqu'au {kept}).")}
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
                        }.into_any()
                    }
                }}
            </article>
        }
    };

    move || {
        if reading.get().is_some() {
            reading_view().into_any()
        } else {
            list_view().into_any()
        }
    }
}
