//! How fast one session may search (issue 15, item 4): at most
//! [`SEARCHES_PER_MINUTE`] searches per session in any fixed minute, counted in this
//! process (each instance counts its own: behind a load balancer a session gets at most
//! that many per instance). The count is taken under one lock, so 100 searches at once
//! get exactly the allowance.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use chrono::{DateTime, Duration, Utc};
pub use medimail_api::directory::SEARCHES_PER_MINUTE;

const WINDOW: Duration = Duration::minutes(1);

/// Per session: when its minute started and how many searches it ran in it.
type Counts = HashMap<String, (DateTime<Utc>, u32)>;

static SEARCHES: LazyLock<Mutex<Counts>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Counts one search of `session` at `now`: `Ok` if allowed, else the seconds to wait.
pub fn take(session: &str, now: DateTime<Utc>) -> Result<(), u64> {
    let mut searches = SEARCHES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if searches.len() > 10_000 {
        searches.retain(|_, (start, _)| now - *start < WINDOW);
    }
    let (start, count) = searches.entry(session.to_owned()).or_insert((now, 0));
    if now - *start >= WINDOW {
        *start = now;
        *count = 0;
    }
    if *count >= SEARCHES_PER_MINUTE {
        return Err(((*start + WINDOW - now).num_seconds()).max(1) as u64);
    }
    *count += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_gets_its_allowance_per_minute() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        for _ in 0..SEARCHES_PER_MINUTE {
            assert!(take("pace-test", start).is_ok());
        }
        assert_eq!(take("pace-test", start + Duration::seconds(20)), Err(40));
        assert!(take("another-session", start).is_ok());
        assert!(take("pace-test", start + Duration::seconds(60)).is_ok());
    }
}
