//! Start-up: configuration checks, TLS, database, then serving until SIGTERM/SIGINT.
//!
//! Anything that stops start-up is a [`StartupError`] naming the file, address or URL at
//! fault, printed as one line by `main` (never a panic backtrace).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

use crate::config::Config;
use crate::state::AppState;
use crate::taskpane::TaskpanePage;
use crate::tls;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot {what}: {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Page(#[from] crate::taskpane::PageError),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Database(#[from] crate::db::DbOpenError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Everything prepared and checked before the first connection is accepted.
pub struct Prepared {
    pub state: AppState,
    pub tls: Option<tls::TlsFiles>,
    pub rustls: Option<RustlsConfig>,
}

/// A server reachable beyond this machine refuses what is only safe on a developer's
/// machine: a master key generated beside the database (stolen with it), the file
/// outbox (one-time codes in clear on disk), and the development identity (which also
/// refuses plain HTTP). Each refusal is one line naming the setting to change.
fn refuse_development_defaults(config: &Config) -> Result<(), StartupError> {
    let refuse = |line: String| Err(StartupError::Config(line));
    if config.dev_identity && config.plaintext {
        return refuse(
            "MEDIMAIL_DEV_IDENTITY is refused with MEDIMAIL_PLAINTEXT: the tokens it mints \
             would cross the network in clear; unset MEDIMAIL_PLAINTEXT"
                .into(),
        );
    }
    if config.is_loopback_only() {
        return Ok(());
    }
    let exposed = format!(
        "the server is reachable beyond this machine (MEDIMAIL_LISTEN {}, \
         MEDIMAIL_PUBLIC_ORIGIN {})",
        config.listen,
        config.origin()
    );
    if config.master_key_file.is_none() {
        return refuse(format!(
            "MEDIMAIL_MASTER_KEY_FILE is required: {exposed}, and a master key generated next \
             to the database would be stolen with it; create one elsewhere (head -c 32 \
             /dev/urandom > /etc/medimail/master.key) and set MEDIMAIL_MASTER_KEY_FILE"
        ));
    }
    if config.smtp_url.is_none() && config.graph_sender.is_none() {
        return refuse(format!(
            "MEDIMAIL_SMTP_URL (or MEDIMAIL_GRAPH_SENDER) is required: {exposed}, and the file \
             outbox would keep one-time codes in clear on disk"
        ));
    }
    Ok(())
}

/// Prepares data folder, TLS, database, task pane and manifest.
pub async fn prepare(config: Config) -> Result<Prepared, StartupError> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    if config.plaintext && !config.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %config.listen,
            "plaintext HTTP on a non-loopback address: only behind a TLS-terminating proxy"
        );
    }
    if config.dev_identity && !config.is_loopback_only() {
        return Err(StartupError::Config(
            "MEDIMAIL_DEV_IDENTITY is refused: it lets anyone sign in as anyone, so it only \
             runs when MEDIMAIL_LISTEN is a loopback address and MEDIMAIL_PUBLIC_ORIGIN is \
             https://localhost (or 127.0.0.1/[::1])"
                .into(),
        ));
    }
    refuse_development_defaults(&config)?;
    if config.test_clock_file.is_some() && !config.is_loopback_only() {
        return Err(StartupError::Config(
            "MEDIMAIL_TEST_CLOCK_FILE is for tests on loopback only".into(),
        ));
    }
    if let Some(addr) = config.metrics_listen {
        crate::metrics::check_address(addr).map_err(StartupError::Config)?;
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| StartupError::Io {
        what: "create the data folder",
        path: config.data_dir.clone(),
        source: e,
    })?;

    let (tls_files, rustls) = if config.plaintext {
        (None, None)
    } else {
        let files = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                generated: false,
            },
            _ => tls::ensure_development_certificate(&config.data_dir, &dev_hosts(&config))?,
        };
        let server_config = tls::server_config(&files.cert, &files.key)?;
        (Some(files), Some(RustlsConfig::from_config(server_config)))
    };

    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    let taskpane = TaskpanePage::load(&config.dist_dir, &config.office_js_url)?;
    if config.client_id.is_none() {
        tracing::warn!(
            "MEDIMAIL_CLIENT_ID is not set: the manifest carries a placeholder application id \
             and Office single sign-on will not work inside Outlook"
        );
    }
    let services = crate::state::Services::from_config(&config).map_err(StartupError::Config)?;
    if services.dev_identity.is_some() {
        let banner = "DEVELOPMENT IDENTITY PROVIDER ENABLED (MEDIMAIL_DEV_IDENTITY): this server \
                      mints and trusts its own tokens, so anyone who can reach it can sign in \
                      as any mailbox. Microsoft 365 sign-in is off. Never use this in production.";
        eprintln!("\n!!! {banner}\n");
        tracing::warn!("{banner}");
    } else if config.allowed_tenants.is_none() {
        tracing::warn!(
            "MEDIMAIL_ALLOWED_TENANTS is not set: no Office user can sign in \
             (set it to your tenant id, or to `any`)"
        );
    }
    tracing::info!(mail = %services.mailer.describe(), "outbound mail");
    let mut state = AppState::new(config, db, taskpane, services);
    let outbound = crate::gateway::outbound::Outbound::from_config(
        &state.config,
        state.db.clone(),
        state.keys.clone(),
        state.blobs.clone(),
        state.clock.clone(),
    )
    .map_err(StartupError::Config)?;
    if outbound.is_some() {
        tracing::info!(
            "deliveries to the other MSSanté operators on (MEDIMAIL_MSSANTE_RELAY_CERT)"
        );
    }
    state.psc = crate::auth::psc::Psc::from_config(&state.config)
        .map_err(StartupError::Config)?
        .map(std::sync::Arc::new);
    if state.psc.is_some() {
        tracing::info!(issuer = %state.config.psc_issuer, "« carte CPx » sign-in on (Pro Santé Connect)");
    }
    state.courier =
        outbound.map(|o| std::sync::Arc::new(o) as std::sync::Arc<dyn crate::mail::Courier>);
    let opened = crate::audit::open_trail(&state.db, &state.keys).await;
    if let Ok(Some(first_bad)) = opened {
        tracing::warn!(
            first_bad,
            "the audit trail written before it was keyed did not verify from this row; \
             it is now linked under the key from its current content"
        );
    }
    opened.and(Ok(())).map_err(|e| crate::db::DbOpenError {
        url: crate::db::redact(&state.config.database_url()),
        reason: e.to_string(),
    })?;
    // Titles, names and types written in clear before they were sealed at rest.
    match crate::envelope::at_rest::seal_legacy(&state.db, &state.keys).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(envelopes = n, "envelopes from before sealed at rest"),
        Err(e) => {
            return Err(crate::db::DbOpenError {
                url: crate::db::redact(&state.config.database_url()),
                reason: format!("sealing the envelopes from before: {e}"),
            }
            .into());
        }
    }
    crate::audit::record(
        &state.db,
        &state.keys,
        "system",
        "server_started",
        serde_json::json!({ "version": env!("CARGO_PKG_VERSION") }),
    )
    .await
    .map_err(|e| crate::db::DbOpenError {
        url: crate::db::redact(&state.config.database_url()),
        reason: e.to_string(),
    })?;
    Ok(Prepared {
        state,
        tls: tls_files,
        rustls,
    })
}

/// Names the development certificate covers: loopback plus the public origin's host.
fn dev_hosts(config: &Config) -> Vec<String> {
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Some(host) = config.public_origin.host_str() {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    hosts
}

/// Binds, announces the addresses to use, and serves until a shutdown signal.
pub async fn serve(prepared: Prepared) -> Result<(), StartupError> {
    let config = prepared.state.config.clone();
    let listener =
        std::net::TcpListener::bind(config.listen).map_err(|e| StartupError::Listen {
            addr: config.listen,
            source: e,
        })?;
    let local = listener.local_addr().map_err(|e| StartupError::Listen {
        addr: config.listen,
        source: e,
    })?;
    let metrics = match config.metrics_listen {
        Some(addr) => {
            let listen_err = |source| StartupError::Listen { addr, source };
            let exporter = crate::metrics::Exporter::bind(addr).map_err(listen_err)?;
            let bound = exporter.local_addr().map_err(listen_err)?;
            tracing::info!(
                metrics = %format!("http://{bound}{}", crate::metrics::PATH),
                "metrics listener on (plain HTTP: keep it on a private network)"
            );
            Some(tokio::spawn(exporter.serve()))
        }
        None => {
            tracing::info!("metrics listener off (MEDIMAIL_METRICS_LISTEN is not set)");
            None
        }
    };
    let worker = tokio::spawn(prepared.state.mail_worker().run());
    let refresher = tokio::spawn(prepared.state.office.clone().run_refresher());
    let state = &prepared.state;
    let sweeper = tokio::spawn(crate::envelope::sweep::run(
        state.db.clone(),
        state.blobs.clone(),
        state.clock.clone(),
    ));
    let retention = tokio::spawn(crate::envelope::retention::run(
        state.db.clone(),
        state.keys.clone(),
        state.blobs.clone(),
        state.clock.clone(),
    ));
    // The sender mailboxes of the envelopes from before, tagged for the search (it
    // scans the mailboxes until this is done on the database).
    let (db, keys, now) = (state.db.clone(), state.keys.clone(), state.clock.now());
    tokio::spawn(async move {
        match crate::envelope::at_rest::tag_mailboxes(&db, &keys, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                envelopes = n,
                "the sender mailboxes of the envelopes from before tagged for the search"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "tagging the sender mailboxes for the search stopped; the search scans them \
                 until a next start finishes it"
            ),
        }
    });
    let digests = tokio::spawn(crate::envelope::digest::run(
        state.db.clone(),
        state.keys.clone(),
        state.clock.clone(),
        config.digest_time,
    ));
    let gateway = match config.smtp_listen {
        Some(addr) => Some(start_gateway(addr, &config, state, prepared.tls.as_ref()).await?),
        None => None,
    };
    let app = crate::http::app(prepared.state);

    let handle: Handle<SocketAddr> = Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));

    if let Some(files) = &prepared.tls {
        if files.generated {
            tracing::info!(cert = %files.cert.display(), "generated a development TLS certificate");
        }
        tracing::info!(
            cert = %files.cert.display(),
            "TLS certificate in use (trust it in your browser or system to avoid warnings)"
        );
    }
    let origin = config.origin();
    tracing::info!(
        listen = %local,
        taskpane = %format!("{origin}{}", medimail_api::paths::TASKPANE),
        manifest = %format!("{origin}{}", medimail_api::paths::MANIFEST),
        "Medimail is ready"
    );
    let listen_err = |e| StartupError::Listen {
        addr: local,
        source: e,
    };
    // What a slow or idle client can hold (issue 15, item 1): the TLS handshake, the
    // first request and every request's headers within MEDIMAIL_HEADER_TIMEOUT_SECONDS
    // (also the wait for the next request on a kept-alive HTTP/1.1 connection), HTTP/2
    // connections pinged and closed when silent, and MEDIMAIL_MAX_CONNECTIONS at once.
    let patience = Duration::from_secs(config.header_timeout_seconds.max(1));
    let limited = crate::connections::Limited::new(
        config.max_connections,
        Duration::from_secs(config.transfer_idle_seconds.max(1)),
    );
    tracing::info!(
        header_timeout_seconds = patience.as_secs(),
        request_timeout_seconds = config.request_timeout_seconds,
        max_connections = config.max_connections,
        "connection limits"
    );
    let timed = |builder: &mut hyper_util::server::conn::auto::Builder<_>| {
        builder
            .http1()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(patience);
        builder
            .http2()
            .timer(hyper_util::rt::TokioTimer::new())
            .keep_alive_interval(Some(patience))
            .keep_alive_timeout(patience);
    };
    match prepared.rustls {
        Some(rustls) => {
            let mut server = axum_server::from_tcp_rustls(listener, rustls)
                .map_err(listen_err)?
                .map(|tls| tls.handshake_timeout(patience).acceptor(limited))
                .first_request_timeout(patience)
                .handle(handle);
            timed(server.http_builder());
            server
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .map_err(listen_err)
        }
        None => {
            let mut server = axum_server::from_tcp(listener)
                .map_err(listen_err)?
                .acceptor(limited)
                .first_request_timeout(patience)
                .handle(handle);
            timed(server.http_builder());
            server
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .map_err(listen_err)
        }
    }?;
    // Mails still waiting stay in the outbox; the next start delivers them.
    worker.abort();
    sweeper.abort();
    retention.abort();
    digests.abort();
    if let Some(gateway) = gateway {
        gateway.abort();
    }
    refresher.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    tracing::info!("Medimail stopped");
    Ok(())
}

/// On SIGTERM or SIGINT: stop accepting, let requests in flight finish (10 s at most).
async fn shutdown_on_signal(handle: Handle<SocketAddr>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, finishing requests in flight");
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}

/// Binds the SMTP gateway (`MEDIMAIL_SMTP_LISTEN`) and starts serving it.
async fn start_gateway(
    addr: SocketAddr,
    config: &Config,
    state: &AppState,
    https: Option<&tls::TlsFiles>,
) -> Result<tokio::task::JoinHandle<()>, StartupError> {
    use crate::gateway::listener::{Gateway, Network, serve};
    let relays = config
        .smtp_relays
        .iter()
        .filter(|r| !r.trim().is_empty())
        .map(|r| Network::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartupError::Config(format!("MEDIMAIL_SMTP_RELAYS: {e}")))?;
    let roots = config.smtp_client_ca.as_deref();
    let tls = match (&config.smtp_tls_cert, &config.smtp_tls_key, https) {
        (Some(cert), Some(key), _) => Some(tls::smtp_config(cert, key, roots)?),
        (_, _, Some(files)) => Some(tls::smtp_config(&files.cert, &files.key, roots)?),
        _ => None,
    };
    if roots.is_some() && tls.is_none() {
        return Err(StartupError::Config(
            "MEDIMAIL_SMTP_CLIENT_CA needs a certificate (MEDIMAIL_SMTP_TLS_CERT)".into(),
        ));
    }
    if config.smtp_require_tls && tls.is_none() {
        return Err(StartupError::Config(
            "MEDIMAIL_SMTP_REQUIRE_TLS needs a certificate (MEDIMAIL_SMTP_TLS_CERT)".into(),
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartupError::Config(format!("MEDIMAIL_SMTP_LISTEN {addr}: {e}")))?;
    let bound = listener.local_addr().unwrap_or(addr);
    let gateway = Gateway {
        db: state.db.clone(),
        keys: state.keys.clone(),
        blobs: state.blobs.clone(),
        clock: state.clock.clone(),
        mailer: state.mailer.clone(),
        tls,
        relays,
        hosted: config.hosted(),
        operators: crate::envelope::operators::Operators::of(config),
        require_tls: config.smtp_require_tls,
        hostname: config
            .public_origin
            .host_str()
            .unwrap_or("localhost")
            .to_owned(),
        origin: config.origin(),
        support: config.support_link(),
        quota: crate::envelope::quota::Quota::of(config),
        limits: Default::default(),
        peer_domains: Default::default(),
    };
    tracing::info!(smtp = %bound, "SMTP gateway listening (#med# messages from the allowed relays)");
    Ok(tokio::spawn(serve(listener, std::sync::Arc::new(gateway))))
}
