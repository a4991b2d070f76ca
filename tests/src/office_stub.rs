//! A local HTTPS server for the office.js stand-in (`tests/fixtures/office-stub.js`), so
//! that the task pane loads "office.js" from another origin exactly as in production.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use rustls_pki::pem::PemObject;

mod rustls_pki {
    pub use rustls::pki_types::*;
}

pub struct OfficeStub {
    pub port: u16,
    handle: Handle<SocketAddr>,
}

impl OfficeStub {
    pub async fn start() -> OfficeStub {
        crate::install_crypto_provider();
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
            .expect("stub certificate");
        let cert =
            rustls_pki::CertificateDer::from_pem_slice(made.cert.pem().as_bytes()).expect("cert");
        let key =
            rustls_pki::PrivateKeyDer::from_pem_slice(made.signing_key.serialize_pem().as_bytes())
                .expect("key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("stub TLS config");
        let script =
            std::fs::read_to_string(crate::workspace_root().join("tests/fixtures/office-stub.js"))
                .expect("office stub script");
        let app = Router::new()
            .route(
                "/office.js",
                get(move || {
                    let script = script.clone();
                    async move { ([(header::CONTENT_TYPE, "text/javascript")], script) }
                }),
            )
            .route("/mail/", get(outlook_on_the_web));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind stub");
        let port = listener.local_addr().expect("stub addr").port();
        let handle: Handle<SocketAddr> = Handle::new();
        let server =
            axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(Arc::new(config)))
                .expect("stub server")
                .handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        OfficeStub { port, handle }
    }

    /// The stand-in's URL outside Office: `Office.onReady` reports no host, as in a plain
    /// browser tab.
    pub fn url_outside_office(&self) -> String {
        format!("https://127.0.0.1:{}/office.js?host=none", self.port)
    }

    /// The stand-in's URL inside Outlook on the web, opened from a message being
    /// composed (see `window.__medimailComposeItem` in the stub).
    pub fn url_compose(&self) -> String {
        format!(
            "https://127.0.0.1:{}/office.js?host=Outlook&platform=OfficeOnline&mode=compose",
            self.port
        )
    }

    /// The stand-in's URL inside Outlook on the web, opened on a mail being read (see
    /// `window.__medimailReadItem` and `window.__medimailSelectItem` in the stub).
    pub fn url_read(&self) -> String {
        format!(
            "https://127.0.0.1:{}/office.js?host=Outlook&platform=OfficeOnline&mode=read",
            self.port
        )
    }

    /// The stand-in's URL inside an Outlook without single sign-on (IdentityAPI 1.3
    /// unsupported): the pane must sign in through the Office dialog.
    pub fn url_without_sso(&self) -> String {
        format!(
            "https://127.0.0.1:{}/office.js?host=Outlook&platform=PC&identity=none",
            self.port
        )
    }

    /// Outlook on the web's page as the browser sees it: `https://outlook.office.com/mail/`
    /// (Chromium started with [`OfficeStub::outlook_host_rule`] reaches this stand-in
    /// there), showing `pane` in a 320×700 third-party frame, as Outlook shows the pane.
    pub fn outlook_on_the_web(&self, pane: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("pane", pane)
            .finish();
        format!("https://outlook.office.com/mail/?{query}")
    }

    /// The Chromium flag that sends `outlook.office.com` to this stand-in.
    pub fn outlook_host_rule(&self) -> String {
        format!(
            "--host-resolver-rules=MAP outlook.office.com 127.0.0.1:{}",
            self.port
        )
    }

    /// The stand-in's URL, pretending to be Outlook on the given platform.
    pub fn url(&self, platform: &str) -> String {
        format!(
            "https://127.0.0.1:{}/office.js?host=Outlook&platform={platform}",
            self.port
        )
    }
}

impl Drop for OfficeStub {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Outlook on the web's page: the pane (the `pane` query parameter, an https URL) in a
/// frame of the pane's size.
async fn outlook_on_the_web(
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let pane = query.get("pane").cloned().unwrap_or_default();
    if !pane.starts_with("https://") || pane.contains(['"', '<', '>']) {
        return (axum::http::StatusCode::BAD_REQUEST, "pane: an https URL").into_response();
    }
    axum::response::Html(format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <title>Outlook</title></head><body style=\"margin:0\">\
         <iframe id=\"pane\" title=\"Medimail\" src=\"{}\" width=\"320\" height=\"700\" \
         style=\"border:0\"></iframe></body></html>",
        pane.replace('&', "&amp;")
    ))
    .into_response()
}
