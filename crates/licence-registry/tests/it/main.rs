//! Integration tests of the licence registry, on SQLite and PostgreSQL.

mod support;
mod concurrency;
mod lifecycle;
