//! The local gallery: `FaceSdk.gallery(key)`, 1:N search on the device, and the export
//! that works with no licence.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::error::{invalid, OrRaise};
use crate::image::image_arg;

/// A 32-byte key from bytes-like Python data.
pub(crate) fn key32(what: &str, key: &[u8]) -> PyResult<[u8; 32]> {
    key.try_into()
        .map_err(|_| invalid(format!("the {what} must be 32 bytes, not {}", key.len())))
}

/// The SDK's local gallery, encrypted at rest with the app's 32-byte key (open it with
/// `FaceSdk.gallery(key)`). One open gallery per data directory at a time.
#[pyclass(frozen, module = "renlian_sdk", name = "Gallery")]
pub(crate) struct Gallery {
    pub(crate) inner: sdk::Gallery,
    pub(crate) sdk: sdk::FaceSdk,
}

/// A face found by `Gallery.search`: its person, id, distance and the API's score.
#[pyclass(frozen, module = "renlian_sdk", name = "SearchHit")]
#[derive(Clone)]
pub(crate) struct SearchHit {
    #[pyo3(get)]
    person_id: String,
    #[pyo3(get)]
    face_id: u64,
    #[pyo3(get)]
    distance: f32,
    #[pyo3(get)]
    score: f64,
}

#[pymethods]
impl SearchHit {
    fn __repr__(&self) -> String {
        format!(
            "SearchHit(person_id={:?}, face_id={}, score={:.2})",
            self.person_id, self.face_id, self.score
        )
    }
}

#[pymethods]
impl Gallery {
    /// Adds a face (a descriptor from `FaceSdk.descriptor`) to a person, creating the
    /// person on its first face; returns the new face id. Needs `search`.
    #[pyo3(signature = (person_id, descriptor, name = None, tag = None))]
    fn add(
        &self,
        person_id: &str,
        descriptor: Vec<f32>,
        name: Option<String>,
        tag: Option<String>,
    ) -> PyResult<u64> {
        self.inner.add(person_id, &descriptor, name, tag).or_raise()
    }

    /// Adds many `(person_id, descriptor)` faces in one write, all or none; returns
    /// their ids in order. Needs `search`.
    fn add_batch(&self, faces: Vec<(String, Vec<f32>)>) -> PyResult<Vec<u64>> {
        self.inner.add_batch(&faces).or_raise()
    }

    /// Detects the largest face of `image`, describes it and adds it to `person_id`.
    /// Needs `detect`, `features` and `search`.
    #[pyo3(signature = (person_id, image, name = None))]
    fn enrol(
        &self,
        py: Python<'_>,
        person_id: &str,
        image: &Bound<'_, PyAny>,
        name: Option<String>,
    ) -> PyResult<u64> {
        let img = image_arg(py, &self.sdk, image)?;
        py.detach(|| self.inner.enrol(person_id, &img, name))
            .or_raise()
    }

    /// The `top_k` faces nearest to `descriptor`, nearest first. Needs `search`.
    #[pyo3(signature = (descriptor, top_k = 5))]
    fn search(
        &self,
        py: Python<'_>,
        descriptor: Vec<f32>,
        top_k: usize,
    ) -> PyResult<Vec<SearchHit>> {
        let hits = py
            .detach(|| self.inner.search(&descriptor, top_k))
            .or_raise()?;
        Ok(hits
            .into_iter()
            .map(|h| SearchHit {
                person_id: h.person_id,
                face_id: h.face_id,
                distance: h.distance,
                score: h.score,
            })
            .collect())
    }

    /// Removes one face (its person goes with its last face).
    fn remove_face(&self, face_id: u64) -> PyResult<()> {
        self.inner.remove_face(face_id).or_raise()
    }

    /// Removes a person and its faces; returns how many faces went.
    fn remove_person(&self, person_id: &str) -> PyResult<usize> {
        self.inner.remove_person(person_id).or_raise()
    }

    /// Every person id, in order.
    fn list(&self) -> Vec<String> {
        self.inner.list()
    }

    /// A person's faces as `[(face_id, name, tag)]`; None if there is no such person.
    #[allow(clippy::type_complexity)]
    fn person(
        &self,
        person_id: &str,
    ) -> PyResult<Option<Vec<(u64, Option<String>, Option<String>)>>> {
        Ok(self.inner.person(person_id).or_raise()?.map(|p| {
            p.faces
                .into_iter()
                .map(|f| (f.face_id, f.name, f.tag))
                .collect()
        }))
    }

    /// `{"persons", "faces", "log_records", "log_bytes"}`.
    fn stats(&self) -> BTreeMap<&'static str, u64> {
        let s = self.inner.stats();
        BTreeMap::from([
            ("persons", s.persons as u64),
            ("faces", s.faces as u64),
            ("log_records", s.log_records),
            ("log_bytes", s.log_bytes),
        ])
    }

    /// Every face sealed under `export_key` (32 bytes), as bytes to move the gallery to
    /// another device (`import_export`).
    fn export<'py>(&self, py: Python<'py>, export_key: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let key = key32("export key", export_key)?;
        let mut out = Vec::new();
        self.inner.export(&mut out, &key).or_raise()?;
        Ok(PyBytes::new(py, &out))
    }

    /// Reads an export sealed under `export_key`, merged in or (`replace`) replacing the
    /// gallery, all or nothing; returns `(faces read, faces added, faces now held)`.
    /// Needs `search`.
    #[pyo3(signature = (data, export_key, replace = false))]
    fn import_export(
        &self,
        data: &[u8],
        export_key: &[u8],
        replace: bool,
    ) -> PyResult<(usize, usize, usize)> {
        let key = key32("export key", export_key)?;
        let done = self.inner.import(data, &key, replace).or_raise()?;
        Ok((done.faces, done.added, done.total))
    }
}

/// Exports the gallery of `data_dir` with no licence (for a device whose licence has
/// ended): every face sealed under `export_key`, as bytes.
#[pyfunction]
pub(crate) fn export_gallery<'py>(
    py: Python<'py>,
    data_dir: PathBuf,
    key: &[u8],
    export_key: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let key = key32("gallery key", key)?;
    let export_key = key32("export key", export_key)?;
    let mut out = Vec::new();
    sdk::export_gallery(&data_dir, &key, &mut out, &export_key).or_raise()?;
    Ok(PyBytes::new(py, &out))
}
