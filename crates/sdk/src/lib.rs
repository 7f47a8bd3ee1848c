//! The offline SDK: Renlian's face engine as a library on the device, with no network.
//!
//! One [`FaceSdk`] per instance (no global state; `Send + Sync`), opened from a licence
//! file, the issuer's trusted public keys, a model directory written by
//! `renlian models export` and a data directory. The licence is verified offline at
//! opening and re-checked on use; each call needs a feature the licence grants
//! (`licensing::Feature`) and is refused with [`ErrorCode::FeatureNotLicensed`] naming it
//! otherwise.
//!
//! What it runs is the server's code: `vision`'s detector, quality score, descriptor,
//! score calibration and static liveness. `docs/sdk.md` is the integrator's guide (C,
//! Python, Android) and lists the error codes.
//!
//! The C ABI (`sdk-c`), the Python package (`sdk-python`) and the JNI layer (`sdk-jni`)
//! are thin crates over this one.

mod error;
mod gallery;
mod instance;
pub mod licence;
mod video;

pub use error::{ErrorCode, Result, SdkError};
pub use gallery::{export_gallery, FaceSummary, Gallery, PersonSummary, SearchHit, GALLERY_DIR};
pub use instance::{FaceSdk, SdkConfig, RGB_LIVENESS_FEATURES};
pub use licence::{
    activation_request, AppIdentity, Clock, Identity, LicenceInfo, SystemClock, RECHECK_SECONDS,
};
pub use licensing::{Feature, LicenceKind, Sdk, Status};
pub use local_gallery::{Imported, Stats as GalleryStats};
pub use sensor_liveness::{DepthMap, DepthVerdict, IrVerdict};
pub use tracking::{EndReason, TrackerConfig};
pub use video::{BestShot, EndedTrack, FrameResult, TrackedFace, Tracker};
pub use vision::{
    Comparison, Descriptor, DescriptorVersion, Face, Liveness, Quality, Rect, RgbImage,
};
