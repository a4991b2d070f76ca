//! The exchange between the pane and the webmail's « Paramètres du compte » page it
//! frames (`pages::parametres`, `office::open_parametres`), from the framed page's side:
//! what it says to the pane, the pane's answers it takes, and a renewal of the Office token
//! asked of the pane (`session::TokenSource::Pane`). The pane's side is the JavaScript
//! of `office::open_parametres`.

use std::cell::RefCell;

use futures_channel::oneshot;
use wasm_bindgen::{JsCast, JsValue};

use crate::api::{ApiError, Credentials};

/// What this page says to the pane.
pub const READY: &str = "medimail:ready";
pub const RENEW: &str = "medimail:renew";
pub const CLOSE: &str = "medimail:close";

thread_local! {
    /// A renewal waiting for the pane's answer.
    static RENEWING: RefCell<Option<oneshot::Sender<Option<Credentials>>>> =
        const { RefCell::new(None) };
}

/// The window framing this page, if it is framed.
pub fn parent() -> Option<web_sys::Window> {
    let window = web_sys::window()?;
    let parent = window.parent().ok()??;
    (!js_sys::Object::is(&parent, &window)).then_some(parent)
}

fn origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}

/// Says `what` to the pane, at this origin only.
pub fn tell_pane(what: &str) {
    if let (Some(parent), Some(origin)) = (parent(), origin()) {
        let _ = parent.post_message(&JsValue::from_str(what), &origin);
    }
}

/// The credentials in `data`: `[office_token, session]`, `None` for an empty token.
pub fn credentials_of(token: String, session: String) -> Option<Credentials> {
    (!token.is_empty()).then(|| Credentials {
        office_token: token,
        session: (!session.is_empty()).then_some(session),
        csrf: None,
    })
}

/// The credentials of `ev` when it is the pane's answer (its window, this origin).
pub fn from_pane(ev: &web_sys::MessageEvent) -> Option<Option<Credentials>> {
    let parent = parent()?;
    if ev.origin() != origin()? || !ev.source().is_some_and(|s| js_sys::Object::is(&s, &parent)) {
        return None;
    }
    let pair: js_sys::Array = ev.data().dyn_into().ok()?;
    Some(credentials_of(
        pair.get(0).as_string()?,
        pair.get(1).as_string()?,
    ))
}

/// A new Office token, asked of the pane (`TokenSource::Pane`).
pub async fn renewed_by_pane() -> Result<String, ApiError> {
    let (sender, answer) = oneshot::channel();
    RENEWING.with(|r| *r.borrow_mut() = Some(sender));
    tell_pane(RENEW);
    match answer.await {
        Ok(Some(credentials)) => Ok(credentials.office_token),
        _ => Err(ApiError::new(
            "office_token",
            "Votre identification Microsoft 365 a expiré : revenez au volet, puis \
             identifiez-vous à nouveau.",
        )),
    }
}

/// Hands the pane's answer to a renewal waiting for it; otherwise gives it back (new
/// credentials for the page).
pub fn renewal_answered(credentials: Option<Credentials>) -> Option<Option<Credentials>> {
    match RENEWING.with(|r| r.borrow_mut().take()) {
        Some(waiting) => {
            let _ = waiting.send(credentials);
            None
        }
        None => Some(credentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pane_s_pair_is_credentials_and_an_empty_token_none() {
        let c = credentials_of("tok".into(), "sess".into()).expect("credentials");
        assert_eq!(c.office_token, "tok");
        assert_eq!(c.session.as_deref(), Some("sess"));
        assert!(!c.is_webmail());
        assert_eq!(
            credentials_of("tok".into(), String::new()).and_then(|c| c.session),
            None
        );
        assert_eq!(credentials_of(String::new(), "sess".into()), None);
    }
}
