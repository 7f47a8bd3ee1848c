//! Integration tests of the engine: decoding, detection and description at parity with dlib, analysis networks at parity with tfjs.
//!
//! One integration-test binary for the crate (one link instead of one per file); each
//! module was a test file of its own. Run one with `cargo test --workspace --test it MODULE::`.

mod attributes;
mod common;
mod decode;
mod fast;
mod liveness;
mod mesh;
mod onnx_cache;
mod parity;
mod rotate;
mod threads;
mod upsample;
