//! The envelope feature through the real router, on SQLite and on PostgreSQL when
//! `DATABASE_URL` is set, with real signed tokens and the test clock. One module per part
//! of the feature:
//!
//! - `send`: "Envoyer" (sealing, notifications, forwards) and every refusal, which leaves
//!   no envelope and no blob;
//! - `folders`: the lists of each mailbox and the moves between them;
//! - `read`: reading and downloading, the first opening, the opening window;
//! - `retention`: the 3-month purge and the orphan-blob sweep;
//! - `at_rest`: titles, names and file types sealed at rest, searched through their tags;
//! - `subfolders`: « Dossiers » (sub-folders) and moving envelopes into them.
//!
//! One test binary for the whole feature: each file in `backend/tests/` links the server.

use axum::http::StatusCode;
use medimail_server::state::AppState;
use serde_json::{Value, json};

#[path = "../common/mod.rs"]
mod common;

mod at_rest;
mod folders;
mod read;
mod retention;
mod send;
mod stamps;
mod subfolders;
mod unread;

const BOUNDARY: &str = "medimail-test-boundary-7d3f";

/// A signed-in sender named "Marie CURIE".
async fn signed_in(state: &AppState, mailbox: &str) -> (String, String) {
    common::signed_in_as(state, mailbox, "Marie CURIE").await
}

/// A file to attach: name, content type, bytes.
type File<'a> = (&'a str, &'a str, Vec<u8>);

/// A multipart body: the `envelope` part, then files.
fn multipart(draft: &Value, files: &[File]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n{draft}\r\n").as_bytes());
    for (name, ctype, data) in files {
        out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n").as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// One signed-in request through the real router, with a multipart body if any: status,
/// headers, body.
async fn send_as(
    state: &AppState,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let body = body.map(|bytes| (content_type.as_str(), bytes));
    common::call_signed_in(state, auth, method, path, body).await
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

/// "Envoyer" with a multipart body.
async fn post(state: &AppState, auth: &(String, String), body: Vec<u8>) -> (StatusCode, Value) {
    let (status, _, bytes) = send_as(state, auth, "POST", "/api/envelopes", Some(body)).await;
    (status, json_of(&bytes))
}

/// A folder list (`GET /api/envelopes?{query}`).
async fn get_list(state: &AppState, auth: &(String, String), query: &str) -> (StatusCode, Value) {
    let (status, _, bytes) =
        send_as(state, auth, "GET", &format!("/api/envelopes?{query}"), None).await;
    (status, json_of(&bytes))
}

async fn get_raw(
    state: &AppState,
    auth: &(String, String),
    path: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send_as(state, auth, "GET", path, None).await
}

/// A request without a body, for its status only.
async fn call(state: &AppState, auth: &(String, String), method: &str, path: &str) -> StatusCode {
    send_as(state, auth, method, path, None).await.0
}

/// The draft every test sends: two recipients in one field, a body with script to strip.
fn draft() -> Value {
    json!({
        "to": ["pierre.dupond@chu-dev.fr; s.pateney@chu-dev.fr"],
        "cc": [],
        "subject": "Compte rendu M. BLANC",
        "body_html": "<p>Bonjour, <b>voici</b> le compte rendu.</p><script>alert(1)</script><img src=x onerror=alert(2)>",
    })
}

/// `len` bytes of content, different for each `n`.
fn file(n: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + n * 13) % 251) as u8).collect()
}

async fn blob_count(state: &AppState) -> usize {
    state.blobs.list().await.expect("list").len()
}

/// A stored blob as it is on disk (ciphertext).
async fn stored_blob(state: &AppState, blob_id: &str) -> Vec<u8> {
    use futures::StreamExt;
    let mut stream = Box::pin(state.blobs.read(blob_id).await.expect("blob"));
    let mut stored = Vec::new();
    while let Some(chunk) = stream.next().await {
        stored.extend_from_slice(&chunk.expect("chunk"));
    }
    stored
}
