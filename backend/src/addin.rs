//! What Outlook loads: the manifest and the task pane (Trunk's `dist/`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use medimail_api::paths;
use tower_http::services::ServeDir;

use crate::state::AppState;

/// The manifest, the task pane page under its names, and the built assets. Any other
/// path outside `/api` serves the task pane page, whose hash router shows the screen.
pub fn router(state: &AppState) -> Router<AppState> {
    let assets = ServeDir::new(&state.config.dist_dir)
        .append_index_html_on_directories(false)
        .fallback(get(taskpane).with_state(state.clone()));
    Router::new()
        .route(paths::MANIFEST, get(manifest))
        .route("/", get(taskpane))
        .route("/index.html", get(taskpane))
        .route(paths::TASKPANE, get(taskpane))
        .fallback_service(assets)
}

async fn manifest(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.manifest.to_string(),
    )
        .into_response()
}

async fn taskpane(State(state): State<AppState>) -> Response {
    let mut response = Html(state.taskpane.html.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(csp) = HeaderValue::from_str(&state.taskpane.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}
