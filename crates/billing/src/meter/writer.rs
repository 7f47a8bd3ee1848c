//! The group-commit writer task: one per process, it takes every record from the
//! channel, gathers whatever has queued up into one batch, consumes the batch in one
//! transaction and answers each caller only after the commit.
//!
//! On PostgreSQL the transaction locks the balance rows of the batch's accounts first, so
//! several processes sharing one database serialise per account and never consume a unit
//! twice. On SQLite it takes the database's write lock (`BEGIN IMMEDIATE`) and runs on the
//! state the writer kept from its last batch when nothing else has committed since
//! (`cache`).

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use db::Dialect;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection};
use tokio::sync::mpsc;

use super::cache::StateCache;
use super::rows::{self, AccountInfo};
use super::rule::{self, Counter, Effects, PackState};
use super::{Consumption, Job, Pending};
use crate::account::{lock_balances, Balance};
use crate::catalogue::Item;
use crate::daily::{add_days, day_label, day_of, DayDelta};
use crate::error::BillingError;
use crate::notice::insert_notices;

/// Each record's answer, in batch order.
type Answers = Vec<Result<Consumption, BillingError>>;

/// Why a batch as a whole did not commit: the control flow of [`Writer::process`].
#[derive(Debug, thiserror::Error)]
pub(super) enum BatchError {
    /// Fewer usage rows went in than the batch made: some of its keys are stored already
    /// (a replay the first pass did not look up, or a key another node recorded since).
    #[error("{stored} of {rows} usage keys appeared concurrently")]
    KeysRace { stored: u64, rows: u64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A failure of the crate's own (stored data that cannot be read back).
    #[error(transparent)]
    Billing(BillingError),
}

impl From<BillingError> for BatchError {
    fn from(e: BillingError) -> BatchError {
        match e {
            BillingError::Database(e) => BatchError::Database(e),
            other => BatchError::Billing(other),
        }
    }
}

impl BatchError {
    /// Consuming the batch again, looking up its stored keys first, may succeed: keys
    /// that appeared meanwhile (seen by the row count, or as a unique violation), or a
    /// PostgreSQL serialization failure or deadlock.
    fn worth_a_lookup_pass(&self) -> bool {
        match self {
            BatchError::KeysRace { .. } => true,
            BatchError::Database(e) => {
                db::is_unique_violation(e) || db::is_serialization_failure(e)
            }
            BatchError::Billing(_) => false,
        }
    }
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
        cache: None,
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
        settle_queue(&rx, max_batch).await;
        if rx.is_empty() {
            // Idle: give the connection back to the pool until the next record arrives. The
            // kept state goes with it: it is checked against this connection's
            // `data_version`, which another connection does not share.
            conn = None;
            writer.cache = None;
        }
    }
}

/// Lets the callers just answered send their next records before the next batch is
/// taken: they run on the runtime's threads while the writer yields, and the writer goes on
/// once the queue stops growing (or holds a full batch). Without this, under load the
/// writer took the few records already queued as a batch of their own, paying a whole
/// transaction and fsync for them, while the thousands being resubmitted made the batch
/// after: batch sizes alternated 4,095 / a few hundred (4,096 callers, 1,000 accounts). An
/// idle writer (nothing new after one yield) goes on at once.
async fn settle_queue(rx: &mpsc::Receiver<Pending>, max_batch: usize) {
    let mut queued = rx.len();
    loop {
        tokio::task::yield_now().await;
        let now = rx.len();
        if now == queued || now >= max_batch {
            return;
        }
        queued = now;
    }
}

struct Writer {
    dialect: Dialect,
    pool: AnyPool,
    accounts: HashMap<i64, AccountInfo>,
    /// SQLite only: the state the last committed batch left, valid on the connection
    /// kept for the next batch.
    cache: Option<StateCache>,
}

/// The state a batch's consumption rule runs on, read in its transaction (or taken from
/// the cache). Months are indexes into the batch's sorted month labels.
struct BatchState {
    balances: HashMap<i64, Balance>,
    counters: HashMap<(i64, Item, usize), Counter>,
    settled: HashSet<(i64, usize)>,
    packs: HashMap<(i64, Item), Vec<PackState>>,
}

impl Writer {
    /// Consumes and answers one batch on `conn` (or a connection from the pool); returns
    /// the connection to keep for the next batch, `None` after a failure.
    async fn process(
        &mut self,
        conn: Option<PoolConnection<Any>>,
        batch: Vec<Pending>,
    ) -> Option<PoolConnection<Any>> {
        // The cache is taken out for the batch and put back only if it commits; a new
        // connection starts without one.
        let mut cache = if conn.is_some() {
            self.cache.take()
        } else {
            self.cache = None;
            None
        };
        let mut conn = match conn {
            Some(conn) => conn,
            None => match self.pool.acquire().await {
                Ok(conn) => conn,
                Err(e) => return fail(batch, &e),
            },
        };
        if let Err(e) = self.load_accounts(&mut conn, &batch).await {
            return fail(batch, &e);
        }
        // The first pass assumes no key of the batch is stored yet (replays are rare) and
        // skips looking them up: the insert's row count proves it, and a batch that meets a
        // stored key is rolled back and consumed again with the lookup, which answers the
        // replays. Another process may also record one of these keys between our read and
        // write (PostgreSQL, several nodes): one more pass sees it as a replay.
        let mut outcome = self.consume(&mut conn, &batch, false, &mut cache).await;
        for _ in 0..2 {
            match &outcome {
                Err(e) if e.worth_a_lookup_pass() => {
                    // Read everything again: nothing of a failed pass is trusted.
                    cache = None;
                    outcome = self.consume(&mut conn, &batch, true, &mut cache).await;
                }
                _ => break,
            }
        }
        // Kept only after a clean batch: after a failure the pool gets it back (and
        // checks or replaces it), the next batch takes another.
        match outcome {
            Ok(results) => {
                self.cache = cache;
                for (p, r) in batch.into_iter().zip(results) {
                    let _ = p.reply.send(r);
                }
                Some(conn)
            }
            Err(e) => {
                tracing::error!(error = %e, "metering batch failed");
                fail(batch, &e)
            }
        }
    }

    /// Caches the accounts of the batch not seen before.
    async fn load_accounts(
        &mut self,
        conn: &mut AnyConnection,
        batch: &[Pending],
    ) -> Result<(), BillingError> {
        let missing: Vec<i64> = unique(batch.iter().map(|p| p.job.account()))
            .into_iter()
            .filter(|id| !self.accounts.contains_key(id))
            .collect();
        self.accounts
            .extend(rows::load_accounts(conn, self.dialect, &missing).await?);
        Ok(())
    }

    /// One transaction for the whole batch: loads the state, runs the consumption rule
    /// over the records in order, writes back what changed. `Err` only for the batch as a
    /// whole; a record's own refusal (unknown account, arrears, closed month) is its entry
    /// in the answers.
    ///
    /// `lookup`: first look up which keys are stored (replays); without it, a stored key
    /// makes the insert fail the batch ([`BatchError::KeysRace`]).
    ///
    /// `cache` (SQLite): the kept state, used if still current and replaced if not; it
    /// takes in the batch's changes once committed.
    async fn consume(
        &self,
        conn: &mut AnyConnection,
        batch: &[Pending],
        lookup: bool,
        cache: &mut Option<StateCache>,
    ) -> Result<Answers, BatchError> {
        let mut tx = match self.dialect {
            Dialect::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => conn.begin().await?,
        };
        let ids: Vec<i64> = unique(batch.iter().map(|p| p.job.account()))
            .into_iter()
            .filter(|id| self.accounts.contains_key(id))
            .collect();

        // Each record's calendar day in its account's time zone. Days and months are
        // referred to by their index in `days` / `months` from here on; the batch's few
        // distinct days are formatted once each.
        let job_days: Vec<Option<NaiveDate>> = batch
            .iter()
            .map(|p| {
                self.accounts
                    .get(&p.job.account())
                    .map(|a| day_of(p.job.at(), a.tz))
            })
            .collect();
        let dates: Vec<NaiveDate> = unique(job_days.iter().flatten().copied());
        let days: Vec<String> = dates.iter().map(|d| day_label(*d)).collect();
        let months: Vec<String> = unique(dates.iter().map(|d| month_label(*d)));
        let day_months: Vec<usize> = dates
            .iter()
            .map(|d| {
                let m = month_label(*d);
                months.binary_search(&m).unwrap_or_default()
            })
            .collect();
        let month_refs: Vec<&str> = months.iter().map(String::as_str).collect();
        let BatchState {
            balances,
            mut counters,
            settled,
            mut packs,
        } = match self.dialect {
            Dialect::Sqlite => {
                let wanted = unique(batch.iter().zip(&job_days).filter_map(|(p, day)| {
                    let day = dates.binary_search(&(*day)?).ok()?;
                    Some((p.job.account(), p.job.item(), day_months[day]))
                }));
                load_cached(&mut tx, &ids, &month_refs, &wanted, cache).await?
            }
            Dialect::Postgres => load_state(&mut tx, &ids, &month_refs).await?,
        };
        let stored = if lookup {
            let keys: Vec<&str> = unique(batch.iter().map(|p| p.job.key()));
            rows::load_existing(&mut tx, &keys).await?
        } else {
            HashMap::new()
        };

        let mut effects = Effects {
            rows: Vec::with_capacity(batch.len()),
            notices: Vec::new(),
        };
        let mut results: Answers = Vec::with_capacity(batch.len());
        // What the batch adds to each account's day and item (`billing_daily`).
        let mut daily: HashMap<(i64, Item, usize), DayDelta> = HashMap::new();
        // Keys consumed earlier in this batch, with the index of their result.
        let mut fresh: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
        // Enrolments consumed now (not replays): their pending rows.
        let mut enrolments: Vec<&Job> = Vec::new();
        for (p, day) in batch.iter().zip(&job_days) {
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
            let day_index = day.and_then(|d| dates.binary_search(&d).ok());
            let (Some(info), Some(balance), Some(day_index)) = (
                self.accounts.get(&account),
                balances.get(&account),
                day_index,
            ) else {
                results.push(Err(BillingError::UnknownAccount(account)));
                continue;
            };
            let month_index = day_months[day_index];
            let month = months[month_index].as_str();
            if settled.contains(&(account, month_index)) {
                results.push(Err(BillingError::MonthClosed {
                    account,
                    month: month.to_string(),
                }));
                continue;
            }
            let outcome = rule::consume(
                job,
                month,
                balance.state(),
                &info.contact,
                counters
                    .entry((account, job.item(), month_index))
                    .or_default(),
                packs.entry((account, job.item())).or_default(),
                &mut effects,
            );
            if let Ok(c) = &outcome {
                daily
                    .entry((account, job.item(), day_index))
                    .or_default()
                    .add_consumption(c);
                fresh.insert(key, results.len());
                if job.is_enrolment() {
                    enrolments.push(job);
                }
            }
            results.push(outcome);
        }

        rows::insert_usage(&mut tx, self.dialect, &effects.rows, !lookup).await?;
        rows::store_counters(&mut tx, &counters, &months).await?;
        add_days(&mut tx, &daily, &days).await?;
        rows::store_packs(&mut tx, &packs).await?;
        if !effects.notices.is_empty() {
            // The cached contacts may be stale (`Billing::set_contact`, on any node): a
            // notice goes where the account's contacts say now. Notices are rare (two per
            // pack at most), so this read costs the batches nothing.
            let ids = unique(effects.notices.iter().map(|n| n.account));
            let now = rows::load_accounts(&mut tx, self.dialect, &ids).await?;
            for n in &mut effects.notices {
                if let Some(info) = now.get(&n.account) {
                    n.email.clone_from(&info.contact.email);
                    n.phone.clone_from(&info.contact.phone);
                }
            }
        }
        insert_notices(&mut tx, &effects.notices).await?;
        rows::insert_enrolments(&mut tx, &enrolments).await?;
        tx.commit().await?;
        if let Some(cache) = cache {
            cache.absorb(counters, &months, packs);
        }
        Ok(results)
    }
}

/// The batch's state read in its transaction, the balance rows locked first
/// (PostgreSQL: other nodes' writers wait on them).
async fn load_state(
    conn: &mut AnyConnection,
    ids: &[i64],
    months: &[&str],
) -> Result<BatchState, BatchError> {
    Ok(BatchState {
        balances: lock_balances(conn, ids).await?,
        counters: rows::load_counters(conn, ids, months).await?,
        settled: rows::load_settled(conn, ids, months).await?,
        packs: rows::load_packs(conn, ids).await?,
    })
}

/// The batch's state from the cache, reading only what it lacks (SQLite, in a
/// `BEGIN IMMEDIATE` transaction). The cache is replaced by an empty one first when another
/// connection has committed since it was filled. `wanted`: the batch's (account, item,
/// month index) triples, the counters it will touch.
async fn load_cached(
    conn: &mut AnyConnection,
    ids: &[i64],
    months: &[&str],
    wanted: &[(i64, Item, usize)],
    cache: &mut Option<StateCache>,
) -> Result<BatchState, BatchError> {
    let version: i64 = sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(&mut *conn)
        .await?;
    let cache = match cache {
        Some(c) if c.is_current(version) => c,
        _ => cache.insert(StateCache::new(version)),
    };

    let new: Vec<i64> = ids
        .iter()
        .filter(|id| !cache.accounts.contains(id))
        .copied()
        .collect();
    if !new.is_empty() {
        cache.balances.extend(lock_balances(conn, &new).await?);
        cache.packs.extend(rows::load_packs(conn, &new).await?);
        cache.accounts.extend(&new);
    }
    for &label in months {
        let month = cache.months.entry(label.to_string()).or_default();
        let new: Vec<i64> = ids
            .iter()
            .filter(|id| !month.loaded.contains(id))
            .copied()
            .collect();
        if new.is_empty() {
            continue;
        }
        let one = [label];
        for ((account, item, _), c) in rows::load_counters(conn, &new, &one).await? {
            month.counters.entry((account, item)).or_insert(c);
        }
        for (account, _) in rows::load_settled(conn, &new, &one).await? {
            month.settled.insert(account);
        }
        month.loaded.extend(&new);
    }

    let mut state = BatchState {
        balances: HashMap::with_capacity(ids.len()),
        counters: HashMap::with_capacity(wanted.len()),
        settled: HashSet::new(),
        packs: HashMap::new(),
    };
    for id in ids {
        if let Some(b) = cache.balances.get(id) {
            state.balances.insert(*id, *b);
        }
    }
    for (i, &label) in months.iter().enumerate() {
        if let Some(month) = cache.months.get(label) {
            state.settled.extend(
                ids.iter()
                    .filter(|id| month.settled.contains(id))
                    .map(|id| (*id, i)),
            );
        }
    }
    for &(account, item, month) in wanted {
        if let Some(c) = cache
            .months
            .get(months[month])
            .and_then(|m| m.counters.get(&(account, item)))
        {
            state.counters.insert((account, item, month), *c);
        }
        if let Some(stack) = cache.packs.get(&(account, item)) {
            state.packs.insert((account, item), stack.clone());
        }
    }
    Ok(state)
}

/// Answers every record of a batch that could not be committed; the connection goes back
/// to the pool.
fn fail(batch: Vec<Pending>, e: &dyn std::fmt::Display) -> Option<PoolConnection<Any>> {
    let msg = e.to_string();
    for p in batch {
        let _ = p.reply.send(Err(BillingError::Storage(msg.clone())));
    }
    None
}

/// `YYYY-MM`, as [`crate::time::Month`] writes it (and the prefix of [`day_label`]).
fn month_label(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn unique<T: Ord + Clone, I: IntoIterator<Item = T>>(it: I) -> Vec<T> {
    let mut v: Vec<T> = it.into_iter().collect();
    v.sort();
    v.dedup();
    v
}
