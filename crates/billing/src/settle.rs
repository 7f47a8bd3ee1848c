//! Month-end settlement (rules 7-8): release the previous freeze, deduct the bill, freeze
//! 120% of the month's postpaid amount at list price as the next month's estimate; an
//! account whose available balance goes negative is in arrears. Exactly once per account
//! and month: a second run finds the settlement row and changes nothing.
//!
//! A run plans each chunk of accounts ([`plan_chunk`]: pure, from the chunk's state), then
//! writes the plan. [`Billing::preview_settlement`] makes the same plan from the same
//! state read without locks, and writes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use db::{sql, Dialect};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::account::{
    append_ledger, lock_balances, read_balances, store_balances, Balance, LedgerEntry,
};
use crate::catalogue::{Item, FREEZE_FACTOR};
use crate::engine::Billing;
use crate::error::BillingError;
use crate::money::Money;
use crate::rating::{load_usage, rate, BillLine, ItemUsage};
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

/// What a settlement run would do to one account it settles.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedSettlement {
    pub account: i64,
    /// The bill: one line per item metered, as [`Billing::bill`] lists them.
    pub lines: Vec<BillLine>,
    /// The postpaid amount deducted from the balance.
    pub total: Money,
    /// The previous freeze, released.
    pub released: Money,
    /// The new freeze: 120% of `total`, rounded to the fen.
    pub frozen: Money,
    /// The balance after the deduction.
    pub balance_after: Money,
    /// `balance_after − frozen`; negative means the account goes into arrears.
    pub available_after: Money,
}

/// A dry run of [`Billing::settle_month`]: what it would report and write, per account.
#[derive(Clone, Debug, Serialize)]
pub struct SettlementPreview {
    /// What the run would report (`settled` counts the accounts it would settle now).
    pub report: SettlementReport,
    /// The accounts it would settle, by id.
    pub accounts: Vec<PlannedSettlement>,
}

/// The state a chunk's plan is made from.
struct ChunkState {
    balances: HashMap<i64, Balance>,
    zones: HashMap<i64, Tz>,
    done: HashSet<i64>,
    usage: BTreeMap<i64, BTreeMap<Item, ItemUsage>>,
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
        self.check_due(month, at)?;
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

    /// What [`Billing::settle_month`] would do at `at` if no usage, top-up or settlement
    /// came in between: the same checks (refused with [`BillingError::MonthNotOver`] before
    /// the month is due), the same plan per account from the same rating, but read without
    /// taking the accounts' locks and writing nothing. Expired packs do not change a bill
    /// (their units were never consumed), so the run's pack expiry is left out.
    pub async fn preview_settlement(
        &self,
        month: Month,
        at: DateTime<Utc>,
    ) -> Result<SettlementPreview, BillingError> {
        self.check_due(month, at)?;
        let ids = self.account_ids().await?;
        let mut preview = SettlementPreview {
            report: SettlementReport {
                month: month.to_string(),
                ..Default::default()
            },
            accounts: Vec::new(),
        };
        let mut conn = self.pool.acquire().await?;
        for chunk in ids.chunks(1000) {
            let balances = read_balances(&mut conn, chunk).await?;
            let state = load_chunk(&mut conn, chunk, month, balances).await?;
            let plans = self.plan_chunk(&state, chunk, month, at, &mut preview.report);
            preview.accounts.extend(plans);
        }
        Ok(preview)
    }

    fn check_due(&self, month: Month, at: DateTime<Utc>) -> Result<(), BillingError> {
        let due = self.settlement_due(month, self.config.default_time_zone);
        if at < due {
            return Err(BillingError::MonthNotOver {
                month: month.to_string(),
                due: due.to_rfc3339(),
            });
        }
        Ok(())
    }

    /// The plan of one chunk, counting into `report`: accounts already settled or not yet
    /// due are counted and skipped, the others rated and planned.
    fn plan_chunk(
        &self,
        state: &ChunkState,
        ids: &[i64],
        month: Month,
        at: DateTime<Utc>,
        report: &mut SettlementReport,
    ) -> Vec<PlannedSettlement> {
        let mut plans = Vec::new();
        for id in ids {
            let (Some(bal), Some(tz)) = (state.balances.get(id), state.zones.get(id)) else {
                continue;
            };
            if state.done.contains(id) {
                report.already_settled += 1;
                continue;
            }
            if at < self.settlement_due(month, *tz) {
                report.not_due += 1;
                continue;
            }
            let (lines, total) = rate(&state.usage.get(id).cloned().unwrap_or_default());
            let frozen = total.times(FREEZE_FACTOR).round_fen();
            let balance_after = bal.balance - total;
            let available_after = balance_after - frozen;
            if available_after.is_negative() {
                report.in_arrears.push(*id);
            }
            report.settled += 1;
            report.total += total;
            plans.push(PlannedSettlement {
                account: *id,
                lines,
                total,
                released: bal.frozen,
                frozen,
                balance_after,
                available_after,
            });
        }
        plans
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
        let state = load_chunk(conn, ids, month, balances).await?;
        let plans = self.plan_chunk(&state, ids, month, at, report);

        let at_us = to_micros(at);
        let mut ledger = Vec::new();
        let mut new_balances = Vec::with_capacity(plans.len());
        for p in &plans {
            let reference = format!("month:{label}");
            let moves = [
                ("freeze_release", Money::ZERO, -p.released),
                ("settlement", -p.total, Money::ZERO),
                ("freeze", Money::ZERO, p.frozen),
            ];
            for (kind, balance_delta, frozen_delta) in moves {
                if !(balance_delta.is_zero() && frozen_delta.is_zero()) {
                    ledger.push(LedgerEntry {
                        account: p.account,
                        at_us,
                        kind,
                        balance_delta,
                        frozen_delta,
                        reference: reference.clone(),
                    });
                }
            }
            new_balances.push((
                p.account,
                Balance {
                    balance: p.balance_after,
                    frozen: p.frozen,
                },
            ));
        }
        append_ledger(conn, &ledger).await?;
        store_balances(conn, &new_balances).await?;
        let mut rest = plans.as_slice();
        for n in sql::pow2_chunks(plans.len(), 256) {
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let q = format!(
                "INSERT INTO billing_settlements (account_id, month, at_us, total, released, frozen) VALUES {}",
                sql::value_rows(d, n, 6)
            );
            let mut query = sqlx::query(&q);
            for p in chunk {
                query = query
                    .bind(p.account)
                    .bind(label.clone())
                    .bind(at_us)
                    .bind(p.total.to_string())
                    .bind(p.released.to_string())
                    .bind(p.frozen.to_string());
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Reads what a chunk's plan needs besides the balances: the accounts' time zones, which
/// of them are settled for `month` already, and the month's counters.
async fn load_chunk(
    conn: &mut AnyConnection,
    ids: &[i64],
    month: Month,
    balances: HashMap<i64, Balance>,
) -> Result<ChunkState, BillingError> {
    let label = month.to_string();
    let d = Dialect::of(conn)?;
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
    Ok(ChunkState {
        balances,
        zones,
        done,
        usage,
    })
}
