//! The JVM binding's integration test: the Java classes compiled with the host JDK
//! against stub `android.*` classes, run on the host JVM over the built library, with
//! licences signed by a test issuer key for the stub app's package and certificate.

mod flow;
mod support;
