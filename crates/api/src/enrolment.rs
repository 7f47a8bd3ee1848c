//! The enrolment protocol (docs/billing.md, "Enrolment"), written once: CreatePerson and
//! CreateFace store something, so their metering cannot simply follow the action.
//!
//! 1. **Meter as pending** (`Billing::record_enrolment`): metering refuses (arrears)
//!    before anything is stored, and what is stored is billed.
//! 2. **Write**, recording the paying RequestId in the gallery (`create_person_for`,
//!    `create_faces_for`). A write that fails is **settled at once**: the gallery is asked
//!    (and the RequestId abandoned) first, so a write whose commit was reported failed but
//!    landed is confirmed, not voided; otherwise the unit is given back.
//! 3. **Confirm** (`Billing::confirm_enrolment`); a failed confirmation is only logged,
//!    since the gallery holds the proof and the reconciliation confirms it.
//!
//! A process that dies anywhere in between leaves the enrolment pending, and
//! [`crate::reconcile`] settles it. The server's actions and the CLI's hidden
//! `usage enrol-load` (what the kill -9 test drives) both run [`Enrolment::run`].

use std::future::Future;
use std::time::Duration;

use billing::{Billing, BillingError, EnrolmentOutcome};
use gallery::{Gallery, GalleryError};

use crate::action::Action;
use crate::reconcile::settle_one;
use crate::state::Faults;

/// Why an enrolment did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EnrolmentError {
    /// Metering refused or failed: nothing was written.
    #[error(transparent)]
    Metering(BillingError),
    /// The gallery write failed; its metering has been settled (or, if even that failed,
    /// left to the reconciliation).
    #[error(transparent)]
    Write(GalleryError),
    /// A test-only stop ([`Faults`]): the call ends as a process dying there would leave
    /// it, nothing after the stop runs.
    #[error("injected fault: stopped {0}")]
    Injected(&'static str),
    /// The action is not billed, so it has no enrolment to meter.
    #[error("{0} is not a billed action")]
    NotBilled(Action),
}

/// One enrolment call: who pays, for which action, under which RequestId.
pub struct Enrolment<'a> {
    pub billing: &'a Billing,
    pub gallery: &'a Gallery,
    /// The billing account (also the gallery tenant).
    pub account: i64,
    /// CreatePerson or CreateFace: its item and name are what is metered.
    pub action: Action,
    /// The call's RequestId: the metering's idempotency key and the gallery's record of
    /// who paid for the write.
    pub request_id: &'a str,
    /// Test-only stops; `Faults::default()` has none.
    pub faults: &'a Faults,
}

impl<'a> Enrolment<'a> {
    /// Runs the protocol around `write`, which is given the gallery and the RequestId to
    /// record with its write.
    pub async fn run<T, F, Fut>(&self, write: F) -> Result<T, EnrolmentError>
    where
        F: FnOnce(&'a Gallery, &'a str) -> Fut,
        Fut: Future<Output = Result<T, GalleryError>>,
    {
        let item = self
            .action
            .item()
            .ok_or(EnrolmentError::NotBilled(self.action))?;
        self.billing
            .record_enrolment(
                self.account,
                item,
                self.action.name(),
                self.request_id,
                chrono::Utc::now(),
            )
            .await
            .map_err(EnrolmentError::Metering)?;
        if self.faults.stops_after_enrolment_metering() {
            return Err(EnrolmentError::Injected(
                "between metering and the gallery write",
            ));
        }
        let written = match write(self.gallery, self.request_id).await {
            Ok(written) => written,
            Err(e) => {
                self.settle_failed().await;
                return Err(EnrolmentError::Write(e));
            }
        };
        if self.faults.stops_after_enrolment_write() {
            return Err(EnrolmentError::Injected(
                "between the gallery write and its confirmation",
            ));
        }
        if let Err(e) = self
            .billing
            .confirm_enrolment(self.request_id, chrono::Utc::now())
            .await
        {
            tracing::warn!(request_id = self.request_id, error = %e,
                "confirming an enrolment failed; the reconciliation will");
        }
        Ok(written)
    }

    /// Settles the metering of a write that failed, as the reconciliation would. Retried a
    /// few times; if it still fails (the database is down) the enrolment stays pending and
    /// the reconciliation settles it later.
    async fn settle_failed(&self) {
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=3 {
            match settle_one(
                self.billing,
                self.gallery,
                self.account,
                self.request_id,
                chrono::Utc::now(),
            )
            .await
            {
                Ok(EnrolmentOutcome::Charged { month }) => {
                    tracing::error!(
                        request_id = self.request_id,
                        month,
                        "a failed enrolment stays billed: its month is settled"
                    );
                    return;
                }
                Ok(_) => return,
                Err(e) if attempt == 3 => {
                    tracing::error!(request_id = self.request_id, error = %e,
                        "settling a failed enrolment failed; left to the reconciliation");
                }
                Err(e) => {
                    tracing::warn!(request_id = self.request_id, error = %e, attempt,
                        "settling a failed enrolment failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
            }
        }
    }
}
