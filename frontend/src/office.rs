//! Every office.js binding of the task pane lives here.
//!
//! office.js is a classic script loaded by `index.html` before the app; it may be absent
//! (blocked, offline) or never become ready, and the pane must start anyway.

use js_sys::{Promise, Reflect};
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
