//! Images in, faces out: the face engine of Renlian.
//!
//! What it does: decodes JPEG, PNG and BMP (EXIF orientation applied, typed errors for
//! anything else), detects faces with dlib's MMOD CNN run as dlib runs it (tiled 5/6
//! image pyramid, greedy NMS), places dlib's 5 landmarks (68 optionally), aligns dlib's
//! 150×150 face chip and computes dlib's 128-d ResNet descriptor, matching dlib's own
//! results; it turns descriptor distances into 0-100 scores with a calibration table
//! kept as data. All networks run in one pure-Rust runtime (tract) on ONNX graphs.
//!
//! Loading is its only I/O: [`Engine::load`] and [`Analyzer::load`] go through
//! `models::ModelStore`, which fetches the packs on first use and reads or writes the
//! ONNX conversion cache. After loading, computation is pure.
//!
//! What it is not: it stores nothing (galleries and search live in `gallery`) and knows
//! nothing of HTTP, accounts or billing.
//!
//! Entry point: [`Engine`], loaded once, `Send + Sync`.

pub mod analysis;
pub mod attributes;
pub mod cancel;
pub mod chip;
pub mod decode;
pub mod descriptor;
pub mod detector;
mod engine;
mod error;
pub mod fast;
pub mod geometry;
pub mod landmarks;
pub mod liveness;
mod liveness_score;
pub mod mesh;
pub mod pyramid;
pub mod quality;
pub mod rotate;
pub mod runtime;
pub mod score;
pub mod shape;
pub mod thumbnail;
pub mod upsample;

pub use analysis::Analyzer;
pub use attributes::{AttributeNets, Attributes};
pub use decode::{decode, DecodeLimits};
pub use descriptor::{Descriptor, DescriptorVersion, DESCRIPTOR_LEN};
pub use detector::{DetectOptions, Detection};
pub use engine::{Comparison, Described, DetectorKind, Engine, EngineConfig, EngineModels, Face};
pub use error::{Result, VisionError};
pub use fast::{BoxMapping, FastDetector, FastOptions};
pub use geometry::Rect;
pub use image::RgbImage;
pub use liveness::{Liveness, LivenessCalibration, LivenessNets, LivenessScores};
pub use mesh::{FaceMesh, MeshNets};
pub use quality::{Completeness, Quality};
pub use rotate::{Oriented, Turn};
pub use runtime::{tfjs_converter, tfjs_onnx, Threads};
pub use score::{Calibration, Region, RegionalCalibration, ScoreModel};
pub use shape::{DenseShape, FaceShape90, HeadPose, Point};

#[cfg(test)]
mod tests {
    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Engine>();
        check::<super::Analyzer>();
        check::<super::MeshNets>();
    }
}
