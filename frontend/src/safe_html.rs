//! The pane's own allowlist for message HTML. The server sanitises bodies when it stores
//! them and again when it serves them; the pane does not rely on that: before any HTML
//! enters the page it is parsed into an inert document (`DOMParser`: no script runs, no
//! image loads), and only the allowed elements and styles are rebuilt as text. The CSP
//! (no inline script) is the third wall.

/// Elements kept, and the style filter: shared with the server (`medimail_api::html`).
pub use medimail_api::html::{ALLOWED_TAGS as ALLOWED, clean_style};

/// Elements dropped with their content (not just unwrapped).
#[cfg(target_arch = "wasm32")]
const DROPPED: [&str; 8] = [
    "script", "style", "iframe", "object", "embed", "template", "noscript", "svg",
];

#[cfg(target_arch = "wasm32")]
mod dom {
    use super::{ALLOWED, DROPPED, clean_style};
    use crate::lecture::escape;
    use wasm_bindgen::JsCast;

    fn walk(node: &web_sys::Node, out: &mut String) {
        let children = node.child_nodes();
        for i in 0..children.length() {
            let Some(child) = children.item(i) else {
                continue;
            };
            match child.node_type() {
                web_sys::Node::TEXT_NODE => {
                    out.push_str(&escape(&child.text_content().unwrap_or_default()))
                }
                web_sys::Node::ELEMENT_NODE => {
                    let Ok(element) = child.clone().dyn_into::<web_sys::Element>() else {
                        continue;
                    };
                    let tag = element.tag_name().to_ascii_lowercase();
                    if DROPPED.contains(&tag.as_str()) {
                        continue;
                    }
                    if !ALLOWED.contains(&tag.as_str()) {
                        // Unknown element: its text survives, the element does not.
                        walk(&child, out);
                        continue;
                    }
                    out.push('<');
                    out.push_str(&tag);
                    if tag == "span"
                        && let Some(style) = element
                            .get_attribute("style")
                            .as_deref()
                            .and_then(clean_style)
                    {
                        // Applied through the CSSOM by `apply_styles`: the CSP refuses
                        // style attributes in markup.
                        out.push_str(" data-mm-style=\"");
                        out.push_str(&escape(&style));
                        out.push('"');
                    }
                    out.push('>');
                    if tag != "br" {
                        walk(&child, out);
                        out.push_str("</");
                        out.push_str(&tag);
                        out.push('>');
                    }
                }
                _ => {}
            }
        }
    }

    /// Gives the spans rebuilt by [`safe_html`] their colours, through the CSSOM (which
    /// the CSP allows, unlike style attributes in markup).
    pub fn apply_styles(root: &web_sys::Element) {
        let Ok(list) = root.query_selector_all("[data-mm-style]") else {
            return;
        };
        for i in 0..list.length() {
            let Some(el) = list
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
            else {
                continue;
            };
            let declared = el.get_attribute("data-mm-style").unwrap_or_default();
            if let Some(clean) = clean_style(&declared) {
                for declaration in clean.split("; ") {
                    if let Some((name, value)) = declaration.split_once(": ") {
                        let _ = el.style().set_property(name, value);
                    }
                }
            }
            let _ = el.remove_attribute("data-mm-style");
        }
    }

    /// `html` rebuilt from the allowlist (empty if it cannot be parsed).
    pub fn safe_html(html: &str) -> String {
        let Ok(parser) = web_sys::DomParser::new() else {
            return String::new();
        };
        let Ok(doc) = parser.parse_from_string(html, web_sys::SupportedType::TextHtml) else {
            return String::new();
        };
        let mut out = String::new();
        if let Some(body) = doc.body() {
            walk(&body, &mut out);
        }
        out
    }
}

#[cfg(target_arch = "wasm32")]
pub use dom::{apply_styles, safe_html};

/// Outside a browser (native unit tests) there is no DOM: everything is text.
#[cfg(not(target_arch = "wasm32"))]
pub fn safe_html(html: &str) -> String {
    crate::lecture::escape(html)
}

#[cfg(not(target_arch = "wasm32"))]
pub fn apply_styles(_root: &web_sys::Element) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_colours_with_plain_values_survive() {
        assert_eq!(
            clean_style("color: #c00000").as_deref(),
            Some("color: #c00000")
        );
        assert_eq!(
            clean_style("background-color: rgb(255, 255, 0); font-size: 90px").as_deref(),
            Some("background-color: rgb(255, 255, 0)")
        );
        assert_eq!(clean_style("background-color: url(https://x/y)"), None);
        assert_eq!(clean_style("color: expression(alert(1))"), None);
        assert_eq!(clean_style("position: fixed"), None);
        assert_eq!(clean_style("color: red\"><script>"), None);
    }
}
