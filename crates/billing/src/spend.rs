//! What an account spent, month by month, for the console: settled bills as settled, the
//! other months as previews rated from the counters exactly as [`Billing::bill`] rates
//! them; and the list of an account's settlements.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::account::parse_money;
use crate::catalogue::Item;
use crate::engine::Billing;
use crate::error::BillingError;
use crate::money::Money;
use crate::rating::{account_tz, item_usage, rate, ItemUsage};
use crate::time::{from_micros, Month};

/// One month's postpaid spend of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthSpend {
    pub month: Month,
    /// The settled bill's total when `settled`, else the preview's: the month's counters
    /// rated as they stand (the month may still be running).
    pub total: Money,
    pub settled: bool,
    /// When it was settled.
    pub settled_at: Option<DateTime<Utc>>,
}

/// One settled month of an account, as its settlement recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettledMonth {
    pub month: Month,
    /// When the settlement ran.
    pub at: DateTime<Utc>,
    /// The bill's postpaid total, deducted from the balance.
    pub total: Money,
    /// The previous freeze, released.
    pub released: Money,
    /// The freeze the settlement set (120% of the total).
    pub frozen: Money,
}

impl Billing {
    /// Month by month through `year` (months in the account's billing time zone), oldest
    /// first: every settled month with its settled total, and every month not settled that
    /// has usage with the total its counters rate to now. Months with neither are left out.
    pub async fn monthly_spend(
        &self,
        account: i64,
        year: i32,
    ) -> Result<Vec<MonthSpend>, BillingError> {
        let first = Month::new(year, 1)?;
        let last = Month::new(year, 12)?;
        let mut conn = self.pool.acquire().await?;
        account_tz(&mut conn, account).await?;
        let mut out: BTreeMap<Month, MonthSpend> = BTreeMap::new();
        for s in self.settlements_between(account, first, last).await? {
            out.insert(
                s.month,
                MonthSpend {
                    month: s.month,
                    total: s.total,
                    settled: true,
                    settled_at: Some(s.at),
                },
            );
        }
        let rows = sqlx::query(
            "SELECT month, item, calls, free_units, pack_units, postpaid_units FROM billing_monthly \
             WHERE account_id = $1 AND month >= $2 AND month <= $3",
        )
        .bind(account)
        .bind(first.to_string())
        .bind(last.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut usage: BTreeMap<Month, BTreeMap<Item, ItemUsage>> = BTreeMap::new();
        for row in rows {
            let month: String = row.try_get("month")?;
            let item: String = row.try_get("item")?;
            usage
                .entry(month.parse()?)
                .or_default()
                .insert(item.parse()?, item_usage(&row)?);
        }
        for (month, items) in usage {
            if out.contains_key(&month) || items.values().all(|u| u.calls == 0) {
                continue;
            }
            let (_, total) = rate(&items);
            out.insert(
                month,
                MonthSpend {
                    month,
                    total,
                    settled: false,
                    settled_at: None,
                },
            );
        }
        Ok(out.into_values().collect())
    }

    /// The account's settled months, newest first.
    pub async fn settlements(&self, account: i64) -> Result<Vec<SettledMonth>, BillingError> {
        let mut conn = self.pool.acquire().await?;
        account_tz(&mut conn, account).await?;
        drop(conn);
        let mut out = self
            .settlements_between(account, Month::new(1970, 1)?, Month::new(9999, 12)?)
            .await?;
        out.reverse();
        Ok(out)
    }

    /// Settlements of `first..=last`, oldest first (a range of the table's primary key).
    async fn settlements_between(
        &self,
        account: i64,
        first: Month,
        last: Month,
    ) -> Result<Vec<SettledMonth>, BillingError> {
        let rows = sqlx::query(
            "SELECT month, at_us, total, released, frozen FROM billing_settlements \
             WHERE account_id = $1 AND month >= $2 AND month <= $3 ORDER BY month",
        )
        .bind(account)
        .bind(first.to_string())
        .bind(last.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let month: String = row.try_get("month")?;
                Ok(SettledMonth {
                    month: month.parse()?,
                    at: from_micros(row.try_get("at_us")?)?,
                    total: parse_money(row, "total")?,
                    released: parse_money(row, "released")?,
                    frozen: parse_money(row, "frozen")?,
                })
            })
            .collect()
    }
}
