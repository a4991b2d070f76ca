//! The conditions of use of the service (manual part 5, "Conditions générales
//! d'utilisation du service Medimail"), versioned: a webmail user accepts the version in
//! force before opening the mailbox, and again when it changes. The acceptance (version
//! and date) is kept on the account and in the audit trail.

/// The version in force. A new text is a new file and a new version: every account is
/// asked again.
pub const VERSION: &str = "2026-12-01";

pub const TITLE: &str = "Conditions générales d'utilisation du service Medimail";

/// Plain text, paragraphs separated by blank lines.
pub const TEXT: &str = include_str!("conditions-2026-12-01.txt");

#[cfg(test)]
mod tests {
    #[test]
    fn the_text_is_the_manual_s_part_five_in_full() {
        assert!(super::TEXT.starts_with("SOLUTION DE MESSAGERIE SECURISEE"));
        assert!(super::TEXT.contains("MISE A JOUR DES CONDITIONS GENERALES"));
        assert!(
            super::TEXT
                .trim_end()
                .ends_with("et à en respecter le contenu.")
        );
        assert!(!super::TEXT.contains('|'), "OCR debris");
    }
}
