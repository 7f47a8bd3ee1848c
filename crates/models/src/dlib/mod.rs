//! Readers for dlib's own `.dat` formats (see `docs/models.md` for the byte layout).
//!
//! Everything here parses from a byte slice and returns [`DatError`] on malformed
//! input: no panics, no allocation larger than the input justifies.

mod dnn;
mod mmod;
mod reader;
mod shape_predictor;

pub use dnn::{DetectorWindow, Entry, Input, Layer, Loss, MmodLoss, Network};
pub use mmod::MmodOptions;
pub use reader::{DatError, Matrix, Reader, Tensor};
pub use shape_predictor::{Cascade, RegressionTree, ShapePredictor, Split};
