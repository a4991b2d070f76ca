//! "Bienvenue": what Medimail is, under the sign-in and signed-in screens of the home
//! page.

use leptos::prelude::*;

use crate::host::Environment;

#[component]
pub fn Accueil(environment: Environment) -> impl IntoView {
    let in_outlook = environment.in_outlook();
    view! {
        <section class="card" aria-labelledby="accueil-titre">
            <h2 id="accueil-titre">"Bienvenue"</h2>
            <p>
                "Medimail est la messagerie sécurisée de santé de l'espace de confiance "
                "MSSanté : vos comptes rendus et documents de patients y sont scellés, "
                "chiffrés et tracés."
            </p>
            {if in_outlook {
                view! {
                    <p>"Ce volet s'ouvre depuis un message : sélectionnez une notification "
                    "Medimail pour lire son enveloppe, ou rédigez un nouveau message pour "
                    "l'envoyer en toute sécurité."</p>
                }
                    .into_any()
            } else {
                view! {
                    <p>"Pour l'utiliser dans Outlook, votre service informatique ajoute le "
                    "complément à partir de son adresse de manifeste ; il apparaît ensuite "
                    "comme un bouton Medimail dans vos messages."</p>
                }
                    .into_any()
            }}
            <p>
                <a href="#/aide">"Aide et assistance"</a>
            </p>
        </section>
    }
}
