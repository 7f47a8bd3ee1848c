//! Monthly rating (rules 5-6): a bill per account and month, one line per item metered.
//! The same computation gives the month-to-date preview and the final bill.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use db::{sql, Dialect};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::account::parse_money;
use crate::catalogue::{Item, PackSize, Sdk, Tier};
use crate::engine::Billing;
use crate::error::BillingError;
use crate::money::Money;
use crate::sdk::SdkOrderKind;
use crate::time::{from_micros, parse_tz, to_micros, Month};

/// A month's metered units of one item, split by what covered them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItemUsage {
    pub calls: u64,
    pub free: u64,
    pub pack: u64,
    pub postpaid: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BillLine {
    pub item: Item,
    pub calls: u64,
    pub free: u64,
    pub pack: u64,
    pub postpaid: u64,
    pub tier: u8,
    pub unit_price: Decimal,
    pub amount: Money,
}

/// A pack bought during the month: already paid, listed apart from the bill's total.
#[derive(Clone, Debug, Serialize)]
pub struct PackPurchase {
    pub pack: i64,
    pub item: Item,
    pub size: PackSize,
    pub price: Money,
    pub at: DateTime<Utc>,
}

/// An offline-SDK purchase of the month (device seats, platform years): already paid,
/// listed apart from the bill's total like packs.
#[derive(Clone, Debug, Serialize)]
pub struct SdkPurchase {
    pub order: i64,
    pub kind: SdkOrderKind,
    pub sdk: Sdk,
    /// Devices or years.
    pub quantity: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    pub unit_price: Money,
    pub total: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BillStatus {
    /// The month is still running: a month-to-date preview.
    Open,
    /// The month is over and not yet settled.
    Closed,
    /// Settled: final.
    Settled,
}

#[derive(Clone, Debug, Serialize)]
pub struct SettlementRecord {
    pub at: DateTime<Utc>,
    pub total: Money,
    pub released: Money,
    pub frozen: Money,
}

#[derive(Clone, Debug, Serialize)]
pub struct Bill {
    pub account: i64,
    pub month: String,
    pub time_zone: String,
    pub status: BillStatus,
    /// The postpaid amount: what settlement deducts.
    pub total: Money,
    pub lines: Vec<BillLine>,
    pub pack_purchases: Vec<PackPurchase>,
    pub pack_purchases_total: Money,
    pub sdk_purchases: Vec<SdkPurchase>,
    pub sdk_purchases_total: Money,
    pub settlement: Option<SettlementRecord>,
}

/// Rates a month's usage: for each item the tier its postpaid volume V reaches prices all
/// of V (rule 5); each line is rounded to the fen, the total is the sum of the lines (rule 6).
pub fn rate(usage: &BTreeMap<Item, ItemUsage>) -> (Vec<BillLine>, Money) {
    let lines: Vec<BillLine> = usage
        .iter()
        .filter(|(_, u)| u.calls > 0)
        .map(|(item, u)| {
            let tier = Tier::postpaid(u.postpaid);
            let unit_price = item.unit_price(tier);
            BillLine {
                item: *item,
                calls: u.calls,
                free: u.free,
                pack: u.pack,
                postpaid: u.postpaid,
                tier: tier.number(),
                unit_price,
                amount: Money::rate(u.postpaid, unit_price),
            }
        })
        .collect();
    let total = lines.iter().map(|l| l.amount).sum();
    (lines, total)
}

/// Monthly usage of the given accounts for one month, from `billing_monthly`.
pub(crate) async fn load_usage(
    conn: &mut AnyConnection,
    ids: &[i64],
    month: &str,
) -> Result<BTreeMap<i64, BTreeMap<Item, ItemUsage>>, BillingError> {
    let d = Dialect::of(conn)?;
    let mut out: BTreeMap<i64, BTreeMap<Item, ItemUsage>> = BTreeMap::new();
    for chunk in ids.chunks(512) {
        let n = sql::padded(chunk.len());
        let q = format!(
            "SELECT account_id, item, calls, free_units, pack_units, postpaid_units FROM billing_monthly \
             WHERE account_id IN ({}) AND month = {}",
            sql::list(d, 1, n),
            sql::param(d, n + 1)
        );
        let mut query = sqlx::query(&q);
        for i in 0..n {
            query = query.bind(chunk[i.min(chunk.len() - 1)]);
        }
        query = query.bind(month.to_string());
        for row in query.fetch_all(&mut *conn).await? {
            let item: String = row.try_get("item")?;
            out.entry(row.try_get("account_id")?)
                .or_default()
                .insert(item.parse()?, item_usage(&row)?);
        }
    }
    Ok(out)
}

/// The counters of a `billing_monthly` row (columns `calls`, `free_units`, `pack_units`,
/// `postpaid_units`).
pub(crate) fn item_usage(row: &sqlx::any::AnyRow) -> Result<ItemUsage, BillingError> {
    let get = |c: &str| -> Result<u64, BillingError> {
        let v: i64 = row.try_get(c)?;
        u64::try_from(v).map_err(|_| BillingError::Corrupt(format!("{c} = {v}")))
    };
    Ok(ItemUsage {
        calls: get("calls")?,
        free: get("free_units")?,
        pack: get("pack_units")?,
        postpaid: get("postpaid_units")?,
    })
}

pub(crate) async fn account_tz(conn: &mut AnyConnection, account: i64) -> Result<Tz, BillingError> {
    let row = sqlx::query("SELECT tz FROM billing_accounts WHERE id = $1")
        .bind(account)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(BillingError::UnknownAccount(account))?;
    let tz: String = row.try_get(0)?;
    parse_tz(&tz)
}

impl Billing {
    /// The bill of `account` for `month`: final once settled, otherwise computed from the
    /// usage so far (a preview equal to the final bill if no more usage arrives).
    pub async fn bill(
        &self,
        account: i64,
        month: Month,
        now: DateTime<Utc>,
    ) -> Result<Bill, BillingError> {
        let mut conn = self.pool.acquire().await?;
        let tz = account_tz(&mut conn, account).await?;
        let label = month.to_string();
        let usage = load_usage(&mut conn, &[account], &label)
            .await?
            .remove(&account)
            .unwrap_or_default();
        let (lines, total) = rate(&usage);

        let rows = sqlx::query(
            "SELECT id, item, size, price, purchased_us FROM billing_packs WHERE account_id = $1 \
             AND purchased_us >= $2 AND purchased_us < $3 ORDER BY id",
        )
        .bind(account)
        .bind(to_micros(month.start(tz)))
        .bind(to_micros(month.next().start(tz)))
        .fetch_all(&mut *conn)
        .await?;
        let mut pack_purchases = Vec::with_capacity(rows.len());
        for row in rows {
            let item: String = row.try_get("item")?;
            let units: i64 = row.try_get("size")?;
            pack_purchases.push(PackPurchase {
                pack: row.try_get("id")?,
                item: item.parse()?,
                size: u64::try_from(units)
                    .ok()
                    .and_then(PackSize::from_units)
                    .ok_or_else(|| BillingError::Corrupt(format!("pack size {units}")))?,
                price: parse_money(&row, "price")?,
                at: from_micros(row.try_get("purchased_us")?)?,
            });
        }
        let pack_purchases_total = pack_purchases.iter().map(|p| p.price).sum();

        let sdk_purchases: Vec<SdkPurchase> = self
            .sdk_orders_between(&mut conn, account, month.start(tz), month.next().start(tz))
            .await?
            .into_iter()
            .map(|o| SdkPurchase {
                order: o.id,
                kind: o.kind,
                sdk: o.sdk,
                quantity: o.quantity,
                tier: o.tier,
                unit_price: o.unit_price,
                total: o.total,
                package: o.package,
                at: o.at,
            })
            .collect();
        let sdk_purchases_total = sdk_purchases.iter().map(|p| p.total).sum();

        let settlement = sqlx::query(
            "SELECT at_us, total, released, frozen FROM billing_settlements \
             WHERE account_id = $1 AND month = $2",
        )
        .bind(account)
        .bind(label.clone())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| -> Result<SettlementRecord, BillingError> {
            Ok(SettlementRecord {
                at: from_micros(row.try_get("at_us")?)?,
                total: parse_money(&row, "total")?,
                released: parse_money(&row, "released")?,
                frozen: parse_money(&row, "frozen")?,
            })
        })
        .transpose()?;
        let status = if settlement.is_some() {
            BillStatus::Settled
        } else if now >= month.next().start(tz) {
            BillStatus::Closed
        } else {
            BillStatus::Open
        };
        Ok(Bill {
            account,
            month: label,
            time_zone: tz.name().to_string(),
            status,
            total,
            lines,
            pack_purchases,
            pack_purchases_total,
            sdk_purchases,
            sdk_purchases_total,
            settlement,
        })
    }
}
