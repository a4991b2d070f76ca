//! The SMTP client that hands one message to another MSSanté operator (RFC 5321):
//! EHLO, STARTTLS required (our operator certificate presented, the server's checked
//! against the configured roots and the route's host name), EHLO again, MAIL, one RCPT,
//! DATA. Every step has a deadline; a 4xx reply, a timeout or a failed handshake is
//! temporary (the outbox retries), a 5xx reply is final.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::mail::SendError;

/// Connecting, and each command's reply (RFC 5321 §4.5.3.2 gives minutes; a peer of the
/// trust space answers in seconds or is retried later).
const CONNECT: Duration = Duration::from_secs(30);
const REPLY: Duration = Duration::from_secs(120);
/// The reply to the end of DATA (the peer stores the message first).
const DATA_REPLY: Duration = Duration::from_secs(600);
/// A reply longer than this is not an SMTP server's.
const MAX_REPLY: usize = 64 * 1024;
/// What of a peer's reply is kept (in the outbox row, the event, the sender's mail).
const REPLY_KEPT: usize = 300;

/// Where and how to hand the message over.
pub struct Hop<'a> {
    /// Host name (checked against the server certificate) or address.
    pub host: &'a str,
    pub port: u16,
    /// Our name in EHLO.
    pub hello: &'a str,
    /// Our certificate and the operators' roots.
    pub tls: Arc<rustls::ClientConfig>,
}

/// Hands `message` (CRLF lines) from `from` to `to` through `hop`.
pub async fn hand_over(
    hop: &Hop<'_>,
    from: &str,
    to: &str,
    message: &[u8],
) -> Result<(), SendError> {
    let tcp = tokio::time::timeout(CONNECT, TcpStream::connect((hop.host, hop.port)))
        .await
        .map_err(|_| {
            temporary(format!(
                "{}:{}: no connection within 30 s",
                hop.host, hop.port
            ))
        })?
        .map_err(|e| temporary(format!("{}:{}: {e}", hop.host, hop.port)))?;
    let mut plain = Conversation::new(tcp);
    plain.reply(REPLY).await?.expect(220, "greeting")?;
    let ehlo = plain.command(&format!("EHLO {}", hop.hello)).await?;
    ehlo.expect(250, "EHLO")?;
    if !ehlo.offers("STARTTLS") {
        return Err(temporary(
            "the operator's server does not offer STARTTLS (required)".into(),
        ));
    }
    plain.command("STARTTLS").await?.expect(220, "STARTTLS")?;
    // Nothing may arrive before the handshake (a reply injected in clear would be read
    // as if it came through TLS).
    if !plain.pending.is_empty() {
        return Err(temporary(
            "the server sent data before the TLS handshake".into(),
        ));
    }
    let name = ServerName::try_from(hop.host.to_owned())
        .map_err(|e| SendError::Permanent(format!("route host {}: {e}", hop.host)))?;
    let tls = tokio::time::timeout(
        REPLY,
        tokio_rustls::TlsConnector::from(hop.tls.clone()).connect(name, plain.stream),
    )
    .await
    .map_err(|_| temporary("TLS handshake: no answer within 120 s".into()))?
    .map_err(|e| temporary(format!("TLS handshake with {}: {e}", hop.host)))?;
    let mut secure = Conversation::new(tls);
    let ehlo = secure.command(&format!("EHLO {}", hop.hello)).await?;
    ehlo.expect(250, "EHLO")?;
    if let Some(limit) = ehlo.size_limit()
        && limit > 0
        && message.len() as u64 > limit
    {
        return Err(SendError::Permanent(format!(
            "the message ({} bytes) is over the operator's limit ({limit} bytes)",
            message.len()
        )));
    }
    let size = if ehlo.offers("SIZE") {
        format!(" SIZE={}", message.len())
    } else {
        String::new()
    };
    secure
        .command(&format!("MAIL FROM:<{from}>{size}"))
        .await?
        .expect(250, "MAIL FROM")?;
    secure
        .command(&format!("RCPT TO:<{to}>"))
        .await?
        .expect(250, "RCPT TO")?;
    secure.command("DATA").await?.expect(354, "DATA")?;
    secure.send(&dot_stuffed(message)).await?;
    secure.reply(DATA_REPLY).await?.expect(250, "end of DATA")?;
    // Delivered: a lost answer to QUIT changes nothing.
    let _ = secure.command("QUIT").await;
    Ok(())
}

fn temporary(reason: String) -> SendError {
    SendError::Temporary(reason)
}

/// `message` as DATA carries it: a `.` doubled at the start of a line, CRLF at the end,
/// then the terminating `.` line.
pub fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// One reply: its code and its lines' text.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    /// Ok if the code is `want`'s class (2xx, 3xx); 4xx temporary, 5xx final.
    fn expect(&self, want: u16, step: &str) -> Result<(), SendError> {
        if self.code / 100 == want / 100 {
            return Ok(());
        }
        let text: String = self
            .lines
            .join(" ")
            .chars()
            .filter(|c| !c.is_control())
            .take(REPLY_KEPT)
            .collect();
        let reason = format!("{step}: {} {text}", self.code);
        if self.code / 100 == 5 {
            Err(SendError::Permanent(reason))
        } else {
            Err(SendError::Temporary(reason))
        }
    }

    /// Does the EHLO reply name this extension?
    fn offers(&self, extension: &str) -> bool {
        self.lines.iter().skip(1).any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(extension))
        })
    }

    /// The EHLO reply's `SIZE n`.
    fn size_limit(&self) -> Option<u64> {
        self.lines.iter().skip(1).find_map(|l| {
            let mut words = l.split_whitespace();
            let key = words.next()?;
            key.eq_ignore_ascii_case("SIZE")
                .then(|| words.next()?.parse().ok())
                .flatten()
        })
    }
}

struct Conversation<S> {
    stream: S,
    pending: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conversation<S> {
    fn new(stream: S) -> Self {
        Self {
            stream,
            pending: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        tokio::time::timeout(REPLY, async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| temporary("the server stopped reading".into()))?
        .map_err(|e| temporary(format!("write: {e}")))
    }

    async fn command(&mut self, line: &str) -> Result<Reply, SendError> {
        self.send(format!("{line}\r\n").as_bytes()).await?;
        self.reply(REPLY).await
    }

    /// The next whole reply (every line of a multi-line one), within `wait`.
    async fn reply(&mut self, wait: Duration) -> Result<Reply, SendError> {
        tokio::time::timeout(wait, self.read_reply())
            .await
            .map_err(|_| temporary(format!("no reply within {} s", wait.as_secs())))?
    }

    async fn read_reply(&mut self) -> Result<Reply, SendError> {
        let mut lines = Vec::new();
        loop {
            while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let raw: Vec<u8> = self.pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&raw).trim_end().to_owned();
                let parsed = line.get(..3).and_then(|c| c.parse::<u16>().ok());
                let Some(this) = parsed.filter(|c| (200..600).contains(c)) else {
                    return Err(temporary("the server's reply is not SMTP".into()));
                };
                let last = line.as_bytes().get(3) != Some(&b'-');
                lines.push(line.get(4..).unwrap_or("").to_owned());
                if last {
                    return Ok(Reply { code: this, lines });
                }
            }
            if self.pending.len() + lines.iter().map(String::len).sum::<usize>() > MAX_REPLY {
                return Err(temporary("the server's reply is too long".into()));
            }
            let mut buf = [0u8; 4096];
            let n = self
                .stream
                .read(&mut buf)
                .await
                .map_err(|e| temporary(format!("read: {e}")))?;
            if n == 0 {
                return Err(temporary("the server closed the connection".into()));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_and_terminated() {
        assert_eq!(dot_stuffed(b"a\r\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(dot_stuffed(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(dot_stuffed(b"x\r\n"), b"x\r\n.\r\n");
    }

    #[test]
    fn replies_are_classed_and_ehlo_read() {
        let ehlo = Reply {
            code: 250,
            lines: vec!["mx.b.fr".into(), "SIZE 1000".into(), "starttls".into()],
        };
        assert!(ehlo.offers("STARTTLS"));
        assert!(!ehlo.offers("SMTPUTF8"));
        assert_eq!(ehlo.size_limit(), Some(1000));
        let busy = Reply {
            code: 451,
            lines: vec!["4.3.0 try\u{7} later".into()],
        };
        assert!(matches!(
            busy.expect(250, "RCPT TO"),
            Err(SendError::Temporary(r)) if r == "RCPT TO: 451 4.3.0 try later"
        ));
        let unknown = Reply {
            code: 550,
            lines: vec!["5.1.1 unknown".into()],
        };
        assert!(matches!(
            unknown.expect(250, "RCPT TO"),
            Err(SendError::Permanent(_))
        ));
        assert!(ehlo.expect(250, "EHLO").is_ok());
    }
}
