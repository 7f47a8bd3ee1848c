//! The one error type of the face engine.

use thiserror::Error;

/// Everything that can go wrong between image bytes and face descriptors.
#[derive(Debug, Error)]
pub enum VisionError {
    /// The work's [`crate::cancel::CancelFlag`] was raised: nobody waits for the result.
    #[error("cancelled: the request was abandoned")]
    Cancelled,
    /// The input holds no bytes at all.
    #[error("the image is empty")]
    EmptyImage,
    /// A recognised image format that the engine does not accept (GIF, WebP, TIFF, ...).
    #[error("unsupported image format {0}: use JPEG, PNG or BMP")]
    UnsupportedFormat(String),
    /// The bytes are not an image in any format we know.
    #[error("the data is not a JPEG, PNG or BMP image")]
    UnknownFormat,
    /// The file ends before the image data does.
    #[error("the image data is truncated")]
    Truncated,
    /// The image data is malformed.
    #[error("the image data is corrupt: {0}")]
    Corrupt(String),
    /// The input is larger than the configured limits allow.
    #[error("the image is too large: {what} is {actual}, the limit is {limit}")]
    TooLarge {
        /// Which limit was exceeded ("bytes", "pixels", "width" or "height").
        what: &'static str,
        /// The measured value.
        actual: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A model could not be obtained or loaded.
    #[error("model {model}: {reason}")]
    Model {
        /// Which model.
        model: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The inference runtime failed on a loaded model.
    #[error("inference failed in {model}: {reason}")]
    Inference {
        /// Which model.
        model: &'static str,
        /// What the runtime reported.
        reason: String,
    },
    /// A descriptor of the wrong length was given to compare.
    #[error("descriptor has {actual} values, expected {expected}")]
    DescriptorLength {
        /// The expected length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A caller-supplied argument is out of its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl VisionError {
    pub(crate) fn inference(model: &'static str, err: impl std::fmt::Display) -> Self {
        VisionError::Inference {
            model,
            reason: err.to_string(),
        }
    }

    pub(crate) fn model(model: &'static str, err: impl std::fmt::Display) -> Self {
        VisionError::Model {
            model,
            reason: err.to_string(),
        }
    }
}

/// Result alias for the crate.
pub type Result<T, E = VisionError> = std::result::Result<T, E>;
