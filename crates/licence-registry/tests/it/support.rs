//! Test databases (a temporary SQLite file, or a fresh schema in the test PostgreSQL,
//! RENLIAN_TEST_POSTGRES), registries on them, devices and requests.
#![allow(dead_code)]

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use licence_registry::{Registry, RegistryConfig, Sealer};
use licensing::{ActivationRequest, Component, DeviceKey, Fingerprint, Sdk};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// A reversible stand-in for the master key (the real one is AES-256-GCM in `api`).
pub struct XorSealer;

impl Sealer for XorSealer {
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        Ok(plain.iter().map(|b| b ^ 0x5a).collect())
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        self.seal(sealed)
    }
}

pub struct TestDb {
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

pub fn postgres_url() -> String {
    std::env::var("RENLIAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("reg.db").display());
        TestDb {
            url,
            _dir: Some(dir),
            schema: None,
        }
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
        TestDb {
            url: format!("{admin}{sep}options=-csearch_path%3D{schema}"),
            _dir: None,
            schema: Some((admin, schema)),
        }
    }

    /// A fresh pool: each is one "node".
    pub async fn pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        if self.schema.is_some() {
            return AnyPoolOptions::new()
                .max_connections(8)
                .connect(&self.url)
                .await
                .unwrap();
        }
        AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA busy_timeout = 30000").await?;
                    Ok(())
                })
            })
            .connect(&self.url)
            .await
            .unwrap()
    }

    pub async fn registry(&self, config: RegistryConfig) -> Registry {
        Registry::open(self.pool().await, Arc::new(XorSealer), config)
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

/// A device: three components from a name.
pub fn device(name: &str) -> Fingerprint {
    Fingerprint {
        system: Some(Component::MachineId.hash(format!("{name}-os").as_bytes())),
        hardware: Some(Component::BoardSerial.hash(format!("{name}-hw").as_bytes())),
        device_key: Some(Component::DeviceKey.hash(format!("{name}-dk").as_bytes())),
    }
}

/// `device(name)` with its OS reinstalled (one component changed).
pub fn reinstalled(name: &str) -> Fingerprint {
    Fingerprint {
        system: Some(Component::MachineId.hash(format!("{name}-os-2").as_bytes())),
        ..device(name)
    }
}

pub fn request(sdk: Sdk, fp: Fingerprint) -> ActivationRequest {
    ActivationRequest::new(sdk, fp, Some("gate".into())).unwrap()
}

pub fn random_device() -> Fingerprint {
    Fingerprint::linux(None, None, None, &DeviceKey::generate())
}

/// 2027-01-01T00:00:00Z.
pub const T0: i64 = 1_798_761_600;
pub const DAY: i64 = 86_400;
