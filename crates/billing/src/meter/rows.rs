//! Row I/O of a metering batch: reading the state the consumption rule runs on (accounts,
//! stored keys, monthly counters, settled months, packs) and writing back what it changed
//! (usage rows, counters, packs, pending enrolments). Everything but the accounts (cached
//! by the writer) in the batch's transaction.

use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use db::{sql, Dialect};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};

use super::rule::{Contact, Counter, PackState, UsageRow};
use super::writer::BatchError;
use super::{Consumption, Job};
use crate::catalogue::Item;
use crate::error::BillingError;
use crate::time::{parse_tz, to_micros};

/// What the writer needs of an account, cached: its time zone (never changes) and its
/// contacts (they may change: the writer reads them again when a batch raises a notice).
pub(super) struct AccountInfo {
    pub tz: Tz,
    pub contact: Contact,
}

/// The time zone and contacts of the accounts `ids` (those that exist).
pub(super) async fn load_accounts(
    conn: &mut AnyConnection,
    d: Dialect,
    ids: &[i64],
) -> Result<HashMap<i64, AccountInfo>, BillingError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(512) {
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
            out.insert(
                row.try_get("id")?,
                AccountInfo {
                    tz: parse_tz(&tz)?,
                    contact: Contact {
                        email: row.try_get("email")?,
                        phone: row.try_get("phone")?,
                    },
                },
            );
        }
    }
    Ok(out)
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
) -> Result<Vec<AnyRow>, BatchError> {
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

fn corrupt(what: String) -> BatchError {
    BatchError::Billing(BillingError::Corrupt(what))
}

pub(super) async fn load_existing(
    conn: &mut AnyConnection,
    keys: &[&str],
) -> Result<HashMap<String, Consumption>, BatchError> {
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
fn month_index(months: &[&str], month: &str) -> Result<usize, BatchError> {
    months
        .binary_search(&month)
        .map_err(|_| corrupt(format!("month {month:?} was not asked for")))
}

pub(super) async fn load_counters(
    conn: &mut AnyConnection,
    ids: &[i64],
    months: &[&str],
) -> Result<HashMap<(i64, Item, usize), Counter>, BatchError> {
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

pub(super) async fn load_settled(
    conn: &mut AnyConnection,
    ids: &[i64],
    months: &[&str],
) -> Result<HashSet<(i64, usize)>, BatchError> {
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

pub(super) async fn load_packs(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<(i64, Item), Vec<PackState>>, BatchError> {
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

/// Inserts the usage rows in statements of at most 1024 rows, over a handful of cached
/// statement shapes (row counts that are powers of two). If fewer rows than expected went
/// in, a key is stored already (a replay the batch did not look up, or a key another node
/// recorded since we looked): the batch fails and is consumed again, when those keys are
/// seen as replays ([`BatchError::KeysRace`]).
///
/// Where conflicts are skipped, the last statement is padded to a power of two by
/// repeating its last row (skipped as a duplicate): one to a few round trips a batch. On
/// SQLite the statement is `INSERT OR IGNORE` rather than `ON CONFLICT … DO NOTHING`: with
/// the latter a NOT NULL failure could still abort the statement half-way, so SQLite keeps a
/// statement journal, copying every page the 1024-row insert touches. Nothing is lost by
/// ignoring: any row not inserted, whatever the reason, fails the batch below.
///
/// On PostgreSQL a batch's first pass (`expect_new`: its keys were not looked up) uses a
/// plain `INSERT`, the rows split into power-of-two statements instead of padded (a
/// repeated row would now be a conflict): `ON CONFLICT` makes every row a speculative
/// insertion, 20-30 % of the reference's insert time here. A stored key then fails the
/// statement with a unique violation, and the batch is consumed again with the lookup, as
/// for [`BatchError::KeysRace`]; that pass skips conflicts (another node may still record
/// a key between its lookup and its insert).
pub(super) async fn insert_usage(
    conn: &mut AnyConnection,
    d: Dialect,
    rows: &[UsageRow<'_>],
    expect_new: bool,
) -> Result<(), BatchError> {
    let (verb, conflict, exact) = match d {
        Dialect::Sqlite => ("INSERT OR IGNORE", "", false),
        Dialect::Postgres if expect_new => ("INSERT", "", true),
        Dialect::Postgres => ("INSERT", " ON CONFLICT (usage_key, part) DO NOTHING", false),
    };
    let sizes: Vec<usize> = if exact {
        sql::pow2_chunks(rows.len(), 1024)
    } else {
        rows.chunks(1024).map(<[UsageRow]>::len).collect()
    };
    let mut rest = rows;
    for size in sizes {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
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
        let rows = chunk.len() as u64;
        if done.rows_affected() != rows {
            return Err(BatchError::KeysRace {
                stored: rows - done.rows_affected().min(rows),
                rows,
            });
        }
    }
    Ok(())
}

pub(super) async fn store_counters(
    conn: &mut AnyConnection,
    counters: &HashMap<(i64, Item, usize), Counter>,
    months: &[String],
) -> Result<(), BatchError> {
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

pub(super) async fn store_packs(
    conn: &mut AnyConnection,
    packs: &HashMap<(i64, Item), Vec<PackState>>,
) -> Result<(), BatchError> {
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

/// The pending rows of the enrolments the batch consumed (not replays): settled later by
/// confirmation or reconciliation.
pub(super) async fn insert_enrolments(
    conn: &mut AnyConnection,
    enrolments: &[&Job],
) -> Result<(), BatchError> {
    for job in enrolments {
        sqlx::query(
            "INSERT INTO billing_enrolments (usage_key, account_id, action, at_us) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(job.key())
        .bind(job.account())
        .bind(job.action())
        .bind(to_micros(job.at()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
