//! Printed figures, not a timed test:
//! - sustained metering throughput, every acknowledged call durable (SQLite WAL with
//!   synchronous=FULL; PostgreSQL with its default synchronous_commit=on), many concurrent
//!   callers sharing the group-commit writer;
//! - month-end settlement time for 100,000 accounts.
//!
//! - the reference beside each metering run: the same number of per-call rows inserted into
//!   a table shaped as `billing_usage` (same columns, keys and indexes), in batches of the
//!   callers' count, 1024-row statements, one committed transaction per batch, through the
//!   same pool: the limit of batched durable inserts that the metering writer cannot beat.
//!
//! Both key their rows as the API keys its calls: by RequestIds, version-7 UUIDs (time
//! first). BENCH_KEY_ORDER=random keys them by random version-4 UUIDs instead.
//!
//! `cargo bench --workspace --bench metering`; BENCH_SECONDS (default 5), BENCH_CALLERS
//! (default 2048), BENCH_ACCOUNTS (settlement, default 100000; 0 skips it),
//! BENCH_SPREADS (metering account counts, default "1,1000"), BENCH_REFERENCE (0: leave the
//! reference out), BENCH_BACKENDS (default "sqlite,postgres"). `bench/metering` runs it and writes docs/performance.md's table.
//! Under `cargo test` (no `--bench` argument) it only does a short smoke run of the same code.

#[path = "../tests/it/support.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use billing::{Billing, Item, Month, NewAccount};
use chrono::{DateTime, Utc};

/// CPU time used by this process so far (all threads, user + system), from /proc: on a
/// shared machine the CPU per call is a steadier figure than calls per second.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration we run on.
    Some(Duration::from_millis(ticks * 10))
}

/// Whether calls carry random (version 4) UUIDs as their keys rather than time-ordered
/// (version 7) ones as the API's RequestIds are: BENCH_KEY_ORDER=random.
fn random_ids() -> bool {
    std::env::var("BENCH_KEY_ORDER").is_ok_and(|v| v == "random")
}

/// A call's key as the API makes its RequestIds (or a random UUID, see [`random_ids`]).
fn request_id(random: bool) -> String {
    if random {
        uuid::Uuid::new_v4().to_string()
    } else {
        uuid::Uuid::now_v7().to_string()
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn metering(b: &Billing, label: &str, accounts: usize, callers: u64, window: Duration) {
    let mut ids = Vec::new();
    for i in 0..accounts {
        ids.push(
            b.create_account(
                NewAccount {
                    name: format!("bench{i}"),
                    ..Default::default()
                },
                Utc::now(),
            )
            .await
            .unwrap(),
        );
    }
    let ids = Arc::new(ids);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let random_ids = random_ids();
    // A short warm-up, then the measured window.
    let start = Instant::now();
    for c in 0..callers {
        let (b, done, stop, ids) = (b.clone(), done.clone(), stop.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let account = ids[(c as usize + n as usize) % ids.len()];
                let id = request_id(random_ids);
                b.record_call(account, Item::Detect, "DetectFace", &id, Utc::now())
                    .await
                    .unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        }));
    }
    tokio::time::sleep(window / 5).await;
    let (t0, n0, c0) = (Instant::now(), done.load(Ordering::Relaxed), process_cpu());
    tokio::time::sleep(window).await;
    let (t1, n1, c1) = (Instant::now(), done.load(Ordering::Relaxed), process_cpu());
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let rate = (n1 - n0) as f64 / (t1 - t0).as_secs_f64();
    let cpu = match (c0, c1) {
        (Some(c0), Some(c1)) if n1 > n0 => format!(
            "; {:.1} us CPU per call, {:.2} cores busy",
            (c1 - c0).as_secs_f64() * 1e6 / (n1 - n0) as f64,
            (c1 - c0).as_secs_f64() / (t1 - t0).as_secs_f64()
        ),
        _ => String::new(),
    };
    println!(
        "metering {label}: {accounts} account(s), {callers} concurrent callers: {rate:.0} calls/s \
         durable ({} calls in {:.1} s measured, {:.1} s total{cpu})",
        n1 - n0,
        (t1 - t0).as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
}

/// The reference: per-call rows as the metering writer makes them, inserted in batches of
/// `batch` rows (1024-row statements, one committed transaction per batch), for `window`.
/// Returns rows per second.
async fn reference(b: &Billing, label: &str, batch: usize, window: Duration) -> f64 {
    let pool = b.pool();
    let sqlite = pool.connect_options().database_url.scheme() == "sqlite";
    let table = format!("bench_reference_{}", label.replace('-', "_"));
    sqlx::query(&format!(
        "CREATE TABLE {table} (usage_key TEXT NOT NULL, part BIGINT NOT NULL, \
         account_id BIGINT NOT NULL, item TEXT NOT NULL, action TEXT NOT NULL, \
         month TEXT NOT NULL, at_us BIGINT NOT NULL, units BIGINT NOT NULL, \
         source TEXT NOT NULL, pack_id BIGINT, PRIMARY KEY (usage_key, part))"
    ))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(&format!("CREATE INDEX {table}_at ON {table} (at_us, part)"))
        .execute(pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let param = |i: usize| {
        if sqlite {
            "?".to_string()
        } else {
            format!("${i}")
        }
    };
    let statement = |rows: usize| {
        let mut values = String::new();
        for r in 0..rows {
            values.push_str(if r == 0 { "(" } else { ",(" });
            for c in 0..10 {
                if c > 0 {
                    values.push(',');
                }
                values.push_str(&param(r * 10 + c + 1));
            }
            values.push(')');
        }
        format!(
            "INSERT INTO {table} (usage_key, part, account_id, item, action, month, at_us, \
             units, source, pack_id) VALUES {values}"
        )
    };
    let full = statement(1024.min(batch));
    let random_ids = random_ids();
    let mut measured = 0u64;
    let start = Instant::now();
    let from = start + window / 5;
    let until = from + window;
    while Instant::now() < until {
        let counting = Instant::now() >= from;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        // Keys as the metering callers make them.
        let keys: Vec<String> = (0..batch).map(|_| request_id(random_ids)).collect();
        let at_us = Utc::now().timestamp_micros();
        for chunk in keys.chunks(1024) {
            let tail;
            let q = if chunk.len() == 1024.min(batch) {
                &full
            } else {
                tail = statement(chunk.len());
                &tail
            };
            let mut query = sqlx::query(q);
            for (i, key) in chunk.iter().enumerate() {
                query = query
                    .bind(key.as_str())
                    .bind(0i64)
                    .bind(1_000_000i64 + i as i64 % 1000)
                    .bind("detect")
                    .bind("DetectFace")
                    .bind("2026-12")
                    .bind(at_us)
                    .bind(1i64)
                    .bind("free")
                    .bind(None::<i64>);
            }
            query.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        if counting {
            measured += batch as u64;
        }
    }
    let rate = measured as f64 / (Instant::now() - from).as_secs_f64();
    println!(
        "reference {label}: {batch} rows per transaction: {rate:.0} rows/s durable ({measured} rows)"
    );
    rate
}

/// 100,000 accounts with January usage on two items, written directly (setup, not measured).
async fn settlement(b: &Billing, label: &str, accounts: usize) {
    let pool = b.pool();
    let setup = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    let now_us = Utc::now().timestamp_micros();
    let first: i64 = 1_000_000;
    for chunk in (0..accounts).collect::<Vec<_>>().chunks(500) {
        let mut q1 = String::from(
            "INSERT INTO billing_accounts (id, name, tz, email, phone, created_us) VALUES ",
        );
        let mut q2 =
            String::from("INSERT INTO billing_balances (account_id, balance, frozen, seq) VALUES ");
        let mut q3 = String::from("INSERT INTO billing_monthly (account_id, month, item, calls, free_units, pack_units, postpaid_units) VALUES ");
        for (k, i) in chunk.iter().enumerate() {
            let id = first + *i as i64;
            let sep = if k == 0 { "" } else { "," };
            q1.push_str(&format!(
                "{sep}({id}, 'a{id}', 'Asia/Shanghai', NULL, NULL, {now_us})"
            ));
            q2.push_str(&format!("{sep}({id}, '1000.00', '0', 0)"));
            let calls = 10_000 + (*i as i64 % 5000) * 997;
            q3.push_str(&format!(
                "{sep}({id}, '2026-01', 'detect', {calls}, 10000, 0, {}),({id}, '2026-01', 'search', 20000, 10000, 0, 10000)",
                calls - 10_000
            ));
        }
        for q in [q1, q2, q3] {
            sqlx::query(&q).execute(&mut *tx).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    let setup = setup.elapsed();
    let at: DateTime<Utc> = "2026-02-01T00:00:00Z".parse().unwrap();
    let month: Month = "2026-01".parse().unwrap();
    let t0 = Instant::now();
    let r = b.settle_month(month, at).await.unwrap();
    let took = t0.elapsed();
    assert!(r.settled as usize >= accounts);
    let t1 = Instant::now();
    let again = b.settle_month(month, at).await.unwrap();
    let took_again = t1.elapsed();
    assert!(again.already_settled as usize >= accounts);
    println!(
        "settlement {label}: {accounts} accounts settled in {:.2} s ({:.0} accounts/s; total {} CNY); \
         second run (no-op) {:.2} s; setup {:.1} s",
        took.as_secs_f64(),
        accounts as f64 / took.as_secs_f64(),
        r.total,
        took_again.as_secs_f64(),
        setup.as_secs_f64()
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let window = if bench {
        Duration::from_secs(env_u64("BENCH_SECONDS", 5))
    } else {
        Duration::from_millis(300)
    };
    let callers = if bench {
        env_u64("BENCH_CALLERS", 2048)
    } else {
        32
    };
    let accounts = if bench {
        env_u64("BENCH_ACCOUNTS", 100_000) as usize
    } else {
        2000
    };
    let spreads: Vec<usize> = if bench {
        std::env::var("BENCH_SPREADS")
            .unwrap_or_else(|_| "1,1000".into())
            .split(',')
            .map(|s| s.trim().parse().expect("BENCH_SPREADS: account counts"))
            .collect()
    } else {
        vec![1, 20]
    };
    if !bench {
        println!("smoke run (cargo bench prints the figures)");
    }
    // BENCH_REFERENCE=0 leaves the reference out (profiling the writer alone).
    let with_reference = std::env::var("BENCH_REFERENCE").map_or(true, |v| v != "0");
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for backend in backends.split(',') {
            let db = match backend {
                "sqlite" => support::sqlite().await,
                "postgres" => support::postgres().await,
                other => panic!("unknown backend {other}"),
            };
            let b = db.billing().await;
            for &spread in &spreads {
                let label = format!("{backend}-{spread}");
                metering(&b, &label, spread, callers, window).await;
                if with_reference {
                    reference(&b, &label, callers as usize, window).await;
                }
            }
            if accounts > 0 {
                settlement(&b, backend, accounts).await;
            }
            db.close().await;
        }
    });
}
