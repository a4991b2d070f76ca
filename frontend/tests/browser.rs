//! The task pane in headless Chromium (wasm-bindgen-test): detection of office.js and the
//! shell rendering. Run with
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p medimail-taskpane --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Object, Reflect};
use medimail_taskpane::host::Environment;
use medimail_taskpane::{app, office};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().expect("window")
}

fn document() -> web_sys::Document {
    window().document().expect("document")
}

/// Installs a global `Office` whose `onReady` runs `body` (a JS function body).
fn install_office(on_ready_body: &str) {
    let office = Object::new();
    Reflect::set(
        &office,
        &"onReady".into(),
        &Function::new_no_args(on_ready_body),
    )
    .expect("set onReady");
    Reflect::set(&window(), &"Office".into(), &office).expect("set Office");
}

fn remove_office() {
    let global: Object = window().unchecked_into();
    Reflect::delete_property(&global, &"Office".into()).expect("delete");
}

async fn tick(ms: i32) {
    JsFuture::from(office::sleep(ms)).await.expect("sleep");
}

#[wasm_bindgen_test]
async fn without_office_js_the_pane_knows_it_is_outside_outlook() {
    remove_office();
    assert!(!office::office_js_loaded());
    assert_eq!(office::detect(50).await, Environment::NoOfficeJs);
}

#[wasm_bindgen_test]
async fn detects_outlook_through_office_on_ready() {
    install_office("return Promise.resolve({ host: 'Outlook', platform: 'Mac' });");
    let env = office::detect(2_000).await;
    remove_office();
    assert!(env.in_outlook());
    assert_eq!(env.status_line(), "Connecté à Outlook pour Mac");
}

#[wasm_bindgen_test]
async fn a_plain_browser_with_office_js_has_no_host() {
    install_office("return Promise.resolve({ host: null, platform: null });");
    let env = office::detect(2_000).await;
    remove_office();
    assert_eq!(env, Environment::Browser);
}

#[wasm_bindgen_test]
async fn starts_anyway_when_office_never_becomes_ready() {
    install_office("return new Promise(function () {});");
    let env = office::detect(100).await;
    remove_office();
    assert_eq!(env, Environment::OfficeTimeout);
}

#[wasm_bindgen_test]
async fn renders_the_french_shell_and_follows_the_hash() {
    // Start from the home screen whatever address the test runner page has.
    window().location().set_hash("#/").expect("hash");
    tick(50).await;
    let doc = document();
    let root = doc.create_element("div").expect("div");
    root.set_id(medimail_taskpane::MOUNT_ID);
    root.set_inner_html("<p id=\"medimail-loading\">Chargement de Medimail…</p>");
    doc.body()
        .expect("body")
        .append_child(&root)
        .expect("append");

    app::mount(Environment::from_ready(
        Some("Outlook".into()),
        Some("OfficeOnline".into()),
    ));

    let text = |selector: &str| {
        doc.query_selector(selector)
            .expect("selector")
            .unwrap_or_else(|| panic!("{selector} rendered"))
            .text_content()
            .unwrap_or_default()
    };
    assert_eq!(text(".app-header h1"), "Medimail");
    assert_eq!(text("p.status"), "Connecté à Outlook sur le web");
    assert!(text("#contenu").contains("Bienvenue"));
    assert!(doc.get_element_by_id("medimail-loading").is_none());
    let ready = doc
        .document_element()
        .and_then(|e| e.get_attribute("data-medimail-ready"));
    assert_eq!(ready.as_deref(), Some("true"));
    let rendered_at = Reflect::get(&window(), &JsValue::from_str("__medimailShellRenderedAt"))
        .expect("timestamp");
    assert!(rendered_at.as_f64().is_some_and(|t| t > 0.0));

    window().location().set_hash("#/aide").expect("hash");
    tick(100).await;
    assert_eq!(text("#aide-titre"), "Aide");
    window().location().set_hash("#/perdu").expect("hash");
    tick(100).await;
    assert_eq!(text("#introuvable-titre"), "Page introuvable");
    window().location().set_hash("#/").expect("hash");
    tick(100).await;
    assert_eq!(text("#accueil-titre"), "Bienvenue");
}

#[wasm_bindgen_test]
async fn gets_the_office_token_and_explains_its_errors() {
    let office = Object::new();
    let auth = Object::new();
    Reflect::set(
        &auth,
        &"getAccessToken".into(),
        &Function::new_with_args(
            "options",
            "return options.allowSignInPrompt && options.allowConsentPrompt && !options.forMSGraphAccess \
             ? Promise.resolve('eyJ.token.sig') : Promise.reject({ code: 1 });",
        ),
    )
    .expect("set getAccessToken");
    Reflect::set(&office, &"auth".into(), &auth).expect("set auth");
    Reflect::set(&window(), &"Office".into(), &office).expect("set Office");
    assert_eq!(
        office::get_access_token().await.as_deref(),
        Ok("eyJ.token.sig")
    );

    Reflect::set(
        &auth,
        &"getAccessToken".into(),
        &Function::new_no_args("return Promise.reject({ code: 13001, message: 'not signed in' });"),
    )
    .expect("set getAccessToken");
    let error = office::get_access_token().await.expect_err("13001");
    assert_eq!(error.code, 13001);
    assert!(error.message().contains("pas connecté à Office"));
    remove_office();

    // Without office.js at all, the API is missing (code 0).
    assert_eq!(
        office::get_access_token().await.expect_err("missing").code,
        0
    );
}

#[wasm_bindgen_test]
fn message_html_is_rebuilt_from_the_allowlist_and_its_colours_applied_through_the_cssom() {
    use medimail_taskpane::safe_html::{apply_styles, safe_html};
    let tampered = r#"<p>Bonjour <b>Docteur</b> <span style="color: #c00000; position: fixed">rouge</span></p><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><a href="javascript:alert(1)">lien</a><iframe srcdoc="<script>parent.__pwned=3</script>"></iframe><blockquote><ul><li>point</li></ul></blockquote>"#;
    let clean = safe_html(tampered);
    assert_eq!(
        clean,
        r#"<p>Bonjour <b>Docteur</b> <span data-mm-style="color: #c00000">rouge</span></p>lien<blockquote><ul><li>point</li></ul></blockquote>"#
    );
    let div = document().create_element("div").expect("div");
    div.set_inner_html(&clean);
    document()
        .body()
        .expect("body")
        .append_child(&div)
        .expect("append");
    apply_styles(&div);
    let span: web_sys::HtmlElement = div
        .query_selector("span")
        .expect("query")
        .expect("span")
        .dyn_into()
        .expect("html element");
    assert_eq!(
        span.style().get_property_value("color").expect("color"),
        "rgb(192, 0, 0)"
    );
    assert!(span.get_attribute("data-mm-style").is_none());
    assert!(
        Reflect::get(&window(), &"__pwned".into())
            .expect("get")
            .is_undefined()
    );
    div.remove();
}
