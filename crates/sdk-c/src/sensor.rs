//! Infrared and structured-light (depth) liveness: a second frame registered
//! pixel-for-pixel to the RGB frame the face was found in.

use std::ffi::c_char;

use crate::error::{boundary, Error, Result};
use crate::ffi;
use crate::handle::{instance, rl_sdk};
use crate::image::{load, load_gray, packed_rows, rl_image};
use crate::results::rl_face;

/// A depth map in the caller's memory: millimetres, 0 where the sensor has no reading,
/// registered to the RGB frame (same size, same pixel grid).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_depth_map {
    /// The readings, top row first.
    pub data: *const u16,
    /// How many `uint16_t` values `data` holds.
    pub len: usize,
    pub width: u32,
    pub height: u32,
    /// Values (not bytes) from the start of one row to the next; 0 means `width`.
    pub stride: u32,
}

/// The verdict of an IR or depth check.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rl_sensor_liveness {
    /// 0-100; 50 and above is live (the weakest check decides).
    pub score: u32,
    /// 1 when every check passed, else 0.
    pub live: i32,
    /// How many checks failed; their reasons are the text output.
    pub failed_checks: u32,
}

/// Writes the verdict and, when asked, its reasons ("; "-separated).
///
/// # Safety
/// As the entry points' promises about `out`, `reasons` and `length`.
unsafe fn write_verdict<R: std::fmt::Display>(
    score: u8,
    live: bool,
    reasons: &[R],
    out: *mut rl_sensor_liveness,
    text: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> Result<()> {
    // SAFETY: the caller's promises.
    let out = unsafe { ffi::output(out, "out") }?;
    let joined = reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    // SAFETY: the caller's promises.
    unsafe { ffi::text_output(&joined, text, capacity, length) }?;
    out.write(rl_sensor_liveness {
        score: u32::from(score),
        live: i32::from(live),
        failed_checks: u32::try_from(reasons.len()).unwrap_or(u32::MAX),
    });
    Ok(())
}

/// Infrared liveness of `face` (found in `rgb`) from the IR frame `ir`
/// (`RL_PIXEL_GRAY8`, registered to `rgb`): a face must be in the IR frame where the RGB
/// face is, with skin-like reflectance and texture (docs/sensor-liveness.md). The failed
/// checks' reasons go to `reasons` as text, by the string rule (null with capacity 0 to
/// skip them). Needs `ir-liveness`.
///
/// # Safety
/// `sdk` is a live instance; `rgb` and `ir` valid `rl_image`s; `face` a valid `rl_face`;
/// `out` a writable `rl_sensor_liveness`; `reasons` null or `capacity` writable bytes;
/// `length` null or a writable `size_t`.
// A C function takes its outputs as arguments.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_ir_liveness(
    sdk: *const rl_sdk,
    rgb: *const rl_image,
    face: *const rl_face,
    ir: *const rl_image,
    out: *mut rl_sensor_liveness,
    reasons: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, face) = unsafe { (instance(sdk)?, ffi::input(face, "the face")?) };
        // SAFETY: the caller's promises about the images.
        let (rgb, ir) = unsafe {
            (
                load(sdk, rgb)?,
                load_gray(&sdk.limits, ir, "infrared frame")?,
            )
        };
        let v = sdk.sdk.ir_liveness(&rgb, &face.into(), &ir)?;
        // SAFETY: the caller's promises.
        unsafe {
            write_verdict(
                v.score, v.is_live, &v.reasons, out, reasons, capacity, length,
            )
        }
    })
}

/// Structured-light (3D) liveness of `face` (found in `rgb`) from the depth map `depth`
/// (registered to `rgb`): the face's relief against a fitted plane and the face mesh's
/// shape prior (docs/sensor-liveness.md). Reasons as for `rl_sdk_ir_liveness`. Needs
/// `3d-liveness`.
///
/// # Safety
/// `sdk` is a live instance; `rgb` a valid `rl_image`; `face` a valid `rl_face`; `depth`
/// a valid `rl_depth_map`; `out` a writable `rl_sensor_liveness`; `reasons` null or
/// `capacity` writable bytes; `length` null or a writable `size_t`.
// A C function takes its outputs as arguments.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "C" fn rl_sdk_depth_liveness(
    sdk: *const rl_sdk,
    rgb: *const rl_image,
    face: *const rl_face,
    depth: *const rl_depth_map,
    out: *mut rl_sensor_liveness,
    reasons: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, face, d) = unsafe {
            (
                instance(sdk)?,
                ffi::input(face, "the face")?,
                ffi::input(depth, "the depth map")?,
            )
        };
        if d.data.is_null() && d.len > 0 {
            return Err(Error::invalid("the depth map's data is null"));
        }
        if !d.data.is_aligned() {
            return Err(Error::invalid("the depth map's data is misaligned"));
        }
        let values: &[u16] = if d.len == 0 {
            &[]
        } else {
            // SAFETY: not null, aligned; the caller's promise about len.
            unsafe { std::slice::from_raw_parts(d.data, d.len) }
        };
        let packed = packed_rows(
            values,
            d.width,
            d.height,
            d.stride,
            1,
            &sdk.limits,
            "depth map",
        )?;
        let map = sdk::DepthMap::from_raw(d.width, d.height, packed)
            .ok_or_else(|| Error::internal("the depth values do not fill the map"))?;
        // SAFETY: the caller's promise about the image.
        let rgb = unsafe { load(sdk, rgb) }?;
        let v = sdk.sdk.depth_liveness(&rgb, &face.into(), &map)?;
        // SAFETY: the caller's promises.
        unsafe {
            write_verdict(
                v.score, v.is_live, &v.reasons, out, reasons, capacity, length,
            )
        }
    })
}
