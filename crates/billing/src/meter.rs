//! Metering: recording billable calls and consuming them in real time (rules 2, 3, 8).
//!
//! One writer task per process takes every record from a channel, gathers whatever has
//! queued up into one batch, consumes the whole batch in one transaction (free pack, then
//! paid packs earliest expiry first, then postpaid) and answers each caller only after the
//! commit: a record acknowledged is a record committed, at the cost of one commit per batch
//! instead of one per call (group commit).
//!
//! The writer locks the balance rows of the batch's accounts first, so several processes
//! sharing one PostgreSQL database serialise per account and never consume a unit twice.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use db::{sql, Dialect};
use serde::Serialize;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::account::{lock_balances, AccountState, Balance};
use crate::catalogue::{Item, FREE_CALLS_PER_MONTH, LOW_PERCENT};
use crate::engine::Billing;
use crate::error::BillingError;
use crate::notice::{insert_notices, NoticeDraft, NoticeKind};
use crate::time::{parse_tz, to_micros, Month};

const IMPORT_PREFIX: &str = "import:";
/// Ends the error of a batch that found some of its keys inserted by another node meanwhile.
const KEYS_RACE: &str = "usage keys appeared concurrently";

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
            "SELECT part, item, action, month, units, source, pack_id FROM billing_usage \
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
        for (part, item, action, month, units, source, pack_id) in &parts {
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

pub(crate) fn spawn(pool: AnyPool, dialect: Dialect, max_batch: usize) -> mpsc::Sender<Pending> {
    let (tx, rx) = mpsc::channel(max_batch.saturating_mul(4).max(16));
    tokio::spawn(run(pool, dialect, rx, max_batch));
    tx
}

async fn run(pool: AnyPool, dialect: Dialect, mut rx: mpsc::Receiver<Pending>, max_batch: usize) {
    let mut writer = Writer {
        dialect,
        pool,
        accounts: HashMap::new(),
    };
    // The connection the writer keeps while records keep coming. One connection for
    // consecutive batches keeps SQLite's page cache warm (a connection drops its whole
    // cache whenever another connection wrote in between) and PostgreSQL's prepared
    // statements in one session.
    let mut conn: Option<PoolConnection<Any>> = None;
    let mut buf = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut buf, max_batch).await > 0 {
        let batch = std::mem::replace(&mut buf, Vec::with_capacity(max_batch));
        conn = writer.process(conn, batch).await;
        if rx.is_empty() {
            // Idle: give the connection back to the pool until the next record arrives.
            conn = None;
        }
    }
}

/// What the writer needs of an account that never changes after creation.
struct AccountInfo {
    tz: Tz,
    email: Option<String>,
    phone: Option<String>,
}

struct Writer {
    dialect: Dialect,
    pool: AnyPool,
    accounts: HashMap<i64, AccountInfo>,
}

#[derive(Clone, Copy, Default)]
struct Counter {
    calls: i64,
    free: i64,
    pack: i64,
    postpaid: i64,
    dirty: bool,
}

struct PackState {
    id: i64,
    size: i64,
    purchased_us: i64,
    expires_us: i64,
    remaining: i64,
    low_notified: bool,
    exhausted_notified: bool,
    dirty: bool,
}

/// One row of `billing_usage`, borrowing its text from the batch.
struct UsageRow<'a> {
    key: &'a str,
    part: i64,
    account: i64,
    item: Item,
    action: &'a str,
    month: &'a str,
    at_us: i64,
    units: i64,
    source: &'static str,
    pack_id: Option<i64>,
}

impl Writer {
    /// Consumes and answers one batch on `conn` (or a connection from the pool); returns
    /// the connection to keep for the next batch, `None` after a failure.
    async fn process(
        &mut self,
        conn: Option<PoolConnection<Any>>,
        batch: Vec<Pending>,
    ) -> Option<PoolConnection<Any>> {
        let mut conn = match conn {
            Some(conn) => conn,
            None => match self.pool.acquire().await {
                Ok(conn) => conn,
                Err(e) => {
                    let msg = e.to_string();
                    for p in batch {
                        let _ = p.reply.send(Err(BillingError::Storage(msg.clone())));
                    }
                    return None;
                }
            },
        };
        if let Err(e) = self.load_accounts(&mut conn, &batch).await {
            let msg = e.to_string();
            for p in batch {
                let _ = p.reply.send(Err(BillingError::Storage(msg.clone())));
            }
            return None;
        }
        // The first pass assumes no key of the batch is stored yet (replays are rare) and
        // skips looking them up: the insert's row count proves it, and a batch that meets a
        // stored key is rolled back and consumed again with the lookup, which answers the
        // replays. Another process may also record one of these keys between our read and
        // write (PostgreSQL, several nodes): one more pass sees it as a replay.
        let mut outcome = self.consume(&mut conn, &batch, false).await;
        for _ in 0..2 {
            match &outcome {
                Err(e)
                    if db::is_unique_violation(e)
                        || db::is_serialization_failure(e)
                        || matches!(e, sqlx::Error::Protocol(m) if m.ends_with(KEYS_RACE)) =>
                {
                    outcome = self.consume(&mut conn, &batch, true).await;
                }
                _ => break,
            }
        }
        // Kept only after a clean batch: after a failure the pool gets it back (and
        // checks or replaces it), the next batch takes another.
        match outcome {
            Ok(results) => {
                for (p, r) in batch.into_iter().zip(results) {
                    let _ = p.reply.send(r);
                }
                Some(conn)
            }
            Err(e) => {
                tracing::error!(error = %e, "metering batch failed");
                let msg = e.to_string();
                for p in batch {
                    let _ = p.reply.send(Err(BillingError::Storage(msg.clone())));
                }
                None
            }
        }
    }

    async fn load_accounts(
        &mut self,
        conn: &mut AnyConnection,
        batch: &[Pending],
    ) -> Result<(), BillingError> {
        let missing: Vec<i64> = unique(batch.iter().map(|p| p.job.account()))
            .into_iter()
            .filter(|id| !self.accounts.contains_key(id))
            .collect();
        let d = self.dialect;
        for chunk in missing.chunks(512) {
            let n = sql::padded(chunk.len());
            let q = format!(
                "SELECT id, tz, email, phone FROM billing_accounts WHERE id IN ({})",
                sql::list(d, 1, n)
            );
            let mut query = sqlx::query(&q);
            for i in 0..n {
                query = query.bind(chunk[i.min(chunk.len() - 1)]);
            }
            for row in query.fetch_all(&mut *conn).await? {
                let tz: String = row.try_get("tz")?;
                self.accounts.insert(
                    row.try_get("id")?,
                    AccountInfo {
                        tz: parse_tz(&tz)?,
                        email: row.try_get("email")?,
                        phone: row.try_get("phone")?,
                    },
                );
            }
        }
        Ok(())
    }

    /// One transaction for the whole batch. `Err` only for storage failures; a record's own
    /// refusal (unknown account, arrears, closed month) is its entry in the result.
    #[allow(clippy::type_complexity)]
    /// `lookup`: first look up which keys are stored (replays); without it, a stored key
    /// makes the insert fail the batch (see [`insert_usage`]).
    async fn consume(
        &self,
        conn: &mut AnyConnection,
        batch: &[Pending],
        lookup: bool,
    ) -> Result<Vec<Result<Consumption, BillingError>>, sqlx::Error> {
        let mut tx = conn.begin().await?;
        let ids: Vec<i64> = unique(batch.iter().map(|p| p.job.account()))
            .into_iter()
            .filter(|id| self.accounts.contains_key(id))
            .collect();
        let balances = lock_balances(&mut tx, &ids).await.map_err(into_sqlx)?;
        let stored = if lookup {
            let keys: Vec<&str> = unique(batch.iter().map(|p| p.job.key()));
            load_existing(&mut tx, &keys).await?
        } else {
            HashMap::new()
        };

        // Months are referred to by their index in `months` from here on.
        let job_months: Vec<Option<String>> = batch
            .iter()
            .map(|p| {
                self.accounts
                    .get(&p.job.account())
                    .map(|a| Month::of(p.job.at(), a.tz).to_string())
            })
            .collect();
        let months: Vec<String> = unique(job_months.iter().flatten().cloned());
        let month_refs: Vec<&str> = months.iter().map(String::as_str).collect();
        let mut counters = load_counters(&mut tx, &ids, &month_refs).await?;
        let settled = load_settled(&mut tx, &ids, &month_refs).await?;
        let mut packs = load_packs(&mut tx, &ids).await?;

        let mut rows: Vec<UsageRow> = Vec::with_capacity(batch.len());
        let mut notices: Vec<NoticeDraft> = Vec::new();
        let mut results: Vec<Result<Consumption, BillingError>> = Vec::with_capacity(batch.len());
        // Keys consumed earlier in this batch, with the index of their result.
        let mut fresh: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
        // Enrolments consumed now (not replays): their pending rows.
        let mut enrolments: Vec<&Job> = Vec::new();
        for (p, month) in batch.iter().zip(&job_months) {
            let job = &p.job;
            let key = job.key();
            let done = match (stored.get(key), fresh.get(key)) {
                (Some(done), _) => Some(done),
                (None, Some(&i)) => results[i].as_ref().ok(),
                (None, None) => None,
            };
            if let Some(done) = done {
                results.push(Ok(Consumption {
                    replayed: true,
                    ..done.clone()
                }));
                continue;
            }
            let account = job.account();
            let month_index = month
                .as_deref()
                .and_then(|m| months.binary_search_by(|x| x.as_str().cmp(m)).ok());
            let (Some(info), Some(balance), Some(month_index)) = (
                self.accounts.get(&account),
                balances.get(&account),
                month_index,
            ) else {
                results.push(Err(BillingError::UnknownAccount(account)));
                continue;
            };
            let month = months[month_index].as_str();
            if settled.contains(&(account, month_index)) {
                results.push(Err(BillingError::MonthClosed {
                    account,
                    month: month.to_string(),
                }));
                continue;
            }
            let outcome = consume_one(
                job,
                month,
                month_index,
                *balance,
                info,
                &mut counters,
                &mut packs,
                &mut rows,
                &mut notices,
            );
            if outcome.is_ok() {
                fresh.insert(key, results.len());
                if job.is_enrolment() {
                    enrolments.push(job);
                }
            }
            results.push(outcome);
        }

        insert_usage(&mut tx, self.dialect, &rows).await?;
        store_counters(&mut tx, &counters, &months).await?;
        store_packs(&mut tx, &packs).await?;
        insert_notices(&mut tx, &notices).await.map_err(into_sqlx)?;
        for job in enrolments {
            sqlx::query(
                "INSERT INTO billing_enrolments (usage_key, account_id, action, at_us) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(job.key())
            .bind(job.account())
            .bind(job.action())
            .bind(to_micros(job.at()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(results)
    }
}

/// Consumes one record against the in-memory state of the batch, or refuses it untouched.
#[allow(clippy::too_many_arguments)]
fn consume_one<'a>(
    job: &'a Job,
    month: &'a str,
    month_index: usize,
    balance: Balance,
    info: &AccountInfo,
    counters: &mut HashMap<(i64, Item, usize), Counter>,
    packs: &mut HashMap<(i64, Item), Vec<PackState>>,
    rows: &mut Vec<UsageRow<'a>>,
    notices: &mut Vec<NoticeDraft>,
) -> Result<Consumption, BillingError> {
    let account = job.account();
    let item = job.item();
    let at_us = to_micros(job.at());
    let units = job.units() as i64;
    let counter = counters.entry((account, item, month_index)).or_default();
    let free = units.min((FREE_CALLS_PER_MONTH as i64 - counter.free).max(0));
    let mut rest = units - free;
    let mut plan: Vec<(usize, i64)> = Vec::new();
    let stack = packs.entry((account, item)).or_default();
    for (i, p) in stack.iter().enumerate() {
        if rest == 0 {
            break;
        }
        if p.remaining > 0 && p.purchased_us <= at_us && at_us < p.expires_us {
            let take = rest.min(p.remaining);
            plan.push((i, take));
            rest -= take;
        }
    }
    let postpaid = rest;
    if postpaid > 0 && balance.state() == AccountState::Arrears {
        return Err(BillingError::InArrears { account });
    }

    let pack_units: i64 = plan.iter().map(|(_, u)| u).sum();
    counter.calls += units;
    counter.free += free;
    counter.pack += pack_units;
    counter.postpaid += postpaid;
    counter.dirty = true;

    let mut part = 0;
    let mut row = |units: i64, source: &'static str, pack_id: Option<i64>| {
        rows.push(UsageRow {
            key: job.key(),
            part,
            account,
            item,
            action: job.action(),
            month,
            at_us,
            units,
            source,
            pack_id,
        });
        part += 1;
    };
    if free > 0 {
        row(free, "free", None);
    }
    for (i, take) in &plan {
        let p = &mut stack[*i];
        p.remaining -= take;
        p.dirty = true;
        row(*take, "pack", Some(p.id));
        if !p.low_notified && p.remaining * 100 < p.size * LOW_PERCENT as i64 {
            p.low_notified = true;
            notices.push(NoticeDraft::new(
                account,
                p.id,
                NoticeKind::PackLow,
                at_us,
                format!(
                    "Your {item} pack #{} has {} of {} calls left, below {LOW_PERCENT}%.",
                    p.id, p.remaining, p.size
                ),
                info.email.clone(),
                info.phone.clone(),
            ));
        }
        if !p.exhausted_notified && p.remaining == 0 {
            p.exhausted_notified = true;
            notices.push(NoticeDraft::new(
                account,
                p.id,
                NoticeKind::PackExhausted,
                at_us,
                format!(
                    "Your {item} pack #{} is used up; further {item} calls are billed from other packs or postpaid.",
                    p.id
                ),
                info.email.clone(),
                info.phone.clone(),
            ));
        }
    }
    if postpaid > 0 {
        row(postpaid, "postpaid", None);
    }
    Ok(Consumption {
        account,
        item,
        month: month.to_string(),
        units: units as u64,
        free: free as u64,
        pack: pack_units as u64,
        postpaid: postpaid as u64,
        replayed: false,
    })
}

fn unique<T: Ord + Clone, I: IntoIterator<Item = T>>(it: I) -> Vec<T> {
    let mut v: Vec<T> = it.into_iter().collect();
    v.sort();
    v.dedup();
    v
}

fn into_sqlx(e: BillingError) -> sqlx::Error {
    match e {
        BillingError::Database(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// A value bound without copying it first (the driver makes the one copy it needs).
trait BindValue: Copy {
    fn bind_to<'q>(self, query: AnyQuery<'q>) -> AnyQuery<'q>
    where
        Self: 'q;
}

impl BindValue for i64 {
    fn bind_to<'q>(self, query: AnyQuery<'q>) -> AnyQuery<'q>
    where
        Self: 'q,
    {
        query.bind(self)
    }
}

impl BindValue for &str {
    fn bind_to<'q>(self, query: AnyQuery<'q>) -> AnyQuery<'q>
    where
        Self: 'q,
    {
        query.bind(self)
    }
}

/// Runs `SELECT … WHERE col IN (…) [AND col2 IN (…)]` over chunks of values. Values are
/// bound by reference (`&str`, `i64`): the driver copies them once, no copy is made here.
async fn select_in<T: BindValue>(
    conn: &mut AnyConnection,
    head: &str,
    values: &[T],
    tail_values: &[&str],
    tail_col: Option<&str>,
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    let d = Dialect::of(conn)?;
    let mut out = Vec::new();
    if values.is_empty() {
        return Ok(out);
    }
    for chunk in values.chunks(4096) {
        let n = sql::padded(chunk.len());
        let m = if tail_col.is_some() {
            sql::padded(tail_values.len())
        } else {
            0
        };
        let mut q = format!("{head} IN ({})", sql::list(d, 1, n));
        if let Some(col) = tail_col {
            q.push_str(&format!(" AND {col} IN ({})", sql::list(d, n + 1, m)));
        }
        let mut query = sqlx::query(&q);
        for i in 0..n {
            query = chunk[i.min(chunk.len() - 1)].bind_to(query);
        }
        for i in 0..m {
            query = query.bind(tail_values[i.min(tail_values.len() - 1)]);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

fn corrupt(what: String) -> sqlx::Error {
    sqlx::Error::Decode(what.into())
}

async fn load_existing(
    conn: &mut AnyConnection,
    keys: &[&str],
) -> Result<HashMap<String, Consumption>, sqlx::Error> {
    let rows = select_in(
        conn,
        "SELECT usage_key, account_id, item, month, units, source FROM billing_usage WHERE usage_key",
        keys,
        &[],
        None,
    )
    .await?;
    // Sums are signed and clamped at the end: a voided call's compensating rows (negative
    // units) cancel its consumption, in whatever order the rows come.
    let mut out: HashMap<String, (Consumption, [i64; 4])> = HashMap::new();
    for row in rows {
        let key: String = row.try_get("usage_key")?;
        let item: String = row.try_get("item")?;
        let item: Item = item
            .parse()
            .map_err(|e: BillingError| corrupt(e.to_string()))?;
        let units: i64 = row.try_get("units")?;
        let source: String = row.try_get("source")?;
        let (c, sums) = out.entry(key).or_insert_with(|| {
            (
                Consumption {
                    account: 0,
                    item,
                    month: String::new(),
                    units: 0,
                    free: 0,
                    pack: 0,
                    postpaid: 0,
                    replayed: true,
                },
                [0; 4],
            )
        });
        c.account = row.try_get("account_id")?;
        c.month = row.try_get("month")?;
        sums[0] += units;
        match source.as_str() {
            "free" => sums[1] += units,
            "pack" => sums[2] += units,
            _ => sums[3] += units,
        }
    }
    Ok(out
        .into_iter()
        .map(|(key, (mut c, sums))| {
            let [units, free, pack, postpaid] = sums.map(|s| s.max(0) as u64);
            c.units = units;
            c.free = free;
            c.pack = pack;
            c.postpaid = postpaid;
            (key, c)
        })
        .collect())
}

/// Where a month read back from an `IN (months)` query is in the sorted `months`.
fn month_index(months: &[&str], month: &str) -> Result<usize, sqlx::Error> {
    months
        .binary_search(&month)
        .map_err(|_| corrupt(format!("month {month:?} was not asked for")))
}

async fn load_counters(
    conn: &mut AnyConnection,
    ids: &[i64],
    months: &[&str],
) -> Result<HashMap<(i64, Item, usize), Counter>, sqlx::Error> {
    let rows = select_in(
        conn,
        "SELECT account_id, month, item, calls, free_units, pack_units, postpaid_units \
         FROM billing_monthly WHERE account_id",
        ids,
        months,
        Some("month"),
    )
    .await?;
    let mut out = HashMap::new();
    for row in rows {
        let item: String = row.try_get("item")?;
        let item: Item = item
            .parse()
            .map_err(|e: BillingError| corrupt(e.to_string()))?;
        let month: String = row.try_get("month")?;
        let month = month_index(months, &month)?;
        out.insert(
            (row.try_get("account_id")?, item, month),
            Counter {
                calls: row.try_get("calls")?,
                free: row.try_get("free_units")?,
                pack: row.try_get("pack_units")?,
                postpaid: row.try_get("postpaid_units")?,
                dirty: false,
            },
        );
    }
    Ok(out)
}

async fn load_settled(
    conn: &mut AnyConnection,
    ids: &[i64],
    months: &[&str],
) -> Result<HashSet<(i64, usize)>, sqlx::Error> {
    let rows = select_in(
        conn,
        "SELECT account_id, month FROM billing_settlements WHERE account_id",
        ids,
        months,
        Some("month"),
    )
    .await?;
    rows.iter()
        .map(|r| {
            let month: String = r.try_get("month")?;
            Ok((r.try_get("account_id")?, month_index(months, &month)?))
        })
        .collect()
}

async fn load_packs(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<(i64, Item), Vec<PackState>>, sqlx::Error> {
    let rows = select_in(
        conn,
        "SELECT id, account_id, item, size, purchased_us, expires_us, remaining, low_notified, \
         exhausted_notified FROM billing_packs WHERE remaining > 0 AND voided_us IS NULL AND account_id",
        ids,
        &[],
        None,
    )
    .await?;
    let mut out: HashMap<(i64, Item), Vec<PackState>> = HashMap::new();
    for row in rows {
        let item: String = row.try_get("item")?;
        let item: Item = item
            .parse()
            .map_err(|e: BillingError| corrupt(e.to_string()))?;
        out.entry((row.try_get("account_id")?, item))
            .or_default()
            .push(PackState {
                id: row.try_get("id")?,
                size: row.try_get("size")?,
                purchased_us: row.try_get("purchased_us")?,
                expires_us: row.try_get("expires_us")?,
                remaining: row.try_get("remaining")?,
                low_notified: row.try_get::<i64, _>("low_notified")? != 0,
                exhausted_notified: row.try_get::<i64, _>("exhausted_notified")? != 0,
                dirty: false,
            });
    }
    // Rule 3: earliest expiry first, ties earliest purchase.
    for stack in out.values_mut() {
        stack.sort_by_key(|p| (p.expires_us, p.purchased_us, p.id));
    }
    Ok(out)
}

/// Inserts the usage rows in statements of at most 1024 rows. The last statement is padded
/// to a power of two by repeating its last row (ignored as a duplicate), so a batch takes
/// one to a few round trips over a handful of cached statement shapes. If fewer rows than
/// expected went in, a key is stored already (a replay the batch did not look up, or a key
/// another node recorded since we looked): the batch fails and is consumed again, when
/// those keys are seen as replays.
///
/// On SQLite the statement is `INSERT OR IGNORE` rather than `ON CONFLICT … DO NOTHING`: with
/// the latter a NOT NULL failure could still abort the statement half-way, so SQLite keeps a
/// statement journal, copying every page the 1024-row insert touches. Nothing is lost by
/// ignoring: any row not inserted, whatever the reason, fails the batch below.
async fn insert_usage(
    conn: &mut AnyConnection,
    d: Dialect,
    rows: &[UsageRow<'_>],
) -> Result<(), sqlx::Error> {
    let (verb, conflict) = match d {
        Dialect::Sqlite => ("INSERT OR IGNORE", ""),
        Dialect::Postgres => ("INSERT", " ON CONFLICT (usage_key, part) DO NOTHING"),
    };
    for chunk in rows.chunks(1024) {
        let n = sql::padded(chunk.len());
        let q = format!(
            "{verb} INTO billing_usage (usage_key, part, account_id, item, action, month, at_us, \
             units, source, pack_id) VALUES {}{conflict}",
            sql::value_rows(d, n, 10)
        );
        let mut query = sqlx::query(&q);
        for i in 0..n {
            let r = &chunk[i.min(chunk.len() - 1)];
            query = query
                .bind(r.key)
                .bind(r.part)
                .bind(r.account)
                .bind(r.item.as_str())
                .bind(r.action)
                .bind(r.month)
                .bind(r.at_us)
                .bind(r.units)
                .bind(r.source)
                .bind(r.pack_id);
        }
        let done = query.execute(&mut *conn).await?;
        if done.rows_affected() != chunk.len() as u64 {
            return Err(sqlx::Error::Protocol(format!(
                "{} of {} {KEYS_RACE}",
                chunk.len() as u64 - done.rows_affected().min(chunk.len() as u64),
                chunk.len()
            )));
        }
    }
    Ok(())
}

async fn store_counters(
    conn: &mut AnyConnection,
    counters: &HashMap<(i64, Item, usize), Counter>,
    months: &[String],
) -> Result<(), sqlx::Error> {
    let dirty: Vec<(&(i64, Item, usize), &Counter)> =
        counters.iter().filter(|(_, c)| c.dirty).collect();
    let d = Dialect::of(conn)?;
    let mut rest = dirty.as_slice();
    for n in sql::pow2_chunks(dirty.len(), 256) {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        // Absolute values: the batch holds the accounts' locks, so nobody else wrote them.
        let q = format!(
            "INSERT INTO billing_monthly (account_id, month, item, calls, free_units, pack_units, \
             postpaid_units) VALUES {} ON CONFLICT (account_id, month, item) DO UPDATE SET \
             calls = excluded.calls, free_units = excluded.free_units, \
             pack_units = excluded.pack_units, postpaid_units = excluded.postpaid_units",
            sql::value_rows(d, n, 7)
        );
        let mut query = sqlx::query(&q);
        for ((account, item, month), c) in chunk {
            query = query
                .bind(*account)
                .bind(months[*month].as_str())
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

async fn store_packs(
    conn: &mut AnyConnection,
    packs: &HashMap<(i64, Item), Vec<PackState>>,
) -> Result<(), sqlx::Error> {
    for p in packs.values().flatten().filter(|p| p.dirty) {
        sqlx::query(
            "UPDATE billing_packs SET remaining = $1, low_notified = $2, exhausted_notified = $3 \
             WHERE id = $4",
        )
        .bind(p.remaining)
        .bind(i64::from(p.low_notified))
        .bind(i64::from(p.exhausted_notified))
        .bind(p.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
