//! Prepaid resource packs (rule 3): bought at the table price from the available balance,
//! valid one year, consumed earliest expiry first, voided at expiry.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::account::{append_ledger, lock_one, parse_money, store_balances, LedgerEntry};
use crate::catalogue::{Item, PackSize};
use crate::engine::Billing;
use crate::error::BillingError;
use crate::money::Money;
use crate::sql;
use crate::time::{from_micros, one_year_after, to_micros};

#[derive(Clone, Debug, Serialize)]
pub struct Pack {
    pub id: i64,
    pub account: i64,
    pub item: Item,
    pub size: PackSize,
    pub units: u64,
    pub price: Money,
    pub purchased_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub remaining: u64,
    /// Units left at expiry, written off (rule 3); `None` while the pack is not voided.
    pub voided: Option<u64>,
}

const PACK_COLUMNS: &str =
    "id, account_id, item, size, price, purchased_us, expires_us, remaining, voided_units";

fn pack_from_row(row: &sqlx::any::AnyRow) -> Result<Pack, BillingError> {
    let item: String = row.try_get("item")?;
    let units: i64 = row.try_get("size")?;
    let units = u64::try_from(units).map_err(|_| BillingError::Corrupt("pack size".into()))?;
    let remaining: i64 = row.try_get("remaining")?;
    let voided: Option<i64> = row.try_get("voided_units")?;
    Ok(Pack {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        item: item.parse()?,
        size: PackSize::from_units(units)
            .ok_or_else(|| BillingError::Corrupt(format!("pack size {units}")))?,
        units,
        price: parse_money(row, "price")?,
        purchased_at: from_micros(row.try_get("purchased_us")?)?,
        expires_at: from_micros(row.try_get("expires_us")?)?,
        remaining: remaining.max(0) as u64,
        voided: voided.map(|v| v.max(0) as u64),
    })
}

impl Billing {
    /// Buys a pack: the price leaves the balance at once; refused when the available balance
    /// (balance − frozen) is short.
    pub async fn buy_pack(
        &self,
        account: i64,
        item: Item,
        size: PackSize,
        at: DateTime<Utc>,
    ) -> Result<Pack, BillingError> {
        let price = item.pack_price(size);
        let mut tx = self.pool.begin().await?;
        let mut bal = lock_one(&mut tx, account).await?;
        if bal.available() < price {
            return Err(BillingError::InsufficientBalance {
                needed: price,
                available: bal.available(),
            });
        }
        let expires = one_year_after(at);
        let row = sqlx::query(
            "INSERT INTO billing_packs (account_id, item, size, price, purchased_us, expires_us, \
             remaining, low_notified, exhausted_notified) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0) \
             RETURNING id",
        )
        .bind(account)
        .bind(item.as_str())
        .bind(size.units() as i64)
        .bind(price.to_string())
        .bind(to_micros(at))
        .bind(to_micros(expires))
        .bind(size.units() as i64)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        bal.balance -= price;
        append_ledger(
            &mut tx,
            &[LedgerEntry {
                account,
                at_us: to_micros(at),
                kind: "pack_purchase",
                balance_delta: -price,
                frozen_delta: Money::ZERO,
                reference: format!("pack:{id}"),
            }],
        )
        .await?;
        store_balances(&mut tx, &[(account, bal)]).await?;
        tx.commit().await?;
        Ok(Pack {
            id,
            account,
            item,
            size,
            units: size.units(),
            price,
            purchased_at: at,
            expires_at: expires,
            remaining: size.units(),
            voided: None,
        })
    }

    /// An account's packs, oldest first.
    pub async fn packs(&self, account: i64) -> Result<Vec<Pack>, BillingError> {
        let q =
            format!("SELECT {PACK_COLUMNS} FROM billing_packs WHERE account_id = $1 ORDER BY id");
        let rows = sqlx::query(&q).bind(account).fetch_all(&self.pool).await?;
        rows.iter().map(pack_from_row).collect()
    }

    /// Records the remainder of every pack expired by `now` as voided. Returns how many
    /// packs it voided. Idempotent.
    ///
    /// Takes the accounts' locks first, as metering does: a late call (timed before the
    /// expiry) may still be consuming from the pack in a metering batch, and the remainder
    /// written off must be the one left after it, never one read while it runs.
    pub async fn expire_packs(&self, now: DateTime<Utc>) -> Result<u64, BillingError> {
        let now_us = to_micros(now);
        let mut tx = self.pool.begin().await?;
        let d = sql::dialect(&tx);
        // One write statement that locks exactly the accounts with packs to void (and, on
        // SQLite, takes the write lock before anything is read).
        let q = format!(
            "UPDATE billing_balances SET seq = seq + 1 WHERE account_id IN \
             (SELECT account_id FROM billing_packs WHERE expires_us <= {} AND voided_us IS NULL) \
             RETURNING account_id",
            sql::param(d, 1)
        );
        let locked = sqlx::query(&q).bind(now_us).fetch_all(&mut *tx).await?;
        let ids = locked
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<Vec<i64>, _>>()?;
        let mut voided = 0;
        for chunk in ids.chunks(512) {
            let n = sql::padded(chunk.len());
            let q = format!(
                "UPDATE billing_packs SET voided_units = remaining, voided_us = expires_us \
                 WHERE expires_us <= {} AND voided_us IS NULL AND account_id IN ({})",
                sql::param(d, 1),
                sql::list(d, 2, n)
            );
            let mut query = sqlx::query(&q).bind(now_us);
            for i in 0..n {
                query = query.bind(chunk[i.min(chunk.len() - 1)]);
            }
            voided += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(voided)
    }
}
