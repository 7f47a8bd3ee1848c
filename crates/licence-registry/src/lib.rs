//! The server side of offline-SDK licensing (issue 19): what the billing crate's SDK
//! orders bought, turned into licences, in the database (tables `licence_*`).
//!
//! - order seats ([`Registry::register_order`]) and activations
//!   ([`Registry::activate`]): the same device again gets the same seat and licence; the
//!   seats of one order are never exceeded, whatever the concurrency or the number of
//!   nodes (the order's row is locked);
//! - seat moves ([`Registry::move_seat`]): at most [`RegistryConfig::moves_per_year`] in
//!   any 365 days; the old generation is revoked, the new licence has the next one;
//! - trials ([`Registry::trial_devices`], [`Registry::trial_platform`]): 30 days, at most
//!   3 devices or one package, one trial per account and SDK;
//! - platform licences ([`Registry::create_platform`], [`Registry::renew_platform`]);
//! - revocation ([`Registry::revoke`]) and the signed, numbered, cumulative list
//!   ([`Registry::revocation_list`]);
//! - the issuer key ring ([`Registry::ring`], [`Registry::rotate`], [`Registry::retire`]),
//!   created on first use and stored sealed by a [`Sealer`] the caller provides (the
//!   deployment's master key).
//!
//! Charging is not here: the caller charges through `billing` first and passes the
//! order's id, so every operation that follows a charge is idempotent on that id (a
//! retry after a crash finds what the first attempt did). Times are Unix seconds, UTC,
//! as in `licensing`.

mod device;
mod error;
mod issuer;
mod platform;
mod records;
mod revocation;
mod schema;
mod trial;

use std::sync::Arc;

use sqlx::AnyPool;

pub use device::{seat_id, OrderSeats};
pub use error::RegistryError;
pub use issuer::KeyInfo;
pub use platform::platform_id;
pub use records::{Issued, LicenceRecord};
pub use revocation::{Revocation, SignedList};

/// Encrypts the key ring at rest. The deployment's master key implements it (the same
/// AES-256-GCM sealing as the API's SecretKeys); tests may use anything reversible.
pub trait Sealer: Send + Sync {
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String>;
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String>;
}

/// Deployment settings.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// How many times one seat may move to another device in any 365 days.
    pub moves_per_year: u32,
}

/// The default number of moves per seat and year.
pub const MOVES_PER_YEAR: u32 = 3;
/// Devices one device trial may bind.
pub const TRIAL_DEVICES: usize = 3;

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            moves_per_year: MOVES_PER_YEAR,
        }
    }
}

/// The registry over one database pool. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    pub(crate) pool: AnyPool,
    pub(crate) dialect: db::Dialect,
    pub(crate) sealer: Arc<dyn Sealer>,
    pub(crate) config: RegistryConfig,
}

impl Registry {
    /// Migrates the `licence_*` tables (versions in `licence_schema`).
    pub async fn open(
        pool: AnyPool,
        sealer: Arc<dyn Sealer>,
        config: RegistryConfig,
    ) -> Result<Registry, RegistryError> {
        let dialect = db::Dialect::of_pool(&pool).await?;
        schema::migrate(&pool).await?;
        Ok(Registry {
            pool,
            dialect,
            sealer,
            config,
        })
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, where the write transaction
    /// (`BEGIN IMMEDIATE`) already holds the database's one write lock.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.dialect {
            db::Dialect::Postgres => " FOR UPDATE",
            db::Dialect::Sqlite => "",
        }
    }

    pub(crate) async fn begin(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, RegistryError> {
        Ok(self.dialect.begin_write(&self.pool).await?)
    }
}

/// Runs `op` again (up to three times in all) when it failed on a unique key another
/// transaction took meanwhile: the next attempt finds that transaction's row.
pub(crate) async fn retry_unique<T, F, Fut>(mut op: F) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RegistryError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match op().await {
            Err(RegistryError::Database(e)) if attempt < 3 && db::is_unique_violation(&e) => {}
            other => return other,
        }
    }
}
