//! "Si vous n'êtes pas le bon destinataire de ce Medimail, merci de le signaler sur ce
//! lien" (the notification's footer, `#/signaler/<token>`): one confirmation, then the
//! sender is told. No sign-in: the link's token proves the mail; the envelope stays
//! closed.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::components::busy_button::BusyButton;
use crate::components::feedback::FieldError;

#[component]
pub fn Signaler(token: String) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let send = Callback::new(move |()| {
        busy.set(true);
        error.set(None);
        let token = token.clone();
        spawn_local(async move {
            match api::report_wrong_recipient(token).await {
                Ok(r) => done.set(Some(if r.first {
                    format!(
                        "Merci : l'expéditeur de l'enveloppe « {} » est prévenu que vous n'en \
                         êtes pas le bon destinataire. Vous pouvez supprimer le mail de \
                         notification.",
                        r.subject
                    )
                } else {
                    format!(
                        "Vous avez déjà signalé l'enveloppe « {} » : son expéditeur est prévenu.",
                        r.subject
                    )
                })),
                Err(e) => error.set(Some(e.message)),
            }
            busy.try_set(false);
        });
    });
    view! {
        <section class="card" aria-labelledby="signaler-titre" id="signaler">
            <h2 id="signaler-titre">"Signaler une erreur de destinataire"</h2>
            {move || match done.get() {
                Some(message) => view! { <p class="notice" id="signaler-fait" role="status">{message}</p> }.into_any(),
                None => view! {
                    <p>
                        "Vous avez reçu la notification d'une enveloppe Medimail qui ne vous est "
                        "pas destinée ? Signalez-le : son expéditeur en sera prévenu. "
                        "L'enveloppe ne sera pas ouverte."
                    </p>
                    <FieldError id="signaler-erreur" error=error/>
                    <BusyButton id="signaler-envoyer" class="primary" busy=busy.into()
                        label="Je ne suis pas le bon destinataire" busy_label="Envoi…" on_click=send/>
                }
                .into_any(),
            }}
            <p><a href="#/">"Retour à l'accueil"</a></p>
        </section>
    }
}
