//! « Paramètres du compte » › « Notifications » (manual part 1 §6.3), in the webmail: the
//! manual's matrix of notification mails, each a box to tick, saved by « Enregistrer ».

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::NotificationSettings;

use crate::api;
use crate::components::busy_button::BusyButton;
use crate::components::feedback::FieldError;
use crate::session::Auth;

/// The box this server does not act on (an author's own opening of an envelope is not an
/// event here): shown, not offered.
const NOT_YET: [&str; 1] = ["notify-opened-by-me-sent"];

/// One box of the matrix: where it is read and written in [`NotificationSettings`].
type Slot = fn(&mut NotificationSettings) -> &mut bool;

#[component]
pub fn Notifications() -> impl IntoView {
    let form = RwSignal::new(None::<NotificationSettings>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let auth = expect_context::<Auth>();
    let load = move |ev: leptos::ev::Event| {
        let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
        if !open || form.with_untracked(Option::is_some) {
            return;
        }
        spawn_local(async move {
            match auth
                .call(|c| async move { api::notifications(&c).await })
                .await
            {
                Ok(s) => {
                    form.try_set(Some(s));
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(wanted) = form.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        saved.set(None);
        spawn_local(async move {
            let answer = auth
                .call(|c| async move { api::set_notifications(&c, wanted).await })
                .await;
            busy.try_set(false);
            match answer {
                Ok(s) => {
                    form.try_set(Some(s));
                    saved.try_set(Some("Vos notifications sont enregistrées.".to_owned()));
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    let tick = move |id: &'static str, label: &'static str, slot: Slot| {
        view! {
            <label class="checkbox">
                <input id=id type="checkbox" disabled=NOT_YET.contains(&id)
                    prop:checked=move || form.get().is_some_and(|mut f| *slot(&mut f))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        form.update(|f| if let Some(f) = f { *slot(f) = on });
                    }/>
                {label}
                {NOT_YET.contains(&id).then(|| view! { <span class="hint">" (pas encore proposée)"</span> })}
            </label>
        }
    };
    view! {
        <details id="notifications" on:toggle=load>
            <summary>"Notifications"</summary>
            <p class="hint">"Une notification est un message d'information envoyé sur votre adresse mail. Vous pouvez sélectionner les événements pour lesquels vous souhaitez recevoir une notification."</p>
            {move || form.with(Option::is_none).then(|| view! { <p class="hint" role="status">"Chargement…"</p> })}
            <form id="notifications-form" on:submit=save novalidate hidden=move || form.with(Option::is_none)>
                <h4>"Événements de votre part"</h4>
                <p class="hint">"Sur les enveloppes dont vous êtes l'auteur"</p>
                {tick("notify-sealed", "Notification de scellement", |f| &mut f.sealed)}
                {tick("notify-opened-by-me-sent", "Notification d'ouverture", |f| &mut f.opened_by_me_sent)}
                <p class="hint">"Sur les enveloppes dont vous êtes destinataire"</p>
                {tick("notify-received", "Notification de réception pour chaque message", |f| &mut f.received)}
                {tick("notify-opened-by-me-received", "Notification d'ouverture", |f| &mut f.opened_by_me_received)}
                {tick("notify-daily", "Notification quotidienne des réceptions", |f| &mut f.daily_digest)}
                <h4>"Événements de la part d'un autre utilisateur"</h4>
                <p class="hint">"Sur les enveloppes dont vous êtes l'auteur"</p>
                {tick("notify-opened-by-others-sent", "Notification d'ouverture", |f| &mut f.opened_by_others_sent)}
                <p class="hint">"Sur les enveloppes dont vous êtes destinataire"</p>
                {tick("notify-opened-by-others-received", "Notification d'ouverture", |f| &mut f.opened_by_others_received)}
                {move || saved.get().map(|m| view! { <p class="notice" id="notifications-saved" role="status">{m}</p> })}
                <FieldError id="notifications-error" error=error/>
                <BusyButton id="notifications-save" submit=true class="primary" busy=busy.into()
                    label="Enregistrer" busy_label="Enregistrement…"/>
            </form>
            <Delegation/>
        </details>
    }
}

/// « Délégation automatique »: secondary addresses separated by « ; » that receive a copy
/// of each notification once they have confirmed (a mail is sent to each new one).
#[component]
fn Delegation() -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let listed = RwSignal::new(Vec::<medimail_api::DelegatedAddress>::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let auth = expect_context::<Auth>();
    let show = move |d: medimail_api::Delegation| {
        typed.set(
            d.addresses
                .iter()
                .map(|a| a.address.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        );
        listed.set(d.addresses);
    };
    spawn_local(async move {
        if let Ok(d) = auth
            .call(|c| async move { api::delegation(&c).await })
            .await
        {
            show(d);
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        saved.set(None);
        let wanted = typed.get_untracked();
        spawn_local(async move {
            let answer = auth
                .call(|c| {
                    let wanted = wanted.clone();
                    async move { api::set_delegation(&c, wanted).await }
                })
                .await;
            busy.try_set(false);
            match answer {
                Ok(d) => {
                    show(d);
                    saved.try_set(Some(
                        "Enregistré. Chaque nouvelle adresse reçoit un mail de confirmation : elle ne recevra de copie qu'après avoir confirmé.".to_owned(),
                    ));
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    view! {
        <form id="delegation-form" on:submit=save novalidate>
            <h4>"Délégation automatique"</h4>
            <label for="delegation-addresses">
                "Vous pouvez indiquer une adresse mail secondaire à laquelle sera envoyée une copie de chaque notification. Vous pouvez indiquer plusieurs adresses (5 au plus) en les séparant seulement par « ; »."
            </label>
            <input id="delegation-addresses" type="text" autocomplete="off"
                prop:value=move || typed.get()
                on:input=move |ev| typed.set(event_target_value(&ev))/>
            <ul id="delegation-list" class="signatures">
                {move || listed.get().into_iter().map(|a| view! {
                    <li>{a.address}{if a.confirmed { " : confirmée" } else { " : en attente de confirmation" }}</li>
                }).collect_view()}
            </ul>
            {move || saved.get().map(|m| view! { <p class="notice" id="delegation-saved" role="status">{m}</p> })}
            <FieldError id="delegation-error" error=error/>
            <BusyButton id="delegation-save" submit=true class="primary" busy=busy.into()
                label="Enregistrer" busy_label="Enregistrement…"/>
        </form>
    }
}
