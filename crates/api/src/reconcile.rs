//! Reconciliation of enrolments left pending by a crash (docs/billing.md, "Enrolment").
//!
//! CreatePerson and CreateFace are metered as pending before their gallery write and
//! confirmed after it. A process that dies in between leaves the record pending. Here each
//! pending enrolment older than a grace period is settled: the gallery is asked whether
//! the RequestId enrolled, and when it did not the RequestId is abandoned in the same step
//! (so a write still in flight can no longer land); then billing confirms the charge or
//! voids it. Several nodes may run it at once: the gallery's claim and billing's settle are
//! both exact under concurrency, so each enrolment is settled once.

use std::time::Duration;

use billing::{Billing, BillingError, EnrolmentOutcome};
use chrono::{DateTime, Utc};
use gallery::{AccountId, Gallery, GalleryError};
use serde::Serialize;

/// How long an enrolment may stay pending before the reconciliation settles it. Far
/// longer than any call (image fetch, analysis, write): a call still running past it is
/// refused at its write (`FailedOperation.RequestTimeout`) and not billed.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(300);

/// Pending enrolments settled per round trip of the scan.
const PAGE: u32 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Billing(#[from] BillingError),
    #[error(transparent)]
    Gallery(#[from] GalleryError),
    #[error("grace period {0:?} is out of range")]
    Grace(Duration),
}

/// What one reconciliation did. `already` counts enrolments another node (or the server's
/// own confirmation) settled between the scan and the settle.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub confirmed: u64,
    pub voided: u64,
    pub charged: u64,
    pub already: u64,
    /// Enrolments that could not be settled this time (logged with their RequestId); they
    /// stay pending and the next round tries again.
    pub failed: u64,
}

/// Settles every enrolment metered before `now − grace` and still pending.
pub async fn reconcile_enrolments(
    billing: &Billing,
    gallery: &Gallery,
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<ReconcileReport, ReconcileError> {
    let grace_c = chrono::Duration::from_std(grace).map_err(|_| ReconcileError::Grace(grace))?;
    let before = now
        .checked_sub_signed(grace_c)
        .ok_or(ReconcileError::Grace(grace))?;
    let mut report = ReconcileReport::default();
    loop {
        let page = billing.pending_enrolments(before, PAGE).await?;
        if page.is_empty() {
            return Ok(report);
        }
        for p in &page {
            // One enrolment that cannot be settled does not hold up the others.
            match settle_one(billing, gallery, p.account, &p.request_id, now).await {
                Ok(EnrolmentOutcome::Confirmed) => report.confirmed += 1,
                Ok(EnrolmentOutcome::Voided) => report.voided += 1,
                Ok(EnrolmentOutcome::Charged { .. }) => report.charged += 1,
                Ok(EnrolmentOutcome::AlreadySettled { .. }) => report.already += 1,
                // Listed as pending a moment ago, so its usage exists.
                Ok(EnrolmentOutcome::NotRecorded) => {
                    report.failed += 1;
                    tracing::error!(request_id = p.request_id, "pending enrolment has no usage");
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(request_id = p.request_id, error = %e,
                        "settling a pending enrolment failed; the next round retries");
                }
            }
        }
        // Each settled row left pending, so the next page holds new ones; failed ones
        // would come back, so a page with failures ends this round.
        if page.len() < PAGE as usize || report.failed > 0 {
            return Ok(report);
        }
    }
}

/// Settles one enrolment: asks the gallery whether `request_id` enrolled (abandoning it
/// when it did not, so that it never will), then confirms or voids its metering.
pub async fn settle_one(
    billing: &Billing,
    gallery: &Gallery,
    account: i64,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<EnrolmentOutcome, ReconcileError> {
    let account = AccountId::new(account.to_string())?;
    let enrolled = gallery.claim_enrolment(&account, request_id).await?;
    Ok(billing.settle_enrolment(request_id, enrolled, now).await?)
}

/// Runs [`reconcile_enrolments`] now and then every `every`, for as long as the server
/// runs; a failed round is logged and tried again at the next tick.
pub fn spawn_reconciler(
    billing: Billing,
    gallery: Gallery,
    grace: Duration,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match reconcile_enrolments(&billing, &gallery, grace, Utc::now()).await {
                Ok(r) if r == ReconcileReport::default() => {}
                Ok(r) => tracing::info!(
                    confirmed = r.confirmed,
                    voided = r.voided,
                    charged = r.charged,
                    already = r.already,
                    failed = r.failed,
                    "pending enrolments reconciled"
                ),
                Err(e) => tracing::error!(error = %e, "enrolment reconciliation failed"),
            }
        }
    })
}
