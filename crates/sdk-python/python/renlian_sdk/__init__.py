"""Renlian's offline face SDK for Python.

Open a ``FaceSdk`` with a licence, the issuer's trusted keys, the model directory
(``renlian models export``) and a data directory; then detect faces, score their
quality, make descriptors, compare them and check liveness, with no network. Every
error is a ``RenlianError`` subclass carrying the SDK's stable ``code``.
"""

from ._native import (
    DESCRIPTOR_LEN,
    ERROR_CODES,
    LIVENESS_THRESHOLD,
    BestShot,
    Comparison,
    EndedTrack,
    Face,
    FaceSdk,
    FrameResult,
    Image,
    LicenceInfo,
    Liveness,
    Quality,
    SensorLiveness,
    TrackedFace,
    Tracker,
    __version__,
    activation_request,
)
from .errors import (
    ERRORS_BY_CODE,
    FeatureNotLicensedError,
    GalleryError,
    GalleryKeyError,
    ImageError,
    InternalError,
    InvalidArgumentError,
    LicenceExpiredError,
    LicenceInvalidError,
    LicenceWrongSubjectError,
    ModelError,
    NoFaceError,
    RenlianError,
    StorageError,
)

__all__ = [
    "DESCRIPTOR_LEN",
    "ERROR_CODES",
    "ERRORS_BY_CODE",
    "LIVENESS_THRESHOLD",
    "BestShot",
    "Comparison",
    "EndedTrack",
    "Face",
    "FaceSdk",
    "FeatureNotLicensedError",
    "FrameResult",
    "GalleryError",
    "GalleryKeyError",
    "Image",
    "ImageError",
    "InternalError",
    "InvalidArgumentError",
    "LicenceExpiredError",
    "LicenceInfo",
    "LicenceInvalidError",
    "LicenceWrongSubjectError",
    "Liveness",
    "ModelError",
    "NoFaceError",
    "Quality",
    "RenlianError",
    "SensorLiveness",
    "StorageError",
    "TrackedFace",
    "Tracker",
    "__version__",
    "activation_request",
]
