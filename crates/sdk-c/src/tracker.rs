//! `rl_tracker`: video tracking with best-shot, one tracker per camera stream.

use sdk::{BestShot, EndReason, EndedTrack, Tracker, TrackerConfig};

use crate::error::{boundary, boundary_void, Error, Result};
use crate::ffi;
use crate::handle::instance;
use crate::image::{load, rl_image};
use crate::results::{rl_face, rl_quality};
use crate::rl_sdk;

/// Not matched for more than `max_age_ms`.
pub const RL_TRACK_LOST: u32 = 1;
/// Tentative and not confirmed within `confirm_window_ms` of its first detection.
pub const RL_TRACK_UNCONFIRMED: u32 = 2;
/// Ended by `rl_tracker_finish` (end of stream).
pub const RL_TRACK_FINISHED: u32 = 3;

/// The association rule's parameters (docs/sdk.md, "Tracking"). Start from
/// `rl_tracker_config_default`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct rl_tracker_config {
    /// A face joins a track when its box overlaps the track's predicted box by more than
    /// this intersection over union, in [0, 1).
    pub iou_threshold: f32,
    /// Detections before a track is confirmed (at least 1).
    pub confirm_hits: u32,
    /// Time from a track's first detection within which it must be confirmed.
    pub confirm_window_ms: u64,
    /// A track not matched for longer than this ends.
    pub max_age_ms: u64,
    /// How far ahead a track's box is predicted from its motion.
    pub max_predict_ms: u64,
}

/// A face of one frame and its track.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct rl_tracked_face {
    pub track: u64,
    /// 1 once the track has been seen `confirm_hits` times, else 0 (maybe a false
    /// detection).
    pub confirmed: i32,
    pub face: rl_face,
    pub quality: rl_quality,
}

/// A track's best face: the highest quality score, the earliest frame on ties. The crop
/// (the frame cut around the face, the box grown by 1.6) is read with
/// `rl_tracker_best_shot` or `rl_tracker_ended_crop`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct rl_best_shot {
    pub track: u64,
    /// The frame's timestamp.
    pub at_ms: u64,
    /// The face in the frame's coordinates.
    pub face: rl_face,
    pub quality: rl_quality,
    /// The crop's size; its RGB24 pixels are `crop_width * crop_height * 3` bytes.
    pub crop_width: u32,
    pub crop_height: u32,
    /// The face in the crop's coordinates: pass it with the crop to `rl_sdk_descriptor`.
    pub face_in_crop: rl_face,
}

/// A confirmed track that ended, with its best shot.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct rl_ended_track {
    pub track: u64,
    /// `RL_TRACK_LOST`, `RL_TRACK_UNCONFIRMED` or `RL_TRACK_FINISHED`.
    pub reason: u32,
    pub hits: u32,
    pub first_ms: u64,
    pub last_ms: u64,
    pub best: rl_best_shot,
}

/// One camera stream's tracker (opaque). Frames must come in time order. Not for
/// concurrent use from several threads.
#[derive(Debug)]
pub struct rl_tracker {
    /// The instance it came from, for reading images.
    sdk: rl_sdk,
    tracker: Tracker,
    /// The tracks the last `rl_tracker_feed` or `rl_tracker_finish` ended, kept for
    /// `rl_tracker_ended_crop`.
    ended: Vec<EndedTrack>,
}

impl From<rl_tracker_config> for TrackerConfig {
    fn from(c: rl_tracker_config) -> TrackerConfig {
        TrackerConfig {
            iou_threshold: c.iou_threshold,
            confirm_hits: c.confirm_hits,
            confirm_window_ms: c.confirm_window_ms,
            max_age_ms: c.max_age_ms,
            max_predict_ms: c.max_predict_ms,
        }
    }
}

impl From<TrackerConfig> for rl_tracker_config {
    fn from(c: TrackerConfig) -> rl_tracker_config {
        rl_tracker_config {
            iou_threshold: c.iou_threshold,
            confirm_hits: c.confirm_hits,
            confirm_window_ms: c.confirm_window_ms,
            max_age_ms: c.max_age_ms,
            max_predict_ms: c.max_predict_ms,
        }
    }
}

fn best_shot(b: &BestShot) -> Result<rl_best_shot> {
    Ok(rl_best_shot {
        track: b.track,
        at_ms: b.at_ms,
        face: rl_face::from_face(&b.face)?,
        quality: rl_quality::from(&b.quality),
        crop_width: b.crop.width(),
        crop_height: b.crop.height(),
        face_in_crop: rl_face::from_face(&b.face_in_crop)?,
    })
}

fn ended_track(e: &EndedTrack) -> Result<rl_ended_track> {
    Ok(rl_ended_track {
        track: e.track,
        reason: match e.reason {
            EndReason::Lost => RL_TRACK_LOST,
            EndReason::Unconfirmed => RL_TRACK_UNCONFIRMED,
            EndReason::Finished => RL_TRACK_FINISHED,
        },
        hits: e.hits,
        first_ms: e.first_ms,
        last_ms: e.last_ms,
        best: best_shot(&e.best)?,
    })
}

/// Copies a crop's RGB24 pixels when `capacity` holds them all.
///
/// # Safety
/// `pixels` is null (with `capacity` 0) or holds `capacity` writable bytes.
unsafe fn copy_crop(crop: &sdk::RgbImage, pixels: *mut u8, capacity: usize) -> Result<()> {
    if pixels.is_null() && capacity > 0 {
        return Err(Error::invalid(format!(
            "the crop buffer is null with a capacity of {capacity}"
        )));
    }
    let raw = crop.as_raw();
    if !raw.is_empty() && capacity >= raw.len() {
        // SAFETY: not null (capacity > 0); capacity bytes writable, the caller's promise.
        unsafe { std::ptr::copy_nonoverlapping(raw.as_ptr(), pixels, raw.len()) };
    }
    Ok(())
}

/// The default tracking parameters.
///
/// # Safety
/// `out` points to a writable `rl_tracker_config`.
#[no_mangle]
pub unsafe extern "C" fn rl_tracker_config_default(out: *mut rl_tracker_config) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promise.
        unsafe { ffi::output(out, "out") }?.write(TrackerConfig::default().into());
        Ok(())
    })
}

/// Makes a tracker for one stream (`config` null: the defaults). Needs `tracking`.
///
/// # Safety
/// `sdk` is a live instance; `config` null or a valid `rl_tracker_config`; `out` points to
/// writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn rl_tracker_new(
    sdk: *const rl_sdk,
    config: *const rl_tracker_config,
    out: *mut *mut rl_tracker,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, out) = unsafe { (instance(sdk)?, ffi::output(out, "out")?) };
        let config = if config.is_null() {
            TrackerConfig::default()
        } else {
            // SAFETY: the caller's promise.
            (*unsafe { ffi::input(config, "config") }?).into()
        };
        let tracker = sdk.sdk.tracker(config)?;
        out.write(Box::into_raw(Box::new(rl_tracker {
            sdk: rl_sdk {
                sdk: sdk.sdk.clone(),
                limits: sdk.limits,
            },
            tracker,
            ended: Vec::new(),
        })));
        Ok(())
    })
}

/// Releases a tracker. Null is ignored.
///
/// # Safety
/// `tracker` is null or came from `rl_tracker_new` and is not used after this call.
#[no_mangle]
pub unsafe extern "C" fn rl_tracker_free(tracker: *mut rl_tracker) {
    boundary_void(|| {
        if !tracker.is_null() {
            // SAFETY: made by Box::into_raw in rl_tracker_new; given back once.
            drop(unsafe { Box::from_raw(tracker) });
        }
    })
}

/// Feeds one frame taken at `at_ms` (milliseconds, never decreasing): detects its faces,
/// scores them and associates them with tracks. Two list outputs: the frame's faces,
/// largest first, with their tracks, and the confirmed tracks that ended at this frame
/// with their best shots (their crops stay readable with `rl_tracker_ended_crop` until the
/// next feed or finish). Needs `tracking`.
///
/// # Safety
/// `tracker` is a live tracker no other thread is using; `image` a valid `rl_image`;
/// each list is null (with capacity 0) or holds its capacity of writable elements; the
/// counts point to writable `size_t`s.
// A C function takes its outputs as arguments.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "C" fn rl_tracker_feed(
    tracker: *mut rl_tracker,
    image: *const rl_image,
    at_ms: u64,
    faces: *mut rl_tracked_face,
    faces_capacity: usize,
    faces_count: *mut usize,
    ended: *mut rl_ended_track,
    ended_capacity: usize,
    ended_count: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (t, faces_out, ended_out) = unsafe {
            (
                ffi::input_mut(tracker, "the tracker")?,
                ffi::list_output(faces, faces_capacity, faces_count, "faces")?,
                ffi::list_output(ended, ended_capacity, ended_count, "ended tracks")?,
            )
        };
        // SAFETY: the caller's promise about the image.
        let img = unsafe { load(&t.sdk, image) }?;
        let frame = t.tracker.feed(&img, at_ms)?;
        let tracked = frame
            .faces
            .iter()
            .map(|f| {
                Ok(rl_tracked_face {
                    track: f.track,
                    confirmed: i32::from(f.confirmed),
                    face: rl_face::from_face(&f.face)?,
                    quality: rl_quality::from(&f.quality),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let ended = frame
            .ended
            .iter()
            .map(ended_track)
            .collect::<Result<Vec<_>>>()?;
        t.ended = frame.ended;
        faces_out.fill(tracked);
        ended_out.fill(ended);
        Ok(())
    })
}

/// The best shot so far of the live track `track`, and its crop's RGB24 pixels when
/// `capacity` holds `crop_width * crop_height * 3` bytes (otherwise the pixels are not
/// written: call again with that much room). `RL_E_INVALID_ARGUMENT` when the track is not
/// live.
///
/// # Safety
/// `tracker` is a live tracker no other thread is using; `out` a writable
/// `rl_best_shot`; `pixels` null (with `capacity` 0) or `capacity` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rl_tracker_best_shot(
    tracker: *const rl_tracker,
    track: u64,
    out: *mut rl_best_shot,
    pixels: *mut u8,
    capacity: usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (t, out) = unsafe {
            (
                ffi::input(tracker, "the tracker")?,
                ffi::output(out, "out")?,
            )
        };
        let best = t
            .tracker
            .best_shot(track)
            .ok_or_else(|| Error::invalid(format!("track {track} is not live")))?;
        // SAFETY: the caller's promise about pixels.
        unsafe { copy_crop(&best.crop, pixels, capacity) }?;
        out.write(best_shot(&best)?);
        Ok(())
    })
}

/// Ends every live track (end of stream); the confirmed ones are written like
/// `rl_tracker_feed`'s ended tracks, their crops readable with `rl_tracker_ended_crop`.
/// The tracker can be fed again afterwards, with new track ids.
///
/// # Safety
/// `tracker` is a live tracker no other thread is using; `ended` null (with capacity 0) or
/// `ended_capacity` writable elements; `ended_count` a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_tracker_finish(
    tracker: *mut rl_tracker,
    ended: *mut rl_ended_track,
    ended_capacity: usize,
    ended_count: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (t, ended_out) = unsafe {
            (
                ffi::input_mut(tracker, "the tracker")?,
                ffi::list_output(ended, ended_capacity, ended_count, "ended tracks")?,
            )
        };
        let finished = t.tracker.finish();
        let converted = finished
            .iter()
            .map(ended_track)
            .collect::<Result<Vec<_>>>()?;
        t.ended = finished;
        ended_out.fill(converted);
        Ok(())
    })
}

/// The crop of the `index`-th track the last `rl_tracker_feed` or `rl_tracker_finish`
/// ended, as RGB24 pixels, written when `capacity` holds them all.
///
/// # Safety
/// `tracker` is a live tracker; `pixels` null (with `capacity` 0) or `capacity` writable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn rl_tracker_ended_crop(
    tracker: *const rl_tracker,
    index: usize,
    pixels: *mut u8,
    capacity: usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promise.
        let t = unsafe { ffi::input(tracker, "the tracker") }?;
        let e = t.ended.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "ended track {index}: the last call ended {}",
                t.ended.len()
            ))
        })?;
        // SAFETY: the caller's promise about pixels.
        unsafe { copy_crop(&e.best.crop, pixels, capacity) }
    })
}
