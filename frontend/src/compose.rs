//! The compose screen's pure rules (no browser needed): what the pane checks before
//! sending, for an immediate French message. The server checks them again.

use medimail_api::limits;

/// "10,57 Mo": bytes in Mo (1 Mo = 1,048,576 bytes), two decimals, French comma.
pub fn format_size(bytes: u64) -> String {
    let mo = bytes as f64 / (1024.0 * 1024.0);
    format!("{mo:.2} Mo").replace('.', ",")
}

/// The gauge's text: "Total : 10,57 Mo / 25 Mo".
pub fn gauge_text(total: u64) -> String {
    format!(
        "Total : {} / {} Mo",
        format_size(total),
        limits::MAX_ATTACHMENTS_TOTAL_BYTES / (1024 * 1024)
    )
}

/// The gauge's fill, 0 to 100.
pub fn gauge_percent(total: u64) -> f64 {
    (total as f64 * 100.0 / limits::MAX_ATTACHMENTS_TOTAL_BYTES as f64).min(100.0)
}

/// Splits typed addresses on `;`, `,` and line breaks, as the server does
/// (`medimail_api::addresses`), in lowercase.
pub fn split_addresses(typed: &str) -> Vec<String> {
    medimail_api::addresses::split(typed)
        .map(str::to_lowercase)
        .collect()
}

/// A quick plausibility check (the server's is stricter): `local@domain.tld`, no spaces.
pub fn looks_like_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(char::is_whitespace)
        && address.len() <= 254
}

/// Why a set of files cannot be sent, if it cannot.
pub fn check_files(sizes: &[(String, u64)]) -> Result<(), String> {
    if sizes.len() > limits::MAX_ATTACHMENTS {
        return Err(format!(
            "Une enveloppe peut contenir au plus {} pièces jointes.",
            limits::MAX_ATTACHMENTS
        ));
    }
    if let Some((name, _)) = sizes.iter().find(|(_, s)| *s == 0) {
        return Err(format!("Le fichier « {name} » est vide."));
    }
    let total: u64 = sizes.iter().map(|(_, s)| s).sum();
    if total > limits::MAX_ATTACHMENTS_TOTAL_BYTES {
        return Err("La taille totale des pièces jointes dépasse 25 Mo.".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_the_manual() {
        assert_eq!(format_size(11_083_448), "10,57 Mo");
        assert_eq!(gauge_text(11_083_448), "Total : 10,57 Mo / 25 Mo");
        assert_eq!(format_size(0), "0,00 Mo");
        assert_eq!(gauge_percent(limits::MAX_ATTACHMENTS_TOTAL_BYTES), 100.0);
        assert_eq!(gauge_percent(limits::MAX_ATTACHMENTS_TOTAL_BYTES / 2), 50.0);
    }

    #[test]
    fn addresses_split_on_the_separators_the_manual_allows() {
        assert_eq!(
            split_addresses("A@b.fr; c@d.fr,e@f.fr\ng@h.fr ;"),
            vec!["a@b.fr", "c@d.fr", "e@f.fr", "g@h.fr"]
        );
        assert!(looks_like_address("jean@hôpital.fr"));
        assert!(!looks_like_address("jean@hopital"));
        assert!(!looks_like_address("jean dupond@chu.fr"));
    }

    #[test]
    fn files_are_checked_for_count_emptiness_and_total() {
        let f = |n: usize, s: u64| (0..n).map(|i| (format!("f{i}"), s)).collect::<Vec<_>>();
        assert!(check_files(&f(5, 1000)).is_ok());
        assert!(check_files(&f(6, 1000)).is_err());
        assert!(check_files(&f(1, 0)).is_err());
        assert!(check_files(&f(5, limits::MAX_ATTACHMENTS_TOTAL_BYTES / 5)).is_ok());
        assert!(check_files(&[("a".into(), limits::MAX_ATTACHMENTS_TOTAL_BYTES + 1)]).is_err());
    }
}
