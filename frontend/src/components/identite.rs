//! « Paramètres du compte » › « Identité » (manual part 1 §6.1), in the webmail:
//! Authentification, Dématérialisation, Identification, Localisation and the visibility
//! in the directory, saved whole by « Enregistrer ». The server checks every field; what
//! it refuses is said next to each field, and nothing is saved until all pass.

use leptos::prelude::*;
use leptos::task::spawn_local;
use medimail_api::{AccountIdentity, Coded, FieldRefusal, Me, Nomenclatures};

use crate::api;
use crate::components::busy_button::BusyButton;
use crate::session::Auth;

/// What the section shows: the form and its lists once read, or why they could not be.
type Read = RwSignal<Option<Result<(AccountIdentity, Nomenclatures), String>>>;

/// A text field of the form: where it is read and written in [`AccountIdentity`].
type Slot = fn(&mut AccountIdentity) -> &mut Option<String>;

#[component]
pub fn Identite(me: RwSignal<Option<Me>>) -> impl IntoView {
    let read: Read = RwSignal::new(None);
    let form = RwSignal::new(AccountIdentity::default());
    let refused = RwSignal::new(Vec::<FieldRefusal>::new());
    let busy = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let load = move |ev: leptos::ev::Event| {
        let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
        if !open || read.with_untracked(Option::is_some) {
            return;
        }
        let auth = expect_context::<Auth>();
        spawn_local(async move {
            let identity = auth
                .call(|c| async move { api::account_identity(&c).await })
                .await;
            let lists = auth
                .call(|c| async move { api::nomenclatures(&c).await })
                .await;
            let answer = match (identity, lists) {
                (Ok(i), Ok(l)) => {
                    form.try_set(i.clone());
                    Ok((i, l))
                }
                (Err(e), _) | (_, Err(e)) => Err(e.message),
            };
            read.try_set(Some(answer));
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        outcome.set(None);
        let wanted = form.get_untracked();
        let auth = expect_context::<Auth>();
        spawn_local(async move {
            let answer = auth
                .call(|c| {
                    let wanted = wanted.clone();
                    async move { api::set_account_identity(&c, wanted).await }
                })
                .await;
            busy.try_set(false);
            match answer {
                Ok(stored) => {
                    refused.try_set(Vec::new());
                    me.try_update(|m| {
                        if let Some(m) = m {
                            m.liste_rouge = stored.liste_rouge;
                            if let Some(last) = &stored.last_name {
                                let first = stored.first_name.clone().unwrap_or_default();
                                m.name = Some(
                                    format!("{first} {}", last.to_uppercase()).trim().to_owned(),
                                );
                            }
                        }
                    });
                    form.try_set(stored);
                    outcome.try_set(Some(Ok("Vos informations sont enregistrées ; l'annuaire Medimail les montre dès maintenant.".to_owned())));
                }
                Err(e) if !e.errors.is_empty() => {
                    let n = e.errors.len();
                    refused.try_set(e.errors);
                    outcome.try_set(Some(Err(if n == 1 {
                        "Un champ est à corriger : rien n'a été enregistré.".to_owned()
                    } else {
                        format!("{n} champs sont à corriger : rien n'a été enregistré.")
                    })));
                }
                Err(e) => {
                    outcome.try_set(Some(Err(e.message)));
                }
            }
        });
    };
    let shown = move || {
        read.get().map(|r| match r {
            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            Ok((_, lists)) => view! {
                <form id="identite-form" class="identite" on:submit=save novalidate>
                    <h4>"Authentification"</h4>
                    <p>"Adresse mail : " <strong id="identite-mailbox">{move || form.with(|f| f.mailbox.clone().unwrap_or_default())}</strong></p>
                    <p>"Mot de passe : "
                        <a href="#change-passphrase" id="identite-passphrase" on:click=open_passphrase>
                            "Demander la modification du mot de passe"
                        </a>
                    </p>
                    <p>"Authentification forte : activée (code à usage unique ou carte CPx à chaque connexion)."</p>
                    <h4>"Dématérialisation"</h4>
                    <label class="checkbox">
                        <input id="identite-dematerialised" type="checkbox"
                            prop:checked=move || form.with(|f| f.dematerialised)
                            on:change=move |ev| form.update(|f| f.dematerialised = event_target_checked(&ev))/>
                        "Je souhaite dématérialiser tous mes échanges et ne plus recevoir de papier."
                    </label>
                    <p class="hint">
                        "Ce choix de dématérialisation des échanges est pris en compte sous réserve que "
                        "l'établissement émetteur d'enveloppes Medimail soit en capacité de gérer cette option."
                    </p>
                    <h4>"Identification"</h4>
                    <div class="identite-grid">
                        {choice("civility", "Civilité", |f| &mut f.civility, lists.civilities.clone(), form, refused)}
                        {text("last_name", "Nom", "family-name", |f| &mut f.last_name, form, refused)}
                        {text("first_name", "Prénom", "given-name", |f| &mut f.first_name, form, refused)}
                        {identifier("rpps", "RPPS", |f| &mut f.rpps, form, refused)}
                        {identifier("adeli", "ADELI", |f| &mut f.adeli, form, refused)}
                        {choice("profession", "Profession", |f| &mut f.profession, lists.professions.clone(), form, refused)}
                        {choice("speciality", "Spécialité", |f| &mut f.speciality, lists.specialities.clone(), form, refused)}
                        {text("raison_sociale", "Raison sociale", "organization", |f| &mut f.raison_sociale, form, refused)}
                    </div>
                    {move || form.with(|f| f.identifier_from_card).then(|| view! {
                        <p class="hint" id="identite-card">"Votre numéro RPPS / ADELI vient de votre carte CPx."</p>
                    })}
                    <p class="hint">"Si vous possédez les deux identifiants, renseignez en priorité le RPPS, qui tend à remplacer le répertoire ADELI."</p>
                    <label class="checkbox">
                        <input id="identite-liberal" type="checkbox"
                            prop:checked=move || form.with(|f| f.liberal)
                            on:change=move |ev| form.update(|f| f.liberal = event_target_checked(&ev))/>
                        "Activité libérale"
                    </label>
                    <h4>"Localisation"</h4>
                    <div class="identite-grid">
                        {text("address1", "Adresse (1)", "address-line1", |f| &mut f.address1, form, refused)}
                        {text("address2", "Adresse (2)", "address-line2", |f| &mut f.address2, form, refused)}
                        {text("postal_code", "Code postal", "postal-code", |f| &mut f.postal_code, form, refused)}
                        {text("city", "Ville", "address-level2", |f| &mut f.city, form, refused)}
                        {choice("region", "Région", |f| &mut f.region, lists.regions.clone(), form, refused)}
                        {choice("department", "Département", |f| &mut f.department, lists.departments.clone(), form, refused)}
                        {text("phone1", "Téléphone (1)", "tel", |f| &mut f.phone1, form, refused)}
                        {text("phone2", "Téléphone (2)", "tel", |f| &mut f.phone2, form, refused)}
                    </div>
                    <p class="hint">"Laissez « Région » et « Département » vides : ils sont déduits du code postal."</p>
                    <fieldset id="identite-visibility">
                        <legend>"Visibilité dans l'annuaire"</legend>
                        <label class="checkbox">
                            <input id="identite-visible" type="radio" name="identite-visibility"
                                prop:checked=move || form.with(|f| !f.liste_rouge)
                                on:change=move |_| form.update(|f| f.liste_rouge = false)/>
                            "Visible par l'ensemble des utilisateurs Medimail"
                        </label>
                        <label class="checkbox">
                            <input id="identite-liste-rouge" type="radio" name="identite-visibility"
                                prop:checked=move || form.with(|f| f.liste_rouge)
                                on:change=move |_| form.update(|f| f.liste_rouge = true)/>
                            "Liste rouge : ne pas apparaître dans les annuaires"
                        </label>
                    </fieldset>
                    {move || outcome.get().map(|o| match o {
                        Ok(m) => view! { <p class="notice" id="identite-saved" role="status">{m}</p> }.into_any(),
                        Err(m) => view! { <p class="error" id="identite-error" role="alert">{m}</p> }.into_any(),
                    })}
                    <BusyButton id="identite-save" submit=true class="primary" busy=busy.into()
                        label="Enregistrer" busy_label="Enregistrement…"/>
                </form>
            }
            .into_any(),
        })
    };
    view! {
        <details id="identite" on:toggle=load>
            <summary>"Identité"</summary>
            {move || read.with(Option::is_none).then(|| view! { <p class="hint" role="status">"Chargement…"</p> })}
            {shown}
        </details>
    }
}

/// « Demander la modification du mot de passe »: opens « Changer mon mot de passe ».
fn open_passphrase(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(details) = document.get_element_by_id("change-passphrase") {
        let _ = details.set_attribute("open", "");
        details.scroll_into_view();
    }
    if let Some(input) = document.get_element_by_id("change-current") {
        use wasm_bindgen::JsCast;
        if let Ok(input) = input.dyn_into::<web_sys::HtmlElement>() {
            let _ = input.focus();
        }
    }
}

/// What the form holds in `slot` (empty for none).
fn value(form: RwSignal<AccountIdentity>, slot: Slot) -> String {
    let mut f = form.get();
    slot(&mut f).take().unwrap_or_default()
}

/// The refusal of `field`, if the last « Enregistrer » refused it.
fn refusal_of(refused: RwSignal<Vec<FieldRefusal>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || {
        refused.with(|r| {
            r.iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone())
        })
    })
}

/// The refusal line under a field, tied to it by `aria-describedby`.
fn refusal_line(id: String, error: Signal<Option<String>>) -> impl IntoView {
    move || {
        error
            .get()
            .map(|m| view! { <p class="field-error" id=id.clone()>{m}</p> })
    }
}

fn text(
    field: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    slot: Slot,
    form: RwSignal<AccountIdentity>,
    refused: RwSignal<Vec<FieldRefusal>>,
) -> impl IntoView {
    let id = format!("identite-{}", field.replace('_', "-"));
    let error_id = format!("{id}-error");
    let error = refusal_of(refused, field);
    view! {
        <div class="identite-field">
            <label for=id.clone()>{label} " :"</label>
            <input id=id type="text" autocomplete=autocomplete maxlength="100"
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=error_id.clone()
                prop:value=move || value(form, slot)
                on:input=move |ev| form.update(|f| *slot(f) = Some(event_target_value(&ev)))/>
            {refusal_line(error_id, error)}
        </div>
    }
}

/// RPPS and ADELI: read-only while a CPx card gives them.
fn identifier(
    field: &'static str,
    label: &'static str,
    slot: Slot,
    form: RwSignal<AccountIdentity>,
    refused: RwSignal<Vec<FieldRefusal>>,
) -> impl IntoView {
    let id = format!("identite-{field}");
    let error_id = format!("{id}-error");
    let error = refusal_of(refused, field);
    view! {
        <div class="identite-field">
            <label for=id.clone()>{label} " :"</label>
            <input id=id type="text" inputmode="numeric" maxlength="11"
                readonly=move || form.with(|f| f.identifier_from_card)
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=error_id.clone()
                prop:value=move || value(form, slot)
                on:input=move |ev| form.update(|f| *slot(f) = Some(event_target_value(&ev)))/>
            {refusal_line(error_id, error)}
        </div>
    }
}

/// A list of a nomenclature, with « Sélectionner » for none.
fn choice(
    field: &'static str,
    label: &'static str,
    slot: Slot,
    options: Vec<Coded>,
    form: RwSignal<AccountIdentity>,
    refused: RwSignal<Vec<FieldRefusal>>,
) -> impl IntoView {
    let id = format!("identite-{field}");
    let error_id = format!("{id}-error");
    let error = refusal_of(refused, field);
    let current = move || value(form, slot);
    view! {
        <div class="identite-field">
            <label for=id.clone()>{label} " :"</label>
            <select id=id
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=error_id.clone()
                prop:value=current
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    form.update(|f| *slot(f) = (!v.is_empty()).then_some(v));
                }>
                <option value="" selected=move || current().is_empty()>"Sélectionner"</option>
                {options.into_iter().map(|o| {
                    let code = o.code.clone();
                    view! {
                        <option value=o.code.clone() selected=move || current() == code>{o.label}</option>
                    }
                }).collect_view()}
            </select>
            {refusal_line(error_id, error)}
        </div>
    }
}
