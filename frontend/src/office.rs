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
    /// The envelope answered or forwarded (its thread).
    pub thread: Option<String>,
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

/// `Office.context.requirements.isSetSupported('IdentityAPI', '1.3')`: single sign-on is
/// possible in this Outlook. False when office.js cannot say.
pub fn identity_api_supported() -> bool {
    let global = js_sys::global();
    let check = || -> Option<bool> {
        let office = Reflect::get(&global, &JsValue::from_str("Office")).ok()?;
        let context = Reflect::get(&office, &JsValue::from_str("context")).ok()?;
        let requirements = Reflect::get(&context, &JsValue::from_str("requirements")).ok()?;
        let is_set: js_sys::Function =
            Reflect::get(&requirements, &JsValue::from_str("isSetSupported"))
                .ok()?
                .dyn_into()
                .ok()?;
        is_set
            .call2(
                &requirements,
                &JsValue::from_str("IdentityAPI"),
                &JsValue::from_str("1.3"),
            )
            .ok()?
            .as_bool()
    };
    check().unwrap_or(false)
}

/// What `getAccessToken` failing with `code` calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsoFailure {
    /// Single sign-on is not available here: sign in through the dialog instead.
    Fallback,
    /// The user cancelled (13002): explain, offer to try again.
    Cancelled,
    /// Anything else: explain.
    Other,
}

/// Microsoft's guidance for add-ins ("Troubleshoot error messages for single sign-on"):
/// 13000 (API not supported), 13001 (not signed in), 13003 (account type), 13006 (client
/// error), 13007 (cannot get a token), 13010/13012 (unsupported host) and a missing API
/// fall back to the dialog; 13002 is the user cancelling.
pub fn sso_failure(code: i32) -> SsoFailure {
    match code {
        0 | 13000 | 13001 | 13003 | 13006 | 13007 | 13010 | 13012 => SsoFailure::Fallback,
        13002 => SsoFailure::Cancelled,
        _ => SsoFailure::Other,
    }
}

#[wasm_bindgen(inline_js = r#"
export function open_dialog(url, closed, done) {
  var finished = false;
  function finish(ok, value) { if (!finished) { finished = true; done(ok, value); } }
  var ui = window.Office && Office.context && Office.context.ui;
  if (!ui || !ui.displayDialogAsync) {
    finish(false, "Cette version d'Outlook ne sait pas ouvrir de fenêtre de connexion.");
    return;
  }
  var types = Office.EventType || {};
  ui.displayDialogAsync(url, { height: 60, width: 35, promptBeforeOpen: false }, function (result) {
    if (result.status !== "succeeded") {
      finish(false, "La fenêtre de connexion n'a pas pu s'ouvrir (bloqueur de fenêtres ?). Autorisez-la, puis réessayez.");
      return;
    }
    var dialog = result.value;
    dialog.addEventHandler(types.DialogMessageReceived || "dialogMessageReceived", function (arg) {
      // Only the pane's own origin; an Outlook too old to say (no origin) only lets the
      // add-in's own domains post to it.
      if (arg.origin !== undefined && arg.origin !== window.location.origin) return;
      var outcome;
      try { outcome = JSON.parse(arg.message); } catch (e) { return; }
      var token = outcome && (outcome.office_token || outcome.grant);
      var ok = outcome && outcome.status === "ok" && typeof token === "string";
      if (!ok && !(outcome && outcome.status === "error" && typeof outcome.message === "string")) return;
      try { dialog.close(); } catch (e) {}
      finish(ok, ok ? token : outcome.message);
    });
    // 12006: closed by the user; 12002/12003: the page could not load.
    dialog.addEventHandler(types.DialogEventReceived || "dialogEventReceived", function () {
      finish(false, closed);
    });
  });
}
export function open_parametres(token, session) {
  if (document.getElementById("parametres-frame")) return;
  var origin = window.location.origin, frame = document.createElement("iframe");
  frame.id = frame.className = "parametres-frame";
  frame.title = "Paramètres du compte";
  frame.src = "/#/volet/parametres";
  function answer(t) { frame.contentWindow.postMessage([t, session], origin); }
  function listen(ev) {
    if (ev.origin !== origin || ev.source !== frame.contentWindow) return;
    if (ev.data === "medimail:ready") { answer(token); frame.focus(); }
    else if (ev.data === "medimail:renew") {
      var auth = window.Office && Office.auth;
      if (!auth) return answer("");
      auth.getAccessToken({ allowSignInPrompt: true, allowConsentPrompt: true, forMSGraphAccess: false })
        .then(function (t) { answer(token = t); }, function () { answer(""); });
    } else if (ev.data === "medimail:close") {
      window.removeEventListener("message", listen);
      frame.remove();
      var back = document.getElementById("open-parametres");
      if (back) back.focus();
    }
  }
  window.addEventListener("message", listen);
  document.body.appendChild(frame);
}
"#)]
extern "C" {
    fn open_dialog(url: &str, closed: &str, done: &Closure<dyn FnMut(bool, String)>);
    /// « Paramètres du compte » in the pane: the webmail's screens (`/#/volet/parametres`,
    /// `pages::parametres`, which gives the exchange) in a frame over the pane, fetched
    /// only then, handed `token` and `session` in memory by `postMessage` at this origin
    /// only, and messages taken only from that frame's window at this origin. A renewal it
    /// asks for is office.js's own `getAccessToken` (none outside Outlook: an empty token,
    /// and the frame says to sign in again); « Retour au volet » removes the frame and puts
    /// the focus back on the button. A few lines of JavaScript: in Rust they weighed 3.5 KB
    /// of the pane's budget.
    pub fn open_parametres(token: &str, session: &str);
}

/// Opens `url` in an Office dialog (`displayDialogAsync`) and waits for the page to post
/// its outcome (`/auth/dialog/callback`: the Office token; `/auth/psc/callback`: the CPx
/// card's grant), or a French explanation. Messages from another origin are ignored;
/// closing the dialog ends the wait. `again` names the button that opens it. The Office
/// calls are a few lines of JavaScript (`open_dialog`): in Rust they weighed 3 KB of the
/// pane's budget.
pub async fn dialog_sign_in(url: &str, again: &str) -> Result<String, String> {
    let closed = format!(
        "La fenêtre de connexion a été fermée avant la fin. Cliquez de nouveau sur « {again} » \
         pour recommencer."
    );
    let (sender, receiver) = futures_channel::oneshot::channel::<Result<String, String>>();
    let sender = std::cell::RefCell::new(Some(sender));
    let done = Closure::<dyn FnMut(bool, String)>::new(move |ok: bool, value: String| {
        if let Some(s) = sender.borrow_mut().take() {
            let _ = s.send(if ok { Ok(value) } else { Err(value) });
        }
    });
    open_dialog(url, &closed, &done);
    // It lives as long as the dialog.
    done.forget();
    receiver.await.unwrap_or(Err(closed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sso_failures_that_mean_not_available_here_fall_back_to_the_dialog() {
        for code in [0, 13000, 13001, 13003, 13006, 13007, 13010, 13012] {
            assert_eq!(sso_failure(code), SsoFailure::Fallback, "{code}");
        }
        assert_eq!(sso_failure(13002), SsoFailure::Cancelled);
        for code in [13004, 13005, 13008, 13013, 99999] {
            assert_eq!(sso_failure(code), SsoFailure::Other, "{code}");
        }
    }
}
