//! Integration tests of the licence registry, on SQLite and PostgreSQL.

mod concurrency;
mod lifecycle;
mod support;
