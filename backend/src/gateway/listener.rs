//! The SMTP gateway's listener (RFC 5321 with ESMTP: STARTTLS, SIZE, 8BITMIME,
//! SMTPUTF8, PIPELINING, ENHANCEDSTATUSCODES). Commands are parsed by smtp-proto, the
//! DATA dot-unstuffed by its receiver. It runs inside the `medimail` process, on the same
//! database, keys, blob store and outbox as the HTTP side: one process to deploy and
//! monitor, and a sealed envelope is the same transaction whichever door it came in by.
//!
//! Who may submit: only the relays of `MEDIMAIL_SMTP_RELAYS` (the hospital's Exchange
//! Online connector, its mail server); anyone else is refused at RCPT. Nothing received
//! is ever relayed as it is: a message either becomes an envelope or is refused, so the
//! gateway is no open relay. `250` after DATA is said only once the envelope is
//! committed: a crash before that loses nothing the client was told was accepted.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::Request;
use smtp_proto::request::receiver::DataReceiver;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::message;
use crate::envelope::seal::{self, Notices};
use crate::envelope::stores::Stores;
use crate::error::AppError;

/// The largest message accepted (advertised with SIZE): 25 Mo of files in base64 (4/3)
/// with the rest of the message.
pub const MAX_MESSAGE_BYTES: usize = 36_000_000;
/// Recipients of one transaction at most (an envelope has at most 100).
const MAX_RECIPIENTS: usize = 100;
/// A client silent this long between two commands is disconnected (RFC 5321 §4.5.3.2:
/// at least 5 minutes).
const COMMAND_IDLE: Duration = Duration::from_secs(300);
/// A connection lasts at most this long.
const CONNECTION_MAX: Duration = Duration::from_secs(1800);
/// One command line at most (RFC 5321: 512; extensions allow more).
const MAX_LINE: usize = 4096;
/// Commands refused in a row before the connection is closed.
const MAX_ERRORS: usize = 20;
/// Connections open at once at most; the next are told to come back (421) and closed.
pub const MAX_CONNECTIONS: usize = 200;
/// Messages received at once at most (each is held in memory, up to
/// [`MAX_MESSAGE_BYTES`], until it is sealed): 8 × 36 MB bounds the gateway's memory.
pub const DATA_AT_ONCE: usize = 8;
/// How long a DATA waits for one of those places before the client is told to retry.
const DATA_WAIT: Duration = Duration::from_secs(120);

/// An address or a network (`10.0.0.0/8`, `::1`) relays may submit from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Result<Network, String> {
        let text = text.trim();
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (text, None),
        };
        let base: IpAddr = ip
            .parse()
            .map_err(|_| format!("{text}: not an IP address or network"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text}: the prefix must be 0 to {max}"))?,
            None => max,
        };
        Ok(Network { base, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.base, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// What the gateway works with.
pub struct Gateway {
    pub db: sea_orm::DatabaseConnection,
    pub keys: Arc<crate::keys::Keys>,
    pub blobs: crate::storage::BlobStore,
    pub clock: crate::clock::Clock,
    pub mailer: crate::mail::SharedMailer,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub relays: Vec<Network>,
    /// Domains hosted here, lower case.
    pub hosted: Vec<String>,
    /// Which recipients another MSSanté operator serves (they receive the message from
    /// theirs).
    pub operators: crate::envelope::operators::Operators,
    pub require_tls: bool,
    /// The name in the greeting.
    pub hostname: String,
    pub origin: String,
    pub support: String,
    pub quota: crate::envelope::quota::Quota,
    /// Places for connections ([`MAX_CONNECTIONS`]) and for messages being received
    /// ([`DATA_AT_ONCE`]).
    pub limits: Limits,
    /// What the national directory said of the peers' domains.
    pub peer_domains: PeerDomains,
}

/// How long the national directory's answer about a peer's domain is kept.
const PEER_DOMAIN_KEPT: Duration = Duration::from_secs(600);

/// The national directory's answers about the domains peers send from: a peer of the
/// trust space is an operator whose domain the directory lists. Kept a while (a check
/// scans the directory's addresses), at most 10,000 domains.
#[derive(Default)]
pub struct PeerDomains {
    known: std::sync::Mutex<std::collections::HashMap<String, (bool, std::time::Instant)>>,
}

impl PeerDomains {
    /// Is `domain` in the national directory? `None` when none is imported.
    async fn listed(
        &self,
        db: &sea_orm::DatabaseConnection,
        domain: &str,
    ) -> Result<Option<bool>, sea_orm::DbErr> {
        let lock = || self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((listed, at)) = lock().get(domain)
            && at.elapsed() < PEER_DOMAIN_KEPT
        {
            return Ok(Some(*listed));
        }
        let answer = crate::directory::search::national_domain(db, domain).await?;
        if let Some(listed) = answer {
            let mut known = lock();
            if known.len() >= 10_000 {
                known.clear();
            }
            known.insert(domain.to_owned(), (listed, std::time::Instant::now()));
        }
        Ok(answer)
    }
}

/// What bounds the gateway's connections and memory.
pub struct Limits {
    connections: Arc<tokio::sync::Semaphore>,
    data: tokio::sync::Semaphore,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connections: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
            data: tokio::sync::Semaphore::new(DATA_AT_ONCE),
        }
    }
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "smtp: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(place) = gateway.limits.connections.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = reply(&mut stream, "421 4.7.0 Trop de connexions, réessayez / Too many connections, try again later").await;
            });
            continue;
        };
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let _place = place;
            let _ = stream.set_nodelay(true);
            if tokio::time::timeout(CONNECTION_MAX, connection(stream, peer, gateway))
                .await
                .is_err()
            {
                tracing::info!(%peer, "smtp: connection closed after its maximum duration");
            }
        });
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, gateway: Arc<Gateway>) {
    let relay = gateway.relays.iter().any(|n| n.contains(peer.ip()));
    let mut session = Session {
        gateway: &gateway,
        peer,
        relay,
        tls: false,
        trusted_peer: false,
    };
    match session.run(stream, true).await {
        Ok(Next::StartTls(stream)) => {
            let Some(config) = gateway.tls.clone() else {
                return;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            match tokio::time::timeout(COMMAND_IDLE, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    session.tls = true;
                    // A client certificate that chains to MEDIMAIL_SMTP_CLIENT_CA (the
                    // handshake fails for any other): a peer of the trust space.
                    session.trusted_peer = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .is_some_and(|c| !c.is_empty());
                    if session.trusted_peer {
                        tracing::info!(%peer, "smtp: trust-space peer authenticated by its certificate");
                    }
                    if let Err(e) = session.run(tls, false).await {
                        tracing::debug!(%peer, error = %e, "smtp: connection ended");
                    }
                }
                _ => tracing::info!(%peer, "smtp: TLS handshake failed"),
            }
        }
        Ok(Next::Done) => {}
        Err(e) => tracing::debug!(%peer, error = %e, "smtp: connection ended"),
    }
}

/// How a session's run ended.
enum Next<S> {
    Done,
    /// The client asked for STARTTLS and was told to go ahead: the handshake follows,
    /// then the session starts over (RFC 3207: everything before is forgotten).
    StartTls(S),
}

struct Session<'a> {
    gateway: &'a Gateway,
    peer: SocketAddr,
    relay: bool,
    tls: bool,
    /// Authenticated by a client certificate of the trust space: may deliver to the
    /// hosted domains only.
    trusted_peer: bool,
}

/// One mail transaction.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    to: Vec<String>,
}

impl Session<'_> {
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        mut stream: S,
        greet: bool,
    ) -> std::io::Result<Next<S>> {
        if greet {
            reply(
                &mut stream,
                &format!("220 {} ESMTP Medimail", self.gateway.hostname),
            )
            .await?;
        }
        let mut pending: Vec<u8> = Vec::new();
        let mut greeted = false;
        let mut transaction = Transaction::default();
        let mut errors = 0;
        loop {
            let Some(line) = read_line(&mut stream, &mut pending).await? else {
                return Ok(Next::Done);
            };
            let answer = match Request::parse(&mut line.iter()) {
                Ok(Request::Ehlo { host }) => {
                    greeted = true;
                    transaction = Transaction::default();
                    let mut lines = vec![
                        format!("250-{} bonjour {}", self.gateway.hostname, host),
                        format!("250-SIZE {MAX_MESSAGE_BYTES}"),
                        "250-8BITMIME".to_owned(),
                        "250-SMTPUTF8".to_owned(),
                        "250-PIPELINING".to_owned(),
                    ];
                    if !self.tls && self.gateway.tls.is_some() {
                        lines.push("250-STARTTLS".to_owned());
                    }
                    lines.push("250 ENHANCEDSTATUSCODES".to_owned());
                    lines.join("\r\n")
                }
                Ok(Request::Helo { host }) => {
                    greeted = true;
                    transaction = Transaction::default();
                    format!("250 {} bonjour {}", self.gateway.hostname, host)
                }
                Ok(Request::StartTls) => {
                    if self.tls || self.gateway.tls.is_none() {
                        "502 5.5.1 STARTTLS indisponible / STARTTLS not available".to_owned()
                    } else if !pending.is_empty() {
                        // Commands pipelined after STARTTLS would be read in clear.
                        "501 5.5.2 Rien ne doit suivre STARTTLS / Nothing may follow STARTTLS"
                            .to_owned()
                    } else {
                        reply(&mut stream, "220 2.0.0 Prêt pour TLS / Ready to start TLS").await?;
                        return Ok(Next::StartTls(stream));
                    }
                }
                Ok(Request::Mail { from }) => {
                    if !greeted {
                        "503 5.5.1 EHLO d'abord / Send EHLO first".to_owned()
                    } else if transaction.from.is_some() {
                        "503 5.5.1 Transaction déjà commencée / Nested MAIL command".to_owned()
                    } else if self.gateway.require_tls && !self.tls {
                        "530 5.7.0 STARTTLS requis / Must issue a STARTTLS command first".to_owned()
                    } else if from.size > MAX_MESSAGE_BYTES {
                        format!(
                            "552 5.3.4 Message trop gros (au plus {MAX_MESSAGE_BYTES} octets) / \
                             Message too big"
                        )
                    } else if let Some(refusal) = self.peer_sender_refusal(&from.address).await {
                        refusal
                    } else {
                        transaction.from = Some(from.address.to_string());
                        "250 2.1.0 OK".to_owned()
                    }
                }
                Ok(Request::Rcpt { to }) => {
                    if transaction.from.is_none() {
                        "503 5.5.1 MAIL d'abord / Send MAIL first".to_owned()
                    } else if !self.relay && self.trusted_peer && !self.is_hosted(&to.address) {
                        "550 5.7.1 Destinataire non hébergé ici : aucun relais / Recipient not \
                         hosted here: relaying denied"
                            .to_owned()
                    } else if !self.relay && !self.trusted_peer {
                        tracing::info!(peer = %self.peer, "smtp: refused, not an allowed relay");
                        "550 5.7.1 Relais non autorisé : ce serveur n'accepte que les relais de \
                         l'établissement / Relaying denied: this server only accepts the \
                         organisation's relays"
                            .to_owned()
                    } else if transaction.to.len() >= MAX_RECIPIENTS {
                        "452 4.5.3 Trop de destinataires / Too many recipients".to_owned()
                    } else if !to.address.contains('@') {
                        "501 5.1.3 Adresse invalide / Bad recipient address syntax".to_owned()
                    } else {
                        transaction.to.push(to.address.to_string());
                        "250 2.1.5 OK".to_owned()
                    }
                }
                Ok(Request::Data) => {
                    let slot = if transaction.to.is_empty() {
                        None
                    } else {
                        match self.gateway.limits.data.try_acquire() {
                            Ok(slot) => Some(slot),
                            Err(_) => {
                                tracing::info!(peer = %self.peer, "smtp: DATA waits for a place ({DATA_AT_ONCE} messages being received)");
                                tokio::time::timeout(DATA_WAIT, self.gateway.limits.data.acquire())
                                    .await
                                    .ok()
                                    .and_then(Result::ok)
                            }
                        }
                    };
                    if transaction.to.is_empty() {
                        "503 5.5.1 Aucun destinataire accepté / No valid recipients".to_owned()
                    } else if slot.is_none() {
                        transaction = Transaction::default();
                        "451 4.3.2 Serveur occupé, réessayez / Busy, try again later".to_owned()
                    } else {
                        reply(
                            &mut stream,
                            "354 Envoyez le message, terminé par <CRLF>.<CRLF> / End data with \
                             <CRLF>.<CRLF>",
                        )
                        .await?;
                        let data = read_data(&mut stream, &mut pending).await?;
                        let from = transaction.from.take().unwrap_or_default();
                        let to = std::mem::take(&mut transaction.to);
                        match data {
                            None => format!(
                                "552 5.3.4 Message trop gros (au plus {MAX_MESSAGE_BYTES} \
                                 octets), rien n'est conservé / Message too big, nothing kept"
                            ),
                            Some(raw) => self.deliver(&raw, &from, &to).await,
                        }
                    }
                }
                Ok(Request::Rset) => {
                    transaction = Transaction::default();
                    "250 2.0.0 OK".to_owned()
                }
                Ok(Request::Noop { .. }) => "250 2.0.0 OK".to_owned(),
                Ok(Request::Quit) => {
                    reply(&mut stream, "221 2.0.0 Au revoir / Bye").await?;
                    return Ok(Next::Done);
                }
                Ok(Request::Vrfy { .. } | Request::Expn { .. }) => {
                    "252 2.5.0 Adresse non vérifiée / Cannot verify".to_owned()
                }
                Ok(other) => format!(
                    "502 5.5.1 Commande non prise en charge / Command not implemented: {}",
                    other.name()
                ),
                Err(_) => "500 5.5.2 Commande illisible / Syntax error".to_owned(),
            };
            if answer.starts_with('5') {
                errors += 1;
                if errors >= MAX_ERRORS {
                    reply(&mut stream, "421 4.7.0 Trop d'erreurs / Too many errors").await?;
                    return Ok(Next::Done);
                }
            }
            reply(&mut stream, &answer).await?;
        }
    }

    /// Is `address` in a domain hosted here?
    fn is_hosted(&self, address: &str) -> bool {
        self.gateway
            .hosted
            .contains(&crate::envelope::operators::domain_of(address))
    }

    /// Why a peer of the trust space may not send as `sender` (an empty reverse path is
    /// checked later, on the message's From): a mailbox hosted here, or a domain the
    /// national directory does not list. `None` for relays and allowed senders.
    async fn peer_sender_refusal(&self, sender: &str) -> Option<String> {
        if self.relay || !self.trusted_peer || sender.is_empty() {
            return None;
        }
        if self.is_hosted(sender) {
            tracing::info!(peer = %self.peer, "smtp: a peer sends as a hosted mailbox");
            return Some(
                "550 5.7.1 Expéditeur hébergé ici : un opérateur ne peut pas écrire en son nom \
                 / Sender hosted here: a peer may not send as it"
                    .to_owned(),
            );
        }
        let domain = crate::envelope::operators::domain_of(sender);
        match self
            .gateway
            .peer_domains
            .listed(&self.gateway.db, &domain)
            .await
        {
            Ok(Some(true)) => None,
            Ok(Some(false)) => {
                tracing::info!(peer = %self.peer, %domain, "smtp: peer's domain not in the national directory");
                Some(
                    "550 5.7.1 Domaine inconnu de l'annuaire national MSSanté / Sender domain \
                     not in the MSSanté national directory"
                        .to_owned(),
                )
            }
            Ok(None) => Some(
                "451 4.7.1 Annuaire national MSSanté non chargé, réessayez plus tard / \
                 National directory not loaded, try again later"
                    .to_owned(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "smtp: the national directory could not be read");
                Some(
                    "451 4.3.0 Erreur temporaire, réessayez plus tard / Temporary failure"
                        .to_owned(),
                )
            }
        }
    }

    /// Seals the message (or says why not) and gives the DATA reply.
    async fn deliver(&self, raw: &[u8], from: &str, to: &[String]) -> String {
        let gateway = self.gateway;
        let inbound = match message::read(raw, from, to, &gateway.hosted) {
            // A peer of the trust space delivers to our mailboxes only: its RCPT (all
            // hosted here), not the other addresses its headers name (the peer serves
            // those itself).
            Ok(mut inbound) if self.trusted_peer && !self.relay => {
                // The sender (From) is the operator's: in the domain its MAIL FROM named
                // (checked there), or, for a report (`MAIL FROM:<>`), checked here.
                if from.is_empty() {
                    if let Some(refusal) = self.peer_sender_refusal(&inbound.sender).await {
                        return refusal;
                    }
                } else if crate::envelope::operators::domain_of(&inbound.sender)
                    != crate::envelope::operators::domain_of(from)
                {
                    tracing::info!(peer = %self.peer, "smtp: peer's From outside its MAIL FROM domain");
                    return "550 5.7.1 L'expéditeur (From) n'est pas du domaine annoncé (MAIL \
                            FROM) / From is not in the MAIL FROM domain"
                        .to_owned();
                }
                inbound.message.to = to.to_vec();
                inbound.message.cc.clear();
                inbound
            }
            Ok(inbound) => inbound,
            Err(not) => {
                tracing::info!(peer = %self.peer, reason = ?not, "smtp: message refused");
                return not.reply().to_owned();
            }
        };
        let now = gateway.clock.now();
        let sealed: Result<_, AppError> = async {
            let mailbox = crate::account::registry::normalize_mailbox(&inbound.sender);
            let (sender, made) =
                crate::account::registry::made_for_mailbox(&gateway.db, &mailbox, now).await?;
            // First use from a mail client: the account was made for this sender now
            // (manual part 4 §2, "inscription automatique"); of a hundred first messages at
            // once, the one that made it says so, once.
            if made {
                let welcome = super::message::registration_mail(&mailbox, &gateway.origin);
                crate::mail::enqueue(
                    &gateway.db,
                    &gateway.keys,
                    now,
                    "registration",
                    Some(&sender.id),
                    &welcome,
                )
                .await?;
            }
            let notices = Notices {
                origin: &gateway.origin,
                host: &gateway.hostname,
                support: &gateway.support,
                operators: &gateway.operators,
            };
            let sealed = seal::send_message(
                Stores {
                    db: &gateway.db,
                    keys: &gateway.keys,
                    blobs: &gateway.blobs,
                    clock: &gateway.clock,
                },
                &sender,
                Some(format!("smtp:{}", self.peer.ip())),
                inbound.message,
                &notices,
                gateway.quota,
                now,
            )
            .await?;
            Ok(sealed)
        }
        .await;
        match sealed {
            Ok(envelope) => {
                gateway.mailer.wake();
                tracing::info!(
                    peer = %self.peer,
                    recipients = envelope.recipients,
                    attachments = envelope.attachments,
                    "smtp: message sealed as an envelope"
                );
                format!(
                    "250 2.0.0 Enveloppe scellée / Sealed: {}",
                    envelope.reference
                )
            }
            Err(e) => {
                let status = e.status();
                let body = e.body();
                tracing::info!(peer = %self.peer, code = %body.code, "smtp: message refused");
                let message = body.message.replace(['\r', '\n'], " ");
                if status.is_server_error() {
                    format!(
                        "451 4.3.0 Erreur temporaire, réessayez / Temporary failure ({})",
                        body.code
                    )
                } else if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
                    format!("452 4.5.3 {message} ({})", body.code)
                } else if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    format!("552 5.3.4 {message} ({})", body.code)
                } else {
                    format!("550 5.7.1 {message} ({})", body.code)
                }
            }
        }
    }
}

/// Writes one reply (possibly several lines joined by CRLF) and flushes it.
async fn reply<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) -> std::io::Result<()> {
    stream.write_all(text.as_bytes()).await?;
    stream.write_all(b"\r\n").await?;
    stream.flush().await
}

/// Reads more bytes into `pending`; `false` at the end of the stream. Bounded by
/// [`COMMAND_IDLE`].
async fn fill<S: AsyncRead + Unpin>(
    stream: &mut S,
    pending: &mut Vec<u8>,
) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = tokio::time::timeout(COMMAND_IDLE, stream.read(&mut chunk))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client silent"))??;
    pending.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

/// The next command line (with its CRLF), `None` at the end of the stream. A line
/// longer than [`MAX_LINE`] ends the connection.
async fn read_line<S: AsyncRead + Unpin>(
    stream: &mut S,
    pending: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            return Ok(Some(line));
        }
        if pending.len() > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "command line too long",
            ));
        }
        if !fill(stream, pending).await? {
            return Ok(None);
        }
    }
}

/// The message after DATA, dot-unstuffed, up to the final `.`; `None` when it passed
/// [`MAX_MESSAGE_BYTES`] (read to its end and dropped). Bytes pipelined after it stay in
/// `pending`.
async fn read_data<S: AsyncRead + Unpin>(
    stream: &mut S,
    pending: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut receiver = DataReceiver::new();
    let mut message = Vec::new();
    let mut too_big = false;
    loop {
        let mut bytes = pending.iter();
        let done = receiver.ingest(&mut bytes, &mut message);
        let used = pending.len() - bytes.as_slice().len();
        pending.drain(..used);
        if message.len() > MAX_MESSAGE_BYTES {
            too_big = true;
            message.clear();
        }
        if done {
            return Ok((!too_big).then_some(message));
        }
        if !fill(stream, pending).await? {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed during DATA",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_are_addresses_or_networks() {
        let net = Network::parse("10.1.0.0/16").expect("network");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("mapped")));
        let one = Network::parse("::1").expect("v6");
        assert!(one.contains("::1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.1".parse().expect("ip")));
        assert!(
            Network::parse("0.0.0.0/0")
                .expect("all")
                .contains("8.8.8.8".parse().expect("ip"))
        );
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("example.org").is_err());
    }
}
