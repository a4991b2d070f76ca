//! The task pane page: Trunk's `dist/index.html`, with the office.js address filled in,
//! and the Content-Security-Policy that goes with it.
//!
//! The page has inline scripts (the ES5 "too old" check, Trunk's module loader). The CSP
//! allows exactly those by hash, computed here from the page that is served, so a rebuilt
//! page never needs a hand-edited policy and no other inline script can run.

use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};
use url::Url;

/// The built task pane could not be read; names the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot {what}: {}: {source}", path.display())]
pub struct PageError {
    pub what: &'static str,
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Marker in `frontend/index.html` replaced by the configured office.js URL.
pub const OFFICE_JS_PLACEHOLDER: &str = "__MEDIMAIL_OFFICE_JS_URL__";

/// Where Outlook frames the pane from (Outlook on the web and Microsoft 365 hosts).
/// Desktop Outlook uses a webview, not a frame, and is not concerned.
const FRAME_ANCESTORS: &str = "'self' https://*.office.com https://*.office365.com \
     https://*.outlook.com https://outlook.live.com https://*.officeapps.live.com \
     https://*.cloud.microsoft https://*.microsoft.com";

/// The rendered page and its policy, computed once at start-up.
#[derive(Clone, Debug)]
pub struct TaskpanePage {
    pub html: String,
    pub csp: String,
}

impl TaskpanePage {
    /// Loads `dist_dir/index.html`; a missing page is a start-up error that says how to
    /// build it.
    pub fn load(dist_dir: &Path, office_js: &Url) -> Result<Self, PageError> {
        let path = dist_dir.join("index.html");
        let template = std::fs::read_to_string(&path).map_err(|e| PageError {
            what: "read the task pane (build it with `trunk build --release`, or use scripts/run.sh)",
            path: path.clone(),
            source: e,
        })?;
        Ok(Self::render(&template, office_js))
    }

    pub fn render(template: &str, office_js: &Url) -> Self {
        let html = template.replace(OFFICE_JS_PLACEHOLDER, &escape_attr(office_js.as_str()));
        let csp = content_security_policy(&html, &office_js.origin().ascii_serialization());
        Self { html, csp }
    }
}

/// The policy for a page: only this origin, the office.js origin and, for inline
/// scripts, the hashes of those present. `'wasm-unsafe-eval'` lets WebAssembly compile;
/// there is no `'unsafe-eval'` and no `'unsafe-inline'`.
pub fn content_security_policy(html: &str, office_origin: &str) -> String {
    let hashes: Vec<String> = inline_scripts(html)
        .into_iter()
        .map(|body| {
            let digest = Sha256::digest(body.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    let script_src = std::iter::once("'self' 'wasm-unsafe-eval'".to_owned())
        .chain(std::iter::once(office_origin.to_owned()))
        .chain(hashes)
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self' {office_origin}; \
         frame-src 'self' {office_origin}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {FRAME_ANCESTORS}"
    )
}

/// The bodies of the `<script>` elements that have no `src` attribute.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<script").map(|i| i + from) {
        let Some(tag_end) = lower[start..].find('>').map(|i| i + start) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</script").map(|i| i + tag_end) else {
            break;
        };
        let tag = &lower[start..tag_end];
        if !has_src_attribute(tag) {
            out.push(&html[tag_end + 1..close]);
        }
        from = close;
    }
    out
}

fn has_src_attribute(tag: &str) -> bool {
    tag.split(|c: char| c.is_ascii_whitespace())
        .any(|attr| attr.starts_with("src=") || attr == "src")
}

/// Text made safe for HTML content and attribute values.
pub fn escape_html(value: &str) -> String {
    escape_attr(value)
}

fn escape_attr(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head>
<script src="__MEDIMAIL_OFFICE_JS_URL__"></script>
<script>var a = 1;</script>
<SCRIPT type="module">import init from '/x.js'; init();</SCRIPT>
</head><body></body></html>"#;

    fn office() -> Url {
        Url::parse("https://appsforoffice.microsoft.com/lib/1/hosted/office.js").expect("url")
    }

    #[test]
    fn fills_in_the_office_js_address() {
        let page = TaskpanePage::render(PAGE, &office());
        assert!(page.html.contains(
            r#"<script src="https://appsforoffice.microsoft.com/lib/1/hosted/office.js"></script>"#
        ));
        assert!(!page.html.contains(OFFICE_JS_PLACEHOLDER));
    }

    #[test]
    fn allows_exactly_the_inline_scripts_present() {
        let page = TaskpanePage::render(PAGE, &office());
        let digest = |s: &str| {
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
        };
        assert!(
            page.csp
                .contains(&format!("'sha256-{}'", digest("var a = 1;")))
        );
        assert!(page.csp.contains(&format!(
            "'sha256-{}'",
            digest("import init from '/x.js'; init();")
        )));
        assert_eq!(page.csp.matches("'sha256-").count(), 2);
    }

    #[test]
    fn never_allows_eval_or_arbitrary_inline_code() {
        let page = TaskpanePage::render(PAGE, &office());
        assert!(page.csp.contains("'wasm-unsafe-eval'"));
        assert!(!page.csp.contains("'unsafe-eval'"));
        assert!(!page.csp.contains("'unsafe-inline'"));
        assert!(
            page.csp.contains(
                "script-src 'self' 'wasm-unsafe-eval' https://appsforoffice.microsoft.com"
            )
        );
        assert!(page.csp.contains("object-src 'none'"));
    }

    #[test]
    fn escapes_the_office_js_address() {
        let url = Url::parse("https://cdn.example/office.js?a=1&b=\"2\"").expect("url");
        let page = TaskpanePage::render(PAGE, &url);
        assert!(page.html.contains("a=1&amp;b=%222%22"), "{}", page.html);
    }
}
