//! Shown for an unknown hash route.

use leptos::prelude::*;

#[component]
pub fn Introuvable() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="introuvable-titre">
            <h2 id="introuvable-titre">"Page introuvable"</h2>
            <p>"Cette page n'existe pas dans Medimail."</p>
            <p><a href="#/">"Retour à l'accueil"</a></p>
        </section>
    }
}
