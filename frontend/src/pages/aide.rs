//! "Aide": how to add the add-in, and whom to ask (the manifest's SupportUrl).

use leptos::prelude::*;
use medimail_api::paths;

#[component]
pub fn Aide() -> impl IntoView {
    let manifest = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .map(|origin| format!("{origin}{}", paths::MANIFEST))
        .unwrap_or_else(|| paths::MANIFEST.to_owned());
    view! {
        <section class="card" aria-labelledby="aide-titre">
            <h2 id="aide-titre">"Aide"</h2>
            <h3>"Ajouter Medimail à Outlook"</h3>
            <ol>
                <li>"Dans Outlook sur le web, ouvrez Paramètres, puis Gérer les compléments."</li>
                <li>"Cliquez sur Ajouter, puis Ajouter à partir d'une URL."</li>
                <li>"Saisissez l'adresse suivante, puis cliquez sur Suivant et Installer :"</li>
            </ol>
            <p class="manifest-url"><code>{manifest}</code></p>
            <p>"Le complément apparaît aussi dans Outlook pour Windows, sans autre action."</p>
            <h3>"Besoin d'aide ?"</h3>
            <p>"Contactez le support informatique de votre établissement."</p>
            <p><a href="#/">"Retour à l'accueil"</a></p>
        </section>
    }
}
