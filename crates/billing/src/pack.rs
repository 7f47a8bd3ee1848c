//! Prepaid resource packs (rule 3): bought at the table price from the available balance,
//! valid one year, consumed earliest expiry first, voided at expiry.

use chrono::{DateTime, Utc};
use db::{sql, Dialect};
use serde::Serialize;
use sqlx::Row;

use crate::account::{append_ledger, lock_one, parse_money, store_balances, LedgerEntry};
use crate::catalogue::{Item, PackSize};
use crate::engine::Billing;
use crate::error::BillingError;
use crate::money::Money;
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

/// The longest ClientToken accepted, as the Tencent Cloud APIs accept it.
pub const CLIENT_TOKEN_MAX: usize = 64;

/// A ClientToken: 1 to [`CLIENT_TOKEN_MAX`] printable ASCII characters (no spaces).
pub fn check_client_token(token: &str) -> Result<(), BillingError> {
    if token.is_empty()
        || token.len() > CLIENT_TOKEN_MAX
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(BillingError::InvalidClientToken(token.to_string()));
    }
    Ok(())
}

/// What a purchase returned: the pack, and whether it was bought by an earlier request
/// with the same ClientToken (`replayed`: nothing was charged this time).
#[derive(Clone, Debug, Serialize)]
pub struct PackOrder {
    pub pack: Pack,
    pub replayed: bool,
}

impl Billing {
    /// Buys a pack: the price leaves the balance at once; refused when the available balance
    /// (balance − frozen) is short. Not idempotent: see [`Billing::buy_pack_with_token`].
    pub async fn buy_pack(
        &self,
        account: i64,
        item: Item,
        size: PackSize,
        at: DateTime<Utc>,
    ) -> Result<Pack, BillingError> {
        Ok(self
            .buy_pack_with_token(account, item, size, at, None)
            .await?
            .pack)
    }

    /// Buys a pack, once per `client_token`: a request that repeats an account's token
    /// (a client's retry, on any node, after any restart) gets the pack the first one
    /// bought and is not charged again; the same token with another item or size is
    /// refused with [`BillingError::ClientTokenConflict`]. Without a token every call buys.
    ///
    /// The account's balance row is locked before the token is looked up, so two
    /// concurrent requests with one token serialise and the second finds the first's
    /// order; the order table's primary key is the backstop if they ever do not.
    pub async fn buy_pack_with_token(
        &self,
        account: i64,
        item: Item,
        size: PackSize,
        at: DateTime<Utc>,
        client_token: Option<&str>,
    ) -> Result<PackOrder, BillingError> {
        if let Some(token) = client_token {
            check_client_token(token)?;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .try_buy_pack(account, item, size, at, client_token)
                .await
            {
                // Another transaction stored the same token between our lookup and insert:
                // the next attempt finds it.
                Err(BillingError::Database(e)) if attempt < 3 && db::is_unique_violation(&e) => {}
                other => return other,
            }
        }
    }

    async fn try_buy_pack(
        &self,
        account: i64,
        item: Item,
        size: PackSize,
        at: DateTime<Utc>,
        client_token: Option<&str>,
    ) -> Result<PackOrder, BillingError> {
        let price = item.pack_price(size);
        let mut tx = self.pool.begin().await?;
        let mut bal = lock_one(&mut tx, account).await?;
        if let Some(token) = client_token {
            let stored = sqlx::query(
                "SELECT item, size, pack_id FROM billing_pack_orders \
                 WHERE account_id = $1 AND client_token = $2",
            )
            .bind(account)
            .bind(token)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = stored {
                let stored_item: String = row.try_get("item")?;
                let stored_size: i64 = row.try_get("size")?;
                let pack_id: i64 = row.try_get("pack_id")?;
                if stored_item != item.as_str() || stored_size != size.units() as i64 {
                    let stored_size = u64::try_from(stored_size)
                        .ok()
                        .and_then(PackSize::from_units)
                        .map_or_else(|| stored_size.to_string(), |s| s.as_str().to_string());
                    return Err(BillingError::ClientTokenConflict {
                        token: token.to_string(),
                        stored: format!("{stored_item} {stored_size}"),
                        asked: format!("{item} {}", size.as_str()),
                        pack: pack_id,
                    });
                }
                let q = format!("SELECT {PACK_COLUMNS} FROM billing_packs WHERE id = $1");
                let row = sqlx::query(&q)
                    .bind(pack_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| {
                        BillingError::Corrupt(format!("order of missing pack {pack_id}"))
                    })?;
                let pack = pack_from_row(&row)?;
                tx.commit().await?;
                return Ok(PackOrder {
                    pack,
                    replayed: true,
                });
            }
        }
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
        if let Some(token) = client_token {
            sqlx::query(
                "INSERT INTO billing_pack_orders (account_id, client_token, item, size, pack_id, \
                 at_us) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(account)
            .bind(token)
            .bind(item.as_str())
            .bind(size.units() as i64)
            .bind(id)
            .bind(to_micros(at))
            .execute(&mut *tx)
            .await?;
        }
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
        Ok(PackOrder {
            pack: Pack {
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
            },
            replayed: false,
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
        let d = Dialect::of(&tx)?;
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
