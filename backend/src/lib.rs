//! Medimail for Outlook, the server.
//!
//! An axum application that serves the Outlook add-in (manifest and task pane) and its
//! JSON API. The layers, from the top: `main` → `startup` / `cli` → `http` (router,
//! composition root `state`) → the features (`auth`, `account`, `envelope`, `directory`,
//! `addin`, `health`), each a `routes.rs` over service modules → the infrastructure
//! (`db`, `crypto`, `keys`, `storage`, `mail`, `audit`, `entity`, `web`, `error`, …),
//! which imports nothing above it. docs/ARCHITECTURE.md describes the shape.

pub mod account;
pub mod addin;
pub mod app_credential;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod db;
pub mod directory;
pub mod entity;
pub mod envelope;
pub mod error;
pub mod fr;
pub mod gateway;
pub mod health;
pub mod http;
pub mod http_client;
pub mod keys;
pub mod mail;
pub mod manifest;
pub mod metrics;
pub mod migration;
pub mod openapi;
pub mod startup;
pub mod state;
pub mod storage;
pub mod taskpane;
pub mod telemetry;
pub mod tls;
pub mod web;
