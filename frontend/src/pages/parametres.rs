//! « Paramètres du compte » in the pane (issue 17): the screens of the webmail's account
//! card (« Identité », « Notifications », « Activité », « Signature de mail »,
//! « MSSanté », « Changer mon mot de passe » and, for a manager, « Administration »),
//! shown inside Outlook.
//!
//! The pane is loaded on every Outlook message and kept within its size budget, so these
//! screens are not in it: « Paramètres du compte » in the pane opens this page of the
//! webmail (`/#/volet/parametres`) in a frame over the pane, fetched only then. The pane
//! hands it its credentials in memory, by `postMessage` between the two frames of this
//! origin, never through storage or the address:
//!
//! - this page says `medimail:ready` to its parent once it listens;
//! - the pane answers `[office_token, session]` (two strings; an empty token when it has
//!   none to give);
//! - when the server says the Office token expired, this page says `medimail:renew` and
//!   the pane answers with its renewed credentials the same way;
//! - « Retour au volet » says `medimail:close`, and the pane removes the frame.
//!
//! Each side posts to the other's origin only (its own) and takes a message only from the
//! other's window with that origin: another page framing this one, or framed by the
//! pane, gets and gives nothing.

use crate::api;
use crate::components::account::{Activite, Certificate, ChangePassphrase, Mssante};
use crate::components::administration::Administration;
use crate::components::identite::Identite;
use crate::components::notifications::Notifications;
use crate::components::signatures::Signatures;
use crate::framed::{self, CLOSE, READY, from_pane, tell_pane};
use crate::session::{Auth, TokenSource};
use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::Me;

#[component]
pub fn ParametresVolet() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let me = RwSignal::new(None::<Me>);
    let manages = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    if framed::parent().is_none() {
        problem.set(Some(
            "Cette page s'ouvre depuis le volet Medimail dans Outlook (« Paramètres du \
             compte »). Dans votre navigateur, les paramètres sont sur la carte de votre \
             compte, une fois connecté à la messagerie web."
                .to_owned(),
        ));
    }
    let handle = window_event_listener(leptos::ev::message, move |ev| {
        let Some(credentials) = from_pane(&ev) else {
            return;
        };
        let Some(credentials) = framed::renewal_answered(credentials) else {
            return;
        };
        let Some(credentials) = credentials else {
            problem.set(Some(
                "Le volet Medimail n'a pas de session ouverte : revenez au volet et \
                 identifiez-vous."
                    .to_owned(),
            ));
            return;
        };
        auth.source.set_value(Some(TokenSource::Pane));
        auth.credentials.set(Some(credentials));
        spawn_local(async move {
            match auth.call(|c| async move { api::me(&c).await }).await {
                Ok(found) => {
                    me.try_set(Some(found));
                }
                Err(e) => {
                    problem.try_set(Some(e.message));
                    return;
                }
            }
            // « Administration », for the managers of an organisation (the others are
            // refused it).
            let answer = auth
                .call(|c| async move { api::administration(&c, String::new(), 1).await })
                .await;
            if let Ok(administration) = answer {
                manages.try_set(Some(administration.organisation));
            }
        });
    });
    on_cleanup(move || handle.remove());
    tell_pane(READY);
    let back = move |_| tell_pane(CLOSE);
    let loaded = Memo::new(move |_| me.with(Option::is_some));
    view! {
        <section class="card" id="parametres-volet" aria-labelledby="parametres-titre">
            <button id="parametres-retour" type="button" class="secondary" on:click=back>
                "← Retour au volet"
            </button>
            <h2 id="parametres-titre">"Paramètres du compte"</h2>
            {move || problem.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            {move || (me.with(Option::is_none) && problem.with(Option::is_none)).then(|| view! {
                <p class="hint" role="status">"Chargement…"</p>
            })}
            // Mounted once the account is read: a change of name in « Identité » updates
            // `me` without mounting the sections again.
            {move || loaded.get().then(|| view! {
                <p id="parametres-mailbox">"Compte : "
                    {move || me.with(|m| m.as_ref().and_then(|m| m.mailbox.clone()))}</p>
                <Certificate me=me/>
                <Identite me=me/>
                <Notifications/>
                <Activite/>
                <Signatures/>
                <Mssante/>
                <ChangePassphrase/>
            })}
            {move || manages.get().map(|organisation| view! { <Administration organisation=organisation/> })}
        </section>
    }
}
