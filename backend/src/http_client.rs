//! The server's outgoing HTTPS client (Microsoft Graph and its authority): rustls with the
//! system's roots, plus `MEDIMAIL_EXTRA_CA_FILE` when set.

use std::time::Duration;

/// A client for outgoing HTTPS calls.
pub fn outgoing(config: &crate::config::Config) -> Result<reqwest::Client, String> {
    outgoing_from(config, reqwest::Client::builder())
}

/// [`outgoing`], following no redirect (an OpenID provider's endpoints).
pub fn outgoing_no_redirect(config: &crate::config::Config) -> Result<reqwest::Client, String> {
    outgoing_from(
        config,
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()),
    )
}

fn outgoing_from(
    config: &crate::config::Config,
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::Client, String> {
    let mut builder = builder
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60));
    if let Some(path) = &config.extra_ca_file {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{} is not a PEM bundle: {e}", path.display()))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| format!("outgoing HTTPS client: {e}"))
}
