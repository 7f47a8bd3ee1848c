//! The SDK's results as Python classes: read-only attributes and a useful `repr`.

use std::collections::BTreeMap;

use pyo3::prelude::*;

/// One detected face: its box (inclusive edges, may reach outside the image), the
/// detector's confidence and 5 landmarks.
#[pyclass(frozen, module = "renlian_sdk", name = "Face")]
pub(crate) struct Face {
    pub(crate) inner: sdk::Face,
}

#[pymethods]
impl Face {
    #[getter]
    fn left(&self) -> i64 {
        self.inner.rect.left
    }
    #[getter]
    fn top(&self) -> i64 {
        self.inner.rect.top
    }
    /// Rightmost column (inclusive).
    #[getter]
    fn right(&self) -> i64 {
        self.inner.rect.right
    }
    /// Bottom row (inclusive).
    #[getter]
    fn bottom(&self) -> i64 {
        self.inner.rect.bottom
    }
    #[getter]
    fn width(&self) -> i64 {
        self.inner.width()
    }
    #[getter]
    fn height(&self) -> i64 {
        self.inner.height()
    }
    /// `(left, top, right, bottom)`, edges inclusive.
    #[getter(r#box)]
    fn bbox(&self) -> (i64, i64, i64, i64) {
        let r = self.inner.rect;
        (r.left, r.top, r.right, r.bottom)
    }
    #[getter]
    fn confidence(&self) -> f32 {
        self.inner.confidence
    }
    /// dlib's 5 points `(x, y)`: outer and inner corner of the right eye, then of the
    /// left eye, then the base of the nose.
    #[getter]
    fn landmarks(&self) -> Vec<(i64, i64)> {
        self.inner.landmarks.clone()
    }
    fn __repr__(&self) -> String {
        let r = self.inner.rect;
        format!(
            "Face(box=({}, {}, {}, {}), confidence={:.3})",
            r.left, r.top, r.right, r.bottom, self.inner.confidence
        )
    }
}

/// The server's quality score of a face: overall score, sharpness and brightness
/// (0-100) and, per region, the share of it inside the image.
#[pyclass(frozen, module = "renlian_sdk", name = "Quality")]
pub(crate) struct Quality {
    #[pyo3(get)]
    score: u32,
    #[pyo3(get)]
    sharpness: u32,
    #[pyo3(get)]
    brightness: u32,
    completeness: vision::Completeness,
}

impl From<sdk::Quality> for Quality {
    fn from(q: sdk::Quality) -> Quality {
        Quality {
            score: q.score,
            sharpness: q.sharpness,
            brightness: q.brightness,
            completeness: q.completeness,
        }
    }
}

#[pymethods]
impl Quality {
    /// `{"eyebrow", "eye", "nose", "cheek", "mouth", "chin"}` → 0-100 (100: nothing of
    /// the region missing).
    #[getter]
    fn completeness(&self) -> BTreeMap<&'static str, u32> {
        let c = self.completeness;
        BTreeMap::from([
            ("eyebrow", c.eyebrow),
            ("eye", c.eye),
            ("nose", c.nose),
            ("cheek", c.cheek),
            ("mouth", c.mouth),
            ("chin", c.chin),
        ])
    }
    fn __repr__(&self) -> String {
        format!(
            "Quality(score={}, sharpness={}, brightness={})",
            self.score, self.sharpness, self.brightness
        )
    }
}

/// Two descriptors compared: Euclidean distance and the API's calibrated score (0-100:
/// two different people reach 40 about once in 1,000 pairs, 50 once in 10,000, 60 once
/// in 100,000).
#[pyclass(frozen, module = "renlian_sdk", name = "Comparison")]
pub(crate) struct Comparison {
    #[pyo3(get)]
    distance: f64,
    #[pyo3(get)]
    score: f64,
}

impl From<sdk::Comparison> for Comparison {
    fn from(c: sdk::Comparison) -> Comparison {
        Comparison {
            distance: c.distance,
            score: c.score,
        }
    }
}

#[pymethods]
impl Comparison {
    fn __repr__(&self) -> String {
        format!(
            "Comparison(distance={:.4}, score={:.2})",
            self.distance, self.score
        )
    }
}

/// Static single-frame liveness: the API's score (0-100, higher is more likely live)
/// and the two networks' raw outputs.
#[pyclass(frozen, module = "renlian_sdk", name = "Liveness")]
pub(crate) struct Liveness {
    #[pyo3(get)]
    score: f64,
    #[pyo3(get)]
    antispoof: f32,
    #[pyo3(get)]
    liveness: f32,
}

impl From<sdk::Liveness> for Liveness {
    fn from(l: sdk::Liveness) -> Liveness {
        Liveness {
            score: l.score,
            antispoof: l.raw.antispoof,
            liveness: l.raw.liveness,
        }
    }
}

#[pymethods]
impl Liveness {
    /// `score >= LIVENESS_THRESHOLD` (the server's recommended threshold).
    #[getter]
    fn is_live(&self) -> bool {
        self.score >= vision::liveness::RECOMMENDED_THRESHOLD
    }
    fn __repr__(&self) -> String {
        format!(
            "Liveness(score={:.2}, is_live={})",
            self.score,
            self.is_live()
        )
    }
}

/// The licence in force.
#[pyclass(frozen, module = "renlian_sdk", name = "LicenceInfo")]
pub(crate) struct LicenceInfo {
    #[pyo3(get)]
    id: String,
    /// The SDK it licenses ("detect", "search", "ir-liveness-search", …).
    #[pyo3(get)]
    sdk: &'static str,
    /// "device", "platform", "trial-device" or "trial-platform".
    #[pyo3(get)]
    kind: &'static str,
    /// The features it grants ("detect", "features", "search", …).
    #[pyo3(get)]
    features: Vec<&'static str>,
    /// Unix seconds; None for a permanent licence.
    #[pyo3(get)]
    expires: Option<i64>,
    /// "valid", or "expiring" within 30 days.
    #[pyo3(get)]
    status: &'static str,
    /// Days until it expires; None for a permanent licence.
    #[pyo3(get)]
    days_left: Option<u32>,
}

impl From<sdk::LicenceInfo> for LicenceInfo {
    fn from(l: sdk::LicenceInfo) -> LicenceInfo {
        let (status, days_left) = match l.status {
            sdk::Status::Valid { days_left } => ("valid", days_left),
            sdk::Status::Expiring { days_left } => ("expiring", Some(days_left)),
        };
        LicenceInfo {
            id: l.id,
            sdk: l.sdk.as_str(),
            kind: l.kind.as_str(),
            features: l.features.iter().map(|f| f.as_str()).collect(),
            expires: l.expires,
            status,
            days_left,
        }
    }
}

#[pymethods]
impl LicenceInfo {
    fn __repr__(&self) -> String {
        format!(
            "LicenceInfo(id={:?}, sdk={:?}, kind={:?}, features={:?}, status={:?})",
            self.id, self.sdk, self.kind, self.features, self.status
        )
    }
}

/// A second sensor's liveness verdict (IR or depth): 0-100, live from 50 (the weakest
/// check decides), the checks that failed, and the measurements behind it.
#[pyclass(frozen, module = "renlian_sdk", name = "SensorLiveness")]
pub(crate) struct SensorLiveness {
    verdict: Verdict,
}

enum Verdict {
    Ir(sdk::IrVerdict),
    Depth(sdk::DepthVerdict),
}

impl From<sdk::IrVerdict> for SensorLiveness {
    fn from(v: sdk::IrVerdict) -> SensorLiveness {
        SensorLiveness {
            verdict: Verdict::Ir(v),
        }
    }
}

impl From<sdk::DepthVerdict> for SensorLiveness {
    fn from(v: sdk::DepthVerdict) -> SensorLiveness {
        SensorLiveness {
            verdict: Verdict::Depth(v),
        }
    }
}

#[pymethods]
impl SensorLiveness {
    #[getter]
    fn score(&self) -> u8 {
        match &self.verdict {
            Verdict::Ir(v) => v.score,
            Verdict::Depth(v) => v.score,
        }
    }
    /// Every check passed.
    #[getter]
    fn is_live(&self) -> bool {
        match &self.verdict {
            Verdict::Ir(v) => v.is_live,
            Verdict::Depth(v) => v.is_live,
        }
    }
    /// The failed checks, in words (empty when live).
    #[getter]
    fn reasons(&self) -> Vec<String> {
        match &self.verdict {
            Verdict::Ir(v) => v.reasons.iter().map(|r| r.to_string()).collect(),
            Verdict::Depth(v) => v.reasons.iter().map(|r| r.to_string()).collect(),
        }
    }
    /// The measurements (docs/sensor-liveness.md names them).
    #[getter]
    fn measures<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let d = pyo3::types::PyDict::new(py);
        match &self.verdict {
            Verdict::Ir(v) => {
                let m = &v.measures;
                d.set_item(
                    "ir_face",
                    m.ir_face.map(|r| (r.left, r.top, r.right, r.bottom)),
                )?;
                d.set_item("ir_confidence", m.ir_confidence)?;
                d.set_item("iou", m.iou)?;
                d.set_item("face_mean", m.face_mean)?;
                d.set_item("frame_mean", m.frame_mean)?;
                d.set_item("saturated", m.saturated)?;
                d.set_item("contrast", m.contrast)?;
                d.set_item("texture", m.texture)?;
            }
            Verdict::Depth(v) => {
                let m = &v.measures;
                d.set_item("region_samples", m.region_samples)?;
                d.set_item("region_pixels", m.region_pixels)?;
                d.set_item("landmark_samples", m.landmark_samples)?;
                d.set_item("distance_mm", m.distance_mm)?;
                d.set_item("relief_mm", m.relief_mm)?;
                d.set_item("prior_relief_mm", m.prior_relief_mm)?;
                d.set_item("correlation", m.correlation)?;
                d.set_item("gain", m.gain)?;
                d.set_item("plane_correlation", m.plane_correlation)?;
            }
        }
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!(
            "SensorLiveness(score={}, is_live={}, reasons={:?})",
            self.score(),
            if self.is_live() { "True" } else { "False" },
            self.reasons()
        )
    }
}
