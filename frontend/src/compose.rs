//! The compose screen's pure rules (no browser needed): what the pane checks before
//! sending, for an immediate French message. The server checks them again.

use medimail_api::limits;

/// "10,57 Mo": bytes in Mo (1 Mo = 1,048,576 bytes), two decimals, French comma.
pub fn format_size(bytes: u64) -> String {
    // Integer arithmetic, not `{:.2}` on an f64: float formatting alone is about 10 KB
    // of the pane's WebAssembly. Same digits (ties to even, like float formatting).
    let hundredths = div_round_ties_even(bytes.saturating_mul(100), 1024 * 1024);
    format!("{},{:02} Mo", hundredths / 100, hundredths % 100)
}

/// The gauge's text: "Total : 10,57 Mo / 25 Mo".
pub fn gauge_text(total: u64) -> String {
    format!(
        "Total : {} / {} Mo",
        format_size(total),
        limits::MAX_ATTACHMENTS_TOTAL_BYTES / (1024 * 1024)
    )
}

/// The gauge's fill as a CSS width, "0.0%" to "100.0%" (one decimal, ties to even).
pub fn gauge_width(total: u64) -> String {
    let tenths = div_round_ties_even(
        total.min(limits::MAX_ATTACHMENTS_TOTAL_BYTES) * 1000,
        limits::MAX_ATTACHMENTS_TOTAL_BYTES,
    );
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// The upload progress (0.0 to 1.0) as "42 %", rounded like `{:.0}` would.
pub fn progress_text(fraction: f64) -> String {
    let percent = fraction * 100.0;
    if percent.is_finite() {
        // `{:.0}` rounds ties to even; the value is within 0..=100 in practice.
        format!("{} %", percent.round_ties_even() as i64)
    } else {
        format!(
            "{} %",
            if percent.is_nan() {
                "NaN"
            } else if percent > 0.0 {
                "inf"
            } else {
                "-inf"
            }
        )
    }
}

/// `n / d` rounded to the nearest integer, ties to even.
fn div_round_ties_even(n: u64, d: u64) -> u64 {
    let (q, r) = (n / d, n % d);
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
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
        assert_eq!(gauge_width(limits::MAX_ATTACHMENTS_TOTAL_BYTES), "100.0%");
        assert_eq!(
            gauge_width(limits::MAX_ATTACHMENTS_TOTAL_BYTES / 2),
            "50.0%"
        );
        assert_eq!(
            gauge_width(limits::MAX_ATTACHMENTS_TOTAL_BYTES * 2),
            "100.0%"
        );
        assert_eq!(progress_text(0.425), "42 %");
    }

    /// The integer formatting gives the very digits the float formatting gave before.
    #[test]
    fn sizes_and_percentages_match_float_formatting() {
        let max = limits::MAX_ATTACHMENTS_TOTAL_BYTES;
        let edges = [
            0, 1, 5_242, 5_243, 10_485, 10_486, 15_728, 15_729, 26_214, 26_215,
        ];
        let samples = (0..200_000u64)
            .map(|i| i * 7_919)
            .chain(edges)
            .chain((0..4_000u64).map(|i| i * 32_768))
            .chain([max - 1, max, max + 1, 3 * max, u64::from(u32::MAX)]);
        for bytes in samples {
            let mo = bytes as f64 / (1024.0 * 1024.0);
            assert_eq!(format_size(bytes), format!("{mo:.2} Mo").replace('.', ","));
            let percent = (bytes as f64 * 100.0 / max as f64).min(100.0);
            assert_eq!(gauge_width(bytes), format!("{percent:.1}%"), "{bytes}");
        }
        for i in 0..=20_000u32 {
            let fraction = f64::from(i) / 20_000.0;
            assert_eq!(
                progress_text(fraction),
                format!("{:.0} %", fraction * 100.0)
            );
        }
        for odd in [0.005, 0.015, 0.125, 0.375, f64::NAN, f64::INFINITY] {
            assert_eq!(progress_text(odd), format!("{:.0} %", odd * 100.0));
        }
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
