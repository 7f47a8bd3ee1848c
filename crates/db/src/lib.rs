//! The one database layer of Renlian's crates: every crate that owns tables (`billing_*`,
//! `gallery_*`, `api_*`) reaches SQLite and PostgreSQL through one `sqlx::AnyPool` and this
//! crate, which knows the little that differs between the two.
//!
//! - [`Dialect`]: which database is behind a pool or a connection, the types that differ in
//!   DDL (`{ID}`, `{BLOB}`), and how a write transaction starts.
//! - [`sql`]: placeholder builders for statements of variable length (`?` on SQLite, `$N`
//!   on PostgreSQL) and the power-of-two shapes that keep the statement cache small.
//! - [`is_unique_violation`], [`is_serialization_failure`], [`is_transient`]: what a
//!   database error means, the same on both.
//! - [`migrate`]: numbered migrations per owner, in the owner's own `<owner>_schema`
//!   table, serialised across processes (PostgreSQL advisory lock, SQLite
//!   `BEGIN IMMEDIATE`).
//!
//! Depends on no crate of ours.

mod dialect;
mod error;
mod migrate;
pub mod sql;

pub use dialect::Dialect;
pub use error::{is_serialization_failure, is_transient, is_unique_violation};
pub use migrate::{migrate, Migration};
