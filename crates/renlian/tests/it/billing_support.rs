//! Running the `renlian` binary against a fresh database: a temporary data directory
//! (SQLite) or a fresh schema in the test PostgreSQL (RENLIAN_TEST_POSTGRES).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor, Row};

pub enum Backend {
    Sqlite,
    Postgres,
}

/// An account's enrolments as the crash tests check them: net units per RequestId (voids
/// cancel), enrolment outcomes (None = pending), the RequestIds the gallery recorded as
/// enrolled, the stored persons, and the account's counted calls.
pub struct Ledger {
    pub net: HashMap<String, i64>,
    pub outcomes: HashMap<String, Option<String>>,
    pub enrolled: HashSet<String>,
    pub persons: HashSet<String>,
    pub counted: i64,
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub database: Option<String>,
    schema: Option<(String, String)>,
}

pub fn postgres_url() -> String {
    std::env::var("RENLIAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl Env {
    pub async fn new(backend: Backend) -> Env {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Env {
                dir,
                database: None,
                schema: None,
            },
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin = postgres_url();
                let h = std::collections::hash_map::RandomState::new()
                    .hash_one((std::process::id(), std::time::SystemTime::now()));
                let schema = format!("t_{h:016x}");
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(&admin)
                    .await
                    .unwrap();
                pool.execute(format!("CREATE SCHEMA {schema}").as_str())
                    .await
                    .unwrap();
                pool.close().await;
                let sep = if admin.contains('?') { '&' } else { '?' };
                Env {
                    dir,
                    database: Some(format!("{admin}{sep}options=-csearch_path%3D{schema}")),
                    schema: Some((admin, schema)),
                }
            }
        }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_renlian"));
        cmd.arg("--data-dir").arg(self.dir.path());
        if let Some(db) = &self.database {
            cmd.arg("--database").arg(db);
        }
        cmd.env_remove("RENLIAN_DATABASE")
            .env_remove("RENLIAN_DATA_DIR")
            .env_remove("RENLIAN_BILLING_TZ")
            .env_remove("RENLIAN_SETTLEMENT_DAY");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs a command that must succeed with `--json` output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "renlian {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "renlian {args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs a command that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "renlian {args:?} should have failed");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.db_path().display()),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("renlian.db")
    }

    pub async fn pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPoolOptions::new()
            .max_connections(2)
            .connect(&self.database_url())
            .await
            .unwrap()
    }

    pub async fn close(self) {
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

impl Env {
    /// The account's [`Ledger`], read straight from the tables.
    pub async fn ledger(&self, account: i64) -> Ledger {
        let pool = self.pool().await;
        let mut net = HashMap::new();
        for r in sqlx::query(
            "SELECT usage_key, CAST(SUM(units) AS BIGINT) FROM billing_usage \
             WHERE account_id = $1 GROUP BY usage_key",
        )
        .bind(account)
        .fetch_all(&pool)
        .await
        .unwrap()
        {
            net.insert(r.try_get(0).unwrap(), r.try_get(1).unwrap());
        }
        let mut outcomes = HashMap::new();
        for r in
            sqlx::query("SELECT usage_key, outcome FROM billing_enrolments WHERE account_id = $1")
                .bind(account)
                .fetch_all(&pool)
                .await
                .unwrap()
        {
            outcomes.insert(r.try_get(0).unwrap(), r.try_get(1).unwrap());
        }
        let strings = |rows: Vec<sqlx::any::AnyRow>| -> HashSet<String> {
            rows.iter().map(|r| r.try_get(0).unwrap()).collect()
        };
        let enrolled = strings(
            sqlx::query(
                "SELECT request_id FROM gallery_enrolments \
                 WHERE account_id = $1 AND outcome = 'enrolled'",
            )
            .bind(account.to_string())
            .fetch_all(&pool)
            .await
            .unwrap(),
        );
        let persons = strings(
            sqlx::query("SELECT person_id FROM gallery_persons WHERE account_id = $1")
                .bind(account.to_string())
                .fetch_all(&pool)
                .await
                .unwrap(),
        );
        let counted = counted_calls(&pool, account).await;
        pool.close().await;
        Ledger {
            net,
            outcomes,
            enrolled,
            persons,
            counted,
        }
    }
}

impl Ledger {
    /// After the reconciliation: nothing is pending, and every RequestId ever metered is
    /// billed one unit and confirmed exactly when the gallery recorded its write (zero
    /// and voided otherwise); stored persons = enrolled RequestIds = counted calls.
    pub fn assert_billed_exactly_when_stored(&self) {
        assert!(self.outcomes.values().all(Option::is_some), "still pending");
        for (id, units) in &self.net {
            let stored = self.enrolled.contains(id);
            assert_eq!(
                *units,
                i64::from(stored),
                "{id}: {units} units, stored {stored}"
            );
            let want = if stored { "confirmed" } else { "voided" };
            assert_eq!(self.outcomes[id].as_deref(), Some(want), "{id}");
        }
        assert_eq!(self.enrolled.len(), self.persons.len());
        assert!(self.enrolled.iter().all(|id| self.net.get(id) == Some(&1)));
        assert_eq!(self.counted as usize, self.persons.len());
    }
}

/// The account's calls as the monthly counters have them.
pub async fn counted_calls(pool: &AnyPool, account: i64) -> i64 {
    sqlx::query(
        "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM billing_monthly WHERE account_id = $1",
    )
    .bind(account)
    .fetch_one(pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap()
}
