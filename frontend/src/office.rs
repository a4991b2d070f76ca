//! Every office.js binding of the task pane lives here.
//!
//! office.js is a classic script loaded by `index.html` before the app; it may be absent
//! (blocked, offline) or never become ready, and the pane must start anyway.

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::host::Environment;

#[wasm_bindgen]
extern "C" {
    /// `Office.onReady()`: resolves with `{ host, platform }` once Office is initialised
    /// (both null outside an Office host).
    #[wasm_bindgen(catch, js_namespace = Office, js_name = onReady)]
    fn on_ready() -> Result<Promise, JsValue>;
}

/// True when the global `Office` object exists, i.e. office.js loaded.
pub fn office_js_loaded() -> bool {
    let global = js_sys::global();
    Reflect::get(&global, &JsValue::from_str("Office"))
        .map(|v| !v.is_undefined() && !v.is_null())
        .unwrap_or(false)
}

/// Finds out where the pane runs, waiting at most `timeout_ms` for `Office.onReady`.
pub async fn detect(timeout_ms: i32) -> Environment {
    if !office_js_loaded() {
        return Environment::NoOfficeJs;
    }
    let ready = match on_ready() {
        Ok(promise) => promise,
        Err(_) => return Environment::NoOfficeJs,
    };
    let race = Promise::race(&js_sys::Array::of2(&ready, &sleep(timeout_ms)));
    match JsFuture::from(race).await {
        Ok(info) if info.is_object() => {
            Environment::from_ready(string_field(&info, "host"), string_field(&info, "platform"))
        }
        // The timeout promise resolves with `undefined`.
        Ok(_) => Environment::OfficeTimeout,
        Err(_) => Environment::OfficeTimeout,
    }
}

fn string_field(object: &JsValue, name: &str) -> Option<String> {
    Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
}

/// A promise resolved with `undefined` after `ms` milliseconds.
pub fn sleep(ms: i32) -> Promise {
    Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    })
}

#[wasm_bindgen]
extern "C" {
    /// `Office.auth.getAccessToken(options)`: resolves with the Office (Entra ID) access
    /// token for the add-in's API, rejects with `{ code, message }`.
    #[wasm_bindgen(catch, js_namespace = ["Office", "auth"], js_name = getAccessToken)]
    fn get_access_token_raw(options: &JsValue) -> Result<Promise, JsValue>;
}

/// Why `getAccessToken` failed: office.js's numeric code (13000–13013), or 0 when the API
/// itself is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfficeAuthError {
    pub code: i32,
}

impl OfficeAuthError {
    /// The French explanation shown to the user (Microsoft's "Troubleshoot error messages
    /// for single sign-on" lists the codes).
    pub fn message(&self) -> &'static str {
        crate::host::office_auth_message(self.code)
    }
}

/// Asks office.js for the Office access token, letting Office prompt for sign-in and
/// consent (`allowSignInPrompt`, `allowConsentPrompt`); not a Graph token.
pub async fn get_access_token() -> Result<String, OfficeAuthError> {
    let options = js_sys::Object::new();
    for (key, value) in [
        ("allowSignInPrompt", true),
        ("allowConsentPrompt", true),
        ("forMSGraphAccess", false),
    ] {
        let _ = Reflect::set(
            &options,
            &JsValue::from_str(key),
            &JsValue::from_bool(value),
        );
    }
    let promise = get_access_token_raw(&options).map_err(|_| OfficeAuthError { code: 0 })?;
    match JsFuture::from(promise).await {
        Ok(token) => token.as_string().ok_or(OfficeAuthError { code: 0 }),
        Err(error) => {
            let code = Reflect::get(&error, &JsValue::from_str("code"))
                .ok()
                .and_then(|c| c.as_f64())
                .map(|c| c as i32)
                .unwrap_or(0);
            Err(OfficeAuthError { code })
        }
    }
}

/// What an Outlook message being composed already holds, to start "Nouveau message"
/// from it (the compose surface's Medimail button).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComposePrefill {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    /// Safe HTML to start the message with (an answer's quoted original).
    pub body_html: String,
    /// "Transférer": the original's attachments, carried over on the server.
    pub forward: Option<Carried>,
}

/// Attachments of an envelope carried into a forward: its reference and, per file, the
/// attachment id, name and size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Carried {
    pub reference: String,
    pub files: Vec<(String, String, u64)>,
}

/// `obj.getAsync(callback)` as a future of the result's `value` (None on failure).
async fn get_async(obj: &JsValue) -> Option<JsValue> {
    get_async_with(obj, None).await
}

/// `obj.getAsync([argument,] callback)` as a future of the result's `value` (None on
/// failure or when there is no such method).
async fn get_async_with(obj: &JsValue, argument: Option<&str>) -> Option<JsValue> {
    let get: js_sys::Function = Reflect::get(obj, &JsValue::from_str("getAsync"))
        .ok()?
        .dyn_into()
        .ok()?;
    let target = obj.clone();
    let promise = Promise::new(&mut |resolve, _reject| {
        let callback = Closure::once_into_js(move |result: JsValue| {
            let succeeded = Reflect::get(&result, &JsValue::from_str("status"))
                .ok()
                .and_then(|s| s.as_string())
                .is_some_and(|s| s == "succeeded");
            let value = if succeeded {
                Reflect::get(&result, &JsValue::from_str("value")).unwrap_or(JsValue::NULL)
            } else {
                JsValue::NULL
            };
            let _ = resolve.call1(&JsValue::NULL, &value);
        });
        let _ = match argument {
            Some(a) => get.call2(&target, &JsValue::from_str(a), &callback),
            None => get.call1(&target, &callback),
        };
    });
    let value = JsFuture::from(promise).await.ok()?;
    (!value.is_null() && !value.is_undefined()).then_some(value)
}

fn addresses(value: Option<JsValue>) -> Vec<String> {
    let Some(array) = value.and_then(|v| v.dyn_into::<js_sys::Array>().ok()) else {
        return Vec::new();
    };
    array
        .iter()
        .filter_map(|d| {
            Reflect::get(&d, &JsValue::from_str("emailAddress"))
                .ok()
                .and_then(|a| a.as_string())
        })
        .filter(|a| !a.is_empty())
        .collect()
}

/// The message being composed in Outlook, if the pane was opened from a compose window
/// (in compose mode `item.subject` is an object with `getAsync`; in read mode a string).
pub async fn compose_prefill() -> Option<ComposePrefill> {
    if !office_js_loaded() {
        return None;
    }
    let item = Reflect::get(&js_sys::global(), &JsValue::from_str("Office"))
        .and_then(|o| Reflect::get(&o, &JsValue::from_str("context")))
        .and_then(|c| Reflect::get(&c, &JsValue::from_str("mailbox")))
        .and_then(|m| Reflect::get(&m, &JsValue::from_str("item")))
        .ok()
        .filter(|i| i.is_object())?;
    let subject = Reflect::get(&item, &JsValue::from_str("subject")).ok()?;
    if !subject.is_object() {
        return None;
    }
    let field = |name: &str| Reflect::get(&item, &JsValue::from_str(name)).ok();
    let to = match field("to") {
        Some(f) => addresses(get_async(&f).await),
        None => Vec::new(),
    };
    let cc = match field("cc") {
        Some(f) => addresses(get_async(&f).await),
        None => Vec::new(),
    };
    let subject = get_async(&subject)
        .await
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    Some(ComposePrefill {
        to,
        cc,
        subject,
        ..Default::default()
    })
}

fn mailbox_item() -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str("Office"))
        .and_then(|o| Reflect::get(&o, &JsValue::from_str("context")))
        .and_then(|c| Reflect::get(&c, &JsValue::from_str("mailbox")))
        .and_then(|m| Reflect::get(&m, &JsValue::from_str("item")))
        .ok()
        .filter(|i| i.is_object())
}

/// The text of the mail selected in Outlook (read mode): `item.body.getAsync("text")`.
async fn read_item_text() -> Option<String> {
    let item = mailbox_item()?;
    // In compose mode `subject` is an object with getAsync: not a mail being read.
    if Reflect::get(&item, &JsValue::from_str("subject"))
        .ok()
        .is_some_and(|s| s.is_object())
    {
        return None;
    }
    let body = Reflect::get(&item, &JsValue::from_str("body"))
        .ok()
        .filter(|b| b.is_object())?;
    get_async_with(&body, Some("text")).await?.as_string()
}

/// The envelope reference of the selected mail when it is a Medimail notification
/// (its link ends in `#/inbox/open/<reference>`); None for any other mail.
pub async fn notification_reference() -> Option<String> {
    if !office_js_loaded() {
        return None;
    }
    crate::lecture::reference_in(&read_item_text().await?)
}

/// Calls `on_change` with the new mail's reference (or None) each time the user selects
/// another mail while the pane stays open (pinned pane): Outlook's `ItemChanged` event.
pub fn on_item_changed(on_change: impl Fn(Option<String>) + 'static) {
    if !office_js_loaded() {
        return;
    }
    let Some(mailbox) = Reflect::get(&js_sys::global(), &JsValue::from_str("Office"))
        .and_then(|o| Reflect::get(&o, &JsValue::from_str("context")))
        .and_then(|c| Reflect::get(&c, &JsValue::from_str("mailbox")))
        .ok()
        .filter(|m| m.is_object())
    else {
        return;
    };
    let Some(add) = Reflect::get(&mailbox, &JsValue::from_str("addHandlerAsync"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return;
    };
    let on_change = std::rc::Rc::new(on_change);
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
        let on_change = on_change.clone();
        wasm_bindgen_futures::spawn_local(async move {
            on_change(notification_reference().await);
        });
    });
    let _ = add.call2(
        &mailbox,
        &JsValue::from_str("olkItemSelectedChanged"),
        handler.as_ref(),
    );
    handler.forget();
}
