//! The Python package's tests: the wheel built by maturin, installed into a fresh
//! directory, and `tests/test_sdk.py` run by pytest against real licences signed by a
//! test issuer key, the exported model directory and the fixture photos, with what the
//! Rust SDK returns on the same inputs to compare against.

mod feature_pins;
mod pytest;
mod support;
