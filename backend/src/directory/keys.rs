//! Search keys: how a name, an organisation or a town becomes the normalised words that
//! searches match by prefix, ignoring case, accents and punctuation. The import writes
//! these keys; the search computes the same from what was typed; the account registry
//! uses them for the accounts' names. A new directory criterion starts here (its key
//! prefix), then `search.rs` (matching) and `routes.rs` (the query field).

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

/// Words too common in organisation names and towns to be worth a key.
const STOP_WORDS: [&str; 14] = [
    "d", "l", "de", "du", "des", "la", "le", "les", "et", "en", "sur", "au", "aux", "sous",
];

/// The normalised words of an organisation or a town, without the commonest particles.
pub fn word_keys(text: &str) -> Vec<String> {
    let mut words: Vec<String> = normalize(text)
        .split(' ')
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(w))
        .map(str::to_owned)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// The fields of a directory entry that are searched by words.
#[derive(Clone, Copy, Debug, Default)]
pub struct Searched<'a> {
    pub last_name: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub organisation: Option<&'a str>,
    pub city: Option<&'a str>,
}

/// The search keys of an entry: `n:` last name, `p:` first name, `o:` organisation
/// (raison sociale), `v:` town.
pub fn entry_keys(entry: Searched<'_>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut add = |prefix: &str, words: Vec<String>| {
        keys.extend(
            words
                .into_iter()
                .map(|k| format!("{prefix}{}", k.chars().take(190).collect::<String>())),
        );
    };
    if let Some(name) = entry.last_name {
        add("n:", name_keys(name));
    }
    if let Some(name) = entry.first_name {
        add("p:", name_keys(name));
    }
    if let Some(org) = entry.organisation {
        add("o:", word_keys(org));
    }
    if let Some(city) = entry.city {
        add("v:", word_keys(city));
    }
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
