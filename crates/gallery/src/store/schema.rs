//! The gallery's tables and their migrations.
//!
//! Hand-written rather than `sqlx::migrate!`: sqlx keeps one `_sqlx_migrations` table
//! per database, and every crate of ours migrates its own tables on the shared pool,
//! so version numbers would collide. Ours live in `gallery_schema`.

use sqlx::AnyPool;

use super::Backend;
use crate::error::Result;

/// One migration: statements per backend (they differ only in types), run first, then
/// the common ones.
struct Migration {
    version: i64,
    common: &'static [&'static str],
    sqlite: &'static [&'static str],
    postgres: &'static [&'static str],
}

const COMMON_V1: &[&str] = &[
    // incarnation: a random number given at creation, so a cache can tell a group
    // from a re-created one with the same id. revision: bumped (under the row lock)
    // by every change of the group's membership or faces; see store/changes.rs.
    "CREATE TABLE IF NOT EXISTS gallery_groups (
        account_id TEXT NOT NULL,
        group_id TEXT NOT NULL,
        incarnation BIGINT NOT NULL,
        group_name TEXT NOT NULL,
        tag TEXT NOT NULL,
        ex_descriptions TEXT NOT NULL,
        face_model_version TEXT NOT NULL,
        created_us BIGINT NOT NULL,
        updated_us BIGINT NOT NULL,
        revision BIGINT NOT NULL,
        person_count BIGINT NOT NULL,
        face_count BIGINT NOT NULL,
        PRIMARY KEY (account_id, group_id)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS gallery_groups_name
        ON gallery_groups (account_id, group_name)",
    "CREATE TABLE IF NOT EXISTS gallery_persons (
        account_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        person_name TEXT NOT NULL,
        gender BIGINT NOT NULL,
        face_model_version TEXT NOT NULL,
        created_us BIGINT NOT NULL,
        face_count BIGINT NOT NULL,
        group_count BIGINT NOT NULL,
        PRIMARY KEY (account_id, person_id)
    )",
    "CREATE TABLE IF NOT EXISTS gallery_members (
        account_id TEXT NOT NULL,
        group_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        ex_descriptions TEXT NOT NULL,
        joined_us BIGINT NOT NULL,
        PRIMARY KEY (account_id, group_id, person_id)
    )",
    "CREATE INDEX IF NOT EXISTS gallery_members_person
        ON gallery_members (account_id, person_id)",
    "CREATE INDEX IF NOT EXISTS gallery_faces_person ON gallery_faces (account_id, person_id)",
    // One row per (group, revision, person) touched: the index reloads that person's
    // faces in that group.
    "CREATE TABLE IF NOT EXISTS gallery_group_changes (
        account_id TEXT NOT NULL,
        group_id TEXT NOT NULL,
        revision BIGINT NOT NULL,
        person_id TEXT NOT NULL,
        changed_us BIGINT NOT NULL,
        PRIMARY KEY (account_id, group_id, revision, person_id)
    )",
];

const FACES_SQLITE: &str = "CREATE TABLE IF NOT EXISTS gallery_faces (
        account_id TEXT NOT NULL,
        face_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        descriptor BLOB NOT NULL,
        rect_x BIGINT NOT NULL,
        rect_y BIGINT NOT NULL,
        rect_width BIGINT NOT NULL,
        rect_height BIGINT NOT NULL,
        created_us BIGINT NOT NULL,
        PRIMARY KEY (account_id, face_id)
    )";

const FACES_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS gallery_faces (
        account_id TEXT NOT NULL,
        face_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        descriptor BYTEA NOT NULL,
        rect_x BIGINT NOT NULL,
        rect_y BIGINT NOT NULL,
        rect_width BIGINT NOT NULL,
        rect_height BIGINT NOT NULL,
        created_us BIGINT NOT NULL,
        PRIMARY KEY (account_id, face_id)
    )";

// Which billed request wrote what (CreatePerson, CreateFace), and which requests the
// billing's reconciliation gave up on: one row per RequestId, written in the write's own
// transaction ('enrolled') or by the reconciliation ('abandoned'), whichever comes first.
// The primary key makes the two exclusive: an abandoned RequestId can no longer enrol,
// so a void of its charge can never meet a late write. Kept when the person or faces are
// deleted later: the call did enrol, and was rightly billed.
const COMMON_V2: &[&str] = &["CREATE TABLE IF NOT EXISTS gallery_enrolments (
        request_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at_us BIGINT NOT NULL
    )"];

fn migrations() -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            common: COMMON_V1,
            sqlite: &[FACES_SQLITE],
            postgres: &[FACES_POSTGRES],
        },
        Migration {
            version: 2,
            common: COMMON_V2,
            sqlite: &[],
            postgres: &[],
        },
    ]
}

/// Brings the gallery's tables up to date. Safe to call from several nodes at once:
/// PostgreSQL serialises on an advisory lock, SQLite on `BEGIN IMMEDIATE`.
pub(crate) async fn migrate(pool: &AnyPool, backend: Backend) -> Result<()> {
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    if backend == Backend::Postgres {
        // An arbitrary constant naming "gallery migrations" among advisory locks.
        sqlx::query("SELECT pg_advisory_xact_lock(7212806150942)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS gallery_schema (
            version BIGINT PRIMARY KEY,
            applied_us BIGINT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM gallery_schema")
        .fetch_one(&mut *tx)
        .await?;
    let current = current.unwrap_or(0);
    for m in migrations() {
        if m.version <= current {
            continue;
        }
        let specific = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        for sql in specific.iter().chain(m.common) {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO gallery_schema (version, applied_us) VALUES ($1, $2)")
            .bind(m.version)
            .bind(super::now_us())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
