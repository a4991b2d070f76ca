//! Deliveries to the other MSSanté operators: a recipient whose mailbox another operator
//! serves (`envelope::operators`) receives the message itself, as MIME (the body as HTML
//! and text, the attachments, `X-MSS-CODECDA` when an IHE_XDM archive carries CDA
//! documents), handed to its operator's SMTP server by `client` with STARTTLS required
//! and our operator certificate presented.
//!
//! Each delivery is one outbox row (written when the envelope is sealed), so the
//! worker's claims, retries and backoff apply: exactly one `250` is sought per recipient,
//! and a crash between the peer's `250` and the row's update can only repeat the
//! delivery (at least once), never lose it. The outcome is an envelope event
//! (« Remis à l'opérateur » or « Échec de remise ») and, on failure, a mail to the sender.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use medimail_api::EventKind;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::client::{Hop, hand_over};
use crate::clock::Clock;
use crate::envelope::entity::{attachment, envelope, envelope_event, envelope_recipient};
use crate::envelope::operators::{Delivery, domain_of};
use crate::keys::Keys;
use crate::mail::{Courier, OutgoingMail, SendError};
use crate::storage::BlobStore;

/// Where one operator's domain is delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub domain: String,
    pub host: String,
    pub port: u16,
}

/// `MEDIMAIL_MSSANTE_ROUTES`: `domain=host:port`, comma-separated.
pub fn parse_routes(list: &[String]) -> Result<Vec<Route>, String> {
    list.iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .map(|r| {
            let bad = || format!("MEDIMAIL_MSSANTE_ROUTES: « {r} » is not domain=host:port");
            let (domain, target) = r.split_once('=').ok_or_else(bad)?;
            let (host, port) = target.trim().rsplit_once(':').ok_or_else(bad)?;
            let port = port.parse::<u16>().map_err(|_| bad())?;
            let host = host.trim().trim_start_matches('[').trim_end_matches(']');
            let domain = domain.trim().to_ascii_lowercase();
            if domain.is_empty() || host.is_empty() || port == 0 {
                return Err(bad());
            }
            Ok(Route {
                domain,
                host: host.to_owned(),
                port,
            })
        })
        .collect()
}

/// The courier of the deliveries to other operators.
pub struct Outbound {
    pub db: DatabaseConnection,
    pub keys: Arc<Keys>,
    pub blobs: BlobStore,
    pub clock: Clock,
    tls: Arc<rustls::ClientConfig>,
    routes: Vec<Route>,
    /// Our name (EHLO, Message-ID): the public origin's host.
    hello: String,
    retry_for: Duration,
    /// The public origin, linked from the failure mail.
    origin: String,
}

impl Outbound {
    /// From the configuration; `None` when deliveries to other operators are off
    /// (`MEDIMAIL_MSSANTE_RELAY_CERT` unset).
    pub fn from_config(
        config: &crate::config::Config,
        db: DatabaseConnection,
        keys: Arc<Keys>,
        blobs: BlobStore,
        clock: Clock,
    ) -> Result<Option<Self>, String> {
        let (Some(cert), Some(key)) = (&config.mssante_relay_cert, &config.mssante_relay_key)
        else {
            return Ok(None);
        };
        let roots = config.mssante_roots.as_deref().ok_or(
            "MEDIMAIL_MSSANTE_RELAY_CERT needs MEDIMAIL_MSSANTE_ROOTS (the roots the other \
             operators' certificates chain to)",
        )?;
        let tls = crate::tls::mssante_client_config(cert, key, roots).map_err(|e| e.to_string())?;
        Ok(Some(Self {
            db,
            keys,
            blobs,
            clock,
            tls,
            routes: parse_routes(&config.mssante_routes)?,
            hello: config
                .public_origin
                .host_str()
                .unwrap_or("localhost")
                .to_owned(),
            retry_for: Duration::from_secs(config.mssante_retry_hours.max(1) * 3600),
            origin: config.origin(),
        }))
    }

    /// The server of `domain`'s operator: its route, else the domain's MX host.
    async fn hop(&self, domain: &str) -> Result<(String, u16), SendError> {
        if let Some(route) = self.routes.iter().find(|r| r.domain == domain) {
            return Ok((route.host.clone(), route.port));
        }
        mx_host(domain).await.map(|host| (host, 25))
    }

    /// The message of `delivery` as MIME, and its sender.
    async fn compose(&self, delivery: &Delivery) -> Result<(String, Vec<u8>), SendError> {
        let internal = |e: &dyn std::fmt::Display| SendError::Temporary(e.to_string());
        let envelope = envelope::Entity::find_by_id(&delivery.envelope_id)
            .one(&self.db)
            .await
            .map_err(|e| internal(&e))?
            .ok_or_else(|| SendError::Permanent("the envelope no longer exists".into()))?;
        if envelope.purged_at.is_some() {
            return Err(SendError::Permanent(
                "the envelope was purged before it could be delivered".into(),
            ));
        }
        let key = crate::envelope::at_rest::data_key(&self.keys, &envelope)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let shown = crate::envelope::at_rest::shown_with(&key, &envelope)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let html = crate::envelope::read::body(&key, &envelope)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let recipients = envelope_recipient::Entity::find()
            .filter(envelope_recipient::Column::EnvelopeId.eq(&envelope.id))
            .order_by_asc(envelope_recipient::Column::Position)
            .all(&self.db)
            .await
            .map_err(|e| internal(&e))?;
        let rows = attachment::Entity::find()
            .filter(attachment::Column::EnvelopeId.eq(&envelope.id))
            .order_by_asc(attachment::Column::Position)
            .all(&self.db)
            .await
            .map_err(|e| internal(&e))?;

        let address = |a: &str| {
            a.parse::<lettre::Address>()
                .map_err(|e| SendError::Permanent(format!("address {a}: {e}")))
        };
        let from = Mailbox::new(
            shown.sender_name.filter(|n| !n.trim().is_empty()),
            address(&envelope.sender_mailbox)?,
        );
        let mut builder = lettre::Message::builder()
            .from(from)
            .subject(shown.subject)
            .date(std::time::SystemTime::from(envelope.sealed_at))
            .message_id(Some(crate::envelope::threads::message_id(
                &envelope.id,
                &self.hello,
            )));
        if let Some(answered) = &envelope.in_reply_to_id {
            // The other operator's mail client threads it with the message it answers.
            let id = crate::envelope::threads::message_id(answered, &self.hello);
            builder = builder.in_reply_to(id.clone()).references(id);
        }
        for r in &recipients {
            let mailbox = Mailbox::new(None, address(&r.address)?);
            builder = if r.kind == "cc" {
                builder.cc(mailbox)
            } else {
                builder.to(mailbox)
            };
        }
        let mut files = Vec::new();
        let mut codes = Vec::new();
        for row in &rows {
            let meta = crate::envelope::at_rest::attachment_meta(&key, row)
                .map_err(|e| SendError::Permanent(e.to_string()))?;
            let blob = self
                .blobs
                .read(&row.blob_id)
                .await
                .map_err(|e| internal(&e))?;
            let mut plain = Box::pin(crate::envelope::read::decrypted(
                blob,
                key.decryptor(&row.blob_id),
                row.blob_id.clone(),
            ));
            let mut bytes = Vec::with_capacity(row.size.max(0) as usize);
            while let Some(piece) = plain.next().await {
                bytes.extend_from_slice(&piece.map_err(|e| SendError::Permanent(e.to_string()))?);
            }
            codes.extend(cda_codes(&meta.name, &bytes));
            let kind = ContentType::parse(&meta.content_type)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("valid"));
            files.push(Attachment::new(meta.safe_name.clone()).body(bytes, kind));
        }
        if !codes.is_empty() {
            // ECO.2.4.1 of the MSSanté client referential: the CDA documents' `code`.
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-MSS-CODECDA"),
                codes.join(", "),
            ));
        }
        let text = text_of(&html);
        let body = MultiPart::alternative()
            .singlepart(SinglePart::plain(text))
            .singlepart(SinglePart::html(html));
        let message = if files.is_empty() {
            builder.multipart(body)
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for file in files {
                mixed = mixed.singlepart(file);
            }
            builder.multipart(mixed)
        }
        .map_err(|e| SendError::Permanent(format!("message: {e}")))?;
        Ok((envelope.sender_mailbox, message.formatted()))
    }
}

#[async_trait::async_trait]
impl Courier for Outbound {
    fn retry_for(&self) -> Duration {
        self.retry_for
    }

    async fn deliver(&self, payload: &[u8]) -> Result<(), SendError> {
        let delivery: Delivery = serde_json::from_slice(payload)
            .map_err(|e| SendError::Permanent(format!("delivery: {e}")))?;
        let (from, message) = self.compose(&delivery).await?;
        let (host, port) = self.hop(&domain_of(&delivery.address)).await?;
        let hop = Hop {
            host: &host,
            port,
            hello: &self.hello,
            tls: self.tls.clone(),
        };
        hand_over(&hop, &from, &delivery.address, &message).await?;
        tracing::info!(envelope = %delivery.envelope_id, operator = %host, "envelope handed to the recipient's MSSanté operator");
        Ok(())
    }

    async fn settled(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        payload: Option<&[u8]>,
        outcome: Result<(), &str>,
        now: DateTime<Utc>,
    ) -> Result<(), sea_orm::DbErr> {
        let Some(delivery) = payload.and_then(|p| serde_json::from_slice::<Delivery>(p).ok())
        else {
            return Ok(());
        };
        let Some(envelope) = envelope::Entity::find_by_id(&delivery.envelope_id)
            .one(txn)
            .await?
        else {
            return Ok(());
        };
        let recipient = envelope_recipient::Entity::find_by_id(&delivery.recipient_id)
            .one(txn)
            .await?;
        let (kind, action) = match outcome {
            Ok(()) => (EventKind::Delivered, "envelope_delivered_to_operator"),
            Err(_) => (EventKind::DeliveryFailed, "envelope_delivery_failed"),
        };
        let detail = match outcome {
            Ok(()) => serde_json::json!({"recipient": delivery.address}),
            Err(reason) => serde_json::json!({"recipient": delivery.address, "reason": reason}),
        };
        envelope_event::ActiveModel {
            envelope_id: Set(envelope.id.clone()),
            kind: Set(kind.as_str().to_owned()),
            account_id: Set(recipient.map(|r| r.account_id)),
            actor: Set(delivery.address.clone()),
            occurred_at: Set(now),
            detail: Set(detail.to_string()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        crate::audit::append(
            txn,
            &self.keys,
            "system",
            action,
            serde_json::json!({
                "envelope": envelope.id,
                "recipient": delivery.recipient_id,
                "reason": outcome.err(),
            }),
        )
        .await?;
        if let Err(reason) = outcome {
            let mail = failure_mail(
                &envelope.sender_mailbox,
                envelope.sealed_at,
                &delivery.address,
                reason,
                &self.origin,
            );
            crate::mail::enqueue(
                txn,
                &self.keys,
                now,
                "delivery_failure",
                Some(&envelope.sender_account_id),
                &mail,
            )
            .await?;
        }
        Ok(())
    }
}

/// Told to the sender when a recipient's operator refused the envelope or could not be
/// reached for the whole retry period. Like « Ouverture », the date, never the title.
pub fn failure_mail(
    to: &str,
    sealed_at: DateTime<Utc>,
    recipient: &str,
    reason: &str,
    origin: &str,
) -> OutgoingMail {
    let date = crate::fr::date_time(sealed_at);
    OutgoingMail {
        to: to.to_owned(),
        subject: format!("[MEDIMAIL : Échec de remise] Votre enveloppe du {date}"),
        text: format!(
            "Bonjour,\r\n\
             \r\n\
             votre enveloppe Medimail du {date} n'a pas pu être remise à {recipient} : la \
             messagerie sécurisée de santé de ce destinataire ne l'a pas acceptée, ou n'a pas \
             pu être jointe.\r\n\
             \r\n\
             Réponse de son serveur : {reason}\r\n\
             \r\n\
             Vos autres destinataires ne sont pas concernés. L'enveloppe reste dans vos \
             « Messages envoyés » ({origin}) : vérifiez l'adresse dans l'annuaire, puis \
             transférez-la à nouveau.\r\n\
             \r\n\
             L'équipe Medimail\r\n"
        ),
        ..Default::default()
    }
}

/// The MX host of `domain` with the lowest preference (RFC 5321 §5.1); the domain itself
/// when it has no MX record.
async fn mx_host(domain: &str) -> Result<String, SendError> {
    let resolver = hickory_resolver::Resolver::builder_tokio()
        .map_err(|e| SendError::Temporary(format!("DNS: {e}")))?
        .build()
        .map_err(|e| SendError::Temporary(format!("DNS: {e}")))?;
    match resolver.mx_lookup(format!("{domain}.")).await {
        Ok(found) => found
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                hickory_resolver::proto::rr::RData::MX(mx) => Some(mx),
                _ => None,
            })
            .min_by_key(|mx| mx.preference)
            .map(|mx| mx.exchange.to_utf8().trim_end_matches('.').to_owned())
            .filter(|host| !host.is_empty())
            .ok_or_else(|| SendError::Permanent(format!("{domain}: null MX, accepts no mail"))),
        Err(e) if e.is_no_records_found() => Ok(domain.to_owned()),
        Err(e) => Err(SendError::Temporary(format!("DNS MX {domain}: {e}"))),
    }
}

/// The text alternative of a sanitised HTML body: tags dropped, paragraphs and line
/// breaks kept as lines, the usual entities decoded.
pub fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let closing = tag.starts_with('/');
        match name.as_str() {
            "br" => out.push('\n'),
            "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote"
                if closing =>
            {
                out.push('\n')
            }
            "li" => out.push_str("- "),
            _ => {}
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let decoded = decode_entities(&out);
    let lines: Vec<&str> = decoded.lines().map(str::trim_end).collect();
    lines.join("\r\n").trim().to_owned() + "\r\n"
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => '\u{a0}',
                _ => {
                    let n = name.strip_prefix('#')?;
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `code` of each CDA document of an IHE_XDM archive (`IHE_XDM.ZIP`, its documents
/// under `IHE_XDM/`): the value of `/ClinicalDocument/code/@code`. Nothing for any other
/// file, or an archive that cannot be read (it is still delivered as sent).
pub fn cda_codes(name: &str, bytes: &[u8]) -> Vec<String> {
    if !name.eq_ignore_ascii_case("IHE_XDM.ZIP") {
        return Vec::new();
    }
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return Vec::new();
    };
    let mut codes = Vec::new();
    for i in 0..archive.len().min(1000) {
        let Ok(file) = archive.by_index(i) else {
            continue;
        };
        let path = file.name().to_ascii_uppercase();
        if !path.starts_with("IHE_XDM/")
            || !path.ends_with(".XML")
            || path.ends_with("METADATA.XML")
        {
            continue;
        }
        // A CDA document is a few MB at most; a bomb stops at the bound.
        let mut xml = String::new();
        if std::io::Read::read_to_string(&mut std::io::Read::take(file, 20 * 1024 * 1024), &mut xml)
            .is_err()
        {
            continue;
        }
        let Ok(doc) = roxmltree::Document::parse(&xml) else {
            continue;
        };
        let root = doc.root_element();
        if root.tag_name().name() != "ClinicalDocument" {
            continue;
        }
        let code = root
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == "code")
            .and_then(|n| n.attribute("code"))
            .map(str::trim)
            .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_graphic()));
        if let Some(code) = code
            && !codes.iter().any(|c| c == code)
        {
            codes.push(code.to_owned());
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_domain_equals_host_colon_port() {
        let routes = parse_routes(&[
            "Autre.MSSante.fr=mx.autre.fr:25".into(),
            " clinique.fr = [::1]:2526 ".into(),
            "".into(),
        ])
        .expect("routes");
        assert_eq!(
            routes,
            vec![
                Route {
                    domain: "autre.mssante.fr".into(),
                    host: "mx.autre.fr".into(),
                    port: 25
                },
                Route {
                    domain: "clinique.fr".into(),
                    host: "::1".into(),
                    port: 2526
                },
            ]
        );
        for bad in [
            "autre.fr",
            "autre.fr=mx",
            "autre.fr=mx:0",
            "=mx:25",
            "a.fr=mx:x",
        ] {
            assert!(parse_routes(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_text_alternative_keeps_lines_and_decodes_entities() {
        assert_eq!(
            text_of(
                "<p>Bonjour&nbsp;Dr&#46; A &amp; B,</p><p>CR&lt;1&gt;<br>ligne 2</p><ul><li>un</li></ul>"
            ),
            "Bonjour\u{a0}Dr. A & B,\r\nCR<1>\r\nligne 2\r\n- un\r\n"
        );
        assert_eq!(text_of("a &unknown; b & c"), "a &unknown; b & c\r\n");
    }

    fn xdm(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            for (name, content) in entries {
                zip.start_file(*name, zip::write::SimpleFileOptions::default())
                    .expect("start");
                std::io::Write::write_all(&mut zip, content.as_bytes()).expect("write");
            }
            zip.finish().expect("finish");
        }
        out.into_inner()
    }

    #[test]
    fn the_cda_codes_of_an_xdm_archive() {
        let cda = |code: &str| {
            format!(
                r#"<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"><typeId/><code code="{code}" codeSystem="2.16.840.1.113883.6.1"/></ClinicalDocument>"#
            )
        };
        let archive = xdm(&[
            ("IHE_XDM/SUBSET01/METADATA.XML", "<x/>"),
            ("IHE_XDM/SUBSET01/DOC0001.XML", &cda("11488-4")),
            ("IHE_XDM/SUBSET01/DOC0002.XML", &cda("34112-3")),
            ("IHE_XDM/SUBSET01/DOC0003.XML", &cda("11488-4")),
            ("README.TXT", "x"),
        ]);
        assert_eq!(
            cda_codes("IHE_XDM.ZIP", &archive),
            vec!["11488-4", "34112-3"]
        );
        assert!(cda_codes("autre.zip", &archive).is_empty());
        assert!(cda_codes("IHE_XDM.ZIP", b"not a zip").is_empty());
    }
}
