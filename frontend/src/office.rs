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
