//! The server's clock. Expiries (10-minute codes, 30-minute idle sessions, 15-minute
//! lockouts, hourly rate limits) all read the time here, so that tests can move it.
//!
//! In production it is the system clock. Tests either use a [`Clock::manual`] clock or,
//! for the real binary, `MEDIMAIL_TEST_CLOCK_FILE`: a file holding a number of seconds
//! added to the system time, read at each call (accepted on loopback only).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SubsecRound, Utc};

#[derive(Clone, Debug)]
pub enum Clock {
    System,
    /// System time plus the offset in seconds written in the file (absent file: 0).
    OffsetFile(PathBuf),
    /// A time set by the test.
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A manual clock starting now.
    pub fn manual() -> Self {
        Self::manual_at(Utc::now())
    }

    /// A manual clock starting at `start`: tests give a fixed instant, so that nothing
    /// they check depends on the day they run.
    pub fn manual_at(start: DateTime<Utc>) -> Self {
        Clock::Manual(Arc::new(Mutex::new(start.trunc_subsecs(6))))
    }

    /// Sets a manual clock to `at` (no effect on the other kinds).
    pub fn set(&self, at: DateTime<Utc>) {
        if let Clock::Manual(now) = self {
            *now.lock().unwrap_or_else(|e| e.into_inner()) = at.trunc_subsecs(6);
        }
    }

    /// The current time, at microsecond precision (what both databases store).
    pub fn now(&self) -> DateTime<Utc> {
        let now = match self {
            Clock::System => Utc::now(),
            Clock::OffsetFile(path) => {
                let offset = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .unwrap_or(0);
                Utc::now() + Duration::seconds(offset)
            }
            Clock::Manual(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
        };
        now.trunc_subsecs(6)
    }

    /// Moves a manual clock forward (no effect on the other kinds).
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(at) = self {
            let mut at = at.lock().unwrap_or_else(|e| e.into_inner());
            *at += by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = Clock::manual();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::minutes(11));
        assert_eq!(clock.now() - t0, Duration::minutes(11));
    }

    #[test]
    fn an_offset_file_shifts_the_system_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("offset");
        let clock = Clock::OffsetFile(file.clone());
        let before = Utc::now();
        assert!(clock.now() - before < Duration::seconds(5));
        std::fs::write(&file, "3600\n").expect("write");
        assert!(clock.now() - before >= Duration::seconds(3600));
    }
}
