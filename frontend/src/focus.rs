//! Focus and scroll go to what changed (issue 21, items 3 and 4): the subject of an
//! opened envelope, the first field of a new screen, the confirmation after "Envoyer".
//! The element gets the focus (so a screen reader reads it and the next Tab starts there)
//! and is scrolled to the top of the pane, once it is in the page.

use leptos::prelude::{document, request_animation_frame};
use wasm_bindgen::JsCast;

/// Focuses the element `id` and scrolls it to the top, at the next frame (after the
/// render that adds it). A heading is made focusable by script only (`tabindex="-1"`).
pub fn show(id: impl Into<String>) {
    let id = id.into();
    request_animation_frame(move || {
        let Some(el) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            return;
        };
        if el.tab_index() < 0 && !el.has_attribute("tabindex") {
            let _ = el.set_attribute("tabindex", "-1");
        }
        let _ = el.focus();
        el.scroll_into_view_with_bool(true);
    });
}
