//! Integration tests of the model packs and dlib's formats, with parity against Python dlib.
//!
//! One integration-test binary for the crate (one link instead of one per file); each
//! module was a test file of its own. Run one with `cargo test --workspace --test it MODULE::`.

mod dlib_files;
mod onnx_parity;
