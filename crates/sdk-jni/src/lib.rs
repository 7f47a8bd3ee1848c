//! The offline SDK on the JVM and Android: the native methods of the Java classes
//! `com.renlian.sdk.FaceSdk`, `Tracker` and `Gallery` (sources in `java/`), over
//! the `sdk` crate.
//!
//! The Java object owns one boxed [`sdk::FaceSdk`] as a `long` handle; it frees it once
//! (`close()`), and holds a read lock around every native call so a concurrent `close()`
//! cannot free it under a running call. Values cross the boundary as primitive arrays
//! (see [`convert`] for their layouts), so the native side looks up no Java class but the
//! exception's. No panic crosses JNI: every method runs inside [`boundary::guard`], which
//! turns an [`sdk::SdkError`] or a panic into a `com.renlian.sdk.RenlianException` with
//! the stable [`sdk::ErrorCode`].
//!
//! The Android identity (package name, signing certificate digest, ANDROID_ID) is read in
//! Java from the app's `Context` and passed in as strings: the native side never calls
//! into the Android framework.

pub mod boundary;
pub mod convert;
mod gallery;
mod methods;
pub mod tracking;

pub use boundary::EXCEPTION_CLASS;
pub use convert::{FACE_LEN, LICENCE_FIELDS, LIVENESS_LEN, QUALITY_LEN};
