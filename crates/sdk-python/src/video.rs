//! Video tracking with best shots: `FaceSdk.tracker()` and what it returns.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::error::OrRaise;
use crate::image::{image_arg, Image};
use crate::types::{Face, Quality};

/// One video stream's tracker (`FaceSdk.tracker()`): feed it the frames in time order;
/// each face gets a track id, and each confirmed track keeps its best shot (highest
/// quality score, earliest on ties). One tracker per camera; detection releases the GIL.
#[pyclass(frozen, module = "renlian_sdk", name = "Tracker")]
pub(crate) struct Tracker {
    pub(crate) inner: sdk::Tracker,
    /// For decoding encoded frames.
    pub(crate) sdk: sdk::FaceSdk,
}

#[pymethods]
impl Tracker {
    /// Detects, scores and tracks the faces of one frame taken at `at_ms`
    /// (milliseconds; never less than the previous frame's). Needs `tracking`.
    fn feed(&self, py: Python<'_>, frame: &Bound<'_, PyAny>, at_ms: u64) -> PyResult<FrameResult> {
        let img = image_arg(py, &self.sdk, frame)?;
        let result = py.detach(|| self.inner.feed(&img, at_ms)).or_raise()?;
        Ok(FrameResult {
            faces: result.faces.into_iter().map(TrackedFace::from).collect(),
            ended: result.ended.into_iter().map(EndedTrack::from).collect(),
        })
    }

    /// The best shot so far of a live track; None if the id is not live.
    fn best_shot(&self, track: u64) -> Option<BestShot> {
        self.inner.best_shot(track).map(BestShot::from)
    }

    /// Ends every live track (end of stream) and returns the confirmed ones with their
    /// best shots. The tracker can be fed again afterwards, with new ids.
    fn finish(&self) -> Vec<EndedTrack> {
        self.inner
            .finish()
            .into_iter()
            .map(EndedTrack::from)
            .collect()
    }
}

/// What one frame gave: its faces (largest first) with their tracks, and the confirmed
/// tracks that ended at this frame.
#[pyclass(frozen, module = "renlian_sdk", name = "FrameResult")]
pub(crate) struct FrameResult {
    #[pyo3(get)]
    faces: Vec<TrackedFace>,
    #[pyo3(get)]
    ended: Vec<EndedTrack>,
}

/// A face of one frame and its track. Tentative tracks (`confirmed` False) may be a
/// false detection.
#[pyclass(frozen, module = "renlian_sdk", name = "TrackedFace")]
#[derive(Clone)]
pub(crate) struct TrackedFace {
    #[pyo3(get)]
    track: u64,
    #[pyo3(get)]
    confirmed: bool,
    face: sdk::Face,
    quality: sdk::Quality,
}

impl From<sdk::TrackedFace> for TrackedFace {
    fn from(t: sdk::TrackedFace) -> TrackedFace {
        TrackedFace {
            track: t.track,
            confirmed: t.confirmed,
            face: t.face,
            quality: t.quality,
        }
    }
}

#[pymethods]
impl TrackedFace {
    #[getter]
    fn face(&self) -> Face {
        Face {
            inner: self.face.clone(),
        }
    }
    #[getter]
    fn quality(&self) -> Quality {
        self.quality.into()
    }
    fn __repr__(&self) -> String {
        format!(
            "TrackedFace(track={}, confirmed={}, quality={})",
            self.track,
            if self.confirmed { "True" } else { "False" },
            self.quality.score
        )
    }
}

/// A track's best face: the frame time, the face in the frame, its quality, and the
/// frame cut around it (`crop`, with `face_in_crop` in the crop's coordinates: pass
/// both to `FaceSdk.descriptor` to recognise the person).
#[pyclass(frozen, module = "renlian_sdk", name = "BestShot")]
#[derive(Clone)]
pub(crate) struct BestShot {
    #[pyo3(get)]
    track: u64,
    #[pyo3(get)]
    at_ms: u64,
    face: sdk::Face,
    quality: sdk::Quality,
    crop: Arc<sdk::RgbImage>,
    face_in_crop: sdk::Face,
}

impl From<sdk::BestShot> for BestShot {
    fn from(b: sdk::BestShot) -> BestShot {
        BestShot {
            track: b.track,
            at_ms: b.at_ms,
            face: b.face,
            quality: b.quality,
            crop: Arc::new(b.crop),
            face_in_crop: b.face_in_crop,
        }
    }
}

#[pymethods]
impl BestShot {
    #[getter]
    fn face(&self) -> Face {
        Face {
            inner: self.face.clone(),
        }
    }
    #[getter]
    fn quality(&self) -> Quality {
        self.quality.into()
    }
    #[getter]
    fn crop(&self) -> Image {
        Image {
            rgb: self.crop.clone(),
        }
    }
    #[getter]
    fn face_in_crop(&self) -> Face {
        Face {
            inner: self.face_in_crop.clone(),
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "BestShot(track={}, at_ms={}, quality={})",
            self.track, self.at_ms, self.quality.score
        )
    }
}

/// A confirmed track that ended: why ("lost", "unconfirmed" or "finished"), when it
/// was first and last seen, how many detections it matched, and its best shot.
#[pyclass(frozen, module = "renlian_sdk", name = "EndedTrack")]
#[derive(Clone)]
pub(crate) struct EndedTrack {
    #[pyo3(get)]
    track: u64,
    #[pyo3(get)]
    reason: &'static str,
    #[pyo3(get)]
    first_ms: u64,
    #[pyo3(get)]
    last_ms: u64,
    #[pyo3(get)]
    hits: u32,
    #[pyo3(get)]
    best: BestShot,
}

impl From<sdk::EndedTrack> for EndedTrack {
    fn from(e: sdk::EndedTrack) -> EndedTrack {
        EndedTrack {
            track: e.track,
            reason: match e.reason {
                sdk::EndReason::Lost => "lost",
                sdk::EndReason::Unconfirmed => "unconfirmed",
                sdk::EndReason::Finished => "finished",
            },
            first_ms: e.first_ms,
            last_ms: e.last_ms,
            hits: e.hits,
            best: e.best.into(),
        }
    }
}

#[pymethods]
impl EndedTrack {
    fn __repr__(&self) -> String {
        format!(
            "EndedTrack(track={}, reason={:?}, hits={}, first_ms={}, last_ms={})",
            self.track, self.reason, self.hits, self.first_ms, self.last_ms
        )
    }
}
