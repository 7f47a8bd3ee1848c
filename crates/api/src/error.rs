//! [`ApiError`]: an IAI error code and its message, and the ONE table that maps every
//! crate's error to its code (`From` impls below). Nothing else in the server picks codes
//! for another crate's errors.

use billing::BillingError;
use gallery::{Field, GalleryError};
use vision::VisionError;

use crate::enrolment::EnrolmentError;
use crate::keys::KeyError;

/// An error as the client sees it: `{"Error": {"Code", "Message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn missing(field: &str) -> Self {
        Self::new(
            "MissingParameter",
            format!("the request is missing the required parameter `{field}`"),
        )
    }

    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalError", message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new("UnsupportedOperation", message)
    }

    /// Whether this error is billed as if successful (billing.md: NoFaceInPhoto is).
    pub fn is_billable(&self) -> bool {
        self.code == NO_FACE_IN_PHOTO
    }
}

pub const NO_FACE_IN_PHOTO: &str = "InvalidParameterValue.NoFaceInPhoto";

/// BuyResourcePack refused: the available balance (balance − frozen) is below the price.
pub const INSUFFICIENT_BALANCE: &str = "FailedOperation.InsufficientBalance";

impl From<EnrolmentError> for ApiError {
    fn from(e: EnrolmentError) -> Self {
        match e {
            EnrolmentError::Metering(e) => e.into(),
            EnrolmentError::Write(e) => e.into(),
            e @ (EnrolmentError::Injected(_) | EnrolmentError::NotBilled(_)) => {
                ApiError::internal(e.to_string())
            }
        }
    }
}

impl From<GalleryError> for ApiError {
    fn from(e: GalleryError) -> Self {
        use GalleryError as G;
        let message = e.to_string();
        let code = match &e {
            G::FieldLength {
                field, len, max, ..
            } => match field {
                Field::GroupId if len > max => "InvalidParameterValue.GroupIdTooLong",
                Field::GroupId => "InvalidParameterValue.GroupIdIllegal",
                Field::PersonId if len > max => "InvalidParameterValue.PersonIdTooLong",
                Field::PersonId => "InvalidParameterValue.PersonIdIllegal",
                Field::GroupName if len > max => "InvalidParameterValue.GroupNameTooLong",
                Field::GroupName => "InvalidParameterValue.GroupNameIllegal",
                Field::Tag if len > max => "InvalidParameterValue.GroupTagTooLong",
                Field::Tag => "InvalidParameterValue.GroupTagIllegal",
                Field::GroupExDescriptionName if len > max => {
                    "InvalidParameterValue.GroupExDescriptionsNameTooLong"
                }
                Field::GroupExDescriptionName => {
                    "InvalidParameterValue.GroupExDescriptionsNameIllegal"
                }
                Field::PersonName if len > max => "InvalidParameterValue.PersonNameTooLong",
                Field::PersonName => "InvalidParameterValue.PersonNameIllegal",
                _ => "InvalidParameter.InvalidParameter",
            },
            G::FieldCharacter { field, .. } => match field {
                Field::GroupId => "InvalidParameterValue.GroupIdIllegal",
                Field::PersonId => "InvalidParameterValue.PersonIdIllegal",
                Field::GroupName => "InvalidParameterValue.GroupNameIllegal",
                Field::Tag => "InvalidParameterValue.GroupTagIllegal",
                Field::GroupExDescriptionName => {
                    "InvalidParameterValue.GroupExDescriptionsNameIllegal"
                }
                Field::PersonName => "InvalidParameterValue.PersonNameIllegal",
                _ => "InvalidParameter.InvalidParameter",
            },
            G::TooMany { field, .. } => match field {
                Field::GroupExDescriptions => "InvalidParameterValue.GroupExDescriptionsExceed",
                Field::PersonExDescriptionInfos => {
                    "InvalidParameterValue.PersonExDescriptionInfosExceed"
                }
                Field::GroupIds => "InvalidParameterValue.GroupIdsExceed",
                _ => "InvalidParameter.InvalidParameter",
            },
            // ModifyGroup answers FailedOperation.DuplicatedGroupDescription; the action
            // overrides this default where it applies.
            G::DuplicateGroupDescription(_) => {
                "InvalidParameterValue.GroupExDescriptionsNameIdentical"
            }
            G::PersonDescriptionIndex { .. } => "InvalidParameter.InvalidParameter",
            G::Gender(_) => "InvalidParameterValue.PersonGenderIllegal",
            G::FaceModelVersion(_) => "InvalidParameterValue.FaceModelVersionIllegal",
            G::AcrossModelVersions => "FailedOperation.AcrossVersionsError",
            G::AcrossDescriptorVersions(..) | G::DescriptorVersionMismatch { .. } => {
                "FailedOperation.AcrossVersionsError"
            }
            G::Offset(_) => "InvalidParameterValue.OffsetExceed",
            G::OutOfRange { field, .. } => match field {
                Field::Limit => "InvalidParameterValue.LimitExceed",
                Field::MaxPersonNum | Field::MaxPersonNumPerGroup => {
                    "InvalidParameterValue.SearchPersonsExceed"
                }
                Field::MaxFaceNum => "LimitExceeded.ErrorFaceNumExceed",
                _ => "InvalidParameter.InvalidParameter",
            },
            G::GroupIdAlreadyExists(_) => "InvalidParameterValue.GroupIdAlreadyExist",
            G::GroupNameAlreadyExists(_) => "InvalidParameterValue.GroupNameAlreadyExist",
            G::GroupNotFound(_) => "InvalidParameterValue.GroupIdNotExist",
            G::PersonIdAlreadyExists(_) => "InvalidParameterValue.PersonIdAlreadyExist",
            G::PersonNotFound(_) => "InvalidParameterValue.PersonIdNotExist",
            G::FaceNotFound(_) => "InvalidParameter.InvalidParameter",
            G::PersonAlreadyInGroup { .. } => "InvalidParameterValue.PersonExistInGroup",
            G::PersonNotInGroup { .. } => "FailedOperation.GroupPersonMapNotExist",
            G::PersonFaceLimit { .. } => "InvalidParameterValue.PersonFaceNumExceed",
            G::UploadFaceLimit { .. } => "InvalidParameterValue.UploadFaceNumExceed",
            G::LastFace => "InvalidParameterValue.DeleteFaceNumExceed",
            G::GroupFaceLimit { .. } => "InvalidParameterValue.GroupFaceNumExceed",
            G::GroupCountLimit { .. } => "InvalidParameterValue.GroupNumExceed",
            G::GroupsPerPersonLimit { .. } => "InvalidParameterValue.GroupNumPerPersonExceed",
            G::NoFaceInGroups => "InvalidParameterValue.NoFaceInGroups",
            G::SearchFaceLimit { .. } => "FailedOperation.SearchFacesExceed",
            G::Conflict => "FailedOperation.ConflictOperation",
            G::EnrolmentAbandoned(_) => "FailedOperation.RequestTimeout",
            G::Descriptor(_) => "FailedOperation.ServerError",
            // A thumbnail too large is this crate's own mistake, not the caller's.
            G::Corrupt(_) | G::Database(_) | G::Index(_) | G::ThumbnailTooLarge { .. } => {
                tracing::error!(error = %e, "gallery failure");
                return ApiError::internal("internal error in the gallery");
            }
        };
        ApiError::new(code, message)
    }
}

impl From<VisionError> for ApiError {
    fn from(e: VisionError) -> Self {
        use VisionError as V;
        let message = e.to_string();
        let code = match &e {
            V::EmptyImage => "InvalidParameterValue.ImageEmpty",
            V::UnsupportedFormat(_) | V::UnknownFormat | V::Truncated | V::Corrupt(_) => {
                "FailedOperation.ImageDecodeFailed"
            }
            V::TooLarge { what: "bytes", .. } => "FailedOperation.ImageSizeExceed",
            V::TooLarge { .. } => "FailedOperation.ImageResolutionExceed",
            V::InvalidArgument(_) => "InvalidParameterValue",
            // Only work whose request was dropped is cancelled: nobody reads this.
            V::Cancelled => "FailedOperation.RequestTimeout",
            V::Model { .. } | V::Inference { .. } | V::DescriptorLength { .. } => {
                tracing::error!(error = %e, "engine failure");
                return ApiError::new("FailedOperation.ServerError", "the face engine failed");
            }
        };
        ApiError::new(code, message)
    }
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::InArrears { .. } => {
                ApiError::new("ResourceUnavailable.InArrears", e.to_string())
            }
            BillingError::UnknownAccount(_) => {
                ApiError::new("AuthFailure.UnauthorizedOperation", e.to_string())
            }
            BillingError::MonthClosed { .. } => ApiError::new("FailedOperation", e.to_string()),
            // Names and values a billing action was given (item, pack size, month).
            BillingError::UnknownName { .. }
            | BillingError::OutOfRange(_)
            | BillingError::InvalidClientToken(_)
            | BillingError::BelowMinimumOrder { .. }
            | BillingError::SdkClientTokenConflict { .. }
            | BillingError::TopUpTokenConflict { .. }
            | BillingError::ClientTokenConflict { .. } => {
                ApiError::new("InvalidParameterValue", e.to_string())
            }
            BillingError::InsufficientBalance { .. } => {
                ApiError::new(INSUFFICIENT_BALANCE, e.to_string())
            }
            other => {
                // The call was not recorded, so it must not be answered as a success.
                tracing::error!(error = %other, "metering failure");
                ApiError::internal("the call could not be metered")
            }
        }
    }
}

impl From<licence_registry::RegistryError> for ApiError {
    fn from(e: licence_registry::RegistryError) -> Self {
        use licence_registry::RegistryError as R;
        let code = match &e {
            R::UnknownOrder(_) | R::UnknownLicence(_) => "ResourceNotFound",
            R::OrderAccount { .. } | R::LicenceAccount { .. } => {
                "AuthFailure.UnauthorizedOperation"
            }
            R::SeatsExhausted { .. }
            | R::MovesExhausted { .. }
            | R::TrialDevicesExhausted { .. } => "LimitExceeded",
            R::TrialTaken { .. }
            | R::TrialPackage { .. }
            | R::TrialOver { .. }
            | R::Revoked(_)
            | R::DeviceHasSeat(_)
            | R::RenewalUsed { .. } => "FailedOperation",
            R::WrongSdk { .. }
            | R::WrongKind { .. }
            | R::OrderMismatch { .. }
            | R::PlatformMismatch { .. }
            | R::NoDevices
            | R::Issue(_) => "InvalidParameterValue",
            R::Key(_) | R::Seal(_) | R::Corrupt(_) | R::Database(_) => {
                tracing::error!(error = %e, "licence registry failure");
                return ApiError::internal("the licence registry failed");
            }
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NotFound => ApiError::new(
                "AuthFailure.SecretIdNotFound",
                "the SecretId does not exist",
            ),
            KeyError::Disabled => {
                ApiError::new("AuthFailure.SecretIdNotFound", "the SecretId is disabled")
            }
            // An expired temporary key no longer exists for the API, as with STS keys.
            e @ KeyError::Expired(_) => {
                ApiError::new("AuthFailure.SecretIdNotFound", e.to_string())
            }
            e @ KeyError::Token(_) => ApiError::new("AuthFailure.TokenFailure", e.to_string()),
            other => {
                tracing::error!(error = %other, "key store failure");
                ApiError::internal("internal error in the key store")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallery_codes_follow_the_table() {
        let e = GalleryError::FieldLength {
            field: Field::GroupId,
            len: 65,
            min: 1,
            max: 64,
        };
        assert_eq!(
            ApiError::from(e).code,
            "InvalidParameterValue.GroupIdTooLong"
        );
        let e = GalleryError::FieldCharacter {
            field: Field::PersonId,
            ch: '!',
        };
        assert_eq!(
            ApiError::from(e).code,
            "InvalidParameterValue.PersonIdIllegal"
        );
        assert_eq!(
            ApiError::from(GalleryError::GroupNotFound("g".into())).code,
            "InvalidParameterValue.GroupIdNotExist"
        );
        let internal = ApiError::from(GalleryError::Corrupt("secret detail".into()));
        assert_eq!(internal.code, "InternalError");
        assert!(!internal.message.contains("secret detail"));
    }

    #[test]
    fn vision_and_billing_codes() {
        assert_eq!(
            ApiError::from(VisionError::UnknownFormat).code,
            "FailedOperation.ImageDecodeFailed"
        );
        assert_eq!(
            ApiError::from(VisionError::TooLarge {
                what: "width",
                actual: 5000,
                limit: 4000
            })
            .code,
            "FailedOperation.ImageResolutionExceed"
        );
        assert_eq!(
            ApiError::from(BillingError::InArrears { account: 1 }).code,
            "ResourceUnavailable.InArrears"
        );
        assert_eq!(
            ApiError::from(BillingError::WriterGone).code,
            "InternalError"
        );
        let short = BillingError::InsufficientBalance {
            needed: billing::Money::yuan(200),
            available: billing::Money::yuan(1),
        };
        assert_eq!(ApiError::from(short).code, INSUFFICIENT_BALANCE);
        assert_eq!(
            ApiError::from("2026-13".parse::<billing::Month>().unwrap_err()).code,
            "InvalidParameterValue"
        );
    }
}
