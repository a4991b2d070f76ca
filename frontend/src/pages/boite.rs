//! "Messages reçus", "Messages envoyés", "Messages supprimés" (manual part 3 §2 and §3):
//! Titre, Expéditeur, Date, unread and attachment markers, 50 a page, search by title or
//! sender. A row opens the envelope (`lecture.rs`); coming back, the list shows the same
//! folder, page and search, reloaded.

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{EnvelopeList, Folder};

use crate::api::{self, ApiError};
use crate::components::feedback::Notice;
use crate::session::Auth;

/// What the lists keep while an envelope is read: the folder, page and search, the page
/// last loaded (shown while it reloads) and the notice of the last folder action.
#[derive(Clone, Copy)]
pub struct Listing {
    folder: RwSignal<Folder>,
    page: RwSignal<u64>,
    query: RwSignal<String>,
    typed: RwSignal<String>,
    list: RwSignal<Option<Result<EnvelopeList, ApiError>>>,
    loading: RwSignal<bool>,
    /// "Le message a été déplacé dans « Messages supprimés »." and the like.
    pub notice: RwSignal<Option<String>>,
}

impl Listing {
    /// "Messages reçus", page 1, no search.
    pub fn new() -> Self {
        Self {
            folder: RwSignal::new(Folder::Inbox),
            page: RwSignal::new(1),
            query: RwSignal::new(String::new()),
            typed: RwSignal::new(String::new()),
            list: RwSignal::new(None),
            loading: RwSignal::new(false),
            notice: RwSignal::new(None),
        }
    }
}

impl Default for Listing {
    fn default() -> Self {
        Self::new()
    }
}

/// " (3)" after "Messages reçus" while envelopes wait unopened ("(1000+)" past the count).
fn unread_label(list: &Option<Result<EnvelopeList, ApiError>>) -> Option<String> {
    match list {
        Some(Ok(l)) if l.unread > 0 => Some(format!(
            " ({}{})",
            l.unread,
            if l.unread_capped { "+" } else { "" }
        )),
        _ => None,
    }
}

#[component]
pub fn Boite(
    listing: Listing,
    /// Opens the envelope of a row.
    on_open: Callback<String>,
    /// The session ended on the server: back to "Connexion".
    on_session_lost: Callback<()>,
) -> impl IntoView {
    let Listing {
        folder,
        page,
        query,
        typed,
        list,
        loading,
        notice,
    } = listing;
    let auth = expect_context::<Auth>();
    // The lists start at their folder (after signing in, reading or writing).
    crate::focus::show(format!("folder-{}", folder.get_untracked().as_str()));

    // The list follows the folder, page and search.
    Effect::new(move |_| {
        let (f, p, q) = (folder.get(), page.get(), query.get());
        loading.set(true);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let q = q.clone();
                    async move { api::list_envelopes(&c, f.as_str(), p, &q).await }
                })
                .await;
            if let Err(e) = &result
                && e.code.starts_with("session_")
            {
                on_session_lost.run(());
                return;
            }
            list.set(Some(result));
            loading.set(false);
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

    let folders = move || {
        Folder::ALL
            .into_iter()
            .map(|f| {
                view! {
                    <button type="button" role="tab" id=format!("folder-{}", f.as_str())
                        class="folder" class:folder-current=move || folder.get() == f
                        aria-selected=move || (folder.get() == f).to_string()
                        on:click=move |_| choose(f)>
                        {f.label()}
                        // "Messages reçus (1)": the envelopes not opened yet.
                        {move || (f == Folder::Inbox).then(|| unread_label(&list.get())).flatten()}
                    </button>
                }
            })
            .collect_view()
    };

    view! {
        <section class="card boite" aria-labelledby="boite-titre">
            <h2 id="boite-titre" class="visually-hidden">"Messagerie"</h2>
            <nav class="folders" role="tablist" aria-label="Dossiers">{folders}</nav>
            <Notice id="boite-notice" notice=notice/>
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
                        // The columns of the full-page list (shown from 1024 px wide).
                        <div class="envelope-head" aria-hidden="true">
                            <span>"Titre"</span><span>{if l.folder == "sent" { "Destinataires" } else { "Expéditeur" }}</span><span>"Date"</span><span></span>
                        </div>
                        <ul class="envelopes" id="envelope-list">
                            {l.items.into_iter().map(|item| {
                                let reference = item.reference.clone();
                                // "Messages envoyés" names the recipients, the others the sender.
                                let who = if item.recipients.is_empty() {
                                    item.sender_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or(item.sender.clone())
                                } else {
                                    format!("À : {}", item.recipients.join(", "))
                                };
                                let label = format!(
                                    "{}{}, {} {}, le {}{}",
                                    if item.unread { "Non lu : " } else { "" },
                                    item.subject, if item.recipients.is_empty() { "de" } else { "envoyé" }, who, item.date,
                                    if item.attachments > 0 { ", avec pièces jointes" } else { "" }
                                );
                                view! {
                                    <li class="envelope-row" class:unread=item.unread>
                                        <button type="button" class="envelope-open" aria-label=label
                                            data-reference=item.reference.clone()
                                            on:click=move |_| on_open.run(reference.clone())>
                                            <span class="envelope-subject">{item.subject.clone()}</span>
                                            <span class="envelope-from">{who.clone()}</span>
                                            <span class="envelope-date">{item.date.clone()}</span>
                                            {(item.attachments > 0).then(|| view! { <span class="envelope-clip" aria-hidden="true"></span> })}
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        {(pages > 1).then(|| view! {
                            <nav class="pager" aria-label="Pages">
                                <button type="button" class="secondary" id="page-previous" disabled=current <= 1
                                    on:click=move |_| page.update(|p| *p = p.saturating_sub(1).max(1))>"Précédent"</button>
                                <span id="page-position">{format!("Page {current} sur {pages}{}", if capped { "+" } else { "" })}</span>
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
}
