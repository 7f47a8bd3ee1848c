//! Test databases: a temporary SQLite file, or a fresh schema in the test PostgreSQL
//! (RENLIAN_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test), dropped at the end.
#![allow(dead_code)]

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use billing::{Billing, BillingConfig};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

pub struct TestDb {
    pub pool: AnyPool,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

fn unique_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let h = std::collections::hash_map::RandomState::new().hash_one((
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now(),
    ));
    format!("t_{h:016x}")
}

/// SQLite as `renlian` opens it: WAL, synchronous FULL (or RENLIAN_SQLITE_SYNCHRONOUS).
pub async fn sqlite_pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    let sync = if std::env::var("RENLIAN_SQLITE_SYNCHRONOUS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("normal"))
    {
        "PRAGMA synchronous = NORMAL"
    } else {
        "PRAGMA synchronous = FULL"
    };
    AnyPoolOptions::new()
        .max_connections(4)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute(sync).await?;
                conn.execute("PRAGMA busy_timeout = 30000").await?;
                conn.execute("PRAGMA cache_size = -65536").await?;
                conn.execute("PRAGMA wal_autocheckpoint = 16384").await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .unwrap()
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("billing.db").display()
    );
    TestDb {
        pool: sqlite_pool(&url).await,
        url,
        _dir: Some(dir),
        schema: None,
    }
}

pub fn postgres_url() -> String {
    std::env::var("RENLIAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub async fn postgres() -> TestDb {
    sqlx::any::install_default_drivers();
    let admin = postgres_url();
    let schema = unique_name();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&admin)
        .await
        .expect("PostgreSQL for tests (RENLIAN_TEST_POSTGRES)");
    pool.execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    pool.close().await;
    let sep = if admin.contains('?') { '&' } else { '?' };
    let url = format!("{admin}{sep}options=-csearch_path%3D{schema}");
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .unwrap();
    TestDb {
        pool,
        url,
        _dir: None,
        schema: Some((admin, schema)),
    }
}

impl TestDb {
    pub async fn billing(&self) -> Billing {
        Billing::open(self.pool.clone(), BillingConfig::default())
            .await
            .unwrap()
    }

    pub async fn close(self) {
        self.pool.close().await;
        if let Some((admin, schema)) = &self.schema {
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect(admin)
                .await
                .unwrap();
            pool.execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

/// Runs an async scenario `fn name(b: Billing)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::support::sqlite().await;
                super::$name(db.billing().await).await;
                db.close().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::support::postgres().await;
                super::$name(db.billing().await).await;
                db.close().await;
            }
        }
    )*};
}

/// An instant from RFC 3339 text.
pub fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

/// A month from `YYYY-MM`.
pub fn m(s: &str) -> billing::Month {
    s.parse().unwrap()
}

/// A new account in billing time zone `tz`, created at the start of 2026.
pub async fn account(b: &Billing, name: &str, tz: &str) -> i64 {
    b.create_account(
        billing::NewAccount {
            name: name.into(),
            time_zone: Some(tz.into()),
            ..Default::default()
        },
        t("2026-01-01T00:00:00Z"),
    )
    .await
    .unwrap()
}

/// An account's units in `billing_usage` per source (`free`, `pack`, `postpaid`), voids'
/// negative rows included; a source without rows is absent.
pub async fn usage_by_source(
    pool: &AnyPool,
    account: i64,
) -> std::collections::HashMap<String, i64> {
    use sqlx::Row;
    let mut out = std::collections::HashMap::new();
    for r in sqlx::query("SELECT source, units FROM billing_usage WHERE account_id = $1")
        .bind(account)
        .fetch_all(pool)
        .await
        .unwrap()
    {
        *out.entry(r.try_get(0).unwrap()).or_default() += r.try_get::<i64, _>(1).unwrap();
    }
    out
}
