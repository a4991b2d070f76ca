//! "Messages reçus", "Messages envoyés", "Messages supprimés" and their sub-folders
//! (manual part 3 §2 and §3, part 1 §6.2): Titre, Expéditeur, Date, unread and attachment
//! markers, 50 a page, search by title or sender, unread counts per folder. A row opens
//! the envelope (`lecture.rs`); coming back, the list shows the same folder, page and
//! search, reloaded. In the webmail, rows are selected and moved (« Déplacer vers »), and
//! « Dossiers » manages the sub-folders (`dossiers.rs`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{EnvelopeList, Folder, FolderInfo};

use crate::api::{self, ApiError};
use crate::components::feedback::Notice;
use crate::session::Auth;

/// What the lists keep while an envelope is read: the folder, page and search, the page
/// last loaded (shown while it reloads) and the notice of the last folder action.
#[derive(Clone, Copy)]
pub struct Listing {
    /// `inbox`, `sent`, `deleted` or a sub-folder's id.
    folder: RwSignal<String>,
    page: RwSignal<u64>,
    /// Where the page starts: `after=` (true) or `before=` a position the list gave (none:
    /// page 1, or a search's numbered page).
    at: RwSignal<Option<(bool, String)>>,
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
            folder: RwSignal::new(Folder::Inbox.as_str().to_owned()),
            page: RwSignal::new(1),
            at: RwSignal::new(None),
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

/// " (3)" after a folder's name while envelopes wait unopened (the counts are exact).
fn unread_label(unread: u64) -> Option<String> {
    (unread > 0).then(|| format!(" ({unread})"))
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
        at,
        query,
        typed,
        list,
        loading,
        notice,
    } = listing;
    let auth = expect_context::<Auth>();
    // The lists start at their folder (after signing in, reading or writing).
    crate::focus::show(format!("folder-{}", folder.get_untracked()));
    // The sub-folders as last listed (they stay in the menu while a page loads), and the
    // unread count of « Messages reçus »: the menu is drawn again only when they change
    // (not on every page, which would take the focus away from the tab just chosen).
    let menu = Memo::new(
        move |previous: Option<&(Vec<FolderInfo>, u64)>| match &*list.read() {
            Some(Ok(l)) => (l.folders.clone(), l.unread),
            _ => previous.cloned().unwrap_or_default(),
        },
    );
    let tree = Signal::derive(move || menu.with(|m| m.0.clone()));
    // Bumped after a move or a change of sub-folders: the page is listed again.
    let reload = RwSignal::new(0u32);

    // The list follows the folder, page and search; only the last request's answer is
    // shown (choosing two folders quickly must not show the first one's list last).
    let latest = StoredValue::new(0u32);
    Effect::new(move |_| {
        let (f, p, q, a) = (folder.get(), page.get(), query.get(), at.get());
        reload.track();
        loading.set(true);
        let asked = latest.get_value().wrapping_add(1);
        latest.set_value(asked);
        spawn_local(async move {
            let result = auth
                .call(|c| {
                    let (f, q, a) = (f.clone(), q.clone(), a.clone());
                    async move { api::list_envelopes(&c, &f, p, &q, a).await }
                })
                .await;
            if let Err(e) = &result
                && e.code.starts_with("session_")
            {
                on_session_lost.run(());
                return;
            }
            if latest.get_value() != asked {
                return;
            }
            list.set(Some(result));
            loading.set(false);
        });
    });

    let choose = move |f: String| {
        notice.set(None);
        folder.set(f);
        page.set(1);
        at.set(None);
    };
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        page.set(1);
        at.set(None);
        query.set(typed.get_untracked().trim().to_owned());
    };

    // Each folder, then its sub-folders ("Messages reçus (1)": the envelopes not opened
    // yet in that folder).
    let folders = move || {
        let (subs, unread) = menu.get();
        let mut entries = Vec::new();
        for root in Folder::ALL {
            let count = if root == Folder::Inbox { unread } else { 0 };
            entries.push((root.as_str().to_owned(), root.label().to_owned(), 0, count));
            for f in subs.iter().filter(|f| f.root == root) {
                entries.push((f.id.clone(), f.name.clone(), f.depth, f.unread));
            }
        }
        entries
            .into_iter()
            .map(|(key, label, depth, count)| {
                let (here, chosen) = (key.clone(), key.clone());
                let current = move || folder.with(|f| *f == here);
                view! {
                    <button type="button" role="tab" id=format!("folder-{key}")
                        class=format!("folder depth-{depth}") class:folder-current=current.clone()
                        aria-selected=move || current().to_string()
                        on:click=move |_| choose(chosen.clone())>
                        {label}
                        {unread_label(count)}
                    </button>
                }
            })
            .collect_view()
    };
    let webmail = webmail_tools(WebmailTools {
        list,
        tree,
        notice,
        reload,
    });

    view! {
        <section class="card boite" aria-labelledby="boite-titre">
            <h2 id="boite-titre" class="visually-hidden">"Messagerie"</h2>
            <nav class="folders" role="tablist" aria-label="Dossiers">{folders}</nav>
            {webmail.panel}
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
                    let sent = l.root == Folder::Sent;
                    let current = l.page;
                    // « Suivant » and « Précédent » go from the positions the list gave (a
                    // search's pages are numbered).
                    let (next, previous) = (l.next.clone(), l.previous.clone());
                    let capped = l.total_capped;
                    view! {
                        <p id="list-count" class="hint">{if capped { format!("Plus de {} messages", l.total) } else { format!("{} message{}", l.total, if l.total > 1 { "s" } else { "" }) }}</p>
                        // The columns of the full-page list (shown from 1024 px wide).
                        <div class="envelope-head" aria-hidden="true">
                            <span>"Titre"</span><span>{if sent { "Destinataires" } else { "Expéditeur" }}</span><span>"Date"</span><span></span>
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
                                        {(webmail.select)(item.reference.clone(), item.subject.clone())}
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
                        {(webmail.mover)()}
                        {(pages > 1).then(|| {
                            // Declared here, not inside the tags: a handler's `{ … }` after
                            // `disabled=a >= b` would be read as the button's content.
                            let go_previous = move |_: leptos::ev::MouseEvent| {
                                at.set(previous.clone().map(|p| (false, p)));
                                page.set(current.saturating_sub(1).max(1));
                            };
                            let go_next = move |_: leptos::ev::MouseEvent| {
                                at.set(next.clone().map(|n| (true, n)));
                                page.set(current + 1);
                            };
                            view! {
                            <nav class="pager" aria-label="Pages">
                                <button type="button" class="secondary" id="page-previous" disabled={current <= 1}
                                    on:click=go_previous>"Précédent"</button>
                                <span id="page-position">{format!("Page {current} sur {pages}{}", if capped { "+" } else { "" })}</span>
                                <button type="button" class="secondary" id="page-next" disabled={current >= pages}
                                    on:click=go_next>"Suivant"</button>
                            </nav>
                            }
                        })}
                    }.into_any()
                }
            }}
            </div>
        </section>
    }
}

/// What the webmail adds to the lists works with.
#[cfg_attr(not(feature = "webmail"), allow(dead_code))]
struct WebmailTools {
    list: RwSignal<Option<Result<EnvelopeList, ApiError>>>,
    tree: Signal<Vec<FolderInfo>>,
    notice: RwSignal<Option<String>>,
    reload: RwSignal<u32>,
}

/// The webmail's additions: the « Dossiers » panel (`panel`), a checkbox per row
/// (`select`) and « Déplacer vers » under the list (`mover`).
struct Tools<P, S, M> {
    panel: P,
    select: S,
    mover: M,
}

/// The pane leaves them out until its size budget has room (docs/PERFORMANCE.md).
#[cfg(not(feature = "webmail"))]
fn webmail_tools(_: WebmailTools) -> Tools<(), impl Fn(String, String) + Copy, impl Fn() + Copy> {
    Tools {
        panel: (),
        select: |_, _| {},
        mover: || {},
    }
}

#[cfg(feature = "webmail")]
fn webmail_tools(
    tools: WebmailTools,
) -> Tools<impl IntoView, impl Fn(String, String) -> AnyView + Copy, impl Fn() -> AnyView + Copy> {
    use crate::pages::dossiers::{Dossiers, MoveTo};
    let WebmailTools {
        list,
        tree,
        notice,
        reload,
    } = tools;
    let managing = RwSignal::new(false);
    let selected = RwSignal::new(Vec::<String>::new());
    // A new page, folder or search: nothing selected.
    Effect::new(move |_| {
        list.track();
        selected.set(Vec::new());
    });
    let done = Callback::new(move |said: String| {
        notice.set(Some(said));
        reload.update(|n| *n += 1);
    });
    let panel = view! {
        <button type="button" class="secondary" id="folders-manage" aria-expanded=move || managing.get().to_string()
            on:click=move |_| managing.update(|m| *m = !*m)>"Gérer les dossiers"</button>
        {move || managing.get().then(|| view! { <Dossiers tree=tree on_changed=done/> })}
    };
    let select = move |reference: String, subject: String| {
        let mine = reference.clone();
        view! {
            <input type="checkbox" class="envelope-select" aria-label=format!("Sélectionner « {subject} »")
                data-reference=reference.clone()
                prop:checked=move || selected.with(|s| s.contains(&mine))
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    selected.update(|s| {
                        s.retain(|r| *r != reference);
                        if on {
                            s.push(reference.clone());
                        }
                    });
                }/>
        }
        .into_any()
    };
    let mover = move || {
        // A received message goes under « Messages reçus », a sent one under « Messages
        // envoyés », any under « Messages supprimés ».
        let root = match &*list.read() {
            Some(Ok(l)) => l.root,
            _ => Folder::Inbox,
        };
        let roots = match root {
            Folder::Inbox => vec![Folder::Inbox, Folder::Deleted],
            Folder::Sent => vec![Folder::Sent, Folder::Deleted],
            Folder::Deleted => Folder::ALL.to_vec(),
        };
        view! {
            <MoveTo id="move" references=selected.into() tree=tree roots=Signal::stored(roots)
                on_moved=done/>
        }
        .into_any()
    };
    Tools {
        panel,
        select,
        mover,
    }
}
