//! Server configuration, parsed once at start-up from flags and environment variables.
//!
//! The variable names are a contract with operators and outside test suites (see
//! the README, "Configuration"): extend, never rename.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::ValueEnum;
use url::Url;

/// Every setting of the server. Each flag also reads the environment variable it names.
#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// Address and port to listen on (TLS unless --plaintext is given).
    #[arg(
        long,
        env = "MEDIMAIL_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Public origin of the server, used in the manifest and in every link it generates
    /// (scheme, host and port only; must be https).
    #[arg(long, env = "MEDIMAIL_PUBLIC_ORIGIN", default_value = "https://localhost:3000", value_parser = parse_origin, global = true)]
    pub public_origin: Url,

    /// Data folder: SQLite database, development certificate and key material.
    #[arg(
        long,
        env = "MEDIMAIL_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://user@host:port/db`.
    /// Default: the SQLite file `medimail.db` in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// TLS certificate chain (PEM). Default: a development certificate generated on first
    /// start in DATA_DIR/tls/.
    #[arg(long, env = "MEDIMAIL_TLS_CERT", requires = "tls_key", global = true)]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM) matching --tls-cert.
    #[arg(long, env = "MEDIMAIL_TLS_KEY", requires = "tls_cert", global = true)]
    pub tls_key: Option<PathBuf>,

    /// Listen in plain HTTP instead of TLS. Only for a deployment behind a reverse proxy
    /// that terminates TLS; the public origin must still be https.
    #[arg(
        long,
        env = "MEDIMAIL_PLAINTEXT",
        default_value_t = false,
        global = true
    )]
    pub plaintext: bool,

    /// Entra ID application (client) id of the add-in, used in the manifest's
    /// WebApplicationInfo. Without it the manifest carries a placeholder id and Office
    /// single sign-on cannot work.
    #[arg(long, env = "MEDIMAIL_CLIENT_ID", value_parser = parse_client_id, global = true)]
    pub client_id: Option<String>,

    /// OpenID metadata document whose `jwks_uri` lists the keys that sign Office tokens
    /// (https; http is accepted on loopback only, for tests).
    #[arg(long, env = "MEDIMAIL_OIDC_METADATA_URL", default_value = DEFAULT_OIDC_METADATA_URL, value_parser = parse_metadata_url, global = true)]
    pub oidc_metadata_url: Url,

    /// Expected `iss` of Office tokens; `{tid}` is replaced by the token's tenant id.
    #[arg(long, env = "MEDIMAIL_ISSUER_TEMPLATE", default_value = DEFAULT_ISSUER_TEMPLATE, global = true)]
    pub issuer_template: String,

    /// Tenants (Microsoft 365 organisations) whose users may sign in: comma-separated
    /// tenant ids, or `any`. Unset: nobody can sign in (a warning is logged).
    #[arg(long, env = "MEDIMAIL_ALLOWED_TENANTS", global = true)]
    pub allowed_tenants: Option<String>,

    /// Client applications whose tokens are accepted (`azp`, or `appid` in v1 tokens):
    /// comma-separated client ids. Unset: Office's client applications (Outlook on the
    /// web, Outlook desktop and mobile, Office on the web), plus the add-in's own id.
    #[arg(long, env = "MEDIMAIL_ALLOWED_CLIENT_APPS", global = true)]
    pub allowed_client_apps: Option<String>,

    /// Sign-in where Office single sign-on is unavailable: the authority that runs the
    /// OAuth 2.0 authorization code flow (with PKCE) in an Office dialog. `{tenant}` is
    /// replaced by the one allowed tenant, or `organizations`. Its endpoints are
    /// `…/oauth2/v2.0/authorize` and `…/oauth2/v2.0/token`; the redirect URI is
    /// `<public origin>/auth/dialog/callback` (register it in Entra).
    #[arg(long, env = "MEDIMAIL_AUTHORITY_URL", default_value = DEFAULT_AUTHORITY_URL, value_parser = parse_authority_url, global = true)]
    pub authority_url: String,

    /// A file holding the application's client secret (confidential client), for the
    /// dialog sign-in's code exchange. Unset (and no certificate): the dialog sign-in is
    /// off.
    #[arg(long, env = "MEDIMAIL_CLIENT_SECRET_FILE", global = true)]
    pub client_secret_file: Option<PathBuf>,

    /// Instead of a secret: a PEM file holding the application's certificate and its RSA
    /// private key; the code exchange then authenticates with a signed client assertion
    /// (RS256, `x5t#S256` of the certificate). Takes precedence over the secret.
    #[arg(long, env = "MEDIMAIL_CLIENT_CERTIFICATE_FILE", global = true)]
    pub client_certificate_file: Option<PathBuf>,

    /// Mail through Microsoft 365: the mailbox codes and notifications are sent from
    /// (`POST /v1.0/users/{sender}/sendMail` on Microsoft Graph, with an application
    /// token from azure_identity — client id `MEDIMAIL_CLIENT_ID`, secret
    /// `MEDIMAIL_CLIENT_SECRET_FILE`; the application needs the `Mail.Send` permission).
    /// Takes precedence over `MEDIMAIL_SMTP_URL`.
    #[arg(long, env = "MEDIMAIL_GRAPH_SENDER", global = true)]
    pub graph_sender: Option<String>,

    /// Microsoft Graph's base URL.
    #[arg(
        long,
        env = "MEDIMAIL_GRAPH_URL",
        default_value = "https://graph.microsoft.com",
        global = true
    )]
    pub graph_url: String,

    /// Where Graph application tokens come from (https).
    #[arg(
        long,
        env = "MEDIMAIL_GRAPH_AUTHORITY_HOST",
        default_value = "https://login.microsoftonline.com",
        global = true
    )]
    pub graph_authority_host: String,

    /// Extra trusted root certificates (PEM) for the server's outgoing HTTPS to Microsoft
    /// Graph and its authority, besides the system's (a TLS-inspecting proxy, tests).
    #[arg(long, env = "MEDIMAIL_EXTRA_CA_FILE", global = true)]
    pub extra_ca_file: Option<PathBuf>,

    /// Minimum seconds between two JWKS refreshes caused by an unknown key id.
    #[arg(
        long,
        env = "MEDIMAIL_JWKS_REFRESH_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub jwks_refresh_seconds: u64,

    /// Seconds a client has to send a request's headers (and the first request of a
    /// connection, and between two requests of a kept-alive one), and to finish the TLS
    /// handshake: slow or silent connections are closed after it.
    #[arg(
        long,
        env = "MEDIMAIL_HEADER_TIMEOUT_SECONDS",
        default_value_t = 10,
        global = true
    )]
    pub header_timeout_seconds: u64,

    /// Seconds a request may take in all (attachment uploads and downloads excepted,
    /// which last as long as the file takes): past it, 408 `request_timeout`.
    #[arg(
        long,
        env = "MEDIMAIL_REQUEST_TIMEOUT_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub request_timeout_seconds: u64,

    /// Seconds an attachment upload may stay silent (no byte) before it fails with
    /// `upload_interrupted` and what it wrote is deleted: the least pace a sender keeps.
    /// Also how long a client may stop reading (a download) before its connection is
    /// closed.
    #[arg(
        long,
        env = "MEDIMAIL_TRANSFER_IDLE_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub transfer_idle_seconds: u64,

    /// Connections open at once at most; the next ones are closed as soon as accepted.
    #[arg(
        long,
        env = "MEDIMAIL_MAX_CONNECTIONS",
        default_value_t = 4096,
        global = true
    )]
    pub max_connections: usize,

    /// The SMTP gateway's address (`#med#` mails from the hospital's mail server, manual
    /// part 4); unset: no SMTP listener.
    #[arg(long, env = "MEDIMAIL_SMTP_LISTEN", global = true)]
    pub smtp_listen: Option<std::net::SocketAddr>,

    /// Who may submit to the SMTP gateway: addresses or networks (`10.0.0.0/8`),
    /// comma-separated; every other client is refused at RCPT.
    #[arg(
        long,
        env = "MEDIMAIL_SMTP_RELAYS",
        default_value = "127.0.0.1/8,::1",
        value_delimiter = ',',
        global = true
    )]
    pub smtp_relays: Vec<String>,

    /// The SMTP gateway's STARTTLS certificate chain (PEM); default: the HTTPS one.
    #[arg(
        long,
        env = "MEDIMAIL_SMTP_TLS_CERT",
        requires = "smtp_tls_key",
        global = true
    )]
    pub smtp_tls_cert: Option<PathBuf>,

    /// The private key matching --smtp-tls-cert.
    #[arg(
        long,
        env = "MEDIMAIL_SMTP_TLS_KEY",
        requires = "smtp_tls_cert",
        global = true
    )]
    pub smtp_tls_key: Option<PathBuf>,

    /// Roots (PEM) of the client certificates the SMTP gateway accepts from peers of the
    /// MSSanté trust space (IGC-Santé): a peer presenting one may deliver to the hosted
    /// domains from any address; unset: no client certificate is asked.
    #[arg(long, env = "MEDIMAIL_SMTP_CLIENT_CA", global = true)]
    pub smtp_client_ca: Option<PathBuf>,

    /// Refuse mail on the SMTP gateway until the client has started TLS (STARTTLS).
    #[arg(long, env = "MEDIMAIL_SMTP_REQUIRE_TLS", global = true)]
    pub smtp_require_tls: bool,

    /// When « Notification quotidienne des réceptions » goes out, each day, Paris time
    /// (`HH:MM`): the envelopes received in the 24 hours before.
    #[arg(long, env = "MEDIMAIL_DIGEST_TIME", default_value = "07:00", value_parser = parse_digest_time, global = true)]
    pub digest_time: chrono::NaiveTime,

    /// The domain of the MSSanté addresses « Activer » gives (`prenom.nom@<domain>`,
    /// e.g. `medimail.mssante.fr`): hosted here. Unset, « Activer » is refused.
    #[arg(long, env = "MEDIMAIL_MSSANTE_DOMAIN", global = true)]
    pub mssante_domain: Option<String>,

    /// Mail domains whose mailboxes are hosted here (comma-separated): a message to one
    /// of them becomes an envelope without the `#med#` tag.
    #[arg(
        long,
        env = "MEDIMAIL_HOSTED_DOMAINS",
        value_delimiter = ',',
        global = true
    )]
    pub hosted_domains: Vec<String>,

    /// Our operator certificate chain (PEM, IGC-Santé) for deliveries to the other MSSanté
    /// operators: set (with its key), a recipient in an MSSanté domain that is not hosted
    /// here, or in a domain of MEDIMAIL_MSSANTE_ROUTES, receives the message itself from
    /// its operator's SMTP server (STARTTLS required, this certificate presented).
    #[arg(
        long,
        env = "MEDIMAIL_MSSANTE_RELAY_CERT",
        requires = "mssante_relay_key",
        global = true
    )]
    pub mssante_relay_cert: Option<PathBuf>,

    /// The private key matching --mssante-relay-cert.
    #[arg(
        long,
        env = "MEDIMAIL_MSSANTE_RELAY_KEY",
        requires = "mssante_relay_cert",
        global = true
    )]
    pub mssante_relay_key: Option<PathBuf>,

    /// Roots (PEM) the other operators' server certificates must chain to (IGC-Santé);
    /// required with MEDIMAIL_MSSANTE_RELAY_CERT.
    #[arg(long, env = "MEDIMAIL_MSSANTE_ROOTS", global = true)]
    pub mssante_roots: Option<PathBuf>,

    /// Where other operators' domains are delivered, comma-separated `domain=host:port`
    /// (the server certificate is checked against `host`); a domain without a route is
    /// delivered to the host of its DNS MX record, port 25.
    #[arg(
        long,
        env = "MEDIMAIL_MSSANTE_ROUTES",
        value_delimiter = ',',
        global = true
    )]
    pub mssante_routes: Vec<String>,

    /// Hours a delivery to another operator is retried (with backoff) before it counts as
    /// failed: the « Échec de remise » event, and a mail to the sender.
    #[arg(
        long,
        env = "MEDIMAIL_MSSANTE_RETRY_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub mssante_retry_hours: u64,

    /// Envelopes one sender may seal per hour (sliding); past it 429
    /// `send_quota_exceeded` with the time sending is possible again.
    #[arg(
        long,
        env = "MEDIMAIL_SEND_ENVELOPES_PER_HOUR",
        default_value_t = 200,
        global = true
    )]
    pub send_envelopes_per_hour: u64,

    /// Recipients one sender may reach per hour (sliding), all envelopes together.
    #[arg(
        long,
        env = "MEDIMAIL_SEND_RECIPIENTS_PER_HOUR",
        default_value_t = 2000,
        global = true
    )]
    pub send_recipients_per_hour: u64,

    /// Folder holding the built task pane (Trunk's dist/).
    #[arg(
        long,
        env = "MEDIMAIL_DIST_DIR",
        default_value = "./dist",
        global = true
    )]
    pub dist_dir: PathBuf,

    /// Where the task pane loads office.js from.
    #[arg(long, env = "MEDIMAIL_OFFICE_JS_URL", default_value = DEFAULT_OFFICE_JS_URL, value_parser = parse_https_url, global = true)]
    pub office_js_url: Url,

    /// Outgoing mail server: `smtp://host:25` (no TLS: loopback or trusted network
    /// only), `smtp://host:587?tls=starttls` (STARTTLS required), `smtps://host:465`
    /// (implicit TLS); `user:password@` before the host for authentication.
    /// Unset: mails are written as `.eml` files in DATA_DIR/outbox (development).
    #[arg(long, env = "MEDIMAIL_SMTP_URL", value_parser = parse_smtp_url, hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,

    /// Sender of one-time codes and notifications.
    #[arg(
        long,
        env = "MEDIMAIL_MAIL_FROM",
        default_value = "Medimail <medimail@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Longest wait, in seconds, between two delivery attempts of a mail that could not be
    /// sent (the wait doubles from 1 s up to this).
    #[arg(
        long,
        env = "MEDIMAIL_MAIL_RETRY_MAX_SECONDS",
        default_value_t = 300,
        global = true
    )]
    pub mail_retry_max_seconds: u64,

    /// File holding the 32-byte master key from which every server key derives.
    /// Default: DATA_DIR/master.key, generated on first start (development).
    #[arg(long, env = "MEDIMAIL_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,

    /// Where attachment blobs live: `file:///path` or `s3://bucket/prefix` (S3-compatible,
    /// credentials and endpoint from the standard `AWS_*` variables). Default:
    /// DATA_DIR/blobs.
    #[arg(long, env = "MEDIMAIL_BLOB_URL", global = true)]
    pub blob_url: Option<String>,

    /// Built-in development identity provider: the server mints and trusts its own
    /// tokens so that the pane works in a plain browser. Refused unless the server
    /// listens on loopback with a loopback public origin.
    #[arg(
        long,
        env = "MEDIMAIL_DEV_IDENTITY",
        default_value_t = false,
        global = true
    )]
    pub dev_identity: bool,

    /// Tests only (loopback only): a file holding seconds added to the clock.
    #[arg(long, env = "MEDIMAIL_TEST_CLOCK_FILE", hide = true, global = true)]
    pub test_clock_file: Option<PathBuf>,

    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "MEDIMAIL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Operational metrics in the Prometheus text format (`GET /metrics`), in plain HTTP on
    /// this address:port. Loopback or a private-network address only (refused at start
    /// otherwise). Unset: no metrics listener.
    #[arg(long, env = "MEDIMAIL_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Who may sign in to the webmail (a browser outside Outlook, with address,
    /// passphrase and a mailed code): `recipients` — any mailbox that has received an
    /// envelope, to read, reply and forward; `all` — any mailbox with an account, to send
    /// as well; `off` — nobody (the pane inside Outlook only).
    #[arg(long, env = "MEDIMAIL_WEBMAIL", value_enum, default_value_t = WebmailMode::Recipients, global = true)]
    pub webmail: WebmailMode,

    /// The support page the notification mails and the help screens link to
    /// ("Pour obtenir plus d'informations et/ou du support technique"). Default: the help
    /// screen of this server.
    #[arg(long, env = "MEDIMAIL_SUPPORT_URL", global = true)]
    pub support_url: Option<Url>,

    /// Pro Santé Connect, the « carte CPx » sign-in (e-CPS or CPS card): the provider's
    /// issuer. Discovery reads `{issuer}/.well-known/wallet-openid-configuration`. The
    /// redirect URI to register with PSC is `<public origin>/auth/psc/callback`.
    #[arg(long, env = "MEDIMAIL_PSC_ISSUER", default_value = DEFAULT_PSC_ISSUER, value_parser = parse_psc_issuer, global = true)]
    pub psc_issuer: String,

    /// The client id Pro Santé Connect gave this service. Unset: no « carte CPx » button.
    #[arg(long, env = "MEDIMAIL_PSC_CLIENT_ID", global = true)]
    pub psc_client_id: Option<String>,

    /// A file holding the Pro Santé Connect client secret (required with
    /// MEDIMAIL_PSC_CLIENT_ID).
    #[arg(long, env = "MEDIMAIL_PSC_CLIENT_SECRET_FILE", global = true)]
    pub psc_client_secret_file: Option<PathBuf>,
}

/// Who may use the webmail (`MEDIMAIL_WEBMAIL`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum WebmailMode {
    /// Mailboxes that have received an envelope: read, reply, forward.
    #[default]
    Recipients,
    /// Every mailbox with an account: send new messages too.
    All,
    /// No webmail.
    Off,
}

/// Microsoft's CDN copy of office.js, the one the Office documentation requires.
pub const DEFAULT_OFFICE_JS_URL: &str =
    "https://appsforoffice.microsoft.com/lib/1/hosted/office.js";

/// Microsoft's multi-tenant OpenID metadata (Entra ID v2).
pub const DEFAULT_OIDC_METADATA_URL: &str =
    "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration";

/// Pro Santé Connect's production issuer (`docs/PRO-SANTE-CONNECT.md`).
pub const DEFAULT_PSC_ISSUER: &str = "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet";

/// Entra ID v2 issuer, per tenant.
pub const DEFAULT_ISSUER_TEMPLATE: &str = "https://login.microsoftonline.com/{tid}/v2.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The support link of the mails and help screens.
    pub fn support_link(&self) -> String {
        match &self.support_url {
            Some(url) => url.to_string(),
            None => format!("{}/#/aide", self.origin()),
        }
    }

    /// The database URL in effect: the configured one, or the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("medimail.db").display()
            ),
        }
    }

    /// The `aud` values an Office token may carry: the application id and its id URI
    /// (`api://<public host[:port]>/<id>`, as in the manifest). None without a client id.
    pub fn token_audiences(&self) -> Vec<String> {
        let Some(id) = &self.client_id else {
            return Vec::new();
        };
        let authority = self
            .origin()
            .split_once("://")
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default();
        vec![id.clone(), format!("api://{authority}/{id}")]
    }

    /// The dialog sign-in's authority, `{tenant}` replaced by the one allowed tenant, or
    /// `organizations`.
    pub fn authority(&self) -> String {
        let tenant = self
            .single_tenant()
            .unwrap_or_else(|| "organizations".to_owned());
        self.authority_url.replace("{tenant}", &tenant)
    }

    /// The tenant when `MEDIMAIL_ALLOWED_TENANTS` names exactly one.
    pub fn single_tenant(&self) -> Option<String> {
        match self.allowed_tenants.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() && t != "any" && !t.contains(',') => Some(t.to_owned()),
            _ => None,
        }
    }

    /// The domains hosted here, lower case: `MEDIMAIL_HOSTED_DOMAINS` and the MSSanté
    /// domain (`MEDIMAIL_MSSANTE_DOMAIN`).
    pub fn hosted(&self) -> Vec<String> {
        self.hosted_domains
            .iter()
            .chain(self.mssante_domain.iter())
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect()
    }

    /// The public origin without a trailing slash, ready to prefix a path.
    pub fn origin(&self) -> String {
        self.public_origin.as_str().trim_end_matches('/').to_owned()
    }
}

/// `MEDIMAIL_DIGEST_TIME`: an hour of the day, `HH:MM`.
pub fn parse_digest_time(value: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(value.trim(), "%H:%M")
        .map_err(|_| format!("{value:?} : attendu une heure HH:MM (07:00)"))
}

/// Accepts `smtp://` and `smtps://` URLs with a host.
fn parse_smtp_url(value: &str) -> Result<String, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err("must start with smtp:// or smtps://".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(value.to_owned())
}

impl Config {
    /// True when both the listening address and the public origin are on loopback:
    /// the only setting where development conveniences may be enabled.
    pub fn is_loopback_only(&self) -> bool {
        let origin_loopback = match self.public_origin.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        self.listen.ip().is_loopback() && origin_loopback
    }
}

/// Accepts `https://host[:port]` with nothing after it.
fn parse_origin(value: &str) -> Result<Url, String> {
    let url = parse_https_url(value)?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("the public origin is scheme://host[:port], without a path".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the public origin must not contain credentials".into());
    }
    Ok(url)
}

fn parse_https_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if url.scheme() != "https" {
        return Err("must be an https:// URL (Office loads add-ins over HTTPS only)".into());
    }
    if url.host_str().is_none() {
        return Err("the URL has no host".into());
    }
    Ok(url)
}

/// The default authority of the dialog sign-in.
pub const DEFAULT_AUTHORITY_URL: &str = "https://login.microsoftonline.com/{tenant}";

fn parse_authority_url(value: &str) -> Result<String, String> {
    parse_metadata_url(&value.replace("{tenant}", "organizations"))?;
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_metadata_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err("must be an https:// URL (http only on loopback, for tests)".into()),
    }
}

fn parse_psc_issuer(value: &str) -> Result<String, String> {
    parse_metadata_url(value)?;
    Ok(value.trim_end_matches('/').to_owned())
}

/// An Entra application id is a GUID (8-4-4-4-12 hexadecimal digits).
fn parse_client_id(value: &str) -> Result<String, String> {
    let lower = value.trim().to_ascii_lowercase();
    let groups: Vec<&str> = lower.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let ok = groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(lower)
    } else {
        Err(
            "the application (client) id is a GUID such as 1b2c3d4e-0000-4000-8000-1234567890ab"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's flags alone (the subcommands are `crate::cli`'s).
    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("medimail").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_documented_contract() {
        // Only meaningful when the operator variables are not set around the test run.
        if std::env::vars().any(|(k, _)| k.starts_with("MEDIMAIL_")) {
            eprintln!("MEDIMAIL_* variables are set: checking the parse only");
            parse(&[]).expect("environment parses");
            return;
        }
        let cli = parse(&[]).expect("defaults parse");
        let c = cli.config;
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.origin(), "https://localhost:3000");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        // DATABASE_URL may be set in the environment (CI points it at PostgreSQL).
        let without_env = Config {
            database_url: None,
            ..c.clone()
        };
        assert!(
            without_env
                .database_url()
                .starts_with("sqlite://./data/medimail.db")
        );
        assert!(!c.plaintext);
        assert_eq!(c.office_js_url.as_str(), DEFAULT_OFFICE_JS_URL);
        assert_eq!(c.metrics_listen, None);
    }

    #[test]
    fn refuses_a_plain_http_origin() {
        let err = parse(&["--public-origin", "http://example.org"]).expect_err("http refused");
        assert!(err.to_string().contains("https://"), "{err}");
    }

    #[test]
    fn refuses_an_origin_with_a_path() {
        assert!(parse(&["--public-origin", "https://example.org/medimail"]).is_err());
        assert!(parse(&["--public-origin", "https://example.org:8443"]).is_ok());
    }

    #[test]
    fn client_id_must_be_a_guid() {
        assert!(parse(&["--client-id", "not-a-guid"]).is_err());
        let cli = parse(&["--client-id", "1B2C3D4E-0000-4000-8000-1234567890AB"]).expect("guid");
        assert_eq!(
            cli.config.client_id.as_deref(),
            Some("1b2c3d4e-0000-4000-8000-1234567890ab")
        );
    }

    #[test]
    fn token_audiences_are_the_id_and_its_uri() {
        let cli = parse(&[
            "--client-id",
            "1b2c3d4e-0000-4000-8000-1234567890ab",
            "--public-origin",
            "https://medimail.example:8443",
        ])
        .expect("parse");
        assert_eq!(
            cli.config.token_audiences(),
            vec![
                "1b2c3d4e-0000-4000-8000-1234567890ab".to_owned(),
                "api://medimail.example:8443/1b2c3d4e-0000-4000-8000-1234567890ab".to_owned()
            ]
        );
    }

    #[test]
    fn metadata_over_http_only_on_loopback() {
        assert!(parse(&["--oidc-metadata-url", "http://127.0.0.1:9/x"]).is_ok());
        assert!(parse(&["--oidc-metadata-url", "http://idp.example/x"]).is_err());
    }

    #[test]
    fn smtp_url_must_be_smtp_or_smtps() {
        assert!(parse(&["--smtp-url", "smtp://127.0.0.1:2525"]).is_ok());
        assert!(parse(&["--smtp-url", "smtps://u:p@mail.example:465"]).is_ok());
        assert!(parse(&["--smtp-url", "http://mail.example"]).is_err());
    }

    #[test]
    fn loopback_only_needs_both_address_and_origin_on_loopback() {
        let on = |args: &[&str]| parse(args).expect("parse").config.is_loopback_only();
        assert!(on(&[
            "--listen",
            "127.0.0.1:3000",
            "--public-origin",
            "https://localhost:3000"
        ]));
        assert!(!on(&[
            "--listen",
            "0.0.0.0:3000",
            "--public-origin",
            "https://localhost:3000"
        ]));
        assert!(!on(&[
            "--listen",
            "127.0.0.1:3000",
            "--public-origin",
            "https://medimail.chu.fr"
        ]));
    }

    #[test]
    fn certificate_and_key_go_together() {
        assert!(parse(&["--tls-cert", "cert.pem"]).is_err());
        assert!(parse(&["--tls-cert", "cert.pem", "--tls-key", "key.pem"]).is_ok());
    }
}
