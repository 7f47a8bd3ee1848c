//! The gallery's tables and their migrations, run by the `db` crate's runner (versions
//! in `gallery_schema`; see `db::migrate`).

use db::Migration;
use sqlx::AnyPool;

use crate::error::Result;

const V1: &[&str] = &[
    // Descriptors are BLOB on SQLite, BYTEA on PostgreSQL. Before the index on it below.
    "CREATE TABLE IF NOT EXISTS gallery_faces (
        account_id TEXT NOT NULL,
        face_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        descriptor {BLOB} NOT NULL,
        rect_x BIGINT NOT NULL,
        rect_y BIGINT NOT NULL,
        rect_width BIGINT NOT NULL,
        rect_height BIGINT NOT NULL,
        created_us BIGINT NOT NULL,
        PRIMARY KEY (account_id, face_id)
    )",
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

// Which billed request wrote what (CreatePerson, CreateFace), and which requests the
// billing's reconciliation gave up on: one row per RequestId, written in the write's own
// transaction ('enrolled') or by the reconciliation ('abandoned'), whichever comes first.
// The primary key makes the two exclusive: an abandoned RequestId can no longer enrol,
// so a void of its charge can never meet a late write. Kept when the person or faces are
// deleted later: the call did enrol, and was rightly billed.
const V2: &[&str] = &["CREATE TABLE IF NOT EXISTS gallery_enrolments (
        request_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at_us BIGINT NOT NULL
    )"];

// Face thumbnails for the web console (a small JPEG per face, store/thumbnails.rs): written
// in the face's transaction, deleted in every transaction that deletes the face. And the
// deployment's settings, one row each, shared by every node on the database (the only one:
// `store_thumbnails`, 'on' or 'off'; no row is the default).
const V3: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS gallery_thumbnails (
        account_id TEXT NOT NULL,
        face_id TEXT NOT NULL,
        jpeg {BLOB} NOT NULL,
        PRIMARY KEY (account_id, face_id)
    )",
    "CREATE TABLE IF NOT EXISTS gallery_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_us BIGINT NOT NULL
    )",
];

// The descriptor version (the `vision` crate's `DescriptorVersion::number()`) of every
// group, person and face: descriptors of different versions are never compared. Every row
// written before this migration holds version-1 descriptors.
const V4: &[&str] = &[
    "ALTER TABLE gallery_groups ADD COLUMN descriptor_version BIGINT NOT NULL DEFAULT 1",
    "ALTER TABLE gallery_persons ADD COLUMN descriptor_version BIGINT NOT NULL DEFAULT 1",
    "ALTER TABLE gallery_faces ADD COLUMN descriptor_version BIGINT NOT NULL DEFAULT 1",
];

const MIGRATIONS: &[Migration] = &[
    Migration::new(1, V1),
    Migration::new(2, V2),
    Migration::new(3, V3),
    Migration::new(4, V4),
];

/// Brings the gallery's tables up to date. Safe to call from several nodes at once.
pub(crate) async fn migrate(pool: &AnyPool) -> Result<()> {
    db::migrate(pool, "gallery", MIGRATIONS).await?;
    Ok(())
}
