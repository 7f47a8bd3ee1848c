//! Integration tests of the face API server: HTTP, signatures, actions, billing, the official SDK.
//!
//! One integration-test binary for the crate (one link instead of one per file); each
//! module was a test file of its own. Run one with `cargo test --workspace --test it MODULE::`.

#[macro_use]
mod common;
mod analysis;
mod billing_api;
mod cancellation;
mod connections;
mod descriptor_versions;
mod image_limits;
mod keys_upgrade;
mod licensing_api;
mod sdk;
mod sdk_go;
mod sdk_node;
mod server;
mod signatures;
mod strict_signing;
mod temporary_keys;
mod thumbnails;
