//! A message received over SMTP, read with mail-parser (no hand-written MIME), and the
//! decision the manual's part 4 gives: a subject starting with the `#med# ` tag (removed),
//! or a recipient in an MSSanté domain (`…mssante.fr`) or in a domain hosted here, makes
//! it a secure envelope; anything else is refused, never delivered unsealed.

use mail_parser::{MessageParser, MimeHeaders};

use crate::envelope::operators::{domain_of, is_mssante_domain};
use crate::envelope::seal::Message;
use crate::envelope::threads::Hint;
use crate::envelope::upload::ReceivedFile;
use medimail_api::reference_in;

/// The tag of the manual (part 4 §3): "ajouter au début le tag #med# suivi d'un espace".
pub const TAG: &str = "#med#";

/// Why a message is not sealed (said in the SMTP reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSealed {
    /// Not MIME that can be read.
    Unreadable,
    /// No sender address in `From` nor in `MAIL FROM`.
    NoSender,
    /// Neither the tag nor an MSSanté or hosted recipient.
    NotMedimail,
}

impl NotSealed {
    /// The SMTP reply: code, enhanced status, French then English.
    pub fn reply(&self) -> &'static str {
        match self {
            NotSealed::Unreadable => {
                "550 5.6.0 Message illisible (MIME) / Unreadable message (MIME)"
            }
            NotSealed::NoSender => {
                "550 5.1.7 Expéditeur absent ou invalide / Missing or invalid sender"
            }
            NotSealed::NotMedimail => {
                "550 5.7.1 Ce message n'est pas un Medimail : commencez l'objet par #med# suivi \
                 d'un espace / Not a Medimail message: start the subject with \"#med# \""
            }
        }
    }
}

/// A message to seal, and who sent it.
pub struct Inbound {
    pub sender: String,
    pub message: Message,
}

/// Reads `raw` (the DATA, dot-unstuffed) received from `mail_from` for `rcpt_to`.
/// `hosted` lists the domains hosted here (lower case).
pub fn read(
    raw: &[u8],
    mail_from: &str,
    rcpt_to: &[String],
    hosted: &[String],
) -> Result<Inbound, NotSealed> {
    let parsed = MessageParser::default()
        .parse(raw)
        .ok_or(NotSealed::Unreadable)?;
    let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        list.map(|a| {
            a.iter()
                .filter_map(|addr| addr.address())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
    };
    let sender = addresses(parsed.from())
        .into_iter()
        .next()
        .or_else(|| Some(mail_from.trim().to_owned()).filter(|s| s.contains('@')))
        .ok_or(NotSealed::NoSender)?;
    let mut to = addresses(parsed.to());
    let cc = addresses(parsed.cc());
    if to.is_empty() && cc.is_empty() {
        to = rcpt_to.to_vec();
    }
    let subject = parsed.subject().unwrap_or("").trim().to_owned();
    let tagged = subject
        .get(..TAG.len())
        .is_some_and(|t| t.eq_ignore_ascii_case(TAG));
    let secure_domain = |address: &String| {
        let domain = domain_of(address);
        is_mssante_domain(&domain) || hosted.contains(&domain)
    };
    if !tagged && !to.iter().chain(&cc).chain(rcpt_to).any(secure_domain) {
        return Err(NotSealed::NotMedimail);
    }
    let subject = if tagged {
        subject[TAG.len()..].trim_start().to_owned()
    } else {
        subject
    };
    // The HTML part, or the text one as HTML (mail-parser escapes it); the body rules
    // sanitise it like a body typed in the pane.
    let body_html = parsed
        .body_html(0)
        .map(|html| html.into_owned())
        .unwrap_or_default();
    let files = parsed
        .attachments()
        .map(|part| ReceivedFile {
            name: part
                .attachment_name()
                .map(str::to_owned)
                .unwrap_or_else(|| "piece-jointe".to_owned()),
            content_type: part.content_type().map(|t| match t.subtype() {
                Some(sub) => format!("{}/{}", t.ctype(), sub),
                None => t.ctype().to_owned(),
            }),
            bytes: bytes::Bytes::copy_from_slice(part.contents()),
        })
        .collect();
    let answers = answers(&parsed, &body_html);
    Ok(Inbound {
        sender,
        message: Message {
            to,
            cc,
            subject,
            body_html,
            files,
            answers,
        },
    })
}

/// What names the envelope a message answers: `In-Reply-To`, then `References` (the
/// newest first), then the link of a quoted notification in its body.
fn answers(parsed: &mail_parser::Message<'_>, body_html: &str) -> Vec<Hint> {
    let ids = |value: &mail_parser::HeaderValue<'_>| -> Vec<String> {
        match value {
            mail_parser::HeaderValue::Text(id) => vec![id.to_string()],
            mail_parser::HeaderValue::TextList(ids) => ids.iter().map(|i| i.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let mut hints: Vec<Hint> = ids(parsed.in_reply_to())
        .into_iter()
        .chain(ids(parsed.references()).into_iter().rev())
        .map(Hint::MessageId)
        .collect();
    let text = parsed
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    if let Some(reference) = reference_in(&text).or_else(|| reference_in(body_html)) {
        hints.push(Hint::Reference(reference));
    }
    hints
}

/// "Confirmation d'inscription Medimail" (manual part 4 §2): the account made for a
/// sender's first message from a mail client.
pub fn registration_mail(mailbox: &str, origin: &str) -> crate::mail::OutgoingMail {
    crate::mail::OutgoingMail {
        to: mailbox.to_owned(),
        subject: "Confirmation d'inscription Medimail".to_owned(),
        text: format!(
            "Bienvenue sur Medimail, service de Messagerie Sécurisée de Santé.\r\n\r\n\
             Pour confirmer votre inscription, veuillez cliquer sur le lien suivant ou le \
             copier pour le coller dans la barre d'adresse de votre navigateur :\r\n\r\n\
             {origin}/\r\n\r\n\
             Vous pourrez immédiatement accéder aux messages sécurisés qui vous ont été \
             adressés et finaliser votre inscription.\r\n\r\n\
             Cordialement,\r\nLe service Medimail\r\n\r\n\
             Astuce : dans le cadre d'une utilisation depuis un client de messagerie, il n'est \
             pas nécessaire de confirmer l'inscription. Aucune action supplémentaire n'est \
             requise.\r\n"
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(subject: &str, to: &str) -> Vec<u8> {
        format!(
            "From: Marie CURIE <marie.curie@chu-exemple.fr>\r\nTo: {to}\r\nSubject: {subject}\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour <b>\r\nsuite\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn the_tag_or_a_secure_recipient_makes_an_envelope_and_nothing_else_does() {
        let hosted = vec!["chu-exemple.fr".to_owned()];
        let rcpt = vec!["pierre@ailleurs.fr".to_owned()];
        let sealed = read(
            &mail("#med# Compte rendu", "pierre@ailleurs.fr"),
            "",
            &rcpt,
            &[],
        )
        .expect("tagged");
        assert_eq!(sealed.message.subject, "Compte rendu");
        assert_eq!(sealed.sender, "marie.curie@chu-exemple.fr");
        assert_eq!(sealed.message.to, vec!["pierre@ailleurs.fr"]);
        assert!(
            sealed.message.body_html.contains("Bonjour &lt;b")
                && sealed.message.body_html.contains("suite"),
            "{}",
            sealed.message.body_html
        );
        let mss = read(&mail("CR", "p.dupond@ch-x.mssante.fr"), "", &rcpt, &[]).expect("mss");
        assert_eq!(mss.message.subject, "CR");
        assert!(read(&mail("CR", "p@chu-exemple.fr"), "", &rcpt, &hosted).is_ok());
        assert_eq!(
            read(&mail("CR", "pierre@ailleurs.fr"), "", &rcpt, &hosted).err(),
            Some(NotSealed::NotMedimail)
        );
        assert_eq!(
            read(&mail("#med#CR", "p@evil-mssante.fr"), "", &rcpt, &[]).map(|m| m.message.subject),
            Ok("CR".to_owned()),
            "the tag, even without its space"
        );
        assert_eq!(
            read(&mail("CR", "p@evil-mssante.fr"), "", &rcpt, &[]).err(),
            Some(NotSealed::NotMedimail),
            "a domain that only ends like mssante.fr"
        );
    }

    #[test]
    fn a_reply_names_what_it_answers_in_order() {
        let reply = "From: pierre@chu-exemple.fr\r\nTo: marie.curie@chu-exemple.fr\r\n\
             Subject: #med# RE: [MEDIMAIL : Reception] CR\r\n\
             In-Reply-To: <REFERENCEREFERENCE01.0@medimail.chu.fr>\r\n\
             References: <a@b.fr> <c@d.fr>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nMerci.\r\n\
             > https://medimail.chu.fr/#/inbox/open/QUOTEDREFERENCE0001\r\n";
        let read = read(reply.as_bytes(), "", &[], &[]).expect("read");
        assert_eq!(
            read.message.answers,
            vec![
                Hint::MessageId("REFERENCEREFERENCE01.0@medimail.chu.fr".into()),
                Hint::MessageId("c@d.fr".into()),
                Hint::MessageId("a@b.fr".into()),
                Hint::Reference("QUOTEDREFERENCE0001".into()),
            ]
        );
    }
}
