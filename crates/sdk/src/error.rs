//! One error type for the whole SDK, with a stable numeric code per kind so the C, Python
//! and JVM layers can report it the same way.

use licensing::{Feature, VerifyError};

/// Stable error codes, the same in every binding (`docs/sdk.md` lists them). Never
/// renumber: integrators switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    /// An argument is out of range or malformed (a null pointer, a bad size, a bad id).
    InvalidArgument = 1,
    /// The licence file is malformed, altered, signed by an untrusted key, revoked or
    /// superseded.
    LicenceInvalid = 2,
    /// The licence has expired (or is not valid yet, or the clock was set back).
    LicenceExpired = 3,
    /// The licence is bound to another device or app.
    LicenceWrongSubject = 4,
    /// The licence does not include the feature the call needs.
    FeatureNotLicensed = 5,
    /// A model file is missing, altered or cannot be loaded.
    Model = 6,
    /// The image cannot be decoded or is outside the limits.
    Image = 7,
    /// No face where one is needed.
    NoFace = 8,
    /// The local gallery refused the operation (unknown id, limit, corrupt file).
    Gallery = 9,
    /// The local gallery's key is not the key it was created with.
    GalleryKey = 10,
    /// The SDK's data directory (licence state, gallery) cannot be read or written.
    Storage = 11,
    /// A bug: a panic caught at the library boundary, or an engine invariant broken.
    Internal = 12,
}

impl ErrorCode {
    /// The code's name as the bindings print it (`RL_E_…` in C).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "InvalidArgument",
            ErrorCode::LicenceInvalid => "LicenceInvalid",
            ErrorCode::LicenceExpired => "LicenceExpired",
            ErrorCode::LicenceWrongSubject => "LicenceWrongSubject",
            ErrorCode::FeatureNotLicensed => "FeatureNotLicensed",
            ErrorCode::Model => "Model",
            ErrorCode::Image => "Image",
            ErrorCode::NoFace => "NoFace",
            ErrorCode::Gallery => "Gallery",
            ErrorCode::GalleryKey => "GalleryKey",
            ErrorCode::Storage => "Storage",
            ErrorCode::Internal => "Internal",
        }
    }

    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidArgument,
        ErrorCode::LicenceInvalid,
        ErrorCode::LicenceExpired,
        ErrorCode::LicenceWrongSubject,
        ErrorCode::FeatureNotLicensed,
        ErrorCode::Model,
        ErrorCode::Image,
        ErrorCode::NoFace,
        ErrorCode::Gallery,
        ErrorCode::GalleryKey,
        ErrorCode::Storage,
        ErrorCode::Internal,
    ];
}

/// Why an SDK call failed.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("licence refused: {0}")]
    Licence(#[from] VerifyError),
    #[error("licence does not include feature {} ({}); this call needs it", .feature.as_str(), .feature.describe())]
    FeatureNotLicensed { feature: Feature },
    #[error("licence does not include any of the features {needs}; this call needs one")]
    NoneOfFeatures { needs: String },
    #[error("licence state in the data directory: {0}")]
    State(#[from] licensing::StoreError),
    #[error("models: {0}")]
    Model(#[source] models::ModelError),
    #[error("{0}")]
    Vision(#[source] vision::VisionError),
    #[error("{0}")]
    SensorLiveness(#[source] sensor_liveness::LivenessError),
    #[error("gallery: {0}")]
    Gallery(#[source] local_gallery::LocalGalleryError),
    #[error("no face found in the image")]
    NoFace,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl SdkError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            SdkError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            SdkError::Licence(e) => licence_code(e),
            SdkError::FeatureNotLicensed { .. } | SdkError::NoneOfFeatures { .. } => {
                ErrorCode::FeatureNotLicensed
            }
            SdkError::State(_) | SdkError::Io { .. } => ErrorCode::Storage,
            SdkError::Model(_) => ErrorCode::Model,
            SdkError::Vision(e) => vision_code(e),
            SdkError::SensorLiveness(e) => sensor_code(e),
            SdkError::Gallery(e) => crate::gallery::gallery_code(e),
            SdkError::NoFace => ErrorCode::NoFace,
            SdkError::Internal(_) => ErrorCode::Internal,
        }
    }
}

fn licence_code(e: &VerifyError) -> ErrorCode {
    match e {
        VerifyError::Expired { .. }
        | VerifyError::NotYetValid { .. }
        | VerifyError::ClockBeforeIssue { .. }
        | VerifyError::ClockRolledBack { .. } => ErrorCode::LicenceExpired,
        VerifyError::WrongDevice { .. }
        | VerifyError::WrongPackage { .. }
        | VerifyError::WrongCertificate { .. }
        | VerifyError::NothingToBindTo { .. } => ErrorCode::LicenceWrongSubject,
        VerifyError::MissingFeature { .. } => ErrorCode::FeatureNotLicensed,
        _ => ErrorCode::LicenceInvalid,
    }
}

fn vision_code(e: &vision::VisionError) -> ErrorCode {
    use vision::VisionError as V;
    match e {
        V::InvalidArgument(_) | V::DescriptorLength { .. } => ErrorCode::InvalidArgument,
        V::Model { .. } => ErrorCode::Model,
        V::EmptyImage
        | V::UnsupportedFormat(_)
        | V::UnknownFormat
        | V::Truncated
        | V::Corrupt(_)
        | V::TooLarge { .. } => ErrorCode::Image,
        // The SDK runs nothing under a cancel flag; should it ever, it is not the
        // caller's input that failed.
        V::Inference { .. } | V::Cancelled => ErrorCode::Internal,
    }
}

fn sensor_code(e: &sensor_liveness::LivenessError) -> ErrorCode {
    use sensor_liveness::LivenessError as L;
    match e {
        L::InvalidArgument(_) | L::TooFewDepthSamples { .. } => ErrorCode::InvalidArgument,
        L::Vision(v) => vision_code(v),
    }
}

impl From<sensor_liveness::LivenessError> for SdkError {
    fn from(e: sensor_liveness::LivenessError) -> SdkError {
        SdkError::SensorLiveness(e)
    }
}

impl From<licensing::CheckError> for SdkError {
    fn from(e: licensing::CheckError) -> SdkError {
        match e {
            licensing::CheckError::Store(e) => SdkError::State(e),
            licensing::CheckError::Licence(e) => SdkError::Licence(e),
        }
    }
}

impl From<vision::VisionError> for SdkError {
    fn from(e: vision::VisionError) -> SdkError {
        SdkError::Vision(e)
    }
}

pub type Result<T, E = SdkError> = std::result::Result<T, E>;
