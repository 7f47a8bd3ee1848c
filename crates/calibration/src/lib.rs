//! Calibration of face-descriptor distances on labelled photos: what a score means.
//!
//! What it does: reads a manifest of (image, identity), describes every photo with the
//! face engine (the largest face of each), forms all genuine and all cross-identity
//! pairs (or the pairs of a given file), and measures per population TAR at FAR 1e-2,
//! 1e-3 and 1e-4 with 95 % Wilson intervals, the EER and the distance at each, as a
//! JSON summary, a Markdown table and an SVG ROC plot. From the per-pair distances it
//! fits the engine's distance → score table on the population where the descriptor
//! does worst, so that 40/50/60 carry FAR 1e-3/1e-4/1e-5 as in the IAI API.
//!
//! Everything but the descriptors is computed from the per-pair distance CSV, so the
//! committed distances reproduce the committed tables without the photos.
//!
//! What it is not: no face engine of its own (it drives `vision`), no store of photos
//! or descriptors (a descriptor cache file is optional and belongs outside the
//! repository), and not a benchmark of unseen users: a calibration set is small and
//! its people may be in a pretrained model's training data.

pub mod describe;
pub mod distances;
mod error;
pub mod manifest;
pub mod metrics;
pub mod plot;
pub mod regional;
pub mod scoremap;
pub mod summary;

pub use describe::{describe_all, describe_all_with_progress, Outcome};
pub use distances::PairDistance;
pub use error::{CalibrationError, Result};
pub use manifest::{Entry, Manifest, Pair};
pub use metrics::Metrics;
pub use scoremap::ScoreMap;
pub use summary::{
    measure_set, measure_set_with_progress, read_distances_dir, summarize, write_outputs,
    SetReport, Summary,
};
