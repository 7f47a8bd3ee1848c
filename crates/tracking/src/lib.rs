//! Face tracking across the frames of a video, with a best shot per track ("tracking
//! and best-shot", 跟踪优选, in the offline SDK).
//!
//! The caller detects faces in each frame (the SDK uses `vision::Engine`) and scores
//! each face's quality (the server's `vision::quality`, 0-100), then hands the frame's
//! timestamp and detections to [`Tracker::update`]. Faces keep a track id from frame to
//! frame; each track keeps the payload of its best detection only, so memory stays
//! bounded however long a face stays in view. This crate does no I/O and knows nothing
//! of images: boxes, scores and an opaque payload `T` go in, [`Event`]s come out.
//!
//! # The association rule
//!
//! At each frame, with timestamp `t` (milliseconds, never lower than the previous
//! frame's; equal is allowed) and detections numbered `0..n` in the order given:
//!
//! 1. **Ends.** Every live track, in id order, whose last match is more than
//!    `max_age_ms` before `t` ends ([`EndReason::Lost`]); every tentative track whose
//!    first detection is more than `confirm_window_ms` before `t` is discarded
//!    ([`EndReason::Unconfirmed`]). Ended tracks take no part in the matching below.
//! 2. **Prediction.** Each remaining track's box is predicted at `t` by constant
//!    velocity from its last two matched boxes at different times (centre and size,
//!    each moving linearly): with the last match at `t1` and the one before at `t0`,
//!    the box moves on by `(box(t1) − box(t0)) × h / (t1 − t0)` where
//!    `h = min(t − t1, max_predict_ms)`. The shift of the centre is clamped to one box
//!    side (of the last matched box) per axis, the width and height to between half
//!    and twice the last matched ones. A track matched once is predicted where it was.
//! 3. **Matching.** Every (track, detection) pair whose IoU (intersection over union of
//!    the predicted box and the detection's box) is above `iou_threshold` is a
//!    candidate. Candidates are taken greedily, highest IoU first (ties: lower track
//!    id, then lower detection number); a pair is accepted when neither its track nor
//!    its detection has been taken yet. Tentative and confirmed tracks compete alike.
//! 4. **Updates.** A matched track records the detection: its hit count goes up, its
//!    box history moves on, and the detection becomes its best shot when its quality
//!    is strictly higher than the best so far (so ties keep the earlier frame). A
//!    tentative track reaching `confirm_hits` hits is confirmed; because of step 1,
//!    those hits all lie within `confirm_window_ms` of its first one.
//! 5. **Starts.** Every unmatched detection starts a tentative track with the next id
//!    (ids are `u64`, from 1, increasing, never reused by one tracker); with
//!    `confirm_hits = 1` it is confirmed at once.
//!
//! Events come in that order: ends and discards (by track id), then one
//! [`Event::Updated`] or [`Event::Started`] per detection in input order, each followed
//! by [`Event::Confirmed`] when that detection confirmed its track. A tentative track
//! that never confirms yields only `Started`, `Updated` and finally `Discarded`: it
//! never produces `Confirmed` or `Ended`. [`Tracker::finish`] ends every live track
//! ([`EndReason::Finished`]); [`Tracker::best_shot`] reads a live track's best shot at
//! any time.

mod config;
mod geometry;
mod tracker;

#[cfg(test)]
mod tests;

pub use config::{ConfigError, TrackerConfig};
pub use geometry::FaceBox;
pub use tracker::{BestShot, Detection, EndReason, Ended, Event, TrackError, TrackState, Tracker};
