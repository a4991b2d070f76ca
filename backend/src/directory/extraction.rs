//! The national directory's public file "Extraction_Correspondance_MSSante" (Agence du
//! Numérique en Santé): UTF-8, `|`-separated, one header line, 31 columns. The header is
//! checked by name, so a reordered or changed file is refused instead of being silently
//! mis-mapped; a malformed line is reported (line number and reason) and skipped.

/// The 31 columns, in the published order.
pub const COLUMNS: [&str; 31] = [
    "Type de BAL",
    "Adresse BAL",
    "Type Identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Type identifiant structure",
    "Identification Structure",
    "Service de rattachement",
    "Civilité d'exercice",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Catégorie profession",
    "Libellé de catégorie profession",
    "Code Profession",
    "Libellé Profession",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Dématérialisation",
    "Raison Sociale structure BAL",
    "Enseigne commerciale structure BAL",
    "L2COMPLEMENTLOCALISATION structure BAL",
    "L3COMPLEMENTDISTRIBUTION structure BAL",
    "L4NUMEROVOIE structure BAL",
    "L4COMPLEMENTNUMEROVOIE structure BAL",
    "NL4TYPEVOIE structure BAL",
    "L4LIBELLEVOIE structure BAL",
    "L5LIEUDITMENTION structure BAL",
    "L6LIGNEACHEMINEMENT structure BAL",
    "Code postal structure BAL",
    "Département structure BAL",
    "Pays structure BAL",
];

/// Why the header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error(
        "l'en-tête compte {found} colonnes au lieu de 31 : ce fichier n'est pas une \
         extraction « Extraction_Correspondance_MSSante » au format attendu"
    )]
    ColumnCount { found: usize },
    #[error(
        "colonne {position} : « {found} » au lieu de « {expected} » — le format du fichier a \
         changé ; rien n'a été importé"
    )]
    Column {
        position: usize,
        expected: &'static str,
        found: String,
    },
}

/// Compares header names without case, accents, spaces or a byte-order mark.
fn header_key(name: &str) -> String {
    super::keys::normalize(name.trim_start_matches('\u{feff}')).replace(' ', "")
}

/// Checks the header line, column by column.
pub fn check_header(line: &str) -> Result<(), HeaderError> {
    let found: Vec<&str> = line.trim_end_matches(['\r', '\n']).split('|').collect();
    if found.len() != COLUMNS.len() {
        return Err(HeaderError::ColumnCount { found: found.len() });
    }
    for (i, (name, expected)) in found.iter().zip(COLUMNS).enumerate() {
        if header_key(name) != header_key(expected) {
            return Err(HeaderError::Column {
                position: i + 1,
                expected,
                found: name.trim().to_owned(),
            });
        }
    }
    Ok(())
}

/// One mailbox of the extraction, with what the directory shows and searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `PER` (a person) or `ORG` (an organisation) — other values are kept as given.
    pub kind: String,
    /// The MSSanté address.
    pub address: String,
    /// RPPS / ADELI identifier of the person, if any.
    pub identifier: Option<String>,
    pub civility: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub profession: Option<String>,
    pub speciality: Option<String>,
    pub organisation: Option<String>,
    /// Street lines and town, as one line.
    pub address_lines: Option<String>,
    pub postal_code: Option<String>,
    pub department: Option<String>,
    /// The town: the L6 line ("75012 PARIS") without its postal code.
    pub city: Option<String>,
}

/// Why a line was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("{found} colonnes au lieu de 31")]
    ColumnCount { found: usize },
    #[error("adresse de messagerie absente ou invalide « {0} »")]
    Address(String),
}

fn field(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// Parses one data line (already decoded as UTF-8).
pub fn parse_line(line: &str) -> Result<Entry, LineError> {
    let cols: Vec<&str> = line.trim_end_matches(['\r', '\n']).split('|').collect();
    if cols.len() != COLUMNS.len() {
        return Err(LineError::ColumnCount { found: cols.len() });
    }
    let address = cols[1].trim().to_lowercase();
    let plausible = address
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !address.chars().any(|c| c.is_whitespace() || c.is_control());
    if !plausible {
        return Err(LineError::Address(cols[1].trim().to_owned()));
    }
    let street: Vec<&str> = (20..=27)
        .map(|i| cols[i].trim())
        .filter(|s| !s.is_empty())
        .collect();
    let postal_code = field(cols[28]);
    let city = field(cols[27]).and_then(|l6| {
        let rest = match &postal_code {
            Some(code) => l6.strip_prefix(code.as_str()).unwrap_or(&l6),
            None => l6.trim_start_matches(|c: char| c.is_ascii_digit()),
        };
        field(rest)
    });
    Ok(Entry {
        kind: cols[0].trim().to_owned(),
        address,
        identifier: field(cols[4]).or_else(|| field(cols[3])),
        civility: field(cols[8]),
        last_name: field(cols[9]),
        first_name: field(cols[10]),
        profession: field(cols[14]),
        speciality: field(cols[16]),
        organisation: field(cols[18]).or_else(|| field(cols[19])),
        address_lines: (!street.is_empty()).then(|| street.join(" ")),
        postal_code,
        department: field(cols[29]),
        city,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn header() -> String {
        COLUMNS.join("|")
    }

    fn line(values: &[(usize, &str)]) -> String {
        let mut cols = vec![""; 31];
        for (i, v) in values {
            cols[*i] = v;
        }
        cols.join("|")
    }

    #[test]
    fn the_published_header_is_accepted_even_with_a_bom_and_other_case() {
        assert_eq!(check_header(&header()), Ok(()));
        assert_eq!(check_header(&format!("\u{feff}{}\r\n", header())), Ok(()));
        assert_eq!(check_header(&header().to_uppercase()), Ok(()));
    }

    #[test]
    fn a_reordered_or_shortened_header_is_refused_by_name() {
        let mut cols = COLUMNS.to_vec();
        cols.swap(9, 10);
        let err = check_header(&cols.join("|")).expect_err("refused");
        assert_eq!(
            err,
            HeaderError::Column {
                position: 10,
                expected: "Nom d'exercice",
                found: "Prénom d'exercice".into()
            }
        );
        assert!(err.to_string().contains("rien n'a été importé"));
        assert_eq!(
            check_header(&COLUMNS[..30].join("|")),
            Err(HeaderError::ColumnCount { found: 30 })
        );
    }

    #[test]
    fn a_person_line_maps_to_its_fields() {
        let l = line(&[
            (0, "PER"),
            (1, "Benedicte.Dupont-Moreau@chu-exemple.mssante.fr"),
            (3, "10001234567"),
            (4, "810001234567"),
            (8, "Dr"),
            (9, "DUPONT-MOREAU"),
            (10, "Bénédicte"),
            (14, "Médecin"),
            (16, "Cardiologie"),
            (18, "CHU EXEMPLE"),
            (22, "12"),
            (24, "R"),
            (25, "DES LILAS"),
            (27, "75012 PARIS"),
            (28, "75012"),
            (29, "75"),
        ]);
        let e = parse_line(&l).expect("parsed");
        assert_eq!(e.kind, "PER");
        assert_eq!(e.address, "benedicte.dupont-moreau@chu-exemple.mssante.fr");
        assert_eq!(e.identifier.as_deref(), Some("810001234567"));
        assert_eq!(e.last_name.as_deref(), Some("DUPONT-MOREAU"));
        assert_eq!(e.first_name.as_deref(), Some("Bénédicte"));
        assert_eq!(e.speciality.as_deref(), Some("Cardiologie"));
        assert_eq!(
            e.address_lines.as_deref(),
            Some("12 R DES LILAS 75012 PARIS")
        );
        assert_eq!(e.postal_code.as_deref(), Some("75012"));
        assert_eq!(e.city.as_deref(), Some("PARIS"));
    }

    #[test]
    fn malformed_lines_say_why() {
        assert_eq!(
            parse_line("PER|a@b.fr|x"),
            Err(LineError::ColumnCount { found: 3 })
        );
        assert_eq!(
            parse_line(&line(&[(0, "PER"), (1, "pas une adresse")])),
            Err(LineError::Address("pas une adresse".into()))
        );
    }
}
