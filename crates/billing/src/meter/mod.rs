//! Metering: recording billable calls and consuming them in real time (rules 2, 3, 8).
//!
//! One writer task per process takes every record from a channel, gathers whatever has
//! queued up into one batch, consumes the whole batch in one transaction (free pack, then
//! paid packs earliest expiry first, then postpaid) and answers each caller only after the
//! commit: a record acknowledged is a record committed, at the cost of one commit per batch
//! instead of one per call (group commit).
//!
//! On PostgreSQL the writer locks the balance rows of the batch's accounts first, so
//! several processes sharing one database serialise per account and never consume a unit
//! twice. On SQLite it holds the database's write lock for the batch and keeps the
//! accounts' state between batches while no other connection commits (`cache`).
//!
//! - this module: the public API ([`Billing::record_call`], [`Billing::record_enrolment`],
//!   [`Billing::import_usage`], [`Billing::void_call`]) and the records sent to the writer;
//! - `writer`: the group-commit writer task and the batch's transaction;
//! - `cache`: the SQLite writer's state kept between batches, and when it is still true;
//! - `rule`: the consumption rule free → pack → postpaid, pure (no database);
//! - `rows`: the batch's row I/O (state read, changes written).

mod cache;
mod rows;
mod rule;
mod writer;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use tokio::sync::oneshot;

use crate::catalogue::Item;
use crate::daily::{day_label, day_of};
use crate::engine::Billing;
use crate::error::BillingError;
use crate::time::{from_micros, to_micros};

pub(crate) use writer::spawn;

const IMPORT_PREFIX: &str = "import:";

/// How one record was consumed. For a replay (same RequestId or import id again) the stored
/// consumption is returned with `replayed: true` and nothing is counted again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consumption {
    pub account: i64,
    pub item: Item,
    /// The billing month in the account's time zone, `YYYY-MM`.
    pub month: String,
    pub units: u64,
    pub free: u64,
    pub pack: u64,
    pub postpaid: u64,
    pub replayed: bool,
}

/// What [`Billing::void_call`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Voided {
    /// The call's consumption was given back now (`replayed` is false).
    Voided(Consumption),
    /// An earlier void of the same RequestId gave it back; nothing changed.
    AlreadyVoided,
    /// No call was recorded under this RequestId; nothing to give back.
    NotRecorded,
}

pub(crate) enum Job {
    Call {
        account: i64,
        item: Item,
        action: String,
        request_id: String,
        at: DateTime<Utc>,
        /// An enrolment metered before its gallery write: a pending row goes in with the
        /// usage, settled later by confirmation or reconciliation.
        enrolment: bool,
    },
    Import {
        account: i64,
        item: Item,
        count: u64,
        at: DateTime<Utc>,
        /// `import:<import id>`.
        key: String,
    },
}

impl Job {
    /// The idempotency key: the RequestId, or `import:<import id>`.
    fn key(&self) -> &str {
        match self {
            Job::Call { request_id, .. } => request_id,
            Job::Import { key, .. } => key,
        }
    }

    fn account(&self) -> i64 {
        match self {
            Job::Call { account, .. } | Job::Import { account, .. } => *account,
        }
    }

    fn item(&self) -> Item {
        match self {
            Job::Call { item, .. } | Job::Import { item, .. } => *item,
        }
    }

    fn at(&self) -> DateTime<Utc> {
        match self {
            Job::Call { at, .. } | Job::Import { at, .. } => *at,
        }
    }

    fn units(&self) -> u64 {
        match self {
            Job::Call { .. } => 1,
            Job::Import { count, .. } => *count,
        }
    }

    fn is_enrolment(&self) -> bool {
        matches!(
            self,
            Job::Call {
                enrolment: true,
                ..
            }
        )
    }

    fn action(&self) -> &str {
        match self {
            Job::Call { action, .. } => action,
            Job::Import { .. } => "import",
        }
    }
}

pub(crate) struct Pending {
    job: Job,
    reply: oneshot::Sender<Result<Consumption, BillingError>>,
}

impl Billing {
    /// Records one successful billable call and consumes it. Returns after the record is
    /// committed. Idempotent on `request_id`. Refused with [`BillingError::InArrears`] when
    /// the call would be billed postpaid and the account is in arrears.
    pub async fn record_call(
        &self,
        account: i64,
        item: Item,
        action: &str,
        request_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Consumption, BillingError> {
        self.record(account, item, action, request_id, at, false)
            .await
    }

    /// Records an enrolment (CreatePerson, CreateFace) before its gallery write: metered
    /// and consumed exactly as [`Billing::record_call`], plus a pending row in
    /// `billing_enrolments` in the same transaction. The caller confirms it after the write
    /// ([`Billing::confirm_enrolment`]); one left pending (the process died in between) is
    /// settled by [`Billing::settle_enrolment`] once the reconciliation knows whether the
    /// write happened. A replay of a RequestId already recorded adds nothing.
    pub async fn record_enrolment(
        &self,
        account: i64,
        item: Item,
        action: &str,
        request_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Consumption, BillingError> {
        self.record(account, item, action, request_id, at, true)
            .await
    }

    /// One call to the metering writer; `enrolment` adds the pending enrolment row.
    async fn record(
        &self,
        account: i64,
        item: Item,
        action: &str,
        request_id: &str,
        at: DateTime<Utc>,
        enrolment: bool,
    ) -> Result<Consumption, BillingError> {
        check_request_id(request_id)?;
        self.submit(Job::Call {
            account,
            item,
            action: action.to_string(),
            request_id: request_id.to_string(),
            at,
            enrolment,
        })
        .await
    }

    /// Records `count` calls at once (migrations, simulated traffic), idempotent on
    /// `import_id`. All or nothing: refused as a whole if any part would be postpaid while
    /// the account is in arrears.
    pub async fn import_usage(
        &self,
        account: i64,
        item: Item,
        count: u64,
        at: DateTime<Utc>,
        import_id: &str,
    ) -> Result<Consumption, BillingError> {
        if count == 0 || count > i64::MAX as u64 / 4 {
            return Err(BillingError::OutOfRange(format!(
                "calls must be between 1 and {}, got {count}",
                i64::MAX / 4
            )));
        }
        if import_id.is_empty() || import_id.len() > 200 {
            return Err(BillingError::OutOfRange(
                "import id must be 1-200 characters".into(),
            ));
        }
        self.submit(Job::Import {
            account,
            item,
            count,
            at,
            key: format!("{IMPORT_PREFIX}{import_id}"),
        })
        .await
    }

    /// Gives back what the call recorded under `request_id` consumed: the action failed
    /// after it was metered (CreatePerson and CreateFace meter before they write; see
    /// docs/billing.md). The consumption ledger stays append-only: a compensating row of
    /// negative units per source (`part` −1, −2, … for parts 0, 1, …) goes in beside the
    /// original, the month's counters go down by as much and a pack's remainder up, all
    /// in one transaction under the account's lock.
    ///
    /// Idempotent on `request_id`: a retried void finds its compensating rows and changes
    /// nothing ([`Voided::AlreadyVoided`]); a key never recorded is
    /// [`Voided::NotRecorded`]. A record in a month already settled stays billed
    /// ([`BillingError::MonthClosed`]). A pack voided at expiry meanwhile does not get the
    /// unit back (its remainder is already written off).
    pub async fn void_call(
        &self,
        request_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Voided, BillingError> {
        check_request_id(request_id)?;
        // The account of a key never changes: found before the transaction, so the
        // transaction's first statement is the lock (SQLite takes its write lock at once).
        let Some(row) =
            sqlx::query("SELECT account_id FROM billing_usage WHERE usage_key = $1 LIMIT 1")
                .bind(request_id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(Voided::NotRecorded);
        };
        let account: i64 = row.try_get(0)?;
        let mut tx = self.pool.begin().await?;
        crate::account::lock_one(&mut tx, account).await?;
        let rows = sqlx::query(
            "SELECT part, item, action, month, at_us, units, source, pack_id FROM billing_usage \
             WHERE usage_key = $1 ORDER BY part",
        )
        .bind(request_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut parts = Vec::with_capacity(rows.len());
        for row in &rows {
            let part: i64 = row.try_get("part")?;
            if part < 0 {
                return Ok(Voided::AlreadyVoided);
            }
            let item: String = row.try_get("item")?;
            parts.push((
                part,
                item.parse::<Item>()?,
                row.try_get::<String, _>("action")?,
                row.try_get::<String, _>("month")?,
                row.try_get::<i64, _>("at_us")?,
                row.try_get::<i64, _>("units")?,
                row.try_get::<String, _>("source")?,
                row.try_get::<Option<i64>, _>("pack_id")?,
            ));
        }
        let Some((_, item, _, month, ..)) = parts.first().cloned() else {
            return Ok(Voided::NotRecorded);
        };
        let settled =
            sqlx::query("SELECT 1 FROM billing_settlements WHERE account_id = $1 AND month = $2")
                .bind(account)
                .bind(&month)
                .fetch_optional(&mut *tx)
                .await?;
        if settled.is_some() {
            return Err(BillingError::MonthClosed { account, month });
        }
        let mut given = Consumption {
            account,
            item,
            month: month.clone(),
            units: 0,
            free: 0,
            pack: 0,
            postpaid: 0,
            replayed: false,
        };
        let at_us = to_micros(at);
        let tz = crate::rating::account_tz(&mut tx, account).await?;
        for (part, item, action, month, call_us, units, source, pack_id) in &parts {
            sqlx::query(
                "INSERT INTO billing_usage (usage_key, part, account_id, item, action, month, \
                 at_us, units, source, pack_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(request_id)
            .bind(-1 - part)
            .bind(account)
            .bind(item.as_str())
            .bind(action.as_str())
            .bind(month.as_str())
            .bind(at_us)
            .bind(-units)
            .bind(source.as_str())
            .bind(*pack_id)
            .execute(&mut *tx)
            .await?;
            let units_u = (*units).max(0) as u64;
            given.units += units_u;
            let column = match source.as_str() {
                "free" => {
                    given.free += units_u;
                    "free_units"
                }
                "pack" => {
                    given.pack += units_u;
                    "pack_units"
                }
                _ => {
                    given.postpaid += units_u;
                    "postpaid_units"
                }
            };
            let q = format!(
                "UPDATE billing_monthly SET calls = calls - $1, {column} = {column} - $1 \
                 WHERE account_id = $2 AND month = $3 AND item = $4"
            );
            sqlx::query(&q)
                .bind(*units)
                .bind(account)
                .bind(month.as_str())
                .bind(item.as_str())
                .execute(&mut *tx)
                .await?;
            // Off the call's own day, as the month above is the call's month.
            let day = day_label(day_of(from_micros(*call_us)?, tz));
            let q = format!(
                "UPDATE billing_daily SET calls = calls - $1, {column} = {column} - $1 \
                 WHERE account_id = $2 AND day = $3 AND item = $4"
            );
            sqlx::query(&q)
                .bind(*units)
                .bind(account)
                .bind(day)
                .bind(item.as_str())
                .execute(&mut *tx)
                .await?;
            if let Some(pack) = pack_id {
                sqlx::query(
                    "UPDATE billing_packs SET remaining = remaining + $1 \
                     WHERE id = $2 AND voided_us IS NULL",
                )
                .bind(*units)
                .bind(*pack)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Voided::Voided(given))
    }

    async fn submit(&self, job: Job) -> Result<Consumption, BillingError> {
        let (reply, answer) = oneshot::channel();
        self.meter
            .send(Pending { job, reply })
            .await
            .map_err(|_| BillingError::WriterGone)?;
        answer.await.map_err(|_| BillingError::WriterGone)?
    }
}

fn check_request_id(request_id: &str) -> Result<(), BillingError> {
    if request_id.is_empty() || request_id.starts_with(IMPORT_PREFIX) || request_id.len() > 200 {
        return Err(BillingError::OutOfRange(format!(
            "request id {request_id:?} must be 1-200 characters and not start with {IMPORT_PREFIX:?}"
        )));
    }
    Ok(())
}
