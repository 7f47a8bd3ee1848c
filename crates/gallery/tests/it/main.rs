//! Integration tests of the gallery on SQLite and PostgreSQL.
//!
//! One integration-test binary for the crate (one link instead of one per file); each
//! module was a test file of its own. Run one with `cargo test --workspace --test it MODULE::`.

#[macro_use]
mod common;
mod descriptor_versions;
mod search;
mod storage;
mod thumbnails;
