//! French formatting of times for messages shown to users, in the time of metropolitan
//! France: the IANA zone Europe/Paris (chrono-tz), summer time included.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Europe::Paris;

/// "16:42" in Paris time.
pub fn time_of_day(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%H:%M").to_string()
}

/// "27/11/2026 à 16:42" in Paris time.
pub fn date_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris)
        .format("%d/%m/%Y à %H:%M")
        .to_string()
}

/// "lundi 25 janvier 2016 à 17:15" in Paris time (the manual's "Envoyé le …").
pub fn long_date_time(at: DateTime<Utc>) -> String {
    const DAYS: [&str; 7] = [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ];
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let local = at.with_timezone(&Paris);
    format!(
        "{} {} {} {} à {}",
        DAYS[local.weekday().num_days_from_monday() as usize],
        local.day(),
        MONTHS[local.month0() as usize],
        local.year(),
        local.format("%H:%M")
    )
}

/// "dans 45 secondes", "dans 1 minute", "dans 23 minutes" (rounded up).
pub fn in_duration(seconds: i64) -> String {
    let seconds = seconds.max(1);
    if seconds < 60 {
        return format!(
            "dans {seconds} seconde{}",
            if seconds > 1 { "s" } else { "" }
        );
    }
    let minutes = (seconds + 59) / 60;
    format!(
        "dans {minutes} minute{}",
        if minutes > 1 { "s" } else { "" }
    )
}

/// A person's name as the manual writes it: the family name (the words in capitals)
/// first, then the given name ("Marie CURIE" → "CURIE Marie"); unchanged when it has no
/// word in capitals or only such words.
pub fn family_first(name: &str) -> String {
    let is_family =
        |w: &&str| w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_lowercase);
    let words: Vec<&str> = name.split_whitespace().collect();
    let family: Vec<&str> = words.iter().copied().filter(is_family).collect();
    let given: Vec<&str> = words.iter().copied().filter(|w| !is_family(w)).collect();
    if family.is_empty() || given.is_empty() {
        words.join(" ")
    } else {
        format!("{} {}", family.join(" "), given.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("date")
            .with_timezone(&Utc)
    }

    #[test]
    fn paris_is_utc_plus_one_in_winter_and_two_in_summer() {
        assert_eq!(time_of_day(utc("2026-01-15T15:42:00Z")), "16:42");
        assert_eq!(time_of_day(utc("2026-07-15T15:42:00Z")), "17:42");
        // 2026: summer time from Sunday 29 March 01:00 UTC to Sunday 25 October 01:00 UTC.
        assert_eq!(time_of_day(utc("2026-03-29T00:59:00Z")), "01:59");
        assert_eq!(time_of_day(utc("2026-03-29T01:00:00Z")), "03:00");
        assert_eq!(time_of_day(utc("2026-10-25T00:59:00Z")), "02:59");
        assert_eq!(time_of_day(utc("2026-10-25T01:00:00Z")), "02:00");
    }

    #[test]
    fn dates_read_the_french_way() {
        assert_eq!(date_time(utc("2016-01-25T16:15:00Z")), "25/01/2016 à 17:15");
        // The manual's example: "Envoyé le lundi 25 janvier 2016 à 17:15".
        assert_eq!(
            long_date_time(utc("2016-01-25T16:15:00Z")),
            "lundi 25 janvier 2016 à 17:15"
        );
        assert_eq!(
            long_date_time(utc("2026-08-01T22:30:00Z")),
            "dimanche 2 août 2026 à 00:30"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(in_duration(1), "dans 1 seconde");
        assert_eq!(in_duration(45), "dans 45 secondes");
        assert_eq!(in_duration(60), "dans 1 minute");
        assert_eq!(in_duration(61), "dans 2 minutes");
        assert_eq!(in_duration(0), "dans 1 seconde");
    }
}
