//! The licensing crate's integration tests, one module per topic.

mod binding;
mod features;
mod format;
mod fuzz;
mod keys;
mod revocation;
mod state;
mod support;
mod validity;
