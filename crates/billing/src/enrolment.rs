//! Enrolments metered before their gallery write, and how each one is settled.
//!
//! CreatePerson and CreateFace are metered first ([`Billing::record_enrolment`]), which
//! leaves a pending row beside the usage. After the write the server confirms it. A
//! process that dies in between leaves it pending; the reconciliation (in the API crate,
//! which can ask the gallery whether the write happened) settles it: confirmed when the
//! gallery holds the enrolment, voided ([`Billing::void_call`]) when it does not.
//!
//! Until it is settled, a pending enrolment counts as used: its units are in the usage
//! table, the month's counters and the packs' remainders like any call. Voiding gives
//! them back; a month settled first keeps the charge (`charged`), as for any void.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::engine::Billing;
use crate::error::BillingError;
use crate::meter::Voided;
use crate::time::{from_micros, to_micros};

/// An enrolment still waiting for its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingEnrolment {
    pub request_id: String,
    pub account: i64,
    pub action: String,
    pub at: DateTime<Utc>,
}

/// How [`Billing::settle_enrolment`] left an enrolment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EnrolmentOutcome {
    /// The write happened: the charge stands and the enrolment is no longer pending.
    Confirmed,
    /// Nothing was enrolled: the call's consumption was given back now.
    Voided,
    /// Nothing was enrolled, but the month was settled before the void: the charge stands
    /// (a settled bill never changes).
    Charged { month: String },
    /// Settled earlier (by another node, or by the server's own confirmation); `was` is
    /// the stored outcome. Nothing changed.
    AlreadySettled { was: String },
    /// No enrolment was recorded under this RequestId.
    NotRecorded,
}

impl Billing {
    /// Marks an enrolment's write as done; called by the server right after the gallery
    /// write. Returns false when it was not pending (settled already, or never recorded).
    pub async fn confirm_enrolment(
        &self,
        request_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, BillingError> {
        let done = sqlx::query(
            "UPDATE billing_enrolments SET outcome = 'confirmed', settled_us = $1 \
             WHERE usage_key = $2 AND outcome IS NULL",
        )
        .bind(to_micros(at))
        .bind(request_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The enrolments still pending that were metered before `before`, oldest first, at
    /// most `limit`.
    pub async fn pending_enrolments(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingEnrolment>, BillingError> {
        let rows = sqlx::query(
            "SELECT usage_key, account_id, action, at_us FROM billing_enrolments \
             WHERE outcome IS NULL AND at_us < $1 ORDER BY at_us, usage_key LIMIT $2",
        )
        .bind(to_micros(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingEnrolment {
                    request_id: row.try_get("usage_key")?,
                    account: row.try_get("account_id")?,
                    action: row.try_get("action")?,
                    at: from_micros(row.try_get("at_us")?)?,
                })
            })
            .collect()
    }

    /// Settles one enrolment once the caller knows whether its gallery write happened
    /// (and, when it did not, has made sure it never will: the API's reconciliation claims
    /// the RequestId in the gallery first). Safe to run concurrently on several nodes: the
    /// void is idempotent on the RequestId and only one update moves the row out of
    /// pending; the others get [`EnrolmentOutcome::AlreadySettled`].
    pub async fn settle_enrolment(
        &self,
        request_id: &str,
        enrolled: bool,
        at: DateTime<Utc>,
    ) -> Result<EnrolmentOutcome, BillingError> {
        let outcome = if enrolled {
            EnrolmentOutcome::Confirmed
        } else {
            match self.void_call(request_id, at).await {
                Ok(Voided::Voided(_)) | Ok(Voided::AlreadyVoided) => EnrolmentOutcome::Voided,
                Ok(Voided::NotRecorded) => return Ok(EnrolmentOutcome::NotRecorded),
                Err(BillingError::MonthClosed { month, .. }) => {
                    tracing::warn!(
                        request_id,
                        month,
                        "enrolment not written but its month is settled: the charge stands"
                    );
                    EnrolmentOutcome::Charged { month }
                }
                Err(e) => return Err(e),
            }
        };
        let stored = match &outcome {
            EnrolmentOutcome::Confirmed => "confirmed",
            EnrolmentOutcome::Voided => "voided",
            _ => "charged",
        };
        let done = sqlx::query(
            "UPDATE billing_enrolments SET outcome = $1, settled_us = $2 \
             WHERE usage_key = $3 AND outcome IS NULL",
        )
        .bind(stored)
        .bind(to_micros(at))
        .bind(request_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(outcome);
        }
        let was: Option<Option<String>> =
            sqlx::query_scalar("SELECT outcome FROM billing_enrolments WHERE usage_key = $1")
                .bind(request_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match was {
            Some(Some(was)) => EnrolmentOutcome::AlreadySettled { was },
            // A call metered without a pending row (before this table existed, or an
            // ordinary record_call): the void above stands on its own.
            Some(None) | None => outcome,
        })
    }
}
