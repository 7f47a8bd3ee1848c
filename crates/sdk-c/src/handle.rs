//! `rl_sdk`: one SDK instance, and the calls on it (licence, decode, detect, quality,
//! descriptor, compare, liveness).

use std::ffi::c_char;

use sdk::FaceSdk;
use vision::DecodeLimits;

use crate::config::rl_config;
use crate::error::{boundary, boundary_void, Error, Result};
use crate::ffi;
use crate::image::{load, rl_image};
use crate::results::{
    rl_comparison, rl_descriptor, rl_face, rl_licence_info, rl_liveness, rl_quality,
};

/// One SDK instance (opaque): a verified licence, the models it switches on, the data
/// directory. Thread-safe: share one instance between threads and call it concurrently.
/// Galleries and trackers made from it keep it alive on their own.
#[derive(Debug)]
pub struct rl_sdk {
    pub(crate) sdk: FaceSdk,
    /// The limits of the config it was opened with, applied to raw pixels too.
    pub(crate) limits: DecodeLimits,
}

/// Opens the SDK: verifies the licence offline (`RL_E_LICENCE_*` when refused) and loads
/// the models it switches on from the model directory, with no network. On success
/// `*out` is the instance, released by `rl_sdk_free`.
///
/// # Safety
/// `config` is a live configuration; `out` points to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_open(config: *const rl_config, out: *mut *mut rl_sdk) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (config, out) = unsafe { (ffi::input(config, "config")?, ffi::output(out, "out")?) };
        let sdk_config = config.to_sdk()?;
        let limits = sdk_config.engine.limits;
        let sdk = FaceSdk::open(sdk_config)?;
        out.write(Box::into_raw(Box::new(rl_sdk { sdk, limits })));
        Ok(())
    })
}

/// Releases an instance. Null is ignored. Galleries and trackers made from it stay valid.
///
/// # Safety
/// `sdk` is null or came from `rl_sdk_open`, no call on it is running, and it is not used
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_free(sdk: *mut rl_sdk) {
    boundary_void(|| {
        if !sdk.is_null() {
            // SAFETY: made by Box::into_raw in rl_sdk_open; the caller gives it back once.
            drop(unsafe { Box::from_raw(sdk) });
        }
    })
}

/// The SDK handle behind `sdk`.
///
/// # Safety
/// `sdk` is null or a live instance.
pub(crate) unsafe fn instance<'a>(sdk: *const rl_sdk) -> Result<&'a rl_sdk> {
    // SAFETY: the caller's promise.
    unsafe { ffi::input(sdk, "the SDK") }
}

/// The licence in force, re-checked (an expired licence is an error here too).
///
/// # Safety
/// `sdk` is a live instance; `out` points to a writable `rl_licence_info`.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_licence(sdk: *const rl_sdk, out: *mut rl_licence_info) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, out) = unsafe { (instance(sdk)?, ffi::output(out, "out")?) };
        out.write(rl_licence_info::from(&sdk.sdk.licence()?));
        Ok(())
    })
}

/// Accepts a newer signed revocation list; the licence is checked against it on the next
/// call.
///
/// # Safety
/// `sdk` is a live instance; `list` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_accept_revocation_list(
    sdk: *const rl_sdk,
    list: *const c_char,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, list) = unsafe { (instance(sdk)?, ffi::text(list, "the revocation list")?) };
        sdk.sdk.accept_revocation_list(list)?;
        Ok(())
    })
}

/// Decodes a JPEG, PNG or BMP file (EXIF orientation applied) into RGB24 pixels, tightly
/// packed (stride = width × 3), so several calls can share one decoding. `*width` and
/// `*height` always receive the size; the pixels are written only when `capacity` (bytes)
/// holds `width * height * 3`, otherwise nothing is written to `pixels`: call again with a
/// buffer that size. Needs no licence feature.
///
/// # Safety
/// `sdk` is a live instance; `data` holds `len` readable bytes; `pixels` is null (with
/// `capacity` 0) or holds `capacity` writable bytes; `width` and `height` point to writable
/// `uint32_t`s.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_decode(
    sdk: *const rl_sdk,
    data: *const u8,
    len: usize,
    pixels: *mut u8,
    capacity: usize,
    width: *mut u32,
    height: *mut u32,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, data, w_out, h_out) = unsafe {
            (
                instance(sdk)?,
                ffi::bytes(data, len, "the encoded image")?,
                ffi::output(width, "width")?,
                ffi::output(height, "height")?,
            )
        };
        if pixels.is_null() && capacity > 0 {
            return Err(Error::invalid(format!(
                "the pixel buffer is null with a capacity of {capacity}"
            )));
        }
        let img = sdk.sdk.decode(data)?;
        w_out.write(img.width());
        h_out.write(img.height());
        let raw = img.as_raw();
        if capacity >= raw.len() {
            // SAFETY: not null (capacity > 0 or the image is empty, which decode never
            // returns); capacity bytes are writable, the caller's promise.
            unsafe { std::ptr::copy_nonoverlapping(raw.as_ptr(), pixels, raw.len()) };
        }
        Ok(())
    })
}

/// Finds faces, largest first: boxes, confidence and 5 landmarks. A list output: the first
/// `min(capacity, n)` faces are written to `faces` and `*count` receives `n`, so a count
/// above the capacity means faces were left out (call again with room for `*count`).
/// Needs `detect`.
///
/// # Safety
/// `sdk` is a live instance; `image` a valid `rl_image`; `faces` null (with `capacity` 0)
/// or `capacity` writable `rl_face`s; `count` a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_detect(
    sdk: *const rl_sdk,
    image: *const rl_image,
    faces: *mut rl_face,
    capacity: usize,
    count: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, out) = unsafe {
            (
                instance(sdk)?,
                ffi::list_output(faces, capacity, count, "faces")?,
            )
        };
        // SAFETY: the caller's promise about the image.
        let img = unsafe { load(sdk, image) }?;
        let found = sdk.sdk.detect(&img)?;
        let converted = found
            .iter()
            .map(rl_face::from_face)
            .collect::<Result<Vec<_>>>()?;
        out.fill(converted);
        Ok(())
    })
}

/// The server's quality score of `face` in `image`. Needs `quality`.
///
/// # Safety
/// `sdk` is a live instance; `image` a valid `rl_image`; `face` a valid `rl_face`; `out`
/// a writable `rl_quality`.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_quality(
    sdk: *const rl_sdk,
    image: *const rl_image,
    face: *const rl_face,
    out: *mut rl_quality,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, face, out) = unsafe {
            (
                instance(sdk)?,
                ffi::input(face, "the face")?,
                ffi::output(out, "out")?,
            )
        };
        // SAFETY: the caller's promise about the image.
        let img = unsafe { load(sdk, image) }?;
        out.write(rl_quality::from(&sdk.sdk.quality(&img, &face.into())?));
        Ok(())
    })
}

/// The 128-value descriptor of `face` in `image` (the server's). Needs `features`.
///
/// # Safety
/// `sdk` is a live instance; `image` a valid `rl_image`; `face` a valid `rl_face`; `out`
/// a writable `rl_descriptor`.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_descriptor(
    sdk: *const rl_sdk,
    image: *const rl_image,
    face: *const rl_face,
    out: *mut rl_descriptor,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, face, out) = unsafe {
            (
                instance(sdk)?,
                ffi::input(face, "the face")?,
                ffi::output(out, "out")?,
            )
        };
        // SAFETY: the caller's promise about the image.
        let img = unsafe { load(sdk, image) }?;
        let d = sdk.sdk.descriptor(&img, &face.into())?;
        out.write(rl_descriptor::from_values(&d.0)?);
        Ok(())
    })
}

/// The largest face of `image` and its descriptor, in one call (`RL_E_NO_FACE` when there
/// is none). Needs `detect` and `features`.
///
/// # Safety
/// `sdk` is a live instance; `image` a valid `rl_image`; `face` a writable `rl_face`;
/// `out` a writable `rl_descriptor`.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_extract(
    sdk: *const rl_sdk,
    image: *const rl_image,
    face: *mut rl_face,
    out: *mut rl_descriptor,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, face_out, out) = unsafe {
            (
                instance(sdk)?,
                ffi::output(face, "face")?,
                ffi::output(out, "out")?,
            )
        };
        // SAFETY: the caller's promise about the image.
        let img = unsafe { load(sdk, image) }?;
        let (face, d) = sdk.sdk.extract(&img)?;
        face_out.write(rl_face::from_face(&face)?);
        out.write(rl_descriptor::from_values(&d.0)?);
        Ok(())
    })
}

/// Distance and score (0-100, the API's scale) between two descriptors. Needs `features`.
///
/// # Safety
/// `sdk` is a live instance; `a` and `b` valid `rl_descriptor`s; `out` a writable
/// `rl_comparison`.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_compare(
    sdk: *const rl_sdk,
    a: *const rl_descriptor,
    b: *const rl_descriptor,
    out: *mut rl_comparison,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, a, b, out) = unsafe {
            (
                instance(sdk)?,
                ffi::input(a, "descriptor a")?,
                ffi::input(b, "descriptor b")?,
                ffi::output(out, "out")?,
            )
        };
        let c = sdk.sdk.compare(&a.values, &b.values)?;
        out.write(rl_comparison {
            distance: c.distance,
            score: c.score,
        });
        Ok(())
    })
}

/// Static single-frame RGB liveness of `face` in `image` (the server's). Needs
/// `ir-liveness` or `3d-liveness`.
///
/// # Safety
/// `sdk` is a live instance; `image` a valid `rl_image`; `face` a valid `rl_face`; `out`
/// a writable `rl_liveness`.
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_liveness(
    sdk: *const rl_sdk,
    image: *const rl_image,
    face: *const rl_face,
    out: *mut rl_liveness,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, face, out) = unsafe {
            (
                instance(sdk)?,
                ffi::input(face, "the face")?,
                ffi::output(out, "out")?,
            )
        };
        // SAFETY: the caller's promise about the image.
        let img = unsafe { load(sdk, image) }?;
        out.write(rl_liveness::from(&sdk.sdk.liveness(&img, &face.into())?));
        Ok(())
    })
}
