//! The rules of an envelope (manual part 3 §4, part 1 §4), as pure functions: the pane
//! checks the same ones first for an immediate message; the server's word is final.
//! Each refusal has a stable code, a French message and the field it concerns.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Months, Utc};
use medimail_api::limits;
use unicode_normalization::UnicodeNormalization;

/// The limits of an envelope, the same in the pane (`medimail_api::limits`).
pub use medimail_api::limits::{
    MAX_BODY_BYTES, MAX_FILE_NAME_CHARS as MAX_NAME_CHARS, MAX_RECIPIENTS, MAX_SUBJECT_CHARS,
};
/// The opening window closes at most this many months after sealing (the retention).
pub use medimail_api::retention::KEPT_MONTHS as MAX_OPENING_MONTHS;

/// A broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub code: &'static str,
    pub message: String,
    pub field: &'static str,
}

fn refuse(code: &'static str, field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        code,
        message: message.into(),
        field,
    }
}

/// The recipients, normalised (trimmed, lowercase, NFC), duplicates merged (an address
/// in both To and Cc stays in To).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipients {
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

impl Recipients {
    /// How many addresses, To and Cc together.
    pub fn count(&self) -> u64 {
        (self.to.len() + self.cc.len()) as u64
    }
}

/// Splits what the user typed: addresses separated by `;`, `,` or line breaks (the
/// pane splits the same way).
pub use medimail_api::addresses::split as split_addresses;

/// Checks one mailbox address; returns its normalised form. Internationalised domains are
/// accepted (checked through their IDNA form); the local part follows RFC 5321's
/// dot-atom, which lettre's parser checks.
pub fn normalise_address(typed: &str) -> Option<String> {
    let address: String = typed.trim().nfc().collect::<String>().to_lowercase();
    if address.len() > 254 || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = address.rsplit_once('@')?;
    if local.is_empty() || local.len() > 64 || domain.is_empty() {
        return None;
    }
    let ascii_domain = match url::Host::parse(domain).ok()? {
        url::Host::Domain(d) if d.contains('.') && !d.ends_with('.') => d,
        _ => return None,
    };
    lettre::Address::new(local, &ascii_domain).ok()?;
    Some(address)
}

/// Checks and merges "À" and "CC".
pub fn recipients(to: &[String], cc: &[String]) -> Result<Recipients, RuleError> {
    let mut seen = HashSet::new();
    let mut parse = |list: &[String], field: &'static str| -> Result<Vec<String>, RuleError> {
        let mut out = Vec::new();
        for typed in list.iter().flat_map(|t| split_addresses(t)) {
            let Some(address) = normalise_address(typed) else {
                let shown: String = typed.chars().take(80).collect();
                return Err(refuse(
                    "recipient_invalid",
                    field,
                    format!("L'adresse « {shown} » n'est pas une adresse de messagerie valide."),
                ));
            };
            if seen.insert(address.clone()) {
                out.push(address);
            }
        }
        Ok(out)
    };
    let to = parse(to, "to")?;
    let cc = parse(cc, "cc")?;
    if to.is_empty() {
        return Err(refuse(
            "recipient_missing",
            "to",
            "Indiquez au moins un destinataire dans « À ».",
        ));
    }
    if to.len() + cc.len() > MAX_RECIPIENTS {
        return Err(refuse(
            "recipients_too_many",
            "to",
            format!(
                "Une enveloppe peut avoir au plus {MAX_RECIPIENTS} destinataires (À et CC \
                 ensemble) ; vous en avez indiqué {}.",
                to.len() + cc.len()
            ),
        ));
    }
    Ok(Recipients { to, cc })
}

/// Checks "Objet"; returns it trimmed, NFC, with control characters (line breaks among
/// them, which could forge mail headers) turned into spaces.
pub fn subject(typed: &str) -> Result<String, RuleError> {
    let cleaned: String = typed
        .nfc()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        return Err(refuse(
            "subject_missing",
            "subject",
            "Indiquez l'objet du message.",
        ));
    }
    if cleaned.chars().count() > MAX_SUBJECT_CHARS {
        return Err(refuse(
            "subject_too_long",
            "subject",
            format!("L'objet ne peut pas dépasser {MAX_SUBJECT_CHARS} caractères."),
        ));
    }
    Ok(cleaned)
}

fn sanitizer() -> ammonia::Builder<'static> {
    let tags: HashSet<&str> = medimail_api::html::ALLOWED_TAGS.into_iter().collect();
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .tag_attributes(HashMap::from([("span", HashSet::from(["style"]))]))
        .clean_content_tags(HashSet::from(["script", "style"]))
        .strip_comments(true)
        .link_rel(None)
        .attribute_filter(|element, attribute, value| {
            if element == "span" && attribute == "style" {
                medimail_api::html::clean_style(value).map(Cow::Owned)
            } else {
                None
            }
        });
    builder
}

/// Sanitises the message with the allowlist (bold, italic, underline, strike, colour,
/// highlight, paragraphs, lists, quotes); checks its size afterwards.
pub fn body(html: &str) -> Result<String, RuleError> {
    let clean = sanitizer().clean(html).to_string();
    if clean.len() > MAX_BODY_BYTES {
        return Err(refuse(
            "body_too_large",
            "body",
            "Le message dépasse 1 Mo une fois mis en forme : raccourcissez-le ou joignez le \
             texte en pièce jointe.",
        ));
    }
    Ok(clean)
}

/// True when a sanitised body shows nothing: no text once tags, `&nbsp;` and spaces are
/// gone, and no image.
pub fn is_blank(clean_html: &str) -> bool {
    if clean_html.contains("<img") {
        return false;
    }
    let mut inside_tag = false;
    let mut text = String::new();
    for c in clean_html.chars() {
        match c {
            '<' => inside_tag = true,
            '>' => inside_tag = false,
            c if !inside_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&nbsp;", " ").trim().is_empty()
}

/// An attachment's name: as the user chose it (shown), and a safe form for storage and
/// mail/HTTP headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName {
    /// NFC, without control characters: what the user sees.
    pub display: String,
    /// Also without any path, quotes, backslashes or leading/trailing dots and spaces.
    pub safe: String,
}

/// True for the Unicode format characters (general category Cf, Unicode 15): invisible
/// characters that change how a name is drawn, such as U+202E RIGHT-TO-LEFT OVERRIDE,
/// which makes `facture\u{202E}fdp.exe` show as "factureexe.pdf".
pub fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// A character a name keeps: neither a control nor a format character.
fn shown(c: &char) -> bool {
    !c.is_control() && !is_format_char(*c)
}

/// `name` without control and format characters: what a reader is shown and what a
/// download is named (names stored before they were cleaned at upload included).
pub fn shown_name(name: &str) -> String {
    name.chars().filter(shown).collect()
}

/// Checks an attachment's name.
pub fn file_name(typed: &str) -> Result<FileName, RuleError> {
    let display: String = typed.nfc().filter(shown).collect();
    let display = display.trim().to_owned();
    if display.chars().count() > MAX_NAME_CHARS {
        return Err(refuse(
            "attachment_name_too_long",
            "attachments",
            format!(
                "Le nom du fichier « {}… » dépasse {MAX_NAME_CHARS} caractères : renommez-le.",
                display.chars().take(40).collect::<String>()
            ),
        ));
    }
    let base = display.rsplit(['/', '\\']).next().unwrap_or("");
    let safe: String = base
        .chars()
        .map(|c| {
            if matches!(c, '"' | '\\' | ':' | '*' | '?' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = safe
        .trim_matches(|c: char| c == '.' || c.is_whitespace())
        .to_owned();
    if safe.is_empty() {
        return Err(refuse(
            "attachment_name_invalid",
            "attachments",
            "Un fichier joint n'a pas de nom utilisable : renommez-le.",
        ));
    }
    Ok(FileName { display, safe })
}

/// Checks the number of attachments.
pub fn attachment_count(count: usize) -> Result<(), RuleError> {
    if count > limits::MAX_ATTACHMENTS {
        return Err(refuse(
            "attachments_too_many",
            "attachments",
            format!(
                "Une enveloppe peut contenir au plus {} pièces jointes.",
                limits::MAX_ATTACHMENTS
            ),
        ));
    }
    Ok(())
}

/// Checks one file's size and the running total.
pub fn attachment_size(name: &str, size: u64, total: u64) -> Result<(), RuleError> {
    if size == 0 {
        return Err(refuse(
            "attachment_empty",
            "attachments",
            format!("Le fichier « {name} » est vide."),
        ));
    }
    if total > limits::MAX_ATTACHMENTS_TOTAL_BYTES {
        return Err(refuse(
            "attachments_too_large",
            "attachments",
            "La taille totale des pièces jointes dépasse 25 Mo.",
        ));
    }
    Ok(())
}

/// "Conditions d'ouverture": from / until.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpeningWindow {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// The window given (or the default: now → +3 months), checked against the sealing time.
pub fn opening_window(
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    sealed_at: DateTime<Utc>,
) -> Result<OpeningWindow, RuleError> {
    let latest = sealed_at
        .checked_add_months(Months::new(MAX_OPENING_MONTHS))
        .unwrap_or(sealed_at);
    let from = from.unwrap_or(sealed_at);
    let until = until.unwrap_or(latest);
    if from >= until {
        return Err(refuse(
            "opening_window_invalid",
            "opening",
            "La date de début des conditions d'ouverture doit précéder la date de fin.",
        ));
    }
    if until > latest {
        return Err(refuse(
            "opening_window_too_long",
            "opening",
            "Une enveloppe est conservée 3 mois : la fin des conditions d'ouverture ne peut \
             pas dépasser 3 mois après l'envoi.",
        ));
    }
    Ok(OpeningWindow { from, until })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Vec<String> {
        vec![s.to_owned()]
    }

    #[test]
    fn splits_merges_and_normalises_recipients() {
        let r = recipients(
            &list("M.Pollet@CHU-exemple.fr; s.pateney@chu-exemple.fr,\nm.pollet@chu-exemple.fr"),
            &list("s.pateney@chu-exemple.fr, jean@hôpital-exemple.fr"),
        )
        .expect("valid");
        assert_eq!(
            r.to,
            vec!["m.pollet@chu-exemple.fr", "s.pateney@chu-exemple.fr"]
        );
        assert_eq!(
            r.cc,
            vec!["jean@hôpital-exemple.fr"],
            "IDN accepted, duplicate merged"
        );
    }

    #[test]
    fn refuses_bad_recipient_lists_with_their_codes() {
        for bad in [
            "pas une adresse",
            "a@b",
            "a@@b.fr",
            "a b@c.fr",
            "@chu.fr",
            "a@127.0.0.1",
            "a@-.fr",
        ] {
            let e = recipients(&list(bad), &[]).expect_err(bad);
            assert_eq!((e.code, e.field), ("recipient_invalid", "to"), "{bad}");
        }
        assert_eq!(
            recipients(&[], &list("a@b.fr")).expect_err("no To").code,
            "recipient_missing"
        );
        let many: Vec<String> = (0..101).map(|i| format!("p{i}@chu.fr")).collect();
        assert_eq!(
            recipients(&many, &[]).expect_err("101").code,
            "recipients_too_many"
        );
        let hundred: Vec<String> = (0..100).map(|i| format!("p{i}@chu.fr")).collect();
        assert!(recipients(&hundred, &[]).is_ok());
    }

    #[test]
    fn subjects_are_required_bounded_and_single_line() {
        assert_eq!(
            subject("  Compte rendu\r\nBcc: x@y.fr ").expect("ok"),
            "Compte rendu  Bcc: x@y.fr"
        );
        assert_eq!(subject(" \t ").expect_err("empty").code, "subject_missing");
        assert_eq!(
            subject(&"é".repeat(256)).expect_err("long").code,
            "subject_too_long"
        );
        assert!(subject(&"é".repeat(255)).is_ok());
    }

    #[test]
    fn the_body_keeps_formatting_and_loses_everything_else() {
        let dirty = r#"<p>Bonjour <b>Dr</b> <i>X</i> <u>u</u> <s>s</s> <strike>k</strike>
            <span style="color: #c00000; background-color: yellow; position: fixed">rouge</span>
            <span style="color: url(javascript:alert(1))">x</span>
            <img src=x onerror="alert(1)"><script>alert(2)</script>
            <a href="javascript:alert(3)">lien</a><div onclick="x()">d</div>
            <ul><li>un</li></ul><blockquote>cité</blockquote><!-- c --></p>"#;
        let clean = body(dirty).expect("sanitised");
        for kept in [
            "<b>Dr</b>",
            "<i>X</i>",
            "<u>u</u>",
            "<s>s</s>",
            "<strike>k</strike>",
            r#"<span style="color: #c00000; background-color: yellow">rouge</span>"#,
            "<ul><li>un</li></ul>",
            "<blockquote>cité</blockquote>",
            "<div>d</div>",
            "lien",
        ] {
            assert!(clean.contains(kept), "{kept} missing from {clean}");
        }
        for gone in [
            "script", "alert", "onerror", "onclick", "<img", "<a", "position", "url(", "<!--",
        ] {
            assert!(!clean.contains(gone), "{gone} left in {clean}");
        }
        let huge = format!("<p>{}</p>", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(body(&huge).expect_err("too big").code, "body_too_large");
    }

    #[test]
    fn file_names_are_shown_as_chosen_and_stored_safely() {
        let n = file_name("../../etc/Compte rendu \"M. BLANC\".pdf").expect("ok");
        assert_eq!(n.display, "../../etc/Compte rendu \"M. BLANC\".pdf");
        assert_eq!(n.safe, "Compte rendu _M. BLANC_.pdf");
        // NFC: "é" typed as e + combining accent becomes one character.
        let decomposed = "re\u{301}sultat.pdf";
        assert_eq!(file_name(decomposed).expect("ok").display, "résultat.pdf");
        assert_eq!(file_name("a\r\nb.txt").expect("ok").safe, "ab.txt");
        assert_eq!(
            file_name("C:\\Users\\x\\scan.png").expect("ok").safe,
            "scan.png"
        );
        assert_eq!(
            file_name("...").expect_err("no name").code,
            "attachment_name_invalid"
        );
        let long = format!("{}.pdf", "n".repeat(252));
        assert_eq!(
            file_name(&long).expect_err("256").code,
            "attachment_name_too_long"
        );
        assert!(file_name(&format!("{}.pdf", "n".repeat(251))).is_ok());
    }

    #[test]
    fn names_lose_the_format_characters_that_disguise_them() {
        let n = file_name("facture\u{202E}fdp.exe").expect("ok");
        assert_eq!(n.display, "facturefdp.exe");
        assert_eq!(n.safe, "facturefdp.exe");
        assert_eq!(
            file_name("re\u{200B}sultat\u{2066}.pdf\u{FEFF}")
                .expect("ok")
                .safe,
            "resultat.pdf"
        );
        assert_eq!(
            file_name("\u{202E}\u{200D}")
                .expect_err("nothing left")
                .code,
            "attachment_name_invalid"
        );
        // Letters of every script stay.
        assert_eq!(shown_name("تقرير_Öl_報告.pdf"), "تقرير_Öl_報告.pdf");
    }

    #[test]
    fn attachments_are_at_most_five_and_25_mo_and_never_empty() {
        assert!(attachment_count(5).is_ok());
        assert_eq!(
            attachment_count(6).expect_err("6").code,
            "attachments_too_many"
        );
        assert_eq!(
            attachment_size("a", 0, 0).expect_err("empty").code,
            "attachment_empty"
        );
        assert!(attachment_size("a", 1, limits::MAX_ATTACHMENTS_TOTAL_BYTES).is_ok());
        let e = attachment_size("a", 1, limits::MAX_ATTACHMENTS_TOTAL_BYTES + 1).expect_err("+1");
        assert_eq!(e.code, "attachments_too_large");
        assert!(e.message.contains("25 Mo"));
    }

    #[test]
    fn the_opening_window_defaults_to_three_months_and_is_checked() {
        let sealed = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .expect("t")
            .to_utc();
        let w = opening_window(None, None, sealed).expect("default");
        assert_eq!(w.from, sealed);
        assert_eq!(w.until.to_rfc3339(), "2027-02-27T10:00:00+00:00");
        let later = sealed + chrono::Duration::days(1);
        assert_eq!(
            opening_window(Some(later), Some(sealed), sealed)
                .expect_err("reversed")
                .code,
            "opening_window_invalid"
        );
        assert_eq!(
            opening_window(None, Some(w.until + chrono::Duration::seconds(1)), sealed)
                .expect_err("long")
                .code,
            "opening_window_too_long"
        );
        assert!(opening_window(Some(later), Some(w.until), sealed).is_ok());
    }

    #[test]
    fn a_body_of_tags_and_spaces_is_blank_but_text_or_an_image_is_not() {
        for blank in ["", "<p></p>", "<p>&nbsp; </p><div><br></div>", "  \n "] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for shown in [
            "<p>Bonjour</p>",
            "x",
            "<p><img src=\"data:image/png;base64,AA\"></p>",
        ] {
            assert!(!is_blank(shown), "{shown:?}");
        }
    }
}
