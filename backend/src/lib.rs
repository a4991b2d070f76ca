//! Medimail for Outlook, the server.
//!
//! An axum application that serves the Outlook add-in (manifest and task pane) and its
//! JSON API. See ARCHITECTURE.md for the design; each feature lives in its own module.

pub mod addin;
pub mod audit;
pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod directory;
pub mod entity;
pub mod envelope;
pub mod error;
pub mod fr;
pub mod health;
pub mod http;
pub mod http_client;
pub mod keys;
pub mod mail;
pub mod manifest;
pub mod migration;
pub mod startup;
pub mod state;
pub mod storage;
pub mod taskpane;
pub mod telemetry;
pub mod tls;
