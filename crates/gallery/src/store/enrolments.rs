//! Which billed request wrote what: the fence between an enrolment's write and the
//! billing's reconciliation (see `gallery_enrolments` in schema.rs).

use sqlx::{Any, Transaction};

use super::{now_us, Store};
use crate::error::{GalleryError, Result};
use crate::ids::AccountId;

impl Store {
    /// Records, inside the write's transaction, that `request_id` enrolled. Refused when
    /// the reconciliation abandoned that RequestId first (its charge is being voided).
    pub(crate) async fn record_enrolment(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &AccountId,
        request_id: &str,
    ) -> Result<()> {
        // DO NOTHING rather than a unique violation: on PostgreSQL a violation would abort
        // the transaction, and the answer is the same either way.
        let done = sqlx::query(
            "INSERT INTO gallery_enrolments (request_id, account_id, outcome, at_us)
             VALUES ($1, $2, 'enrolled', $3) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(request_id)
        .bind(account.as_str())
        .bind(now_us())
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(GalleryError::EnrolmentAbandoned(request_id.to_string()));
        }
        Ok(())
    }

    /// Whether `request_id` enrolled; when it did not, makes sure it never will (the
    /// RequestId is stored as abandoned first). A write in flight for the same RequestId
    /// is waited for: PostgreSQL's insert waits on the write's uncommitted key, SQLite
    /// has one writer at a time.
    pub(crate) async fn claim_enrolment(
        &self,
        account: &AccountId,
        request_id: &str,
    ) -> Result<bool> {
        self.retry(|| async {
            sqlx::query(
                "INSERT INTO gallery_enrolments (request_id, account_id, outcome, at_us)
                 VALUES ($1, $2, 'abandoned', $3) ON CONFLICT (request_id) DO NOTHING",
            )
            .bind(request_id)
            .bind(account.as_str())
            .bind(now_us())
            .execute(&self.pool)
            .await?;
            let outcome: String =
                sqlx::query_scalar("SELECT outcome FROM gallery_enrolments WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_one(&self.pool)
                    .await?;
            Ok(outcome == "enrolled")
        })
        .await
    }
}
