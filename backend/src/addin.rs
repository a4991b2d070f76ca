//! What Outlook loads: the manifest and the task pane (Trunk's `dist/`).

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use medimail_api::paths;
use tower_http::services::ServeDir;

use crate::taskpane::TaskpanePage;

/// What the add-in's routes serve: the manifest rendered for the public origin, the task
/// pane page with its policy, and the folder of the built assets.
#[derive(Clone)]
pub struct Addin {
    pub manifest: Arc<str>,
    pub taskpane: Arc<TaskpanePage>,
    pub dist_dir: PathBuf,
}

/// The manifest, the task pane page under its names, and the built assets. Any other
/// path outside `/api` serves the task pane page, whose hash router shows the screen.
pub fn router<S: Clone + Send + Sync + 'static>(addin: Addin) -> Router<S> {
    let assets = ServeDir::new(&addin.dist_dir)
        .append_index_html_on_directories(false)
        .fallback(get(taskpane).with_state(addin.clone()));
    Router::new()
        .route(paths::MANIFEST, get(manifest))
        .route("/", get(taskpane))
        .route("/index.html", get(taskpane))
        .route(paths::TASKPANE, get(taskpane))
        .fallback_service(assets)
        .with_state(addin)
}

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

async fn taskpane(State(addin): State<Addin>) -> Response {
    let mut response = Html(addin.taskpane.html.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(csp) = HeaderValue::from_str(&addin.taskpane.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}
