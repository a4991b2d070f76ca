//! Directories (issue 6): "Annuaire Medimail" (the accounts of this service plus regional
//! imports) and "Annuaire National MSSanté". `normalize` makes matching ignore case,
//! accents and punctuation; `extraction` reads the national file; `import` loads it into
//! a snapshot switched atomically; `search` finds contacts; `routes` is the HTTP API.

pub mod extraction;
pub mod import;
pub mod routes;
pub mod search;

use unicode_normalization::UnicodeNormalization;

/// Lower case, accents removed (NFD without combining marks, and the ligatures œ, æ, ß
/// spelt out), every run of other characters than letters and digits turned into one
/// space, apostrophes removed so that "d'Arc" matches "darc".
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        if matches!(c, '\'' | '\u{2019}' | '\u{02bc}' | '`' | '´') {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            match c {
                'œ' | 'Œ' => out.push_str("oe"),
                'æ' | 'Æ' => out.push_str("ae"),
                'ß' => out.push_str("ss"),
                c => out.extend(c.to_lowercase()),
            }
        } else {
            pending_space = true;
        }
    }
    out
}

/// The words of a name, normalised: each is a search key for prefix matching, so a
/// compound or particle name is found by any of its parts ("Jean-Pierre de la Tour":
/// jean, pierre, de, la, tour). The whole name without spaces is a key too
/// ("jeanpierre…"), so a query typed without the hyphen finds it.
pub fn name_keys(name: &str) -> Vec<String> {
    let normalized = normalize(name);
    let mut keys: Vec<String> = normalized.split(' ').map(str::to_owned).collect();
    let joined = normalized.replace(' ', "");
    if keys.len() > 1 {
        keys.push(joined);
    }
    keys.retain(|k| !k.is_empty());
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_real_looking_french_names() {
        for (typed, expected) in [
            ("Bénédicte", "benedicte"),
            ("Jean-Pierre", "jean pierre"),
            ("d'Arc", "darc"),
            ("D’ARC", "darc"),
            ("Lætitia", "laetitia"),
            ("Cœur", "coeur"),
            ("Françoise  N'Diaye", "francoise ndiaye"),
            ("LE GOFF-KERGOAT", "le goff kergoat"),
            ("Hélène-Zoé de l'Éprevier", "helene zoe de leprevier"),
            ("  Ñúñez  ", "nunez"),
            ("Müller-Lüdenscheidt", "muller ludenscheidt"),
            ("", ""),
        ] {
            assert_eq!(normalize(typed), expected, "{typed}");
        }
    }

    #[test]
    fn every_part_of_a_compound_name_is_a_key() {
        assert_eq!(
            name_keys("Jean-Pierre de la Tour"),
            ["de", "jean", "jeanpierredelatour", "la", "pierre", "tour"]
        );
        assert_eq!(name_keys("d'Arc"), ["darc"]);
        assert_eq!(name_keys("DUPONT"), ["dupont"]);
    }
}
