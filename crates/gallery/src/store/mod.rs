//! Storage of groups, persons and faces through one `sqlx::AnyPool`, on SQLite or
//! PostgreSQL with the same SQL.
//!
//! Write transactions lock rows in one order where they can: the person row first,
//! then group rows sorted by id. DeleteGroup cannot (it starts from the group), so a
//! PostgreSQL deadlock between it and a write on one of its members is possible; the
//! database breaks it and [`Store::retry`] runs the loser again.

mod changes;
mod enrolments;
mod faces;
mod groups;
mod persons;
pub(crate) mod schema;
mod thumbnails;

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use db::Dialect;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::error::{GalleryError, Result};
use crate::limits::Limits;
use crate::model::FaceModelVersion;

pub(crate) use changes::GroupState;

/// The gallery's tables on a shared pool.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pool: AnyPool,
    dialect: Dialect,
    limits: Limits,
    descriptor_dim: usize,
}

/// Times are stored as integer microseconds since the epoch (UTC).
pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// How many times a write runs again after losing a deadlock or a busy database.
const WRITE_ATTEMPTS: usize = 5;

impl Store {
    pub(crate) async fn open(pool: AnyPool, limits: Limits, descriptor_dim: usize) -> Result<Self> {
        let dialect = Dialect::of_pool(&pool).await?;
        schema::migrate(&pool).await?;
        Ok(Self {
            pool,
            dialect,
            limits,
            descriptor_dim,
        })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn descriptor_dim(&self) -> usize {
        self.descriptor_dim
    }

    /// Starts a write transaction (on SQLite with the write lock taken at once; see
    /// [`Dialect::begin_write`]).
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        Ok(self.dialect.begin_write(&self.pool).await?)
    }

    /// Runs a write again when the database reports a deadlock, a serialisation
    /// failure or a busy lock ([`db::is_transient`]); after the last attempt the caller gets `Conflict`.
    pub(crate) async fn retry<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match op().await {
                Err(GalleryError::Database(e)) if db::is_transient(&e) => {
                    if attempt >= WRITE_ATTEMPTS {
                        tracing::warn!(error = %e, "gallery write gave up after {attempt} attempts");
                        return Err(GalleryError::Conflict);
                    }
                    let backoff = std::time::Duration::from_millis(
                        5 * attempt as u64 + rand::random_range(0..10),
                    );
                    tokio::time::sleep(backoff).await;
                }
                other => return other,
            }
        }
    }

    pub(crate) fn max_faces_per_group(&self, version: FaceModelVersion) -> u64 {
        match version {
            FaceModelVersion::V2 => self.limits.max_faces_per_group_v2,
            FaceModelVersion::V3 => self.limits.max_faces_per_group_v3,
        }
    }
}

/// Reads a JSON list of strings stored in a TEXT column.
pub(crate) fn json_strings(row: &AnyRow, column: &str) -> Result<Vec<String>> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .map_err(|e| GalleryError::Corrupt(format!("{column} is not a JSON list: {e}")))
}

pub(crate) fn to_json(values: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_string())
}

pub(crate) fn version_of(row: &AnyRow) -> Result<FaceModelVersion> {
    let v: String = row.try_get("face_model_version")?;
    FaceModelVersion::parse(&v)
        .map_err(|_| GalleryError::Corrupt(format!("face model version {v:?}")))
}

/// The `descriptor_version` column of a row.
pub(crate) fn descriptor_version_of(row: &AnyRow) -> Result<u32> {
    let v: i64 = row.try_get("descriptor_version")?;
    u32::try_from(v)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| GalleryError::Corrupt(format!("descriptor version {v}")))
}

/// Counts are BIGINT columns that never go negative.
pub(crate) fn count(row: &AnyRow, column: &str) -> Result<u64> {
    let n: i64 = row.try_get(column)?;
    Ok(n.max(0) as u64)
}
