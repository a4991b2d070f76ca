//! Medimail for Outlook, the server.
//!
//! An axum application that serves the Outlook add-in (manifest and task pane) and its
//! JSON API. See ARCHITECTURE.md for the design; each feature lives in its own module.

pub mod addin;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod entity;
pub mod error;
pub mod health;
pub mod http;
pub mod manifest;
pub mod migration;
pub mod startup;
pub mod state;
pub mod taskpane;
pub mod telemetry;
pub mod tls;
