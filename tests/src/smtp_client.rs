//! A raw SMTP client for the gateway's tests and bench: one line sent, its reply read
//! (every line of a multi-line one), pipelining by writing to `stream` directly, and a
//! MIME builder for messages with attachments.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A plain SMTP conversation, one reply read after each line sent.
pub struct SmtpClient {
    pub stream: TcpStream,
    pending: Vec<u8>,
}

impl SmtpClient {
    pub async fn connect(port: u16) -> SmtpClient {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let mut smtp = SmtpClient {
            stream,
            pending: Vec::new(),
        };
        let greeting = smtp.reply().await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        smtp
    }

    /// The next whole reply (every line of a multi-line one).
    pub async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line).trim_end().to_owned();
                let last = line.as_bytes().get(3) != Some(&b'-');
                lines.push(line);
                if last {
                    return lines.join("\n");
                }
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(60), self.stream.read(&mut buf))
                .await
                .expect("a reply within 60 s")
                .expect("read");
            assert!(n > 0, "connection closed; so far: {lines:?}");
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    pub async fn send(&mut self, line: &str) -> String {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("write");
        self.reply().await
    }

    /// MAIL, RCPT…, DATA and the message: the reply to the message (or the first refusal
    /// of a recipient).
    pub async fn mail(&mut self, from: &str, to: &[&str], message: &[u8]) -> String {
        self.mail_timed(from, to, message).await.0
    }

    /// As [`SmtpClient::mail`], with the milliseconds from the end of the data written to
    /// the reply (the gateway answers once the envelope is committed).
    pub async fn mail_timed(&mut self, from: &str, to: &[&str], message: &[u8]) -> (String, f64) {
        let r = self.send(&format!("MAIL FROM:<{from}>")).await;
        assert!(r.starts_with("250"), "{r}");
        for rcpt in to {
            let r = self.send(&format!("RCPT TO:<{rcpt}>")).await;
            if !r.starts_with("250") {
                return (r, 0.0);
            }
        }
        let r = self.send("DATA").await;
        assert!(r.starts_with("354"), "{r}");
        // Dot-stuffing: a line starting with "." gets another.
        let mut stuffed = Vec::with_capacity(message.len() + 64);
        for line in message.split_inclusive(|b| *b == b'\n') {
            if line.first() == Some(&b'.') {
                stuffed.push(b'.');
            }
            stuffed.extend_from_slice(line);
        }
        if !stuffed.ends_with(b"\r\n") {
            stuffed.extend_from_slice(b"\r\n");
        }
        stuffed.extend_from_slice(b".\r\n");
        self.stream.write_all(&stuffed).await.expect("data");
        let written = std::time::Instant::now();
        let reply = self.reply().await;
        (reply, written.elapsed().as_secs_f64() * 1000.0)
    }
}

/// A MIME message from `from` with `files` (name, bytes) as base64 PDF attachments; its
/// text has a line starting with a dot (dot-stuffing).
pub fn mime(from: &str, subject: &str, to: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = format!(
        "From: Marie CURIE <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n--b0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n.ligne avec un point\r\n"
    );
    for (name, data) in files {
        out.push_str(&format!(
            "--b0\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        ));
        let encoded = b64.encode(data);
        for chunk in encoded.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(chunk).expect("ascii"));
            out.push_str("\r\n");
        }
    }
    out.push_str("--b0--\r\n");
    out.into_bytes()
}
