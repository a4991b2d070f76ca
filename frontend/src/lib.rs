//! The Medimail task pane: a leptos client-side app that runs inside Outlook (or, for
//! development, in a plain browser).
//!
//! Start-up waits for office.js to say it is ready (`Office.onReady`), with a timeout so
//! that the pane still starts when office.js never loads, then mounts [`app::App`].
//! `app` decides which screen shows; each screen is a module of `pages`, built from the
//! shared widgets of `components`. Pure logic (what the status line says, which screen a
//! hash shows, the compose and reading rules) lives in plain modules tested without a
//! browser.

pub mod api;
pub mod app;
pub mod components;
pub mod compose;
pub mod focus;
#[cfg(feature = "webmail")]
pub mod framed;
pub mod host;
pub mod lecture;
pub mod office;
pub mod pages;
pub mod route;
pub mod safe_html;
pub mod session;
pub mod text;

/// Id of the element the app mounts into (see `index.html`).
pub const MOUNT_ID: &str = "medimail-app";

/// How long to wait for `Office.onReady` before starting anyway.
pub const OFFICE_READY_TIMEOUT_MS: i32 = 5_000;

/// Waits for office.js, then mounts the app. Called once by `main`.
pub fn start() {
    wasm_bindgen_futures::spawn_local(async {
        let environment = office::detect(OFFICE_READY_TIMEOUT_MS).await;
        app::mount(environment);
    });
}
