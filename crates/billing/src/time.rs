//! Time at the edges: instants are UTC inside (microseconds since the epoch in storage);
//! months are calendar months in an account's billing time zone (rule 1).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::BillingError;

/// The default billing time zone.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

pub fn parse_tz(name: &str) -> Result<Tz, BillingError> {
    name.parse::<Tz>()
        .map_err(|_| BillingError::InvalidTimeZone(name.to_string()))
}

pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn from_micros(us: i64) -> Result<DateTime<Utc>, BillingError> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| BillingError::Corrupt(format!("timestamp {us} out of range")))
}

/// A pack bought at `at` is valid until the same instant one year later (rule 3).
pub fn one_year_after(at: DateTime<Utc>) -> DateTime<Utc> {
    // Feb 29 becomes Feb 28: chrono clamps to the last day of the month.
    at.checked_add_months(Months::new(12)).unwrap_or(at)
}

/// A calendar month, `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Result<Month, BillingError> {
        if !(1..=12).contains(&month) || !(1970..=9999).contains(&year) {
            return Err(BillingError::OutOfRange(format!(
                "month {year:04}-{month:02} is not a valid month"
            )));
        }
        Ok(Month { year, month })
    }

    /// The month an instant falls in, in time zone `tz`.
    pub fn of(at: DateTime<Utc>, tz: Tz) -> Month {
        let local = at.with_timezone(&tz);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The first instant of the month in `tz`.
    pub fn start(self, tz: Tz) -> DateTime<Utc> {
        self.day_start(1, tz)
    }

    /// The first instant of day `day` of the month in `tz` (a midnight skipped by a DST
    /// change falls back to the first valid instant after it).
    pub fn day_start(self, day: u32, tz: Tz) -> DateTime<Utc> {
        let date = NaiveDate::from_ymd_opt(self.year, self.month, day)
            .unwrap_or(NaiveDate::MIN)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        for hour in 0..4 {
            let candidate = date + Duration::hours(hour);
            match tz.from_local_datetime(&candidate) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    return t.with_timezone(&Utc)
                }
                LocalResult::None => continue,
            }
        }
        Utc.from_utc_datetime(&date)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Month {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BillingError::OutOfRange(format!("month {s:?} is not of the form YYYY-MM"));
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        Month::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_month_boundary() {
        let tz = parse_tz("Asia/Shanghai").unwrap();
        let at: DateTime<Utc> = "2026-01-31T16:30:00Z".parse().unwrap();
        assert_eq!(Month::of(at, tz).to_string(), "2026-02");
        let before: DateTime<Utc> = "2026-01-31T15:59:59Z".parse().unwrap();
        assert_eq!(Month::of(before, tz).to_string(), "2026-01");
        assert_eq!(
            "2026-02".parse::<Month>().unwrap().start(tz).to_rfc3339(),
            "2026-01-31T16:00:00+00:00"
        );
    }

    #[test]
    fn rejects_bad_months() {
        assert!("2026-13".parse::<Month>().is_err());
        assert!("2026-1".parse::<Month>().is_err());
        assert!("Jan".parse::<Month>().is_err());
    }
}
