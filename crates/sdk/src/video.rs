//! Video tracking with best-shot on the device: the `tracking` crate's rule over the
//! server's detector and quality score. Each frame is detected, each face scored, and
//! the tracker keeps per track only the crop of its best face so far.

use licensing::Feature;
use parking_lot::Mutex;
use tracking::{Detection, EndReason, Event, FaceBox, TrackerConfig};
use vision::{Face, Quality, Rect, RgbImage};

use crate::error::{Result, SdkError};
use crate::instance::FaceSdk;

/// The best shot's crop is the face box grown by this factor about its centre, so the
/// landmarks and the descriptor's chip fall inside it.
const CROP_SCALE: f64 = 1.6;

/// A track's best face so far: the highest quality score, the earliest frame on ties.
#[derive(Debug, Clone, PartialEq)]
pub struct BestShot {
    pub track: u64,
    /// The frame's timestamp.
    pub at_ms: u64,
    /// The face in the frame's coordinates.
    pub face: Face,
    pub quality: Quality,
    /// The frame cut around the face (the box grown by 1.6, clipped to the frame).
    pub crop: RgbImage,
    /// The face in the crop's coordinates: `sdk.descriptor(&shot.crop, &shot.face_in_crop)`.
    pub face_in_crop: Face,
}

/// A face of one frame with its track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedFace {
    pub track: u64,
    /// Confirmed tracks have been seen `confirm_hits` times; tentative ones may be a
    /// false detection.
    pub confirmed: bool,
    pub face: Face,
    pub quality: Quality,
}

/// A confirmed track that ended, with its best shot.
#[derive(Debug, Clone, PartialEq)]
pub struct EndedTrack {
    pub track: u64,
    pub reason: EndReason,
    pub first_ms: u64,
    pub last_ms: u64,
    pub hits: u32,
    pub best: BestShot,
}

/// What one frame gave.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameResult {
    /// Every face of the frame, largest first, with its track.
    pub faces: Vec<TrackedFace>,
    /// Confirmed tracks that ended at this frame (not seen for `max_age_ms`).
    pub ended: Vec<EndedTrack>,
}

#[derive(Debug, Clone)]
struct Shot {
    face: Face,
    quality: Quality,
    crop: RgbImage,
    face_in_crop: Face,
}

/// One video stream's tracker. Frames must come in time order; one tracker per camera.
#[derive(Debug)]
pub struct Tracker {
    sdk: FaceSdk,
    inner: Mutex<tracking::Tracker<Shot>>,
}

impl FaceSdk {
    /// A tracker for one stream. Needs `tracking`.
    pub fn tracker(&self, config: TrackerConfig) -> Result<Tracker> {
        self.gate().require(Feature::Tracking)?;
        let inner = tracking::Tracker::new(config)
            .map_err(|e| SdkError::InvalidArgument(format!("tracker configuration: {e}")))?;
        Ok(Tracker {
            sdk: self.clone(),
            inner: Mutex::new(inner),
        })
    }
}

impl Tracker {
    /// Detects the faces of one frame taken at `at_ms`, scores them and associates them
    /// with tracks. Needs `tracking`.
    pub fn feed(&self, img: &RgbImage, at_ms: u64) -> Result<FrameResult> {
        self.sdk.gate().require(Feature::Tracking)?;
        let mut faces = self.sdk.engine().detect(img)?;
        faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
        let mut detections = Vec::with_capacity(faces.len());
        for face in &faces {
            let quality = self.sdk.quality_unchecked(img, face)?;
            let (crop, face_in_crop) = crop_around(img, face)?;
            detections.push(Detection {
                bbox: face_box(face.rect),
                confidence: face.confidence,
                quality: quality.score as f32,
                payload: Shot {
                    face: face.clone(),
                    quality,
                    crop,
                    face_in_crop,
                },
            });
        }
        let qualities: Vec<Quality> = detections.iter().map(|d| d.payload.quality).collect();
        let mut tracker = self.inner.lock();
        let events = tracker
            .update(at_ms, detections)
            .map_err(|e| SdkError::InvalidArgument(format!("frame: {e}")))?;
        let mut track_of = vec![0u64; faces.len()];
        let mut ended = Vec::new();
        for event in events {
            match event {
                Event::Started { track, detection }
                | Event::Updated {
                    track, detection, ..
                } => {
                    if let Some(slot) = track_of.get_mut(detection) {
                        *slot = track;
                    }
                }
                Event::Ended(e) => ended.push(ended_track(e)),
                Event::Confirmed { .. } | Event::Discarded { .. } => {}
            }
        }
        let confirmed = |id: u64| tracker.tracks().any(|t| t.track == id && t.confirmed);
        let faces = faces
            .into_iter()
            .zip(qualities)
            .zip(track_of)
            .map(|((face, quality), track)| TrackedFace {
                track,
                confirmed: confirmed(track),
                face,
                quality,
            })
            .collect();
        Ok(FrameResult { faces, ended })
    }

    /// The best shot so far of a live track (`None` if the id is not live).
    pub fn best_shot(&self, track: u64) -> Option<BestShot> {
        let tracker = self.inner.lock();
        tracker.best_shot(track).map(|b| best_shot(track, b))
    }

    /// Ends every live track (end of stream); confirmed ones come back with their best
    /// shots. The tracker can be fed again afterwards, with new ids.
    pub fn finish(&self) -> Vec<EndedTrack> {
        self.inner
            .lock()
            .finish()
            .into_iter()
            .filter_map(|event| match event {
                Event::Ended(e) => Some(ended_track(e)),
                _ => None,
            })
            .collect()
    }
}

fn ended_track(e: tracking::Ended<Shot>) -> EndedTrack {
    EndedTrack {
        track: e.track,
        reason: e.reason,
        first_ms: e.first_ms,
        last_ms: e.last_ms,
        hits: e.hits,
        best: best_shot(e.track, &e.best),
    }
}

fn best_shot(track: u64, b: &tracking::BestShot<Shot>) -> BestShot {
    BestShot {
        track,
        at_ms: b.at_ms,
        face: b.payload.face.clone(),
        quality: b.payload.quality,
        crop: b.payload.crop.clone(),
        face_in_crop: b.payload.face_in_crop.clone(),
    }
}

fn face_box(r: Rect) -> FaceBox {
    FaceBox::new(
        r.left as f32,
        r.top as f32,
        r.width() as f32,
        r.height() as f32,
    )
}

/// The frame cut around `face` and the face moved into the cut's coordinates.
fn crop_around(img: &RgbImage, face: &Face) -> Result<(RgbImage, Face)> {
    let r = face.rect;
    let grow = |lo: i64, hi: i64| {
        let extra = ((hi - lo + 1) as f64 * (CROP_SCALE - 1.0) / 2.0).round() as i64;
        (lo - extra, hi + extra)
    };
    let (l, rt) = grow(r.left, r.right);
    let (t, b) = grow(r.top, r.bottom);
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let (x0, y0) = (l.clamp(0, w - 1), t.clamp(0, h - 1));
    let (x1, y1) = (rt.clamp(0, w - 1), b.clamp(0, h - 1));
    if x1 < x0 || y1 < y0 {
        return Err(SdkError::Internal("a face box outside its frame".into()));
    }
    let crop = image::imageops::crop_imm(
        img,
        x0 as u32,
        y0 as u32,
        (x1 - x0 + 1) as u32,
        (y1 - y0 + 1) as u32,
    )
    .to_image();
    let shift = |p: &(i64, i64)| (p.0 - x0, p.1 - y0);
    let moved = Face {
        rect: Rect::new(r.left - x0, r.top - y0, r.right - x0, r.bottom - y0),
        confidence: face.confidence,
        landmarks: face.landmarks.iter().map(shift).collect(),
        landmarks_68: face
            .landmarks_68
            .as_ref()
            .map(|l| l.iter().map(shift).collect()),
    };
    Ok((crop, moved))
}
