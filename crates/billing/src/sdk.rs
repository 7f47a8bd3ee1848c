//! Offline-SDK purchases (rules 9 and 10): device orders of Q ≥ 50 seats priced by the
//! tier Q reaches, and platform licences by the year. Each is paid at once from the
//! available balance (balance − frozen), a ledger line of its own kind (`sdk_devices`,
//! `sdk_platform`), and a line of the bill of the month it was bought in.
//!
//! What the money buys (seats, licences, activations) is the `licence-registry` crate's
//! business: it knows an order only by the id returned here.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use crate::account::{append_ledger, lock_one, parse_money, store_balances, LedgerEntry};
use crate::catalogue::{Sdk, Tier};
use crate::engine::Billing;
use crate::error::BillingError;
use crate::money::Money;
use crate::pack::check_client_token;
use crate::time::{from_micros, to_micros};

/// What an SDK order bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SdkOrderKind {
    /// Q permanent device seats.
    Devices,
    /// Years of a platform licence for one application package (a purchase or a renewal).
    Platform,
}

impl SdkOrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SdkOrderKind::Devices => "devices",
            SdkOrderKind::Platform => "platform",
        }
    }

    fn ledger_kind(self) -> &'static str {
        match self {
            SdkOrderKind::Devices => "sdk_devices",
            SdkOrderKind::Platform => "sdk_platform",
        }
    }
}

/// One SDK purchase, as stored in `billing_sdk_orders`.
#[derive(Clone, Debug, Serialize)]
pub struct SdkOrder {
    pub id: i64,
    pub account: i64,
    pub kind: SdkOrderKind,
    pub sdk: Sdk,
    /// Devices (seats) or years.
    pub quantity: u64,
    /// The device tier the quantity reached; `None` for platform years.
    pub tier: Option<u8>,
    pub unit_price: Money,
    pub total: Money,
    /// The application package of a platform purchase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    pub at: DateTime<Utc>,
    /// Bought by an earlier request with the same ClientToken: nothing was charged now.
    pub replayed: bool,
}

const COLUMNS: &str =
    "id, account_id, kind, sdk, quantity, tier, unit_price, total, package, at_us";

fn order_from_row(row: &sqlx::any::AnyRow, replayed: bool) -> Result<SdkOrder, BillingError> {
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "devices" => SdkOrderKind::Devices,
        "platform" => SdkOrderKind::Platform,
        other => return Err(BillingError::Corrupt(format!("sdk order kind {other:?}"))),
    };
    let sdk: String = row.try_get("sdk")?;
    let quantity: i64 = row.try_get("quantity")?;
    let tier: Option<i64> = row.try_get("tier")?;
    Ok(SdkOrder {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        kind,
        sdk: sdk.parse()?,
        quantity: u64::try_from(quantity)
            .map_err(|_| BillingError::Corrupt(format!("sdk order quantity {quantity}")))?,
        tier: tier.and_then(|t| u8::try_from(t).ok()),
        unit_price: parse_money(row, "unit_price")?,
        total: parse_money(row, "total")?,
        package: row.try_get("package")?,
        at: from_micros(row.try_get("at_us")?)?,
        replayed,
    })
}

/// What is being bought, priced.
struct Priced {
    kind: SdkOrderKind,
    sdk: Sdk,
    quantity: u64,
    tier: Option<u8>,
    unit_price: Money,
    total: Money,
    package: Option<String>,
}

impl Priced {
    fn describe(&self) -> String {
        match &self.package {
            Some(p) => format!(
                "{} {} {} × {}",
                self.kind.as_str(),
                self.sdk,
                p,
                self.quantity
            ),
            None => format!("{} {} × {}", self.kind.as_str(), self.sdk, self.quantity),
        }
    }
}

/// The most devices one order may hold.
pub const SDK_MAX_DEVICES: u64 = 10_000_000;

/// The most years one platform purchase may cover.
pub const SDK_PLATFORM_MAX_YEARS: u64 = 10;

impl Billing {
    /// Orders `devices` permanent device seats of `sdk`, priced by the tier the quantity
    /// reaches (rule 9: fewer than 50 is refused). Paid at once from the available
    /// balance; refused, with nothing charged, when it is short. With a ClientToken, a
    /// repeat (any node, any time) returns the first order and charges nothing.
    pub async fn order_sdk_devices(
        &self,
        account: i64,
        sdk: Sdk,
        devices: u64,
        client_token: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<SdkOrder, BillingError> {
        if devices > SDK_MAX_DEVICES {
            return Err(BillingError::OutOfRange(format!(
                "an order is for at most {SDK_MAX_DEVICES} devices, got {devices}"
            )));
        }
        let tier = Tier::sdk_devices(devices)?;
        let unit_price = sdk.device_price(tier);
        let priced = Priced {
            kind: SdkOrderKind::Devices,
            sdk,
            quantity: devices,
            tier: Some(tier.number()),
            unit_price,
            total: unit_price.times(Decimal::from(devices)),
            package: None,
        };
        self.buy_sdk(account, priced, client_token, at).await
    }

    /// Charges a platform licence of `sdk` for the application `package`, `years` years
    /// (1 to 10) at the yearly price (rule 10): a purchase or a renewal. Same payment and
    /// ClientToken rules as [`Billing::order_sdk_devices`].
    pub async fn charge_sdk_platform(
        &self,
        account: i64,
        sdk: Sdk,
        package: &str,
        years: u64,
        client_token: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<SdkOrder, BillingError> {
        if !(1..=SDK_PLATFORM_MAX_YEARS).contains(&years) {
            return Err(BillingError::OutOfRange(format!(
                "a platform licence is bought for 1 to {SDK_PLATFORM_MAX_YEARS} years, got {years}"
            )));
        }
        if package.is_empty() || package.len() > 255 {
            return Err(BillingError::OutOfRange(format!(
                "application package {package:?}: 1 to 255 characters"
            )));
        }
        let unit_price = sdk.platform_price_per_year();
        let priced = Priced {
            kind: SdkOrderKind::Platform,
            sdk,
            quantity: years,
            tier: None,
            unit_price,
            total: unit_price.times(Decimal::from(years)),
            package: Some(package.to_string()),
        };
        self.buy_sdk(account, priced, client_token, at).await
    }

    /// One SDK order by id.
    pub async fn sdk_order(&self, id: i64) -> Result<Option<SdkOrder>, BillingError> {
        let q = format!("SELECT {COLUMNS} FROM billing_sdk_orders WHERE id = $1");
        let row = sqlx::query(&q).bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| order_from_row(&r, false)).transpose()
    }

    /// An account's SDK orders, oldest first.
    pub async fn sdk_orders(&self, account: i64) -> Result<Vec<SdkOrder>, BillingError> {
        let q =
            format!("SELECT {COLUMNS} FROM billing_sdk_orders WHERE account_id = $1 ORDER BY id");
        let rows = sqlx::query(&q).bind(account).fetch_all(&self.pool).await?;
        rows.iter().map(|r| order_from_row(r, false)).collect()
    }

    async fn buy_sdk(
        &self,
        account: i64,
        priced: Priced,
        client_token: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<SdkOrder, BillingError> {
        if let Some(token) = client_token {
            check_client_token(token)?;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_buy_sdk(account, &priced, client_token, at).await {
                // Another node stored the same token between our lookup and insert: the
                // next attempt finds it.
                Err(BillingError::Database(e)) if attempt < 3 && db::is_unique_violation(&e) => {}
                other => return other,
            }
        }
    }

    async fn try_buy_sdk(
        &self,
        account: i64,
        p: &Priced,
        client_token: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<SdkOrder, BillingError> {
        let mut tx = self.pool.begin().await?;
        // The account's lock first (a write: SQLite's write lock, PostgreSQL's row lock),
        // so concurrent requests with one token serialise and the second finds the first.
        let mut bal = lock_one(&mut tx, account).await?;
        if let Some(token) = client_token {
            let q = format!(
                "SELECT {COLUMNS} FROM billing_sdk_orders WHERE account_id = $1 AND client_token = $2"
            );
            let stored = sqlx::query(&q)
                .bind(account)
                .bind(token)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = stored {
                let order = order_from_row(&row, true)?;
                if order.kind != p.kind
                    || order.sdk != p.sdk
                    || order.quantity != p.quantity
                    || order.package != p.package
                {
                    let stored = Priced {
                        kind: order.kind,
                        sdk: order.sdk,
                        quantity: order.quantity,
                        tier: order.tier,
                        unit_price: order.unit_price,
                        total: order.total,
                        package: order.package.clone(),
                    };
                    return Err(BillingError::SdkClientTokenConflict {
                        token: token.to_string(),
                        stored: stored.describe(),
                        asked: p.describe(),
                        order: order.id,
                    });
                }
                tx.commit().await?;
                return Ok(order);
            }
        }
        if bal.available() < p.total {
            return Err(BillingError::InsufficientBalance {
                needed: p.total,
                available: bal.available(),
            });
        }
        let row = sqlx::query(
            "INSERT INTO billing_sdk_orders (account_id, kind, sdk, quantity, tier, unit_price, \
             total, package, client_token, at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING id",
        )
        .bind(account)
        .bind(p.kind.as_str())
        .bind(p.sdk.as_str())
        .bind(p.quantity as i64)
        .bind(p.tier.map(i64::from))
        .bind(p.unit_price.to_string())
        .bind(p.total.to_string())
        .bind(p.package.clone())
        .bind(client_token)
        .bind(to_micros(at))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        bal.balance -= p.total;
        append_ledger(
            &mut tx,
            &[LedgerEntry {
                account,
                at_us: to_micros(at),
                kind: p.kind.ledger_kind(),
                balance_delta: -p.total,
                frozen_delta: Money::ZERO,
                reference: format!("sdk-order:{id}"),
            }],
        )
        .await?;
        store_balances(&mut tx, &[(account, bal)]).await?;
        tx.commit().await?;
        Ok(SdkOrder {
            id,
            account,
            kind: p.kind,
            sdk: p.sdk,
            quantity: p.quantity,
            tier: p.tier,
            unit_price: p.unit_price,
            total: p.total,
            package: p.package.clone(),
            at,
            replayed: false,
        })
    }
}

impl Billing {
    /// An account's SDK orders bought in `[from, to)`, oldest first (a bill's lines).
    pub(crate) async fn sdk_orders_between(
        &self,
        conn: &mut sqlx::AnyConnection,
        account: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SdkOrder>, BillingError> {
        let q = format!(
            "SELECT {COLUMNS} FROM billing_sdk_orders WHERE account_id = $1 AND at_us >= $2 \
             AND at_us < $3 ORDER BY id"
        );
        let rows = sqlx::query(&q)
            .bind(account)
            .bind(to_micros(from))
            .bind(to_micros(to))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(|r| order_from_row(r, false)).collect()
    }
}
