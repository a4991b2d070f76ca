//! « Dossiers » in the webmail (manual part 1 §6.2): « Vous pouvez créer et gérer des
//! sous-dossiers afin de classer vos enveloppes. » Under each folder its sub-folders (or
//! « Pas de sous-dossier »), each renamed in place or deleted (its messages go back to
//! its parent, said before confirming); « Choisissez le dossier… », the name, « Créer ».
//! And « Déplacer vers » (`MoveTo`): the selected messages of a list, or the message
//! being read, filed in a folder. The pane leaves these out until its size budget has
//! room; it shows the sub-folders and what they hold.

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{Folder, FolderInfo};

use crate::api;
use crate::components::feedback::FieldError;
use crate::session::Auth;

/// A folder's name in a list of choices: indented by its depth.
fn option_label(f: &FolderInfo) -> String {
    format!(
        "{}{}",
        "\u{a0}\u{a0}\u{a0}".repeat(usize::from(f.depth)),
        f.name
    )
}

/// The name of the folder `key` (a top folder or a sub-folder of `tree`).
pub fn folder_name(tree: &[FolderInfo], key: &str) -> String {
    Folder::parse(key).map_or_else(
        || {
            tree.iter()
                .find(|f| f.id == key)
                .map_or_else(|| key.to_owned(), |f| f.name.clone())
        },
        |root| root.label().to_owned(),
    )
}

/// The folders (top folders first, then their sub-folders) as `<option>`s, those under
/// `roots` only.
fn options(tree: &[FolderInfo], roots: &[Folder]) -> impl IntoView + use<> {
    let mut all = Vec::new();
    for root in Folder::ALL {
        if !roots.contains(&root) {
            continue;
        }
        all.push((root.as_str().to_owned(), root.label().to_owned()));
        for f in tree.iter().filter(|f| f.root == root) {
            all.push((f.id.clone(), option_label(f)));
        }
    }
    all.into_iter()
        .map(|(value, label)| view! { <option value=value>{label}</option> })
        .collect_view()
}

/// One folder action: nothing while another runs, `busy` while it runs, its refusal in
/// `error`, then `done` with its answer.
fn run<T, F, Fut>(
    auth: Auth,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    call: F,
    done: impl FnOnce(T) + 'static,
) where
    T: 'static,
    F: Fn(api::Credentials) -> Fut + 'static,
    Fut: std::future::Future<Output = Result<T, api::ApiError>> + 'static,
{
    if busy.get_untracked() {
        return;
    }
    busy.set(true);
    error.set(None);
    spawn_local(async move {
        let result = auth.call(call).await;
        busy.set(false);
        match result {
            Ok(answer) => done(answer),
            Err(e) => error.set(Some(e.message)),
        }
    });
}

fn ask(message: &str) -> bool {
    window().confirm_with_message(message).unwrap_or(false)
}

/// « Déplacer vers » a folder: the messages `references` (the list's selection, or the
/// message being read). `roots`: where they may go (a received message under « Messages
/// reçus », a sent one under « Messages envoyés », any under « Messages supprimés »).
#[component]
pub fn MoveTo(
    id: &'static str,
    references: Signal<Vec<String>>,
    tree: Signal<Vec<FolderInfo>>,
    roots: Signal<Vec<Folder>>,
    /// Moved: what to say.
    on_moved: Callback<String>,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let target = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let select_id = format!("{id}-target");
    let submit = move |_| {
        let refs = references.get_untracked();
        let to = target.get_untracked();
        if busy.get_untracked() {
            return;
        }
        if refs.is_empty() {
            error.set(Some("Sélectionnez au moins un message à déplacer.".into()));
            return;
        }
        if to.is_empty() {
            error.set(Some("Choisissez le dossier de destination.".into()));
            return;
        }
        run(
            auth,
            busy,
            error,
            move |c| {
                let (refs, to) = (refs.clone(), to.clone());
                async move { api::move_envelopes(&c, refs, to).await }
            },
            move |moved| {
                let name = folder_name(&tree.get_untracked(), &target.get_untracked());
                on_moved.run(if moved.moved > 1 {
                    format!("{} messages ont été déplacés dans « {name} ».", moved.moved)
                } else {
                    format!("Le message a été déplacé dans « {name} ».")
                });
            },
        );
    };
    view! {
        <div class="move-to" role="group" aria-label="Déplacer">
            <label for=select_id.clone()>"Déplacer vers"</label>
            <select id=select_id on:change=move |ev| target.set(event_target_value(&ev))
                prop:value=move || target.get()>
                <option value="">"Choisissez le dossier…"</option>
                {move || options(&tree.get(), &roots.get())}
            </select>
            <button type="button" class="secondary" id=format!("{id}-submit")
                disabled=move || busy.get() on:click=submit>"Déplacer"</button>
            <FieldError id=format!("{id}-error") error=error/>
        </div>
    }
}

/// The « Dossiers » panel: create, rename and delete sub-folders.
#[component]
pub fn Dossiers(
    tree: Signal<Vec<FolderInfo>>,
    /// Something changed: what to say (the lists reload).
    on_changed: Callback<String>,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let parent = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The sub-folder being renamed, and its new name.
    let renaming = RwSignal::new(None::<String>);
    let new_name = RwSignal::new(String::new());

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (p, n) = (parent.get_untracked(), name.get_untracked());
        if busy.get_untracked() {
            return;
        }
        if p.is_empty() {
            error.set(Some(
                "Choisissez le dossier dans lequel créer le sous-dossier.".into(),
            ));
            return;
        }
        run(
            auth,
            busy,
            error,
            move |c| {
                let (p, n) = (p.clone(), n.clone());
                async move { api::create_folder(&c, p, n).await }
            },
            move |f| {
                name.set(String::new());
                on_changed.run(format!("Le sous-dossier « {} » a été créé.", f.name));
            },
        );
    };
    let rename = move |id: String| {
        let n = new_name.get_untracked();
        run(
            auth,
            busy,
            error,
            move |c| {
                let (id, n) = (id.clone(), n.clone());
                async move { api::rename_folder(&c, &id, n).await }
            },
            move |f| {
                renaming.set(None);
                on_changed.run(format!(
                    "Le sous-dossier s'appelle désormais « {} ».",
                    f.name
                ));
            },
        );
    };
    let delete = move |f: FolderInfo| {
        let all = tree.get_untracked();
        let back = f
            .parent_id
            .as_deref()
            .map_or_else(|| f.root.label().to_owned(), |p| folder_name(&all, p));
        if !ask(&format!(
            "Supprimer le sous-dossier « {} » ? Les messages qu'il contient retourneront dans \
             « {back} ».",
            f.name
        )) {
            return;
        }
        let id = f.id.clone();
        run(
            auth,
            busy,
            error,
            move |c| {
                let id = id.clone();
                async move { api::delete_folder(&c, &id).await }
            },
            move |d| {
                on_changed.run(format!(
                    "Le sous-dossier « {} » a été supprimé{}.",
                    f.name,
                    match d.moved {
                        0 => String::new(),
                        1 => format!(" ; son message est revenu dans « {back} »"),
                        n => format!(" ; ses {n} messages sont revenus dans « {back} »"),
                    }
                ))
            },
        );
    };

    let sub_folders = move |root: Folder| {
        let under: Vec<FolderInfo> = tree.get().into_iter().filter(|f| f.root == root).collect();
        if under.is_empty() {
            return view! { <p class="hint">"Pas de sous-dossier"</p> }.into_any();
        }
        view! {
            <ul class="subfolders">
                {under.into_iter().map(|f| {
                    let id = f.id.clone();
                    let (for_rename, for_save, for_delete) = (f.id.clone(), f.id.clone(), f.clone());
                    let shown = f.name.clone();
                    let editing = move || renaming.get().as_deref() == Some(id.as_str());
                    view! {
                        <li class=format!("subfolder depth-{}", f.depth) data-id=f.id.clone()>
                            {move || if editing() {
                                let save = for_save.clone();
                                view! {
                                    <input type="text" class="folder-rename" aria-label="Nouveau nom"
                                        maxlength=medimail_api::limits::MAX_FOLDER_NAME_CHARS
                                        prop:value=move || new_name.get()
                                        on:input=move |ev| new_name.set(event_target_value(&ev))/>
                                    <button type="button" class="primary folder-rename-save" disabled=move || busy.get()
                                        on:click=move |_| rename(save.clone())>"Enregistrer"</button>
                                    <button type="button" class="secondary" on:click=move |_| renaming.set(None)>"Annuler"</button>
                                }.into_any()
                            } else {
                                let (r, d, n) = (for_rename.clone(), for_delete.clone(), shown.clone());
                                view! {
                                    <span class="subfolder-name">{shown.clone()}</span>
                                    <button type="button" class="link folder-rename-start" on:click=move |_| {
                                        new_name.set(n.clone());
                                        renaming.set(Some(r.clone()));
                                    }>"Renommer"</button>
                                    <button type="button" class="link folder-delete" disabled=move || busy.get()
                                        on:click=move |_| delete(d.clone())>"Supprimer"</button>
                                }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };

    view! {
        <section class="dossiers" id="dossiers" aria-labelledby="dossiers-titre">
            <h3 id="dossiers-titre">"Dossiers"</h3>
            <p>"Vous pouvez créer et gérer des sous-dossiers afin de classer vos enveloppes."</p>
            {Folder::ALL.into_iter().map(|root| view! {
                <h4>{root.label()}</h4>
                {move || sub_folders(root)}
            }).collect_view()}
            <form class="folder-create" on:submit=create>
                <label for="folder-parent">"Choisissez le dossier dans lequel vous souhaitez avoir un sous-dossier"</label>
                <select id="folder-parent" on:change=move |ev| parent.set(event_target_value(&ev))
                    prop:value=move || parent.get()>
                    <option value="">"Choisissez le dossier…"</option>
                    {move || {
                        let shallow: Vec<FolderInfo> = tree
                            .get()
                            .into_iter()
                            .filter(|f| f.depth < medimail_api::limits::MAX_FOLDER_DEPTH)
                            .collect();
                        options(&shallow, &Folder::ALL)
                    }}
                </select>
                <label for="folder-name">"Nom du sous-dossier"</label>
                <input id="folder-name" type="text" maxlength=medimail_api::limits::MAX_FOLDER_NAME_CHARS
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <button type="submit" class="primary" id="folder-create" disabled=move || busy.get()>"Créer"</button>
            </form>
            <FieldError id="dossiers-error" error=error/>
        </section>
    }
}
