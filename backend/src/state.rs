//! The application state shared by every handler.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::office::{AllowedTenants, OfficeVerifier, VerifierSettings};
use crate::config::Config;
use crate::taskpane::TaskpanePage;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    /// The manifest rendered for the public origin.
    pub manifest: Arc<str>,
    pub taskpane: Arc<TaskpanePage>,
    /// Verifies the Office token of every authenticated call.
    pub office: Arc<OfficeVerifier>,
}

impl AppState {
    /// Builds the state from a parsed configuration, a migrated database and the loaded
    /// task pane page.
    pub fn new(config: Config, db: DatabaseConnection, taskpane: TaskpanePage) -> Self {
        let manifest = crate::manifest::render(
            crate::manifest::TEMPLATE,
            &config.origin(),
            config.client_id.as_deref(),
        );
        let office = OfficeVerifier::new(VerifierSettings {
            metadata_url: config.oidc_metadata_url.clone(),
            issuer_template: config.issuer_template.clone(),
            tenants: AllowedTenants::parse(config.allowed_tenants.as_deref().unwrap_or("")),
            audiences: config.token_audiences(),
            refresh_interval: std::time::Duration::from_secs(config.jwks_refresh_seconds),
        });
        Self {
            office: Arc::new(office),
            db,
            config: Arc::new(config),
            manifest: manifest.into(),
            taskpane: Arc::new(taskpane),
        }
    }
}
