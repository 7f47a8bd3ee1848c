//! The C ABI's integration tests: the committed header is the generated one, and a C
//! program compiled with the system `cc` runs the SDK's flow with the Rust SDK's results,
//! leaking nothing.

mod support;

mod abi;
mod flow;
mod header;
