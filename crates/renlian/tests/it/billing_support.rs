//! Running the `renlian` binary against a fresh database: a temporary data directory
//! (SQLite) or a fresh schema in the test PostgreSQL (RENLIAN_TEST_POSTGRES).
#![allow(dead_code)]

use std::hash::BuildHasher;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

pub enum Backend {
    Sqlite,
    Postgres,
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
