//! The metering pipeline's health at a glance, for an operator's console: how many calls
//! are being metered, and what is waiting (enrolments to reconcile, notices to deliver).
//! Each figure is one query over an index, never a scan of the usage table.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::engine::Billing;
use crate::error::BillingError;
use crate::time::{from_micros, to_micros};

/// See [`Billing::metering_health`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeteringHealth {
    /// Records metered (calls and imports, each once however many sources it drew on)
    /// whose time is in the minute before `now`.
    pub calls_last_minute: u64,
    /// `calls_last_minute / 60`.
    pub calls_per_second: f64,
    /// Enrolments metered and not yet confirmed or voided.
    pub pending_enrolments: u64,
    /// The oldest of them: one older than the reconciliation's grace (5 minutes) plus a
    /// round means the reconciliation is not keeping up.
    pub oldest_pending_enrolment: Option<DateTime<Utc>>,
    /// Notice deliveries not delivered yet (e-mail and SMS; in-app notices are delivered
    /// by being stored), those failing included.
    pub notices_pending: u64,
    /// Of those, the ones that failed at least once (retried with backoff).
    pub notices_failing: u64,
}

impl Billing {
    /// The metering pipeline's figures at `now`, from four indexed queries:
    /// `billing_usage (at_us, part)`, the pending-enrolment and pending-delivery partial
    /// indexes.
    pub async fn metering_health(
        &self,
        now: DateTime<Utc>,
    ) -> Result<MeteringHealth, BillingError> {
        let mut conn = self.pool.acquire().await?;
        let calls: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM billing_usage WHERE at_us >= $1 AND at_us < $2 AND part = 0",
        )
        .bind(to_micros(now - Duration::minutes(1)))
        .bind(to_micros(now))
        .fetch_one(&mut *conn)
        .await?;
        let (pending, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(at_us) FROM billing_enrolments WHERE outcome IS NULL",
        )
        .fetch_one(&mut *conn)
        .await?;
        let (notices_pending, notices_failing): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) \
             FROM billing_deliveries WHERE state = 'pending'",
        )
        .fetch_one(&mut *conn)
        .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(MeteringHealth {
            calls_last_minute: count(calls),
            calls_per_second: calls as f64 / 60.0,
            pending_enrolments: count(pending),
            oldest_pending_enrolment: oldest.map(from_micros).transpose()?,
            notices_pending: count(notices_pending),
            notices_failing: count(notices_failing.unwrap_or(0)),
        })
    }
}
