//! The lists « Identité » chooses from, shipped with their sources in `nomenclature/`:
//! the national nomenclatures of the MSSanté extraction's « Code Profession » (TRE_G15)
//! and « Code savoir-faire » (TRE_R38), INSEE's régions and départements, and the
//! civilités. Also the postal code → département rule.

use std::sync::LazyLock;

use medimail_api::{Coded, Nomenclatures};

/// Rows of a shipped TSV file: comment lines start with `#`.
fn rows(tsv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    tsv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect())
}

fn coded(tsv: &'static str) -> Vec<Coded> {
    rows(tsv)
        .filter(|r| r.len() >= 2)
        .map(|r| Coded {
            code: r[0].to_owned(),
            label: r[1].to_owned(),
            parent: r.get(2).filter(|p| !p.is_empty()).map(|p| (*p).to_owned()),
        })
        .collect()
}

/// Civilités: what « Civilité » offers (`Dr` and `Pr` are the extraction's « Civilité
/// d'exercice » `DR` and `PR`).
pub const CIVILITIES: [(&str, &str); 4] = [
    ("M.", "Monsieur"),
    ("Mme", "Madame"),
    ("Dr", "Docteur"),
    ("Pr", "Professeur"),
];

static ALL: LazyLock<Nomenclatures> = LazyLock::new(|| Nomenclatures {
    civilities: CIVILITIES
        .iter()
        .map(|(code, label)| Coded {
            code: (*code).to_owned(),
            label: (*label).to_owned(),
            parent: None,
        })
        .collect(),
    professions: coded(include_str!("nomenclature/TRE_G15-ProfessionSante.tsv")),
    specialities: coded(include_str!("nomenclature/TRE_R38-SpecialiteOrdinale.tsv")),
    regions: coded(include_str!("nomenclature/regions.tsv")),
    departments: coded(include_str!("nomenclature/departements.tsv")),
});

/// Every list, as `GET /api/account/nomenclatures` answers it.
pub fn all() -> &'static Nomenclatures {
    &ALL
}

fn find<'a>(list: &'a [Coded], code: &str) -> Option<&'a Coded> {
    list.iter().find(|c| c.code == code)
}

/// The label of profession `code`, if it is one.
pub fn profession(code: &str) -> Option<&'static str> {
    find(&ALL.professions, code).map(|c| c.label.as_str())
}

/// The label of spécialité `code`, if it is one.
pub fn speciality(code: &str) -> Option<&'static str> {
    find(&ALL.specialities, code).map(|c| c.label.as_str())
}

/// The département `code`, if it is one (with its region as `parent`).
pub fn department(code: &str) -> Option<&'static Coded> {
    find(&ALL.departments, code)
}

/// The region `code`, if it is one.
pub fn region(code: &str) -> Option<&'static Coded> {
    find(&ALL.regions, code)
}

/// The département of a French postal code (5 digits), where the code tells it:
/// the first two digits; `97x` overseas (971 to 974, 976); in Corsica `200xx`–`201xx`
/// are Corse-du-Sud (2A), `202xx`–`206xx` Haute-Corse (2B). `None` where it cannot be
/// told (Monaco and the overseas collectivities, `98xxx`; Saint-Pierre-et-Miquelon,
/// `975xx`; Saint-Barthélemy `97133` and Saint-Martin `97150`; a code that is not a
/// postal code). About twenty postal codes are shared by communes of two départements
/// (docs/IDENTITE.md): there the rule gives the usual one, and the user chooses
/// « Département » when it is the other.
pub fn department_of_postal_code(code: &str) -> Option<&'static str> {
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted = match &code[..2] {
        // Saint-Barthélemy and Saint-Martin: overseas collectivities, not départements.
        _ if code == "97133" || code == "97150" => return None,
        "97" => &code[..3],
        "20" => match code.as_bytes()[2] {
            b'0' | b'1' => "2A",
            b'2'..=b'6' => "2B",
            _ => return None,
        },
        two => two,
    };
    department(wanted).map(|d| d.code.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_whole() {
        let all = all();
        assert_eq!(all.departments.len(), 101);
        assert_eq!(all.regions.len(), 18);
        for d in &all.departments {
            let region = d.parent.as_deref().expect("a region");
            assert!(super::region(region).is_some(), "{d:?}");
        }
        assert_eq!(profession("10"), Some("Médecin"));
        assert!(all.specialities.len() > 10);
    }

    #[test]
    fn postal_codes_give_their_departement() {
        assert_eq!(department_of_postal_code("31059"), Some("31"));
        assert_eq!(department_of_postal_code("01000"), Some("01"));
        assert_eq!(department_of_postal_code("20000"), Some("2A"));
        assert_eq!(department_of_postal_code("20167"), Some("2A"));
        assert_eq!(department_of_postal_code("20200"), Some("2B"));
        assert_eq!(department_of_postal_code("20600"), Some("2B"));
        assert_eq!(department_of_postal_code("97400"), Some("974"));
        assert_eq!(department_of_postal_code("97600"), Some("976"));
        assert_eq!(department_of_postal_code("97500"), None);
        assert_eq!(department_of_postal_code("97133"), None);
        assert_eq!(department_of_postal_code("98000"), None);
        assert_eq!(department_of_postal_code("00100"), None);
        assert_eq!(department_of_postal_code("3105"), None);
        assert_eq!(department_of_postal_code("31a59"), None);
    }
}
