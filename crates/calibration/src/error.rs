//! The one error type of the calibration tool.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong between a manifest and a calibration table.
#[derive(Debug, Error)]
pub enum CalibrationError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system reported.
        source: std::io::Error,
    },
    /// A CSV file (manifest, pairs, distances) is malformed.
    #[error("{path}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The labelled set cannot be calibrated on (too few people, unknown files, ...).
    #[error("invalid calibration set: {0}")]
    InvalidSet(String),
    /// The face engine failed in a way that is not about one image.
    #[error(transparent)]
    Vision(#[from] vision::VisionError),
    /// The measured distances cannot support a score map (e.g. too few impostor pairs).
    #[error("cannot fit a score map: {0}")]
    Fit(String),
    /// The plot could not be drawn.
    #[error("plot: {0}")]
    Plot(String),
    /// A JSON file (descriptor cache) is malformed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What the parser reported.
        source: serde_json::Error,
    },
}

impl CalibrationError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| CalibrationError::Io { path, source }
    }

    pub(crate) fn csv(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        CalibrationError::Csv {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// Result alias for the crate.
pub type Result<T, E = CalibrationError> = std::result::Result<T, E>;
