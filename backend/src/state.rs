//! The application state: the composition root. It holds every shared value once; each
//! feature's router asks only for the values it needs (`X: FromRef<S>`), so no feature
//! module imports this one — only `http`, `startup` and the tests do.

use std::sync::Arc;

use axum::extract::FromRef;
use sea_orm::DatabaseConnection;

use crate::auth::dev_identity::DevIdentity;
use crate::auth::office::{AllowedTenants, OfficeVerifier, VerifierSettings};
use crate::clock::Clock;
use crate::config::Config;
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::storage::BlobStore;
use crate::taskpane::TaskpanePage;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    /// The manifest rendered for the public origin.
    pub manifest: Arc<str>,
    pub taskpane: Arc<TaskpanePage>,
    /// The webmail's page (`dist/webmail/`, the frontend built with its `webmail`
    /// feature), served at `/`; the pane's page where it is not built.
    #[from_ref(skip)]
    pub webmail: Arc<TaskpanePage>,
    /// Verifies the Office token of every authenticated call.
    pub office: Arc<OfficeVerifier>,
    /// Keys derived from the master key.
    pub keys: Arc<Keys>,
    /// Outbound mail (the outbox worker delivers through it).
    pub mailer: Arc<Mailer>,
    pub clock: Clock,
    /// The development identity provider, when `MEDIMAIL_DEV_IDENTITY` is on.
    pub dev_identity: Option<Arc<DevIdentity>>,
    /// Attachment blobs (ciphertext).
    pub blobs: BlobStore,
    /// The bound on concurrent argon2 work.
    pub hashing: crate::auth::passphrase::Hashing,
    /// The webmail's code requests, done after their answer (and counted).
    pub code_requests: crate::auth::webmail::CodeRequests,
    /// Delivers to the other MSSanté operators (`MEDIMAIL_MSSANTE_RELAY_CERT`).
    #[from_ref(skip)]
    pub courier: Option<Arc<dyn crate::mail::Courier>>,
    /// Pro Santé Connect, the « carte CPx » sign-in (`MEDIMAIL_PSC_CLIENT_ID`).
    pub psc: Option<Arc<crate::auth::psc::Psc>>,
}

/// The parts of the state that come from key material and the outside world.
pub struct Services {
    pub keys: Keys,
    pub mailer: Mailer,
    pub clock: Clock,
    pub dev_identity: Option<DevIdentity>,
    pub blobs: BlobStore,
}

impl Services {
    /// From the configuration: master key file, mail transport, clock, dev identity.
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let keys = Keys::load(config.master_key_file.as_deref(), &config.data_dir)
            .map_err(|e| e.to_string())?;
        let mailer = Mailer::from_config(config)?;
        let clock = match &config.test_clock_file {
            Some(path) => Clock::OffsetFile(path.clone()),
            None => Clock::System,
        };
        let dev_identity = if config.dev_identity {
            Some(DevIdentity::generate(
                &config.origin(),
                config.client_id.as_deref(),
            )?)
        } else {
            None
        };
        let blobs = BlobStore::from_config(config.blob_url.as_deref(), &config.data_dir)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            keys,
            mailer,
            clock,
            dev_identity,
            blobs,
        })
    }
}

impl AppState {
    /// Builds the state from a parsed configuration, a migrated database, the loaded
    /// task pane page and the services.
    pub fn new(
        config: Config,
        db: DatabaseConnection,
        taskpane: TaskpanePage,
        services: Services,
    ) -> Self {
        let manifest = crate::manifest::render(
            crate::manifest::TEMPLATE,
            &config.origin(),
            config.client_id.as_deref(),
        );
        let refresh = std::time::Duration::from_secs(config.jwks_refresh_seconds);
        let client_apps = crate::auth::office::client_apps(
            config.allowed_client_apps.as_deref(),
            config.client_id.as_deref(),
        );
        let office = match &services.dev_identity {
            Some(dev) => dev.verifier(refresh, services.clock.clone()),
            None => OfficeVerifier::new(VerifierSettings {
                metadata_url: config.oidc_metadata_url.clone(),
                issuer_template: config.issuer_template.clone(),
                tenants: AllowedTenants::parse(config.allowed_tenants.as_deref().unwrap_or("")),
                audiences: config.token_audiences(),
                refresh_interval: refresh,
                client_apps,
                clock: services.clock.clone(),
            }),
        };
        let keys = Arc::new(services.keys);
        let webmail = TaskpanePage::load(&config.dist_dir.join("webmail"), &config.office_js_url)
            .unwrap_or_else(|_| taskpane.clone());
        let office = office.with_audit(db.clone(), keys.clone());
        Self {
            office: Arc::new(office),
            db,
            config: Arc::new(config),
            manifest: manifest.into(),
            webmail: Arc::new(webmail),
            taskpane: Arc::new(taskpane),
            keys,
            mailer: Arc::new(services.mailer),
            clock: services.clock,
            dev_identity: services.dev_identity.map(Arc::new),
            blobs: services.blobs,
            hashing: crate::auth::passphrase::Hashing::for_this_machine(),
            code_requests: Default::default(),
            courier: None,
            psc: None,
        }
    }

    /// What the add-in's routes serve.
    pub fn addin(&self) -> crate::addin::Addin {
        crate::addin::Addin {
            manifest: self.manifest.clone(),
            taskpane: self.taskpane.clone(),
            webmail: self.webmail.clone(),
            dist_dir: self.config.dist_dir.clone(),
        }
    }

    /// The outbox worker for this state.
    pub fn mail_worker(&self) -> crate::mail::worker::Worker {
        crate::mail::worker::Worker {
            db: self.db.clone(),
            keys: self.keys.clone(),
            mailer: self.mailer.clone(),
            clock: self.clock.clone(),
            courier: self.courier.clone(),
        }
    }
}

impl FromRef<AppState> for crate::auth::session::Gate {
    fn from_ref(state: &AppState) -> Self {
        crate::auth::session::Gate {
            db: state.db.clone(),
            office: state.office.clone(),
            clock: state.clock.clone(),
            keys: state.keys.clone(),
            webmail: state.config.webmail,
        }
    }
}
