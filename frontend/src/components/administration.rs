//! « Administration » (issue 17), in the webmail, for the managers of an organisation: its
//! accounts, found by name or address, fifty at a time; for each, « Compte éligible »
//! (MSSanté), « Activer » MSSanté, « Timbres alloués » and « Débloquer ». Each change is
//! saved at once and said on the account's line.

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{AdministeredAccount, Administration, AdministrationChange, StampsAllocation};

use crate::api;
use crate::session::Auth;

/// What the list shows: the page read, or why it could not be.
type Loaded = RwSignal<Option<Result<Administration, String>>>;

#[component]
pub fn Administration(
    /// The organisation's name, from the session.
    organisation: String,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let data: Loaded = RwSignal::new(None);
    let q = RwSignal::new(String::new());
    let page = RwSignal::new(1u64);
    let loading = RwSignal::new(false);
    let load = move || {
        loading.set(true);
        let (typed, wanted) = (q.get_untracked(), page.get_untracked());
        spawn_local(async move {
            let answer = auth
                .call(move |c| {
                    let typed = typed.clone();
                    async move { api::administration(&c, typed, wanted).await }
                })
                .await;
            loading.try_set(false);
            data.try_set(Some(answer.map_err(|e| e.message)));
        });
    };
    let opened = move |ev: leptos::ev::Event| {
        let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
        if open && data.with_untracked(Option::is_none) {
            load();
        }
    };
    let field = NodeRef::<leptos::html::Input>::new();
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // What the field holds now (typed, pasted, cleared or filled in by the browser).
        if let Some(input) = field.get_untracked() {
            q.set(input.value());
        }
        page.set(1);
        load();
    };
    let go = move |to: u64| {
        page.set(to);
        load();
    };
    let shown = move || {
        data.get().map(|d| match d {
            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            Ok(d) => {
                let pages = d.total.div_ceil(d.per_page.max(1)).max(1);
                let current = d.page;
                let rule = if d.reserved_to_managers {
                    "L'activation MSSanté de ses comptes est réservée à ses managers."
                } else {
                    "Ses utilisateurs activent MSSanté eux-mêmes (onglet « MSSanté »)."
                };
                view! {
                    <p class="hint" id="admin-rule">
                        "Domaines : " {d.domains.join(", ")} ". " {rule}
                    </p>
                    <p id="admin-total" role="status">{match d.total {
                        0 => "Aucun compte.".to_owned(),
                        1 => "1 compte.".to_owned(),
                        n => format!("{n} comptes."),
                    }}</p>
                    <div class="table-scroll">
                        <table id="admin-accounts">
                            <thead><tr>
                                <th scope="col">"Compte"</th>
                                <th scope="col">"Compte éligible"</th>
                                <th scope="col">"MSSanté"</th>
                                <th scope="col">"Timbres"</th>
                                <th scope="col">"État"</th>
                            </tr></thead>
                            <tbody>
                                {d.accounts.into_iter().map(|a| view! { <AccountRow account=a/> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {(pages > 1).then(|| view! {
                        <nav class="pager" aria-label="Pages des comptes">
                            <button type="button" id="admin-previous" disabled=current <= 1
                                on:click=move |_| go(current - 1)>"Précédent"</button>
                            <span>{format!(" Page {current} sur {pages} ")}</span>
                            <button type="button" id="admin-next" disabled=current >= pages
                                on:click=move |_| go(current + 1)>"Suivant"</button>
                        </nav>
                    })}
                }
                .into_any()
            }
        })
    };
    view! {
        <details id="administration" on:toggle=opened>
            <summary>"Administration"</summary>
            <h4>{organisation}</h4>
            <form id="admin-search-form" role="search" on:submit=search>
                <label for="admin-search">"Rechercher un compte (nom ou adresse)"</label>
                <input id="admin-search" type="search" maxlength="100" node_ref=field/>
                <button type="submit" class="secondary" disabled=move || loading.get()>"Rechercher"</button>
            </form>
            {move || loading.get().then(|| view! { <p class="hint" role="status">"Chargement…"</p> })}
            {shown}
        </details>
    }
}

/// `illimité` or the number, as the stamps' field shows it.
fn stamps_text(allocated: Option<u64>) -> String {
    allocated.map_or_else(|| "illimité".to_owned(), |n| n.to_string())
}

/// What the stamps' field says: `Some(None)` illimité (or empty), `Some(Some(n))` a
/// number, `None` neither.
fn parse_stamps(typed: &str) -> Option<Option<u64>> {
    let typed = typed.trim();
    if typed.is_empty() || crate::text::lower(typed).starts_with("illimit") {
        return Some(None);
    }
    typed.parse::<u64>().ok().map(Some)
}

/// A line's busy flag, what it says, and its account as stored.
type Line = (
    RwSignal<bool>,
    RwSignal<Option<Result<String, String>>>,
    RwSignal<AdministeredAccount>,
);

/// One request of a line: refused while another is under way; its outcome said on the
/// line (`done` stores the answer and gives the sentence); on a refusal, the controls
/// show again what is stored, not what was clicked.
fn act<T, F, Fut>(
    auth: Auth,
    (busy, said, row): Line,
    call: F,
    done: impl FnOnce(T) -> String + 'static,
) where
    T: 'static,
    F: Fn(crate::api::Credentials) -> Fut + 'static,
    Fut: std::future::Future<Output = Result<T, crate::api::ApiError>> + 'static,
{
    if busy.get_untracked() {
        return;
    }
    busy.set(true);
    said.set(None);
    spawn_local(async move {
        let answer = auth.call(call).await;
        busy.try_set(false);
        let outcome = answer.map(done).map_err(|e| {
            row.try_update(|_| {});
            e.message
        });
        said.try_set(Some(outcome));
    });
}

/// One account's line: each control saves at once; the outcome is said at the end of
/// the line (`role="status"`, or `role="alert"` for a refusal).
#[component]
fn AccountRow(account: AdministeredAccount) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let id = account.id.clone();
    let mailbox = account.mailbox.clone();
    let row = RwSignal::new(account);
    let stamps = RwSignal::new(stamps_text(row.get_untracked().stamps_allocated));
    let busy = RwSignal::new(false);
    let said = RwSignal::new(None::<Result<String, String>>);
    let change = {
        let id = id.clone();
        move |wanted: AdministrationChange, done: &'static str| {
            let id = id.clone();
            act(
                auth,
                (busy, said, row),
                move |c| {
                    let (id, wanted) = (id.clone(), wanted.clone());
                    async move { api::administer(&c, id, wanted).await }
                },
                move |stored| {
                    stamps.try_set(stamps_text(stored.stamps_allocated));
                    row.try_set(stored);
                    done.to_owned()
                },
            );
        }
    };
    let set_eligible = {
        let change = change.clone();
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            change(
                AdministrationChange {
                    eligible: Some(on),
                    ..Default::default()
                },
                if on {
                    "Compte éligible à MSSanté."
                } else {
                    "Compte non éligible à MSSanté."
                },
            );
        }
    };
    let save_stamps = {
        let change = change.clone();
        move |_| match parse_stamps(&stamps.get_untracked()) {
            Some(allocated) => change(
                AdministrationChange {
                    stamps: Some(StampsAllocation { allocated }),
                    ..Default::default()
                },
                "Timbres alloués enregistrés.",
            ),
            None => said.set(Some(Err(
                "Indiquez un nombre de timbres ou « illimité » : rien n'a été enregistré."
                    .to_owned(),
            ))),
        }
    };
    let unlock = {
        let change = change.clone();
        move |_| {
            change(
                AdministrationChange {
                    unlock: true,
                    ..Default::default()
                },
                "Compte débloqué.",
            )
        }
    };
    let activate = move |_| {
        let id = id.clone();
        act(
            auth,
            (busy, said, row),
            move |c| {
                let id = id.clone();
                async move { api::administer_mssante(&c, id).await }
            },
            move |done| {
                let said = format!("Activation effectuée : {}", done.address);
                row.try_update(|r| {
                    r.mssante_enabled = true;
                    r.mssante_address = Some(done.address);
                });
                said
            },
        );
    };
    let label = mailbox.clone();
    view! {
        <tr data-mailbox=mailbox>
            <th scope="row">
                {move || row.with(|r| r.name.clone()).map(|n| view! { <span class="name">{n}</span><br/> })}
                <span class="mailbox">{label.clone()}</span>
                {move || row.with(|r| r.manager).then(|| view! { <span class="tag">" manager"</span> })}
            </th>
            <td>
                <input type="checkbox" class="eligible" aria-label=format!("Compte éligible : {label}")
                    prop:checked=move || row.with(|r| r.eligible)
                    disabled=move || busy.get()
                    on:change=set_eligible/>
            </td>
            <td class="mssante">
                {move || match row.with(|r| r.mssante_address.clone()) {
                    Some(address) => view! { <span class="mssante-address">{address}</span> }.into_any(),
                    None => {
                        let (eligible, identifier) = row.with(|r| (r.eligible, r.identifier));
                        view! {
                            <button type="button" class="activate secondary"
                                disabled=move || busy.get() || !eligible || !identifier
                                on:click=activate.clone()>"Activer"</button>
                            {(!identifier).then(|| view! { <br/><span class="hint">"RPPS ou ADELI à renseigner"</span> })}
                        }.into_any()
                    }
                }}
            </td>
            <td class="stamps">
                <input type="text" class="stamps-allocated" inputmode="numeric" size="8"
                    aria-label="Timbres alloués (un nombre, ou « illimité »)"
                    prop:value=move || stamps.get()
                    on:input=move |ev| stamps.set(event_target_value(&ev))
                    on:keydown={
                        let save = save_stamps.clone();
                        move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" { save(()) }
                    }/>
                <button type="button" class="stamps-save secondary" disabled=move || busy.get()
                    on:click=move |_| save_stamps(())>"Enregistrer"</button>
                <br/><span class="hint">{move || format!("{} utilisés", row.with(|r| r.stamps_used))}</span>
            </td>
            <td class="state">
                {move || match row.with(|r| r.locked_until.clone()) {
                    Some(until) => view! {
                        <span class="locked">"Verrouillé jusqu'au "
                            {crate::pages::webmail::local_time(&until).unwrap_or(until).trim_start_matches("le ").to_owned()}
                        </span>
                        " "
                        <button type="button" class="unlock secondary" disabled=move || busy.get()
                            on:click=unlock.clone()>"Débloquer"</button>
                    }.into_any(),
                    None if !row.with(|r| r.signed_in) => view! { <span class="hint">"Jamais connecté"</span> }.into_any(),
                    None => view! { <span>"Actif"</span> }.into_any(),
                }}
                {move || said.get().map(|s| match s {
                    Ok(m) => view! { <p class="row-status notice" role="status">{m}</p> }.into_any(),
                    Err(m) => view! { <p class="row-status field-error" role="alert">{m}</p> }.into_any(),
                })}
            </td>
        </tr>
    }
}
