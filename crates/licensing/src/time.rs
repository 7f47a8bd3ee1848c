//! Times are `i64` Unix seconds, UTC: the SDK stays free of a date library. This module
//! holds the few calendar helpers the licence terms need and the printer the error
//! messages use.

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// How far a device clock may read behind the latest time the device has seen (or behind
/// a licence's issue time) before it is refused: 48 hours.
pub const CLOCK_TOLERANCE: i64 = 48 * 3_600;

/// A licence this close to its expiry (or closer) reports [`crate::Status::Expiring`].
pub const EXPIRING_WINDOW: i64 = 30 * DAY;

/// Length of a trial licence: 30 days.
pub const TRIAL_DAYS: i64 = 30;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// `t` moved `years` calendar years on, same time of day, UTC; 29 February becomes
/// 28 February in a year without it.
pub fn add_years(t: i64, years: i64) -> i64 {
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    let ny = y.saturating_add(years);
    let nd = if m == 2 && d == 29 && !is_leap(ny) {
        28
    } else {
        d
    };
    days_from_civil(ny, m, nd)
        .saturating_mul(DAY)
        .saturating_add(secs)
}

/// End of a trial issued at `issued`: 30 days later.
pub fn trial_end(issued: i64) -> i64 {
    issued.saturating_add(TRIAL_DAYS * DAY)
}

/// End of a platform licence's first term starting at `start`: one calendar year.
pub fn platform_end(start: i64) -> i64 {
    add_years(start, 1)
}

/// New end of a renewed platform licence: a year from its current end, or from `now`
/// once it has lapsed.
pub fn renewed_end(current_end: i64, now: i64) -> i64 {
    add_years(current_end.max(now), 1)
}

/// `2026-11-20 08:00:00 UTC`, for messages. Out-of-range values print as seconds.
pub fn format_utc(t: i64) -> String {
    // Years 0..=9999 only; anything else is a nonsense clock, shown raw.
    const MIN: i64 = -62_167_219_200; // 0000-01-01
    const MAX: i64 = 253_402_300_799; // 9999-12-31 23:59:59
    if !(MIN..=MAX).contains(&t) {
        return format!("{t} s after 1970-01-01 UTC");
    }
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    let s = t.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        s / 3_600,
        s % 3_600 / 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn prints_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_593_600), "2026-11-25 08:00:00 UTC");
        assert_eq!(
            format_utc(i64::MAX),
            format!("{} s after 1970-01-01 UTC", i64::MAX)
        );
    }

    #[test]
    fn years_add_on_the_calendar() {
        let leap = days_from_civil(2028, 2, 29) * DAY + 3_600;
        assert_eq!(
            add_years(leap, 1),
            days_from_civil(2029, 2, 28) * DAY + 3_600
        );
        assert_eq!(
            add_years(leap, 4),
            leap + (days_from_civil(2032, 2, 29) - days_from_civil(2028, 2, 29)) * DAY
        );
        let t = days_from_civil(2026, 11, 25) * DAY;
        assert_eq!(platform_end(t), days_from_civil(2027, 11, 25) * DAY);
        // Renewal: from the current end while it runs, from today once lapsed.
        let end = days_from_civil(2027, 6, 1) * DAY;
        assert_eq!(renewed_end(end, t), days_from_civil(2028, 6, 1) * DAY);
        let later = days_from_civil(2027, 9, 1) * DAY;
        assert_eq!(renewed_end(end, later), days_from_civil(2028, 9, 1) * DAY);
        assert_eq!(trial_end(t), t + 30 * DAY);
        assert_eq!(add_years(i64::MAX, 1), i64::MAX);
        assert!(add_years(i64::MIN, -1) < 0);
    }
}
