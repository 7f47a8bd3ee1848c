//! Integration tests of the TensorFlow.js graph reader and converter, with parity against tfjs.
//!
//! One integration-test binary for the crate (one link instead of one per file); each
//! module was a test file of its own. Run one with `cargo test --workspace --test it MODULE::`.

mod graphs;
mod parity;
