//! Status codes, the calling thread's last error message, and the boundary every entry
//! point goes through: a panic is caught there, an error becomes a code and a message.

use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::panic::{self, AssertUnwindSafe};

use sdk::{ErrorCode, SdkError};

/// Success.
pub const RL_OK: i32 = 0;
/// An argument is out of range or malformed (a null pointer, a bad size, a bad id).
pub const RL_E_INVALID_ARGUMENT: i32 = 1;
/// The licence file is malformed, altered, signed by an untrusted key, revoked or
/// superseded.
pub const RL_E_LICENCE_INVALID: i32 = 2;
/// The licence has expired (or is not valid yet, or the clock was set back).
pub const RL_E_LICENCE_EXPIRED: i32 = 3;
/// The licence is bound to another device or app.
pub const RL_E_LICENCE_WRONG_SUBJECT: i32 = 4;
/// The licence does not include the feature the call needs (the message names it).
pub const RL_E_FEATURE_NOT_LICENSED: i32 = 5;
/// A model file is missing, altered or cannot be loaded.
pub const RL_E_MODEL: i32 = 6;
/// The image cannot be decoded, its pixel buffer does not match its size, or it is
/// outside the limits.
pub const RL_E_IMAGE: i32 = 7;
/// No face where one is needed.
pub const RL_E_NO_FACE: i32 = 8;
/// The local gallery refused the operation (unknown id, limit, corrupt file).
pub const RL_E_GALLERY: i32 = 9;
/// The local gallery's key is not the key it was created with.
pub const RL_E_GALLERY_KEY: i32 = 10;
/// The SDK's data directory (licence state, gallery) or a named file cannot be read or
/// written.
pub const RL_E_STORAGE: i32 = 11;
/// A bug: a panic caught at the library boundary, or an engine invariant broken.
pub const RL_E_INTERNAL: i32 = 12;

/// Why a call failed: the code returned and the message kept for
/// `rl_last_error_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::InvalidArgument, message)
    }

    pub(crate) fn image(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Image, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Internal, message)
    }
}

impl From<SdkError> for Error {
    fn from(e: SdkError) -> Error {
        Error::new(e.code(), e.to_string())
    }
}

thread_local! {
    /// The message of this thread's last call through the boundary; empty after a
    /// success.
    static LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last(message: String) {
    // A thread being torn down has no slot left; the status code still says what failed.
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = message;
        }
    });
}

/// Runs one entry point: catches a panic, records the message, returns the status.
pub(crate) fn boundary(f: impl FnOnce() -> Result<()>) -> i32 {
    let outcome = panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(Error::internal(format!(
            "a panic was caught at the library boundary: {}",
            panic_text(payload.as_ref())
        )))
    });
    match outcome {
        Ok(()) => {
            set_last(String::new());
            RL_OK
        }
        Err(e) => {
            set_last(e.message);
            e.code as i32
        }
    }
}

/// Runs an entry point that has no status to return (the `rl_*_free` functions): a panic
/// is caught and recorded, never unwound into C.
pub(crate) fn boundary_void(f: impl FnOnce()) {
    let _ = boundary(|| {
        f();
        Ok(())
    });
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Copies the message of the calling thread's last failed call into `buf` (UTF-8,
/// NUL-terminated, cut at a character boundary to fit `capacity` bytes) and returns the
/// message's full length in bytes, without the NUL. Returns 0 and writes an empty string
/// when the last call succeeded. The message is per thread: read it on the thread that
/// made the call, before that thread's next call.
///
/// # Safety
/// `buf` is null (only the length is returned) or points to `capacity` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rl_last_error_message(buf: *mut c_char, capacity: usize) -> usize {
    panic::catch_unwind(|| {
        LAST.try_with(|last| match last.try_borrow() {
            // SAFETY: the caller's promise about `buf` and `capacity`.
            Ok(message) => unsafe { crate::ffi::copy_text(&message, buf, capacity) },
            Err(_) => 0,
        })
        .unwrap_or(0)
    })
    .unwrap_or(0)
}

/// The name of a status code ("Ok", "InvalidArgument", "FeatureNotLicensed", …, the same
/// names every binding uses), or "Unknown". A static string: never free it.
#[no_mangle]
pub extern "C" fn rl_error_name(code: i32) -> *const c_char {
    code_name(code).as_ptr()
}

pub(crate) fn code_name(code: i32) -> &'static CStr {
    match code {
        RL_OK => c"Ok",
        RL_E_INVALID_ARGUMENT => c"InvalidArgument",
        RL_E_LICENCE_INVALID => c"LicenceInvalid",
        RL_E_LICENCE_EXPIRED => c"LicenceExpired",
        RL_E_LICENCE_WRONG_SUBJECT => c"LicenceWrongSubject",
        RL_E_FEATURE_NOT_LICENSED => c"FeatureNotLicensed",
        RL_E_MODEL => c"Model",
        RL_E_IMAGE => c"Image",
        RL_E_NO_FACE => c"NoFace",
        RL_E_GALLERY => c"Gallery",
        RL_E_GALLERY_KEY => c"GalleryKey",
        RL_E_STORAGE => c"Storage",
        RL_E_INTERNAL => c"Internal",
        _ => c"Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C constants are the SDK's codes: the same number and the same name.
    #[test]
    fn constants_are_the_sdks_codes() {
        let constants = [
            RL_E_INVALID_ARGUMENT,
            RL_E_LICENCE_INVALID,
            RL_E_LICENCE_EXPIRED,
            RL_E_LICENCE_WRONG_SUBJECT,
            RL_E_FEATURE_NOT_LICENSED,
            RL_E_MODEL,
            RL_E_IMAGE,
            RL_E_NO_FACE,
            RL_E_GALLERY,
            RL_E_GALLERY_KEY,
            RL_E_STORAGE,
            RL_E_INTERNAL,
        ];
        assert_eq!(constants.len(), ErrorCode::ALL.len());
        for (constant, code) in constants.into_iter().zip(ErrorCode::ALL) {
            assert_eq!(constant, code as i32, "{code:?}");
            assert_eq!(code_name(constant).to_str(), Ok(code.name()));
        }
        assert_eq!(code_name(RL_OK), c"Ok");
        assert_eq!(code_name(99), c"Unknown");
        assert_eq!(code_name(-1), c"Unknown");
    }

    fn last_message() -> String {
        let mut buf = [0 as c_char; 256];
        // SAFETY: a buffer of its own length.
        let n = unsafe { rl_last_error_message(buf.as_mut_ptr(), buf.len()) };
        // SAFETY: rl_last_error_message NUL-terminates within the capacity.
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
        let s = s.to_str().map(str::to_owned).unwrap_or_default();
        assert_eq!(n, s.len());
        s
    }

    #[test]
    fn a_panic_becomes_internal_with_its_message() {
        let code = boundary(|| panic!("engine invariant"));
        assert_eq!(code, RL_E_INTERNAL);
        let message = last_message();
        assert!(
            message.contains("panic") && message.contains("engine invariant"),
            "{message}"
        );
        // The next successful call clears it.
        assert_eq!(boundary(|| Ok(())), RL_OK);
        assert_eq!(last_message(), "");
    }

    #[test]
    fn an_error_keeps_its_code_and_message_per_thread() {
        let code = boundary(|| Err(Error::image("bad pixels")));
        assert_eq!(code, RL_E_IMAGE);
        std::thread::spawn(|| assert_eq!(last_message(), ""))
            .join()
            .unwrap();
        assert_eq!(last_message(), "bad pixels");
    }

    #[test]
    fn a_short_buffer_gets_a_cut_message_and_the_full_length() {
        boundary(|| Err(Error::invalid("licence refusé: clé")));
        let full = "licence refusé: clé";
        // 13 bytes fit "licence refus" and the NUL; "é" (2 bytes) would not.
        let mut buf = [1 as c_char; 14];
        // SAFETY: a buffer of its own length.
        let n = unsafe { rl_last_error_message(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(n, full.len());
        // SAFETY: NUL-terminated within the buffer.
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(s.to_str(), Ok("licence refus"));
        // SAFETY: a null buffer asks for the length only.
        assert_eq!(
            unsafe { rl_last_error_message(std::ptr::null_mut(), 0) },
            full.len()
        );
    }
}
