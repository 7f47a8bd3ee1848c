//! Integration tests of the on-device gallery: real files in temporary directories,
//! and a child process killed mid-write. Run one module with
//! `cargo test --workspace --test it MODULE::`.

mod common;
mod durability;
mod format;
mod kill;
mod records;
mod search;
mod security;
mod versions;
