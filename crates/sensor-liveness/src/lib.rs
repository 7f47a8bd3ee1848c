//! Sensor liveness for the offline SDK: infrared (红外活体) and 3D structured-light
//! (3D 结构光活体) checks of a face the RGB pipeline already found.
//!
//! What it does: given the face (`vision::Engine`'s detection) and its face mesh
//! (`vision::MeshNets`) in an RGB frame, it judges a second frame registered
//! pixel-for-pixel to it: an infrared frame ([`ir::assess`]: a face must be there, with
//! skin-like reflectance and texture) or a depth map ([`depth::assess`]: relief from a
//! fitted plane, and its shape against the mesh's own 3-D landmarks). Each returns a
//! verdict with a 0-100 score (50 and above means live), `is_live` and the reasons that
//! failed, for the SDK's messages; a depth map with too few readings to judge is a typed
//! error, not a verdict. The methods are in each module's documentation and in
//! `docs/sensor-liveness.md`.
//!
//! **What the thresholds rest on.** No real infrared or depth captures were available.
//! The thresholds are set on synthetic spoofs (frames with no face, flat patches,
//! planes, tilted planes and paper cylinders with the sensor's noise and holes) and on
//! rendered geometry (IR-like frames made from the fixture photos; depth rendered from
//! their face meshes). That shows the checks refuse those spoofs and accept those
//! renderings with a margin, and that the arithmetic (plane fit under perspective,
//! registration, scoring) is right. It does not show how real NIR skin, real sensor
//! noise, glasses, beards, masks or 3-D printed heads score: calibrate on captures from
//! the target camera before relying on the thresholds.
//!
//! What it is not: it runs no network of its own (the IR check reuses the engine's
//! detector), keeps no state and knows nothing of licences; the `sdk` crate decides
//! which check a licence allows.

pub mod depth;
mod error;
pub mod ir;
mod stats;

pub use depth::{DepthMap, DepthMeasures, DepthReason, DepthVerdict};
pub use error::{LivenessError, Result};
pub use ir::{IrMeasures, IrReason, IrVerdict};
