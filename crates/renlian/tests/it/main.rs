//! Integration tests of the `renlian` binary, driven as a user would.
//!
//! One integration-test binary for the crate (one link instead of one per file); each
//! module was a test file of its own. Run one with `cargo test --workspace --test it MODULE::`.

mod billing_cli;
mod billing_crash;
mod billing_quote;
mod billing_support;
mod calibrate_cli;
mod cli_errors;
mod console_admin;
mod console_billing;
mod console_browser;
mod console_faces;
mod console_pages;
mod console_support;
mod enrolment_crash;
mod face_support;
mod landmarks_cli;
mod license_cli;
mod liveness_cli;
mod map;
mod models_cli;
mod models_export;
mod private_files;
mod serve_detector;
mod serve_enrolment_crash;
mod serve_support;
mod vision_cli;
