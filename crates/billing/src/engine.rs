//! [`Billing`]: the handle the CLI and the API server hold. One per process.

use chrono_tz::Tz;
use sqlx::AnyPool;
use tokio::sync::mpsc;

use crate::error::BillingError;
use crate::meter;
use crate::schema;
use crate::time::{parse_tz, DEFAULT_TIME_ZONE};

/// Deployment-wide billing settings.
#[derive(Clone, Debug)]
pub struct BillingConfig {
    /// Billing time zone of new accounts (rule 1).
    pub default_time_zone: Tz,
    /// Day of month M+1 (1-3) on which month M's bill is issued and may be settled (rule 7).
    pub settlement_day: u32,
    /// Most metering records committed in one transaction (group commit).
    pub max_batch: usize,
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            default_time_zone: parse_tz(DEFAULT_TIME_ZONE).unwrap_or(Tz::Asia__Shanghai),
            settlement_day: 1,
            max_batch: 8192,
        }
    }
}

impl BillingConfig {
    pub fn validate(&self) -> Result<(), BillingError> {
        if !(1..=3).contains(&self.settlement_day) {
            return Err(BillingError::OutOfRange(format!(
                "settlement day must be 1, 2 or 3, got {}",
                self.settlement_day
            )));
        }
        if self.max_batch == 0 {
            return Err(BillingError::OutOfRange(
                "max batch must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// The billing engine over one database pool. Cheap to clone; all clones share one
/// metering writer, which batches concurrent callers' records into one transaction.
#[derive(Clone)]
pub struct Billing {
    pub(crate) pool: AnyPool,
    pub(crate) config: BillingConfig,
    pub(crate) meter: mpsc::Sender<meter::Pending>,
}

impl Billing {
    /// Creates the tables if needed and starts the metering writer (needs a Tokio runtime).
    pub async fn open(pool: AnyPool, config: BillingConfig) -> Result<Billing, BillingError> {
        config.validate()?;
        let dialect = db::Dialect::of_pool(&pool).await?;
        schema::migrate(&pool).await?;
        let meter = meter::spawn(pool.clone(), dialect, config.max_batch);
        Ok(Billing {
            pool,
            config,
            meter,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn config(&self) -> &BillingConfig {
        &self.config
    }
}
