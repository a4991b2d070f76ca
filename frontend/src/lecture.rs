//! Pure logic of the reading screen: what "Répondre", "Répondre à tous" and
//! "Transférer" put in the new message, and the event labels. Tested without a browser.

use medimail_api::{EnvelopeEventInfo, EnvelopeView};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Reply,
    ReplyAll,
    Forward,
}

/// "RE: …" or "TR: …", without piling up prefixes ("RE: RE: …").
pub fn answer_subject(kind: Answer, subject: &str) -> String {
    let prefix = match kind {
        Answer::Reply | Answer::ReplyAll => "RE: ",
        Answer::Forward => "TR: ",
    };
    let trimmed = subject.trim();
    if trimmed
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    {
        trimmed.to_owned()
    } else {
        format!("{prefix}{trimmed}")
    }
}

/// "À" and "CC" of the answer: the sender / the sender and every other recipient except
/// yourself / nobody. Addresses compared without case; no duplicates.
pub fn answer_recipients(
    kind: Answer,
    view: &EnvelopeView,
    me: &str,
) -> (Vec<String>, Vec<String>) {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let mut to: Vec<String> = Vec::new();
    let mut cc: Vec<String> = Vec::new();
    let push = |list: &mut Vec<String>, seen: &[String], address: &str| {
        let address = crate::text::lower(address.trim());
        if !address.is_empty()
            && !same(&address, me)
            && !list.iter().any(|a| same(a, &address))
            && !seen.iter().any(|a| same(a, &address))
        {
            list.push(address);
        }
    };
    match kind {
        Answer::Forward => {}
        Answer::Reply => {
            // Answering one's own sent message goes back to its recipients.
            if same(&view.sender, me) {
                for a in &view.to {
                    push(&mut to, &[], a);
                }
            } else {
                push(&mut to, &[], &view.sender);
            }
        }
        Answer::ReplyAll => {
            push(&mut to, &[], &view.sender);
            for a in &view.to {
                push(&mut to, &[], a);
            }
            for a in &view.cc {
                let seen = to.clone();
                push(&mut cc, &seen, a);
            }
        }
    }
    (to, cc)
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The original quoted under "MESSAGE D'ORIGINE" (its body is the sanitised HTML the
/// server returned, made safe again by the pane before it is shown).
pub fn quoted_original(view: &EnvelopeView, safe_body: &str) -> String {
    let sender = match &view.sender_name {
        Some(name) if !name.trim().is_empty() => format!("{name} <{}>", view.sender),
        _ => view.sender.clone(),
    };
    let mut head = format!(
        "-------- MESSAGE D'ORIGINE --------<br>De : {}<br>Envoyé : {}<br>À : {}",
        escape(&sender),
        escape(&view.sent_on),
        escape(&view.to.join("; "))
    );
    if !view.cc.is_empty() {
        head.push_str(&format!("<br>CC : {}", escape(&view.cc.join("; "))));
    }
    head.push_str(&format!("<br>Objet : {}", escape(&view.subject)));
    format!("<p><br></p><div>{head}</div><blockquote>{safe_body}</blockquote>")
}

/// "Scellement", "Ouverture", "Téléchargement de …".
pub fn event_label(event: &EnvelopeEventInfo) -> String {
    match event.kind.as_str() {
        "sealed" => "Scellement".to_owned(),
        "opened" => "Ouverture".to_owned(),
        "reported" => "Signalement : mauvais destinataire".to_owned(),
        "delivered" => "Remis à l'opérateur".to_owned(),
        "delivery_failed" => "Échec de remise".to_owned(),
        "downloaded" => match &event.attachment {
            Some(name) => format!("Téléchargement de « {name} »"),
            None => "Téléchargement".to_owned(),
        },
        other => other.to_owned(),
    }
}

/// Extracts an envelope reference from a notification's text (shared with the server,
/// which threads a mail client's reply quoting it).
pub use medimail_api::reference_in;

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> EnvelopeView {
        EnvelopeView {
            reference: "R".into(),
            subject: "Compte rendu M. BLANC".into(),
            sender: "marie.curie@chu.fr".into(),
            sender_name: Some("Marie CURIE".into()),
            to: vec!["pierre@chu.fr".into(), "Moi@chu.fr".into()],
            cc: vec!["jeanne@chu.fr".into(), "pierre@chu.fr".into()],
            recipients_named: vec![],
            sealed_at: String::new(),
            sent_on: "lundi 25 janvier 2016 à 17:15".into(),
            opens_from: String::new(),
            opens_until: String::new(),
            engine: String::new(),
            body_html: "<p>x</p>".into(),
            attachments: vec![],
            events: vec![],
            events_total: 0,
            kept_until: String::new(),
            deleted: false,
            sent_by_me: false,
            in_reply_to: None,
        }
    }

    #[test]
    fn subjects_get_one_prefix() {
        assert_eq!(
            answer_subject(Answer::Reply, "Compte rendu"),
            "RE: Compte rendu"
        );
        assert_eq!(answer_subject(Answer::ReplyAll, "re: Bilan"), "re: Bilan");
        assert_eq!(
            answer_subject(Answer::Forward, "RE: Bilan"),
            "TR: RE: Bilan"
        );
        assert_eq!(answer_subject(Answer::Forward, "TR: Bilan"), "TR: Bilan");
    }

    #[test]
    fn reply_goes_to_the_sender_reply_all_to_everyone_but_me() {
        let v = view();
        assert_eq!(
            answer_recipients(Answer::Reply, &v, "moi@chu.fr"),
            (vec!["marie.curie@chu.fr".to_owned()], vec![])
        );
        assert_eq!(
            answer_recipients(Answer::ReplyAll, &v, "moi@chu.fr"),
            (
                vec!["marie.curie@chu.fr".to_owned(), "pierre@chu.fr".to_owned()],
                vec!["jeanne@chu.fr".to_owned()]
            )
        );
        assert_eq!(
            answer_recipients(Answer::Forward, &v, "moi@chu.fr"),
            (vec![], vec![])
        );
        // Answering one's own sent message.
        assert_eq!(
            answer_recipients(Answer::Reply, &v, "marie.curie@chu.fr").0,
            vec!["pierre@chu.fr".to_owned(), "moi@chu.fr".to_owned()]
        );
    }

    #[test]
    fn the_quote_escapes_the_header_and_keeps_the_body() {
        let mut v = view();
        v.subject = "<b>x</b>".into();
        let q = quoted_original(&v, "<p>corps</p>");
        assert!(q.contains("MESSAGE D'ORIGINE"));
        assert!(q.contains("Objet : &lt;b&gt;x&lt;/b&gt;"));
        assert!(q.contains("De : Marie CURIE &lt;marie.curie@chu.fr&gt;"));
        assert!(q.contains("Envoyé : lundi 25 janvier 2016 à 17:15"));
        assert!(q.ends_with("<blockquote><p>corps</p></blockquote>"));
    }

    #[test]
    fn finds_the_reference_in_a_notification() {
        let text = "Pour accéder …\r\n\r\nhttps://medimail.chu.fr/taskpane.html#/inbox/open/AbCdEfGh_-1234567890abcdefghijKL\r\n\r\nCordialement";
        assert_eq!(
            reference_in(text).as_deref(),
            Some("AbCdEfGh_-1234567890abcdefghijKL")
        );
        assert_eq!(reference_in("Bonjour, réunion demain."), None);
        assert_eq!(reference_in("#/inbox/open/court"), None);
    }
}
