//! Integration tests of the tracker on frames the real engine detected.
//!
//! One integration-test binary for the crate; run one module with
//! `cargo test --workspace --test it MODULE::`.

mod sequence;
