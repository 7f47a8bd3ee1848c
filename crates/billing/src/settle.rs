//! Month-end settlement (rules 7-8): release the previous freeze, deduct the bill, freeze
//! 120% of the month's postpaid amount at list price as the next month's estimate; an
//! account whose available balance goes negative is in arrears. Exactly once per account
//! and month: a second run finds the settlement row and changes nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use db::{sql, Dialect};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::account::{append_ledger, lock_balances, store_balances, Balance, LedgerEntry};
use crate::catalogue::FREEZE_FACTOR;
use crate::engine::Billing;
use crate::error::BillingError;
use crate::money::Money;
use crate::rating::{load_usage, rate};
use crate::time::{parse_tz, to_micros, Month};

/// What one settlement run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SettlementReport {
    pub month: String,
    /// Accounts settled by this run.
    pub settled: u64,
    /// Accounts this month had already been settled for (left unchanged).
    pub already_settled: u64,
    /// Accounts whose month (in their time zone) is not yet due.
    pub not_due: u64,
    /// Sum of the bills settled by this run.
    pub total: Money,
    /// Accounts in arrears after this run.
    pub in_arrears: Vec<i64>,
}

impl Billing {
    /// When month M may be settled in `tz`: day `settlement_day` of M+1, 00:00.
    pub fn settlement_due(&self, month: Month, tz: Tz) -> DateTime<Utc> {
        month.next().start(tz) + Duration::days(i64::from(self.config.settlement_day) - 1)
    }

    /// Settles `month` for every account whose settlement is due at `at`.
    pub async fn settle_month(
        &self,
        month: Month,
        at: DateTime<Utc>,
    ) -> Result<SettlementReport, BillingError> {
        self.settle_month_with_progress(month, at, &|_, _| {}).await
    }

    /// [`Billing::settle_month`], calling `accounts_done(done, total)` after each chunk of
    /// accounts is committed (for a progress bar).
    pub async fn settle_month_with_progress(
        &self,
        month: Month,
        at: DateTime<Utc>,
        accounts_done: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<SettlementReport, BillingError> {
        let due = self.settlement_due(month, self.config.default_time_zone);
        if at < due {
            return Err(BillingError::MonthNotOver {
                month: month.to_string(),
                due: due.to_rfc3339(),
            });
        }
        self.expire_packs(at).await?;
        let ids = self.account_ids().await?;
        let mut report = SettlementReport {
            month: month.to_string(),
            ..Default::default()
        };
        let mut done = 0u64;
        for chunk in ids.chunks(1000) {
            let mut tx = self.pool.begin().await?;
            self.settle_chunk(&mut tx, chunk, month, at, &mut report)
                .await?;
            tx.commit().await?;
            done += chunk.len() as u64;
            accounts_done(done, ids.len() as u64);
        }
        Ok(report)
    }

    async fn settle_chunk(
        &self,
        conn: &mut AnyConnection,
        ids: &[i64],
        month: Month,
        at: DateTime<Utc>,
        report: &mut SettlementReport,
    ) -> Result<(), BillingError> {
        let label = month.to_string();
        let d = Dialect::of(conn)?;
        let balances = lock_balances(conn, ids).await?;
        let mut zones: HashMap<i64, Tz> = HashMap::with_capacity(ids.len());
        let mut done: HashSet<i64> = HashSet::new();
        for part in ids.chunks(512) {
            let n = sql::padded(part.len());
            let q = format!(
                "SELECT id, tz FROM billing_accounts WHERE id IN ({})",
                sql::list(d, 1, n)
            );
            let mut query = sqlx::query(&q);
            for i in 0..n {
                query = query.bind(part[i.min(part.len() - 1)]);
            }
            for row in query.fetch_all(&mut *conn).await? {
                let tz: String = row.try_get("tz")?;
                zones.insert(row.try_get("id")?, parse_tz(&tz)?);
            }
            let q = format!(
                "SELECT account_id FROM billing_settlements WHERE account_id IN ({}) AND month = {}",
                sql::list(d, 1, n),
                sql::param(d, n + 1)
            );
            let mut query = sqlx::query(&q);
            for i in 0..n {
                query = query.bind(part[i.min(part.len() - 1)]);
            }
            query = query.bind(label.clone());
            for row in query.fetch_all(&mut *conn).await? {
                done.insert(row.try_get("account_id")?);
            }
        }
        let usage = load_usage(conn, ids, &label).await?;

        let at_us = to_micros(at);
        let mut ledger = Vec::new();
        let mut new_balances = Vec::new();
        let mut settled_rows: Vec<(i64, Money, Money, Money)> = Vec::new();
        for id in ids {
            let (Some(bal), Some(tz)) = (balances.get(id), zones.get(id)) else {
                continue;
            };
            if done.contains(id) {
                report.already_settled += 1;
                continue;
            }
            if at < self.settlement_due(month, *tz) {
                report.not_due += 1;
                continue;
            }
            let (_, total) = rate(&usage.get(id).cloned().unwrap_or_default());
            let released = bal.frozen;
            let freeze = total.times(FREEZE_FACTOR).round_fen();
            let reference = format!("month:{label}");
            if !released.is_zero() {
                ledger.push(LedgerEntry {
                    account: *id,
                    at_us,
                    kind: "freeze_release",
                    balance_delta: Money::ZERO,
                    frozen_delta: -released,
                    reference: reference.clone(),
                });
            }
            if !total.is_zero() {
                ledger.push(LedgerEntry {
                    account: *id,
                    at_us,
                    kind: "settlement",
                    balance_delta: -total,
                    frozen_delta: Money::ZERO,
                    reference: reference.clone(),
                });
            }
            if !freeze.is_zero() {
                ledger.push(LedgerEntry {
                    account: *id,
                    at_us,
                    kind: "freeze",
                    balance_delta: Money::ZERO,
                    frozen_delta: freeze,
                    reference,
                });
            }
            let after = Balance {
                balance: bal.balance - total,
                frozen: freeze,
            };
            if after.available().is_negative() {
                report.in_arrears.push(*id);
            }
            new_balances.push((*id, after));
            settled_rows.push((*id, total, released, freeze));
            report.settled += 1;
            report.total += total;
        }
        append_ledger(conn, &ledger).await?;
        store_balances(conn, &new_balances).await?;
        let mut rest = settled_rows.as_slice();
        for n in sql::pow2_chunks(settled_rows.len(), 256) {
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let q = format!(
                "INSERT INTO billing_settlements (account_id, month, at_us, total, released, frozen) VALUES {}",
                sql::value_rows(d, n, 6)
            );
            let mut query = sqlx::query(&q);
            for (id, total, released, frozen) in chunk {
                query = query
                    .bind(*id)
                    .bind(label.clone())
                    .bind(at_us)
                    .bind(total.to_string())
                    .bind(released.to_string())
                    .bind(frozen.to_string());
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}
