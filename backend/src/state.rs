//! The application state shared by every handler.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::taskpane::TaskpanePage;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    /// The manifest rendered for the public origin.
    pub manifest: Arc<str>,
    pub taskpane: Arc<TaskpanePage>,
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
        Self {
            db,
            config: Arc::new(config),
            manifest: manifest.into(),
            taskpane: Arc::new(taskpane),
        }
    }
}
