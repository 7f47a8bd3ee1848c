//! `FaceSdk`: one SDK instance, opened from a licence, and `activation_request`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyo3::prelude::*;
use sdk::{AppIdentity, Identity, RgbImage, SdkConfig};

use crate::error::{invalid, OrRaise};
use crate::gallery::{key32, Gallery};
use crate::image::{bytes_of, image_arg, Image};
use crate::types::{Comparison, Face, LicenceInfo, Liveness, Quality, SensorLiveness};
use crate::video::Tracker;

/// The offline face SDK. The licence is verified offline when it opens (and again on
/// use); each call needs a feature the licence grants and raises
/// `FeatureNotLicensedError` otherwise. Thread-safe: share one instance between
/// threads; inference releases the GIL.
///
/// Images are an `Image` (from `decode` or `Image.from_raw`) or encoded bytes (JPEG,
/// PNG, BMP), decoded on each call.
#[pyclass(frozen, module = "renlian_sdk", name = "FaceSdk")]
pub(crate) struct FaceSdk {
    sdk: sdk::FaceSdk,
}

/// What the licence is bound to, from the keyword arguments: a device id, an app, or
/// (neither given) this Linux machine.
fn identity(
    device_id: Option<String>,
    app_package: Option<String>,
    app_certificate_sha256: Option<String>,
) -> PyResult<Identity> {
    match (device_id, app_package) {
        (Some(_), Some(_)) => Err(invalid("give device_id or app_package, not both")),
        (Some(id), None) => {
            if app_certificate_sha256.is_some() {
                return Err(invalid("app_certificate_sha256 needs app_package"));
            }
            Ok(Identity::DeviceId(id))
        }
        (None, Some(package)) => Ok(Identity::App(AppIdentity {
            package,
            certificate_sha256: app_certificate_sha256,
        })),
        (None, None) => {
            if app_certificate_sha256.is_some() {
                return Err(invalid("app_certificate_sha256 needs app_package"));
            }
            Ok(Identity::LinuxDevice)
        }
    }
}

fn read_licence(licence: Option<String>, licence_path: Option<PathBuf>) -> PyResult<String> {
    match (licence, licence_path) {
        (Some(text), None) => Ok(text),
        (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
            invalid(format!(
                "cannot read the licence file {}: {e}",
                path.display()
            ))
        }),
        _ => Err(invalid(
            "give the licence text (licence=) or its file (licence_path=)",
        )),
    }
}

#[pymethods]
impl FaceSdk {
    /// Opens the SDK: verifies the licence with the trusted issuer keys (64 hex digits
    /// each) and loads the models it switches on from `model_dir` (written by
    /// `renlian models export`). `data_dir` keeps the licence state and must be the
    /// directory the activation request was made with. The licence is bound to
    /// `device_id` (an integrator's id), to an app (`app_package`, and
    /// `app_certificate_sha256` for a platform licence that names one), or, neither
    /// given, to this Linux machine.
    #[new]
    #[pyo3(signature = (
        *,
        trusted_keys,
        model_dir,
        data_dir,
        licence = None,
        licence_path = None,
        device_id = None,
        app_package = None,
        app_certificate_sha256 = None,
        revocation_list = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        trusted_keys: Vec<String>,
        model_dir: PathBuf,
        data_dir: PathBuf,
        licence: Option<String>,
        licence_path: Option<PathBuf>,
        device_id: Option<String>,
        app_package: Option<String>,
        app_certificate_sha256: Option<String>,
        revocation_list: Option<String>,
    ) -> PyResult<FaceSdk> {
        let mut config = SdkConfig::new(
            read_licence(licence, licence_path)?,
            trusted_keys,
            model_dir,
            data_dir,
            identity(device_id, app_package, app_certificate_sha256)?,
        );
        config.revocation_list = revocation_list;
        // Loading the models takes seconds: let other threads run.
        let sdk = py.detach(|| sdk::FaceSdk::open(config)).or_raise()?;
        Ok(FaceSdk { sdk })
    }

    /// The licence in force (checked again: an expired licence raises here too).
    fn licence(&self) -> PyResult<LicenceInfo> {
        self.sdk.licence().map(LicenceInfo::from).or_raise()
    }

    /// Accepts a newer signed revocation list (shipped with an app update); the licence
    /// is checked against it on the next call. Returns `(sequence, updated)`: the
    /// list's sequence number and whether it was newer than any seen.
    fn accept_revocation_list(&self, text: &str) -> PyResult<(u64, bool)> {
        match self.sdk.accept_revocation_list(text).or_raise()? {
            licensing::RevocationUpdate::Updated { seq } => Ok((seq, true)),
            licensing::RevocationUpdate::Unchanged { seq } => Ok((seq, false)),
        }
    }

    /// The SDK's data directory.
    #[getter]
    fn data_dir(&self) -> PathBuf {
        self.sdk.data_dir().to_path_buf()
    }

    /// Decodes JPEG, PNG or BMP bytes (any bytes-like object) into an `Image`, within
    /// the SDK's size limits. Needs no licensed feature.
    fn decode(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Image> {
        let bytes = bytes_of(data)?;
        let rgb = py.detach(|| self.sdk.decode(&bytes)).or_raise()?;
        Ok(Image { rgb: Arc::new(rgb) })
    }

    /// Faces in the image, largest first. Needs `detect`.
    fn detect(&self, py: Python<'_>, image: &Bound<'_, PyAny>) -> PyResult<Vec<Face>> {
        let img = image_arg(py, &self.sdk, image)?;
        let faces = py.detach(|| self.sdk.detect(&img)).or_raise()?;
        Ok(faces.into_iter().map(|inner| Face { inner }).collect())
    }

    /// The server's quality score of `face`. Needs `quality`.
    fn quality(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        face: PyRef<'_, Face>,
    ) -> PyResult<Quality> {
        let img = image_arg(py, &self.sdk, image)?;
        let face = &face.inner;
        let q = py.detach(|| self.sdk.quality(&img, face)).or_raise()?;
        Ok(q.into())
    }

    /// The face's 128-d descriptor (a list of floats), the same the server makes.
    /// Needs `features`.
    fn descriptor(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        face: PyRef<'_, Face>,
    ) -> PyResult<Vec<f32>> {
        let img = image_arg(py, &self.sdk, image)?;
        let face = &face.inner;
        let d = py.detach(|| self.sdk.descriptor(&img, face)).or_raise()?;
        Ok(d.0)
    }

    /// The largest face and its descriptor, `(Face, list[float])`; raises `NoFaceError`
    /// when there is none. Needs `detect` and `features`.
    fn extract(&self, py: Python<'_>, image: &Bound<'_, PyAny>) -> PyResult<(Face, Vec<f32>)> {
        let img = image_arg(py, &self.sdk, image)?;
        let (inner, d) = py.detach(|| self.sdk.extract(&img)).or_raise()?;
        Ok((Face { inner }, d.0))
    }

    /// Distance and the API's calibrated score (0-100; two different people reach 50
    /// about once in 10,000 pairs) of two descriptors. Needs `features`.
    fn compare(&self, py: Python<'_>, a: Vec<f32>, b: Vec<f32>) -> PyResult<Comparison> {
        let c = py.detach(|| self.sdk.compare(&a, &b)).or_raise()?;
        Ok(c.into())
    }

    /// The score (0-100) descriptor version 1's table gives a distance: right for a pair
    /// of version-1 descriptors only. Descriptors made now are version 2, whose score
    /// depends on both descriptors of a pair: use `compare`.
    fn score_of_distance(&self, distance: f64) -> f64 {
        self.sdk.score_of_distance(distance)
    }

    /// Static single-frame RGB liveness of `face` (the server's DetectLiveFace). Needs
    /// `ir-liveness` or `3d-liveness`.
    fn liveness(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        face: PyRef<'_, Face>,
    ) -> PyResult<Liveness> {
        let img = image_arg(py, &self.sdk, image)?;
        let face = &face.inner;
        let l = py.detach(|| self.sdk.liveness(&img, face)).or_raise()?;
        Ok(l.into())
    }

    /// Infrared liveness of `face` (found in `image`) from the IR frame `ir`: 8-bit grey
    /// pixels, row by row, registered pixel-for-pixel to the RGB frame (the same width
    /// and height; any bytes-like object). Needs `ir-liveness`.
    fn ir_liveness(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        face: PyRef<'_, Face>,
        ir: &Bound<'_, PyAny>,
    ) -> PyResult<SensorLiveness> {
        let img = image_arg(py, &self.sdk, image)?;
        let grey = bytes_of(ir)?;
        let face = &face.inner;
        let verdict = py.detach(|| {
            let ir = image::GrayImage::from_raw(img.width(), img.height(), grey)
                .ok_or_else(|| sized("IR frame", &img, 1))?;
            self.sdk.ir_liveness(&img, face, &ir)
        });
        Ok(verdict.or_raise()?.into())
    }

    /// Structured-light (3D) liveness of `face` from the depth map `depth`: unsigned
    /// 16-bit millimetres in native byte order (0: no reading), row by row, registered
    /// to the RGB frame (a `uint16` array's bytes, or `array.array("H")`). Needs
    /// `3d-liveness`.
    fn depth_liveness(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        face: PyRef<'_, Face>,
        depth: &Bound<'_, PyAny>,
    ) -> PyResult<SensorLiveness> {
        let img = image_arg(py, &self.sdk, image)?;
        let raw = bytes_of(depth)?;
        let face = &face.inner;
        let verdict = py.detach(|| {
            let mm: Vec<u16> = raw
                .chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect();
            let map = sdk::DepthMap::from_raw(img.width(), img.height(), mm)
                .filter(|_| raw.len() % 2 == 0)
                .ok_or_else(|| sized("depth map", &img, 2))?;
            self.sdk.depth_liveness(&img, face, &map)
        });
        Ok(verdict.or_raise()?.into())
    }

    /// Opens (or creates) the local gallery in the data directory with the app's
    /// 32-byte key; a wrong key raises `GalleryKeyError`.
    fn gallery(&self, key: &[u8]) -> PyResult<Gallery> {
        let key = key32("gallery key", key)?;
        let inner = self.sdk.gallery(&key).or_raise()?;
        Ok(Gallery {
            inner,
            sdk: self.sdk.clone(),
        })
    }

    /// A tracker for one video stream. The keyword arguments tune how detections are
    /// associated with tracks (defaults: a door or kiosk camera at 3-25 frames a
    /// second; docs/sdk-python.md). Needs `tracking`.
    #[pyo3(signature = (
        *,
        iou_threshold = None,
        confirm_hits = None,
        confirm_window_ms = None,
        max_age_ms = None,
        max_predict_ms = None,
    ))]
    fn tracker(
        &self,
        iou_threshold: Option<f32>,
        confirm_hits: Option<u32>,
        confirm_window_ms: Option<u64>,
        max_age_ms: Option<u64>,
        max_predict_ms: Option<u64>,
    ) -> PyResult<Tracker> {
        let d = sdk::TrackerConfig::default();
        let config = sdk::TrackerConfig {
            iou_threshold: iou_threshold.unwrap_or(d.iou_threshold),
            confirm_hits: confirm_hits.unwrap_or(d.confirm_hits),
            confirm_window_ms: confirm_window_ms.unwrap_or(d.confirm_window_ms),
            max_age_ms: max_age_ms.unwrap_or(d.max_age_ms),
            max_predict_ms: max_predict_ms.unwrap_or(d.max_predict_ms),
        };
        let inner = self.sdk.tracker(config).or_raise()?;
        Ok(Tracker {
            inner,
            sdk: self.sdk.clone(),
        })
    }

    fn __repr__(&self) -> String {
        match self.sdk.licence() {
            Ok(l) => format!("FaceSdk(licence={:?}, sdk={:?})", l.id, l.sdk.as_str()),
            Err(e) => format!("FaceSdk(licence unusable: {e})"),
        }
    }
}

/// A second sensor's frame whose byte count does not fit the RGB frame.
fn sized(what: &str, img: &RgbImage, bytes_per_pixel: u32) -> sdk::SdkError {
    sdk::SdkError::InvalidArgument(format!(
        "the {what} must be {}×{} pixels of {bytes_per_pixel} byte(s), registered to the RGB frame",
        img.width(),
        img.height()
    ))
}

/// The activation request for this installation: the text the vendor's licensing
/// service turns into a device licence. `sdk` is the SDK ordered ("detect", "search",
/// "ir-liveness-search", …). Creates the device key in `data_dir` on first use; open
/// the SDK later with the same `data_dir` and identity.
#[pyfunction]
#[pyo3(signature = (data_dir, sdk, *, device_id = None, label = None))]
pub(crate) fn activation_request(
    py: Python<'_>,
    data_dir: PathBuf,
    sdk: &str,
    device_id: Option<String>,
    label: Option<String>,
) -> PyResult<String> {
    let product: sdk::Sdk = sdk.parse().map_err(|e| invalid(format!("{e}")))?;
    let identity = identity(device_id, None, None)?;
    py.detach(|| sdk::activation_request(Path::new(&data_dir), &identity, product, label))
        .or_raise()
}
