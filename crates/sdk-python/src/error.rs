//! SDK errors as Python exceptions: the `RenlianError` subclass of the error's stable
//! code, defined in Python (`renlian_sdk/errors.py`) so it can be subclassed, pickled
//! and documented like any Python exception.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use sdk::SdkError;

/// The exception for `e`: `renlian_sdk.errors.<Name>Error(code, name, message)`.
pub(crate) fn to_py(e: SdkError) -> PyErr {
    let code = e.code();
    let message = e.to_string();
    Python::attach(|py| {
        let made = py
            .import("renlian_sdk.errors")
            .and_then(|m| m.getattr("_error_for"))
            .and_then(|f| f.call1((code as i32, code.name(), message.as_str())));
        match made {
            Ok(value) => PyErr::from_value(value),
            // Only when the native module was copied without its Python half.
            Err(import) => PyRuntimeError::new_err(format!(
                "{message} ({}, code {}; renlian_sdk.errors unavailable: {import})",
                code.name(),
                code as i32
            )),
        }
    })
}

/// An invalid argument found by this layer, raised like the SDK's own.
pub(crate) fn invalid(message: impl Into<String>) -> PyErr {
    to_py(SdkError::InvalidArgument(message.into()))
}

/// `.map_err(to_py)` for SDK results.
pub(crate) trait OrRaise<T> {
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for sdk::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
