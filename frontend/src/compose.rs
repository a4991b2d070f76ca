//! The compose screen's pure rules (no browser needed): what the pane checks before
//! sending, for an immediate French message. The server checks them again.

use medimail_api::limits;

/// "10,57 Mo": bytes in Mo (1 Mo = 1,048,576 bytes), two decimals, French comma; under
/// 1 Mo in Ko ("12 Ko", at least "1 Ko" for a file that is not empty).
pub fn format_size(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        let ko = div_round_ties_even(bytes, 1024).max(u64::from(bytes > 0));
        return format!("{ko} Ko");
    }
    format_mo(bytes)
}

fn format_mo(bytes: u64) -> String {
    // Integer arithmetic, not `{:.2}` on an f64: float formatting alone is about 10 KB
    // of the pane's WebAssembly. Same digits (ties to even, like float formatting).
    let hundredths = div_round_ties_even(bytes.saturating_mul(100), 1024 * 1024);
    format!("{},{:02} Mo", hundredths / 100, hundredths % 100)
}

/// The gauge's text: "Total : 10,57 Mo / 25 Mo".
pub fn gauge_text(total: u64) -> String {
    format!(
        "Total : {} / {} Mo",
        format_mo(total),
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
        .map(crate::text::lower)
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
    let mut total = 0u64;
    for (name, size) in sizes {
        total += size;
        if total > limits::MAX_ATTACHMENTS_TOTAL_BYTES {
            return Err(format!(
                "Avec « {name} » ({}), la taille totale des pièces jointes dépasse 25 Mo.",
                format_size(*size)
            ));
        }
    }
    Ok(())
}

/// Files picked to join `attached`: each is kept while the limits allow it; the others
/// are named with why. Returns the indexes kept and, if any was refused, the message.
pub fn pick_files(
    attached: &[(String, u64)],
    picked: &[(String, u64)],
) -> (Vec<usize>, Option<String>) {
    let mut count = attached.len();
    let mut total: u64 = attached.iter().map(|(_, s)| s).sum();
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for (i, (name, size)) in picked.iter().enumerate() {
        let why = if count >= limits::MAX_ATTACHMENTS {
            Some(format!(
                "au plus {} pièces jointes par enveloppe",
                limits::MAX_ATTACHMENTS
            ))
        } else if *size == 0 {
            Some("fichier vide".to_owned())
        } else if total + size > limits::MAX_ATTACHMENTS_TOTAL_BYTES {
            Some(format!(
                "{} : le total dépasserait 25 Mo",
                format_size(*size)
            ))
        } else {
            None
        };
        match why {
            Some(why) => refused.push(format!("« {name} » ({why})")),
            None => {
                count += 1;
                total += size;
                kept.push(i);
            }
        }
    }
    let message = (!refused.is_empty()).then(|| {
        format!(
            "Non joint{} : {}.{}",
            if refused.len() > 1 { "s" } else { "" },
            refused.join(", "),
            if kept.is_empty() {
                ""
            } else {
                " Les autres fichiers choisis sont joints."
            }
        )
    });
    (kept, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_the_manual() {
        assert_eq!(format_size(11_083_448), "10,57 Mo");
        assert_eq!(gauge_text(11_083_448), "Total : 10,57 Mo / 25 Mo");
        assert_eq!(format_size(0), "0 Ko");
        assert_eq!(format_size(10), "1 Ko");
        assert_eq!(format_size(12 * 1024), "12 Ko");
        assert_eq!(format_size(1024 * 1024), "1,00 Mo");
        assert_eq!(gauge_text(12 * 1024), "Total : 0,01 Mo / 25 Mo");
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
            assert_eq!(format_mo(bytes), format!("{mo:.2} Mo").replace('.', ","));
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

    #[test]
    fn picked_files_are_kept_while_they_fit_and_the_others_named() {
        let attached = vec![("a.pdf".to_owned(), 100), ("b.pdf".to_owned(), 100)];
        let picked: Vec<(String, u64)> = (0..4).map(|i| (format!("f{i}.txt"), 10)).collect();
        let (kept, message) = pick_files(&attached, &picked);
        assert_eq!(kept, vec![0, 1, 2]);
        let message = message.expect("one refused");
        assert!(message.contains("« f3.txt »"), "{message}");
        assert!(message.contains("au plus 5"), "{message}");
        assert!(
            message.contains("Les autres fichiers choisis sont joints"),
            "{message}"
        );
        let big = vec![("gros.bin".to_owned(), limits::MAX_ATTACHMENTS_TOTAL_BYTES)];
        let (kept, message) = pick_files(&attached, &big);
        assert!(kept.is_empty());
        assert!(
            message
                .expect("refused")
                .contains("« gros.bin » (25,00 Mo : le total dépasserait 25 Mo)")
        );
        assert!(
            check_files(&[("x.bin".to_owned(), limits::MAX_ATTACHMENTS_TOTAL_BYTES + 1)])
                .expect_err("too big")
                .contains("« x.bin »")
        );
    }
}
