//! The offline SDK's integration tests: real licences signed by a test issuer key, the
//! real models exported to a device directory, the fixture photos.

#[macro_use]
mod support;

mod features;
mod licence;
mod parity;
