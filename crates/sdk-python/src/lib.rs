//! The offline SDK's Python package, `renlian_sdk`: PyO3 classes over [`sdk`], built
//! into one abi3 wheel (CPython 3.9 and later) by maturin.
//!
//! This crate is the compiled half, `renlian_sdk._native`; the pure-Python half in
//! `python/renlian_sdk/` holds the exception classes (`errors.py`), the re-exports and
//! the type stubs. Every SDK error is raised as the `RenlianError` subclass of its
//! stable code ([`error`]). Inference runs with the GIL released, so Python threads
//! sharing one `FaceSdk` run in parallel.
//!
//! What it is not: a second implementation. Every call is the `sdk` crate's, which is
//! the server's code; the tests (`tests/test_sdk.py`, driven by `tests/it`) check the
//! package returns exactly what the Rust SDK returns.

mod error;
mod facesdk;
mod gallery;
mod image;
mod types;
mod video;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "LIVENESS_THRESHOLD",
        vision::liveness::RECOMMENDED_THRESHOLD,
    )?;
    m.add("DESCRIPTOR_LEN", vision::DESCRIPTOR_LEN)?;
    m.add(
        "ERROR_CODES",
        sdk::ErrorCode::ALL
            .iter()
            .map(|c| (*c as i32, c.name()))
            .collect::<Vec<_>>(),
    )?;
    m.add_class::<facesdk::FaceSdk>()?;
    m.add_class::<image::Image>()?;
    m.add_class::<types::Face>()?;
    m.add_class::<types::Quality>()?;
    m.add_class::<types::Comparison>()?;
    m.add_class::<types::Liveness>()?;
    m.add_class::<types::LicenceInfo>()?;
    m.add_class::<types::SensorLiveness>()?;
    m.add_class::<gallery::Gallery>()?;
    m.add_class::<gallery::SearchHit>()?;
    m.add_class::<video::Tracker>()?;
    m.add_class::<video::FrameResult>()?;
    m.add_class::<video::TrackedFace>()?;
    m.add_class::<video::BestShot>()?;
    m.add_class::<video::EndedTrack>()?;
    m.add_function(wrap_pyfunction!(facesdk::activation_request, m)?)?;
    m.add_function(wrap_pyfunction!(gallery::export_gallery, m)?)?;
    Ok(())
}
