//! Daily roll-up of metering: `billing_daily`, per account, calendar day in the account's
//! billing time zone and item, the same four counters as `billing_monthly` (calls, free,
//! pack, postpaid units).
//!
//! Kept in the same transactions as the monthly counters (the metering batch, the void of
//! a call), so for every account, month and item the month's daily rows add up to its
//! monthly row. A voided call is taken off the day of the call, not the day of the void,
//! as the monthly counters take it off the call's month.
//!
//! The day is `YYYY-MM-DD` text, as the month is `YYYY-MM` text: a month's days are one
//! range of the primary key (`'2026-03-01' <= day < '2026-04-01'`), text sorts as dates do,
//! and an operator reading the table sees the dates.
//!
//! Databases from before the table existed are filled once from `billing_usage` when they
//! are migrated ([`backfill`]).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use db::{sql, Dialect};
use serde::Serialize;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::catalogue::Item;
use crate::engine::Billing;
use crate::error::BillingError;
use crate::meter::Consumption;
use crate::time::{from_micros, parse_tz, Month};

/// One day's metered units of one item for one account, split by what covered them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DailyUsage {
    /// The calendar day in the account's billing time zone.
    pub day: NaiveDate,
    pub item: Item,
    pub calls: u64,
    pub free: u64,
    pub pack: u64,
    pub postpaid: u64,
}

/// What a batch (or a void, or the backfill) adds to one `billing_daily` row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DayDelta {
    pub calls: i64,
    pub free: i64,
    pub pack: i64,
    pub postpaid: i64,
}

impl DayDelta {
    /// Adds `units` of `source` (`free`, `pack` or `postpaid`, as in `billing_usage`).
    pub fn add(&mut self, source: &str, units: i64) {
        self.calls += units;
        match source {
            "free" => self.free += units,
            "pack" => self.pack += units,
            _ => self.postpaid += units,
        }
    }

    /// Adds what one record consumed.
    pub fn add_consumption(&mut self, c: &Consumption) {
        let units = |u: u64| i64::try_from(u).unwrap_or(i64::MAX);
        self.calls += units(c.units);
        self.free += units(c.free);
        self.pack += units(c.pack);
        self.postpaid += units(c.postpaid);
    }
}

/// The calendar day of `at` in `tz`.
pub(crate) fn day_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The stored form of a day, `YYYY-MM-DD` (its month's `YYYY-MM` as the prefix).
pub(crate) fn day_label(day: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day())
}

/// Adds the deltas to their rows (created at zero when missing), one multi-row upsert per
/// chunk: every key appears once (the map), as PostgreSQL requires of one statement.
/// Increments rather than absolute values, so nothing has to be read first.
pub(crate) async fn add_days(
    conn: &mut AnyConnection,
    deltas: &HashMap<(i64, Item, usize), DayDelta>,
    days: &[String],
) -> Result<(), BillingError> {
    let rows: Vec<(&(i64, Item, usize), &DayDelta)> = deltas.iter().collect();
    let d = Dialect::of(conn)?;
    let mut rest = rows.as_slice();
    for n in sql::pow2_chunks(rows.len(), 256) {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let q = format!(
            "INSERT INTO billing_daily (account_id, day, item, calls, free_units, pack_units, \
             postpaid_units) VALUES {} ON CONFLICT (account_id, day, item) DO UPDATE SET \
             calls = billing_daily.calls + excluded.calls, \
             free_units = billing_daily.free_units + excluded.free_units, \
             pack_units = billing_daily.pack_units + excluded.pack_units, \
             postpaid_units = billing_daily.postpaid_units + excluded.postpaid_units",
            sql::value_rows(d, n, 7)
        );
        let mut query = sqlx::query(&q);
        for ((account, item, day), c) in chunk {
            query = query
                .bind(*account)
                .bind(days[*day].as_str())
                .bind(item.as_str())
                .bind(c.calls)
                .bind(c.free)
                .bind(c.pack)
                .bind(c.postpaid);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Usage rows are grouped by 15-minute buckets of their time for the backfill: every
/// time zone's offset today is a whole number of quarter hours, so a bucket lies within
/// one local day. A bucket that does not (a zone's historical offset in odd minutes) is
/// detected by its first and last row falling on different days, and the backfill then
/// groups by the exact time instead.
const BUCKET_US: i64 = 900_000_000;

/// Fills `billing_daily` from `billing_usage` once, for a database migrated to the
/// version that created the table. That version leaves a marker row (`billing_backfills`,
/// job `daily`); the first process to delete it, in a write transaction, does the work
/// in that same transaction, so concurrent starts do it once and a crash leaves the
/// marker for the next start. Why not in the migration itself: the day of a call depends
/// on the account's time zone, and SQLite has no time-zone database, so the conversion
/// is done here, in Rust, for both databases.
pub(crate) async fn backfill(pool: &AnyPool) -> Result<(), BillingError> {
    let d = Dialect::of_pool(pool).await?;
    let mut tx = d.begin_write(pool).await?;
    let claimed = sqlx::query("DELETE FROM billing_backfills WHERE job = 'daily'")
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if claimed == 0 {
        return Ok(());
    }
    let mut zones: HashMap<i64, Tz> = HashMap::new();
    for row in sqlx::query("SELECT id, tz FROM billing_accounts")
        .fetch_all(&mut *tx)
        .await?
    {
        let tz: String = row.try_get("tz")?;
        zones.insert(row.try_get("id")?, parse_tz(&tz)?);
    }
    let deltas = match sum_by_day(&mut tx, &zones, Some(BUCKET_US)).await? {
        Some(deltas) => deltas,
        None => sum_by_day(&mut tx, &zones, None)
            .await?
            .ok_or_else(|| BillingError::Corrupt("usage times split by day".into()))?,
    };
    let mut days: Vec<NaiveDate> = deltas.keys().map(|(_, _, day)| *day).collect();
    days.sort();
    days.dedup();
    let labels: Vec<String> = days.iter().map(|d| day_label(*d)).collect();
    let indexed: HashMap<(i64, Item, usize), DayDelta> = deltas
        .into_iter()
        .map(|((account, item, day), delta)| {
            let i = days.binary_search(&day).unwrap_or_default();
            ((account, item, i), delta)
        })
        .collect();
    add_days(&mut tx, &indexed, &labels).await?;
    tx.commit().await?;
    Ok(())
}

/// The calls are read a day of call time at a time (found through the
/// `billing_usage (at_us, part)` index), so memory holds one day's groups, not the table's.
const WINDOW_US: i64 = 86_400_000_000;

/// The daily sums of all usage rows, a compensating row (part < 0) on the day of the call
/// it voids (its own time is the void's). Grouped in the database by `bucket` microseconds
/// of the call's time (or by the exact time when `None`); `None` back when a bucket spans
/// two days.
async fn sum_by_day(
    conn: &mut AnyConnection,
    zones: &HashMap<i64, Tz>,
    bucket: Option<i64>,
) -> Result<Option<HashMap<(i64, Item, NaiveDate), DayDelta>>, BillingError> {
    let group = |t: &str| match bucket {
        Some(b) => format!("{t} / {b}"),
        None => t.to_string(),
    };
    let calls = format!(
        "SELECT account_id, item, source, MIN(at_us) AS lo, MAX(at_us) AS hi, \
         CAST(SUM(units) AS BIGINT) AS units FROM billing_usage \
         WHERE at_us >= $1 AND at_us < $2 AND part >= 0 \
         GROUP BY account_id, item, source, {}",
        group("at_us")
    );
    // Voids are rare: one query for all of them.
    let voids = format!(
        "SELECT u.account_id, u.item, u.source, MIN(o.at_us) AS lo, MAX(o.at_us) AS hi, \
         CAST(SUM(u.units) AS BIGINT) AS units FROM billing_usage u JOIN billing_usage o \
         ON o.usage_key = u.usage_key AND o.part = -1 - u.part WHERE u.part < 0 \
         GROUP BY u.account_id, u.item, u.source, {}",
        group("o.at_us")
    );
    let mut out: HashMap<(i64, Item, NaiveDate), DayDelta> = HashMap::new();
    let mut cursor = i64::MIN;
    loop {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(at_us) FROM billing_usage WHERE at_us >= $1 AND part >= 0",
        )
        .bind(cursor)
        .fetch_one(&mut *conn)
        .await?;
        let Some(next) = next else { break };
        let from = next.div_euclid(WINDOW_US).saturating_mul(WINDOW_US);
        let to = from.saturating_add(WINDOW_US);
        let rows = sqlx::query(&calls)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
        if !add_groups(&rows, zones, &mut out)? {
            return Ok(None);
        }
        if to == i64::MAX {
            break;
        }
        cursor = to;
    }
    let rows = sqlx::query(&voids).fetch_all(&mut *conn).await?;
    if !add_groups(&rows, zones, &mut out)? {
        return Ok(None);
    }
    Ok(Some(out))
}

/// Adds grouped usage rows (`account_id`, `item`, `source`, `lo`, `hi`, `units`) to the
/// daily sums; false when a group's first and last call fall on different days.
fn add_groups(
    rows: &[sqlx::any::AnyRow],
    zones: &HashMap<i64, Tz>,
    out: &mut HashMap<(i64, Item, NaiveDate), DayDelta>,
) -> Result<bool, BillingError> {
    for row in rows {
        let account: i64 = row.try_get("account_id")?;
        let Some(tz) = zones.get(&account) else {
            tracing::warn!(
                account,
                "usage of an unknown account left out of billing_daily"
            );
            continue;
        };
        let day = day_of(from_micros(row.try_get("lo")?)?, *tz);
        if day != day_of(from_micros(row.try_get("hi")?)?, *tz) {
            return Ok(false);
        }
        let item: String = row.try_get("item")?;
        let source: String = row.try_get("source")?;
        out.entry((account, item.parse()?, day))
            .or_default()
            .add(&source, row.try_get("units")?);
    }
    Ok(true)
}

fn unsigned(row: &sqlx::any::AnyRow, col: &str) -> Result<u64, BillingError> {
    let v: i64 = row.try_get(col)?;
    u64::try_from(v).map_err(|_| BillingError::Corrupt(format!("billing_daily {col} = {v}")))
}

impl Billing {
    /// An account's usage per day of `month` (days in its billing time zone), oldest day
    /// first, items in catalogue order; days and items with no calls (or whose calls were
    /// all voided) are left out. From `billing_daily`: one range of its primary key.
    pub async fn daily_usage(
        &self,
        account: i64,
        month: Month,
    ) -> Result<Vec<DailyUsage>, BillingError> {
        let mut conn = self.pool.acquire().await?;
        crate::rating::account_tz(&mut conn, account).await?;
        let rows = sqlx::query(
            "SELECT day, item, calls, free_units, pack_units, postpaid_units FROM billing_daily \
             WHERE account_id = $1 AND day >= $2 AND day < $3 AND calls <> 0",
        )
        .bind(account)
        .bind(format!("{month}-01"))
        .bind(format!("{}-01", month.next()))
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let day: String = row.try_get("day")?;
            let item: String = row.try_get("item")?;
            out.push(DailyUsage {
                day: NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                    .map_err(|_| BillingError::Corrupt(format!("billing_daily day {day:?}")))?,
                item: item.parse()?,
                calls: unsigned(&row, "calls")?,
                free: unsigned(&row, "free_units")?,
                pack: unsigned(&row, "pack_units")?,
                postpaid: unsigned(&row, "postpaid_units")?,
            });
        }
        out.sort_by_key(|u| (u.day, u.item));
        Ok(out)
    }
}
