//! The migration runner on a real SQLite file and a fresh schema of the test PostgreSQL
//! (RENLIAN_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test).

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Row};

use db::{is_unique_violation, migrate, Dialect, Migration};

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres { admin: String, schema: String },
}

impl Place {
    async fn sqlite() -> Place {
        install_default_drivers();
        Place::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    async fn postgres() -> Place {
        install_default_drivers();
        static N: AtomicU64 = AtomicU64::new(0);
        let admin = std::env::var("RENLIAN_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!(
            "t_db_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros())
                .unwrap_or(0)
        );
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&admin)
            .await
            .expect("PostgreSQL for tests (RENLIAN_TEST_POSTGRES)");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .expect("create schema");
        pool.close().await;
        Place::Postgres { admin, schema }
    }

    /// A new pool of its own (so concurrent migrators use distinct connections).
    async fn pool(&self) -> AnyPool {
        let url = match self {
            Place::Sqlite(dir) => format!("sqlite://{}/db.db?mode=rwc", dir.path().display()),
            Place::Postgres { admin, schema } => {
                let sep = if admin.contains('?') { '&' } else { '?' };
                format!("{admin}{sep}options=-csearch_path%3D{schema}")
            }
        };
        AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .expect("test pool")
    }

    async fn drop(self) {
        if let Place::Postgres { admin, schema } = &self {
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect(admin)
                .await
                .expect("admin pool");
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&pool)
                .await
                .expect("drop schema");
            pool.close().await;
        }
    }
}

/// Runs `body` on SQLite, then on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let place = super::Place::sqlite().await;
                super::$name(&place).await;
                place.drop().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let place = super::Place::postgres().await;
                super::$name(&place).await;
                place.drop().await;
            }
        }
    )*};
}

on_both!(
    idempotent,
    later_versions_only,
    owners_apart,
    concurrent_migrators,
    failure_rolls_back,
    dialect_types,
    unique_violation,
);

// Not idempotent on purpose: run twice, they fail ("already exists", a duplicate key).
const V1: &[&str] = &[
    "CREATE TABLE t_items (id {ID}, name TEXT NOT NULL UNIQUE)",
    "INSERT INTO t_items (name) VALUES ('first')",
];
const V2: &[&str] = &["ALTER TABLE t_items ADD COLUMN note TEXT"];

async fn versions(pool: &AnyPool, owner: &str) -> Vec<i64> {
    sqlx::query_scalar(&format!(
        "SELECT version FROM {owner}_schema ORDER BY version"
    ))
    .fetch_all(pool)
    .await
    .expect("versions")
}

async fn count(pool: &AnyPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn idempotent(place: &Place) {
    let pool = place.pool().await;
    let all = [Migration::new(1, V1), Migration::new(2, V2)];
    assert_eq!(migrate(&pool, "t", &all).await.unwrap(), vec![1, 2]);
    for _ in 0..3 {
        assert_eq!(migrate(&pool, "t", &all).await.unwrap(), Vec::<i64>::new());
    }
    assert_eq!(versions(&pool, "t").await, vec![1, 2]);
    assert_eq!(count(&pool, "t_items").await, 1);
    pool.close().await;
}

async fn later_versions_only(place: &Place) {
    let pool = place.pool().await;
    assert_eq!(
        migrate(&pool, "t", &[Migration::new(1, V1)]).await.unwrap(),
        vec![1]
    );
    // The next release adds version 2: only it runs.
    let all = [Migration::new(1, V1), Migration::new(2, V2)];
    assert_eq!(migrate(&pool, "t", &all).await.unwrap(), vec![2]);
    sqlx::query("UPDATE t_items SET note = 'n'")
        .execute(&pool)
        .await
        .unwrap();
    // An older release (knows only version 1) leaves the newer schema alone.
    assert_eq!(
        migrate(&pool, "t", &[Migration::new(1, V1)]).await.unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(versions(&pool, "t").await, vec![1, 2]);
    pool.close().await;
}

async fn owners_apart(place: &Place) {
    let pool = place.pool().await;
    const A: &[&str] = &["CREATE TABLE a_things (x BIGINT)"];
    const B: &[&str] = &["CREATE TABLE b_things (x BIGINT)"];
    assert_eq!(
        migrate(&pool, "a", &[Migration::new(1, A)]).await.unwrap(),
        vec![1]
    );
    assert_eq!(
        migrate(&pool, "b", &[Migration::new(1, B)]).await.unwrap(),
        vec![1]
    );
    assert_eq!(versions(&pool, "a").await, vec![1]);
    assert_eq!(versions(&pool, "b").await, vec![1]);
    assert_eq!(count(&pool, "a_things").await, 0);
    assert_eq!(count(&pool, "b_things").await, 0);
    pool.close().await;
}

/// Several processes starting at once: one applies each version, the others wait for it
/// and find it done. Without the lock the non-idempotent V1 would fail in all but one.
async fn concurrent_migrators(place: &Place) {
    let mut pools = Vec::new();
    for _ in 0..4 {
        pools.push(place.pool().await);
    }
    let all = [Migration::new(1, V1), Migration::new(2, V2)];
    let runs: Vec<_> = pools
        .iter()
        .map(|pool| {
            let pool = pool.clone();
            tokio::spawn(async move { migrate(&pool, "t", &all).await })
        })
        .collect();
    let mut applied: Vec<i64> = Vec::new();
    for run in runs {
        applied.extend(
            run.await
                .expect("migrator task")
                .expect("every concurrent migrator succeeds"),
        );
    }
    applied.sort();
    assert_eq!(applied, vec![1, 2], "each version applied exactly once");
    assert_eq!(versions(&pools[0], "t").await, vec![1, 2]);
    assert_eq!(count(&pools[0], "t_items").await, 1);
    for pool in pools {
        pool.close().await;
    }
}

async fn failure_rolls_back(place: &Place) {
    let pool = place.pool().await;
    assert_eq!(
        migrate(&pool, "t", &[Migration::new(1, V1)]).await.unwrap(),
        vec![1]
    );
    const BROKEN: &[&str] = &[
        "CREATE TABLE t_half (x BIGINT)",
        "INSERT INTO t_items (name) VALUES ('first')", // unique violation
    ];
    let err = migrate(
        &pool,
        "t",
        &[Migration::new(1, V1), Migration::new(2, BROKEN)],
    )
    .await
    .unwrap_err();
    assert!(is_unique_violation(&err), "{err}");
    assert_eq!(versions(&pool, "t").await, vec![1]);
    // DDL is transactional on both: the half-applied version left nothing behind.
    assert!(sqlx::query("SELECT COUNT(*) FROM t_half")
        .fetch_one(&pool)
        .await
        .is_err());
    pool.close().await;
}

async fn dialect_types(place: &Place) {
    let pool = place.pool().await;
    const BLOBS: &[&str] = &["CREATE TABLE t_blobs (id {ID}, data {BLOB} NOT NULL)"];
    const SQLITE: &[&str] = &["CREATE TABLE t_only (x BIGINT)"];
    let m = Migration {
        version: 1,
        common: BLOBS,
        sqlite: SQLITE,
        postgres: &[],
    };
    migrate(&pool, "t", &[m]).await.unwrap();
    let d = Dialect::of_pool(&pool).await.unwrap();
    assert_eq!(
        matches!(place, Place::Postgres { .. }),
        d == Dialect::Postgres
    );
    for bytes in [vec![0u8, 1, 255], vec![7u8; 600]] {
        sqlx::query("INSERT INTO t_blobs (data) VALUES ($1)")
            .bind(bytes)
            .execute(&pool)
            .await
            .unwrap();
    }
    let rows = sqlx::query("SELECT id, data FROM t_blobs ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows[0].get::<i64, _>("id"), 1);
    assert_eq!(rows[1].get::<i64, _>("id"), 2);
    assert_eq!(rows[0].get::<Vec<u8>, _>("data"), vec![0u8, 1, 255]);
    assert_eq!(
        sqlx::query("SELECT COUNT(*) FROM t_only")
            .fetch_one(&pool)
            .await
            .is_ok(),
        d == Dialect::Sqlite
    );
    pool.close().await;
}

/// The classification the crates' retries rely on, and the placeholders on a real
/// statement (`?` on SQLite, `$N` on PostgreSQL, bound positionally on both).
async fn unique_violation(place: &Place) {
    let pool = place.pool().await;
    migrate(&pool, "t", &[Migration::new(1, V1)]).await.unwrap();
    let err = sqlx::query("INSERT INTO t_items (name) VALUES ('first')")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err));
    assert!(!db::is_transient(&err));
    assert!(!db::is_serialization_failure(&err));
    assert!(!is_unique_violation(&sqlx::Error::PoolTimedOut));
    assert!(db::is_transient(&sqlx::Error::PoolTimedOut));

    let d = Dialect::of_pool(&pool).await.unwrap();
    let names: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
    let q = format!(
        "INSERT INTO t_items (name) VALUES {}",
        db::sql::value_rows(d, names.len(), 1)
    );
    let mut query = sqlx::query(&q);
    for n in &names {
        query = query.bind(n.as_str());
    }
    assert_eq!(query.execute(&pool).await.unwrap().rows_affected(), 300);
    let q = format!(
        "SELECT name FROM t_items WHERE name <> {} AND name IN ({}) ORDER BY name",
        db::sql::param(d, 1),
        db::sql::list(d, 2, 3)
    );
    let got: Vec<String> = sqlx::query_scalar(&q)
        .bind("n1")
        .bind("n1")
        .bind("n2")
        .bind("first")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(got, vec!["first".to_string(), "n2".to_string()]);
    pool.close().await;
}
