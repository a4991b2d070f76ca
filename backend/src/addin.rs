//! What Outlook loads: the manifest and the task pane (Trunk's `dist/`).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use medimail_api::paths;
use tower_http::services::ServeDir;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::taskpane::TaskpanePage;

/// What the add-in's routes serve: the manifest rendered for the public origin, the task
/// pane page with its policy, and the folder of the built assets.
#[derive(Clone)]
pub struct Addin {
    pub manifest: Arc<str>,
    pub taskpane: Arc<TaskpanePage>,
    /// The webmail's page (served at `/` and every other path outside `/api`).
    pub webmail: Arc<TaskpanePage>,
    pub dist_dir: PathBuf,
}

/// The manifest, the task pane page under its names (`/taskpane.html`, `/index.html`),
/// the webmail's page at `/`, and the built assets. Any other path outside `/api` serves
/// the webmail's page, whose hash router shows the screen.
pub fn router<S: Clone + Send + Sync + 'static>(addin: Addin) -> OpenApiRouter<S> {
    OpenApiRouter::default()
        .routes(routes!(manifest))
        .routes(routes!(root))
        .routes(routes!(taskpane))
        .route("/index.html", get(taskpane))
        .fallback(assets)
        .layer(axum::middleware::map_response(cache_hashed_assets))
        .with_state(addin)
}

/// The built assets (`dist/`). An `.html` file is never sent as it lies on disk (without
/// its office.js address or its policy), whatever the spelling of the path
/// (`/%69ndex.html`, `//index.html`, `/./index.html`, `/webmail/index.html`): those paths,
/// like every path that is no file, get the webmail's page.
async fn assets(State(addin): State<Addin>, request: axum::extract::Request) -> Response {
    let path = percent_encoding::percent_decode_str(request.uri().path()).decode_utf8_lossy();
    if is_html(&path) {
        return page(&addin.webmail);
    }
    // The hashed assets' brotli and gzip copies (`scripts/build-frontend.sh`) go to a
    // browser that accepts them; other files as they are (compressed on the fly).
    let files = ServeDir::new(&addin.dist_dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .fallback(get(root).with_state(addin.clone()));
    match tower::ServiceExt::oneshot(files, request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// True when the (decoded) path names an HTML file, in any case and with any trailing
/// slashes or dots.
fn is_html(decoded_path: &str) -> bool {
    decoded_path
        .trim_end_matches(['/', '.', ' '])
        .to_ascii_lowercase()
        .ends_with(".html")
        || decoded_path.to_ascii_lowercase().contains(".html/")
}

/// True for the files Trunk names after their content (`name-<hash>.js`,
/// `name-<hash>_bg.wasm`, `name-<hash>.css`): a new build gives new names. The hash is
/// a 64-bit number in hexadecimal without leading zeros, so 16 digits or fewer (8 at
/// least here, which a random hash misses once in four billion builds).
pub fn is_content_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file
        .strip_suffix("_bg.wasm")
        .or_else(|| file.strip_suffix(".js"))
        .or_else(|| file.strip_suffix(".css"));
    stem.and_then(|s| s.rsplit_once('-'))
        .is_some_and(|(_, hash)| {
            (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// The pane's hashed assets are cached for a year and never revalidated (the page,
/// `no-cache`, names the current ones): reopening the pane fifty times a day fetches
/// them once.
async fn cache_hashed_assets(uri: axum::http::Uri, mut response: Response) -> Response {
    if response.status().is_success()
        && is_content_hashed(uri.path())
        && !response.headers().contains_key(header::CACHE_CONTROL)
    {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{is_content_hashed, is_html};

    #[test]
    fn every_spelling_of_an_html_file_is_a_page() {
        for html in [
            "/index.html",
            "//index.html",
            "/./index.html",
            "/webmail/index.html",
            "/INDEX.HTML",
            "/index.html/",
            "/index.html.",
            "/index.html/x",
        ] {
            assert!(is_html(html), "{html}");
        }
        for file in [
            "/x-0123456789abcdef.js",
            "/icons/icon-16.png",
            "/htmlfile.png",
        ] {
            assert!(!is_html(file), "{file}");
        }
    }

    #[test]
    fn only_trunk_s_content_named_files_are_immutable() {
        for hashed in [
            "/medimail-taskpane-5063a769abac8e7b_bg.wasm",
            "/medimail-taskpane-5063a769abac8e7b.js",
            "/taskpane-3640b505a817c63f.css",
            // A hash whose first hex digit was a zero.
            "/medimail-taskpane-e5dca579d8b06d1.js",
        ] {
            assert!(is_content_hashed(hashed), "{hashed}");
        }
        for plain in [
            "/taskpane.html",
            "/icons/icon-16.png",
            "/done.js",
            "/medimail-taskpane-5063a76.js",
            "/x-zzzzzzzzzzzzzzzz.js",
            "/api/health",
        ] {
            assert!(!is_content_hashed(plain), "{plain}");
        }
    }
}

/// The Outlook add-in manifest, rendered for the public origin.
///
/// At the address the user manual gives to sideload it.
#[utoipa::path(
    get,
    path = paths::MANIFEST,
    tag = "add-in",
    responses((status = 200, description = "The manifest.", content_type = "application/xml", body = String)),
)]
async fn manifest(State(addin): State<Addin>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        addin.manifest.to_string(),
    )
        .into_response()
}

/// The webmail's page, at the root (any other path outside `/api` serves it too: its hash
/// router shows the screen). The pane's page where the webmail is not built.
#[utoipa::path(
    get,
    path = "/",
    tag = "add-in",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String)),
)]
async fn root(State(addin): State<Addin>) -> Response {
    page(&addin.webmail)
}

/// The task pane page named in the manifest's source locations.
#[utoipa::path(
    get,
    path = paths::TASKPANE,
    tag = "add-in",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String)),
)]
async fn taskpane(State(addin): State<Addin>) -> Response {
    page(&addin.taskpane)
}

/// A page with its policy, never cached without revalidation.
fn page(page: &TaskpanePage) -> Response {
    let mut response = Html(page.html.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(csp) = HeaderValue::from_str(&page.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}
