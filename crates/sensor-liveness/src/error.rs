//! The one error type of the crate.

use thiserror::Error;

/// Why a frame could not be judged. A judgement that the face is not live is not an
/// error: it is a verdict with `is_live == false` and its reasons.
#[derive(Debug, Error)]
pub enum LivenessError {
    /// The arguments do not fit together (a frame of no pixels, a face outside the
    /// frame, a mesh of the wrong number of points).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The depth map holds too few readings where the face is to judge its shape: the
    /// face is out of the sensor's range, or the projector's pattern was washed out.
    #[error("too few depth readings in the {place}: {valid}, at least {needed} needed")]
    TooFewDepthSamples {
        /// Where they were counted ("face region" or "mesh landmarks").
        place: &'static str,
        /// Valid readings found.
        valid: usize,
        /// Readings needed.
        needed: usize,
    },
    /// The face engine failed while looking for the face in the infrared frame.
    #[error(transparent)]
    Vision(#[from] vision::VisionError),
}

/// Result alias for the crate.
pub type Result<T, E = LivenessError> = std::result::Result<T, E>;
