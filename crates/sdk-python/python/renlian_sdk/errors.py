"""The SDK's exceptions: one class per stable error code, all under RenlianError.

The codes are the SDK's (the same numbers as the C library's RL_E_* values); catch a
subclass for one cause, or RenlianError and switch on ``.code``.
"""

from typing import Dict, Type


class RenlianError(Exception):
    """An SDK call failed. ``code`` is the stable number, ``name`` its name (for
    example ``"LicenceExpired"``) and ``message`` what happened."""

    code: int = 0

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message

    def __reduce__(self):
        # Pickle with the three arguments (multiprocessing sends exceptions back).
        return (type(self), (self.code, self.name, self.message))


class InvalidArgumentError(RenlianError, ValueError):
    """An argument is out of range or malformed (a bad size, format or id)."""

    code = 1


class LicenceInvalidError(RenlianError):
    """The licence is malformed, altered, signed by an untrusted key, revoked or
    superseded."""

    code = 2


class LicenceExpiredError(RenlianError):
    """The licence has expired, is not valid yet, or the clock was set back."""

    code = 3


class LicenceWrongSubjectError(RenlianError):
    """The licence is bound to another device or app."""

    code = 4


class FeatureNotLicensedError(RenlianError):
    """The licence does not include the feature the call needs (named in the
    message)."""

    code = 5


class ModelError(RenlianError):
    """A model file is missing, altered or cannot be loaded."""

    code = 6


class ImageError(RenlianError, ValueError):
    """The image cannot be decoded or is outside the limits."""

    code = 7


class NoFaceError(RenlianError):
    """No face where one is needed."""

    code = 8


class GalleryError(RenlianError):
    """The local gallery refused the operation (unknown id, limit, corrupt file)."""

    code = 9


class GalleryKeyError(RenlianError):
    """The local gallery's key is not the key it was created with."""

    code = 10


class StorageError(RenlianError):
    """The SDK's data directory cannot be read or written."""

    code = 11


class InternalError(RenlianError):
    """A bug in the SDK (a panic or a broken invariant); please report it."""

    code = 12


ERRORS_BY_CODE: Dict[int, Type[RenlianError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        LicenceInvalidError,
        LicenceExpiredError,
        LicenceWrongSubjectError,
        FeatureNotLicensedError,
        ModelError,
        ImageError,
        NoFaceError,
        GalleryError,
        GalleryKeyError,
        StorageError,
        InternalError,
    )
}


def _error_for(code: int, name: str, message: str) -> RenlianError:
    """The exception the native module raises for an SDK error (called from Rust)."""
    return ERRORS_BY_CODE.get(code, RenlianError)(code, name, message)
