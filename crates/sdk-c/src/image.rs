//! Images from the caller's memory: raw pixels in four layouts, or an encoded file
//! (JPEG, PNG, BMP). Either way the SDK reads them during the call and keeps nothing.

use sdk::RgbImage;
use vision::DecodeLimits;

use crate::error::{Error, Result};
use crate::ffi;
use crate::handle::rl_sdk;

/// 3 bytes a pixel: red, green, blue.
pub const RL_PIXEL_RGB24: u32 = 1;
/// 3 bytes a pixel: blue, green, red (OpenCV's order).
pub const RL_PIXEL_BGR24: u32 = 2;
/// 4 bytes a pixel: red, green, blue, alpha (alpha is ignored).
pub const RL_PIXEL_RGBA32: u32 = 3;
/// 1 byte a pixel: grey.
pub const RL_PIXEL_GRAY8: u32 = 4;
/// Not pixels: `data` holds a JPEG, PNG or BMP file (`width`, `height` and `stride` are
/// ignored). Decoded on every call that takes the image: decode once with `rl_sdk_decode`
/// to run several calls on one photo.
pub const RL_IMAGE_ENCODED: u32 = 5;

/// An image in the caller's memory, read during the call only.
///
/// For pixels, row `y` starts at `data + y * stride`, and `len` must cover the last row:
/// `len >= (height - 1) * stride + width * bytes_per_pixel`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_image {
    /// The pixels, top row first, or the encoded file.
    pub data: *const u8,
    /// How many bytes `data` holds.
    pub len: usize,
    /// Width in pixels (pixels only).
    pub width: u32,
    /// Height in pixels (pixels only).
    pub height: u32,
    /// Bytes from the start of one row to the next; 0 means `width * bytes_per_pixel`
    /// (pixels only).
    pub stride: u32,
    /// `RL_PIXEL_*` or `RL_IMAGE_ENCODED`.
    pub format: u32,
}

/// Bytes a pixel in `format`, or `None` for an unknown format.
fn bytes_per_pixel(format: u32) -> Option<usize> {
    match format {
        RL_PIXEL_RGB24 | RL_PIXEL_BGR24 => Some(3),
        RL_PIXEL_RGBA32 => Some(4),
        RL_PIXEL_GRAY8 => Some(1),
        _ => None,
    }
}

/// The SDK's RGB image of `img`: decoded, or converted from the caller's pixels.
///
/// # Safety
/// `img` is null or points to an `rl_image` whose `data` holds `len` readable bytes.
pub(crate) unsafe fn load(sdk: &rl_sdk, img: *const rl_image) -> Result<RgbImage> {
    // SAFETY: the caller's promise.
    let img = unsafe { ffi::input(img, "the image") }?;
    // SAFETY: the caller's promise about data and len.
    let data = unsafe { ffi::bytes(img.data, img.len, "the image data") }?;
    if img.format == RL_IMAGE_ENCODED {
        return Ok(sdk.sdk.decode(data)?);
    }
    from_pixels(
        data,
        img.width,
        img.height,
        img.stride,
        img.format,
        &sdk.limits,
    )
}

/// Converts the caller's pixels to the SDK's RGB image, checking the layout and the
/// limits first.
pub(crate) fn from_pixels(
    data: &[u8],
    width: u32,
    height: u32,
    stride: u32,
    format: u32,
    limits: &DecodeLimits,
) -> Result<RgbImage> {
    let bpp = bytes_per_pixel(format).ok_or_else(|| {
        Error::invalid(format!(
            "unknown image format {format}: use RL_PIXEL_RGB24, RL_PIXEL_BGR24, \
             RL_PIXEL_RGBA32, RL_PIXEL_GRAY8 or RL_IMAGE_ENCODED"
        ))
    })?;
    let packed = packed_rows(data, width, height, stride, bpp, limits, "image")?;
    let rgb: Vec<u8> = match format {
        RL_PIXEL_RGB24 => packed,
        RL_PIXEL_BGR24 => packed
            .chunks_exact(3)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect(),
        RL_PIXEL_RGBA32 => packed
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        _ => packed.iter().flat_map(|&g| [g, g, g]).collect(),
    };
    RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| Error::internal("the converted pixels do not fill the image"))
}

/// Rows of `row` elements, `stride` apart, copied out of `data` after checking that
/// `data` holds them: the layout check shared by pixel buffers and depth maps.
pub(crate) fn packed_rows<T: Copy>(
    data: &[T],
    width: u32,
    height: u32,
    stride: u32,
    per_pixel: usize,
    limits: &DecodeLimits,
    what: &str,
) -> Result<Vec<T>> {
    if width == 0 || height == 0 {
        return Err(Error::image(format!(
            "the {what} is {width}×{height} pixels"
        )));
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(Error::image(format!(
            "the {what} is {width}×{height} pixels: the limits are {} a side and {} in all",
            limits.max_side, limits.max_pixels
        )));
    }
    let (w, h) = (width as usize, height as usize);
    let row = w * per_pixel;
    let stride = if stride == 0 { row } else { stride as usize };
    if stride < row {
        return Err(Error::image(format!(
            "the {what}'s stride, {stride}, is shorter than a row of {width} pixels ({row})"
        )));
    }
    let needed = (h - 1)
        .checked_mul(stride)
        .and_then(|n| n.checked_add(row))
        .ok_or_else(|| Error::image(format!("the {what}'s stride × height overflows")))?;
    if data.len() < needed {
        return Err(Error::image(format!(
            "the {what} holds {} values; {width}×{height} pixels with a stride of {stride} \
             need {needed}",
            data.len()
        )));
    }
    let mut out = Vec::with_capacity(row * h);
    for y in 0..h {
        out.extend_from_slice(&data[y * stride..y * stride + row]);
    }
    Ok(out)
}

/// An infrared frame: grey pixels (`RL_PIXEL_GRAY8`) only, as IR sensors give them.
///
/// # Safety
/// `img` is null or points to an `rl_image` whose `data` holds `len` readable bytes.
pub(crate) unsafe fn load_gray(
    limits: &DecodeLimits,
    img: *const rl_image,
    what: &str,
) -> Result<::image::GrayImage> {
    // SAFETY: the caller's promise.
    let img = unsafe { ffi::input(img, what) }?;
    if img.format != RL_PIXEL_GRAY8 {
        return Err(Error::invalid(format!(
            "the {what} must be RL_PIXEL_GRAY8 pixels, not format {}",
            img.format
        )));
    }
    // SAFETY: the caller's promise about data and len.
    let data = unsafe { ffi::bytes(img.data, img.len, what) }?;
    let grey = packed_rows(data, img.width, img.height, img.stride, 1, limits, what)?;
    ::image::GrayImage::from_raw(img.width, img.height, grey)
        .ok_or_else(|| Error::internal(format!("the {what}'s pixels do not fill it")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sdk::ErrorCode;

    const LIMITS: DecodeLimits = DecodeLimits {
        max_bytes: 1 << 20,
        max_pixels: 100,
        max_side: 20,
    };

    /// A 2×2 image in every layout, rows padded to a stride wider than the row.
    #[test]
    fn every_layout_gives_the_same_rgb() {
        let want: Vec<u8> = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let rgb = [1, 2, 3, 4, 5, 6, 0xee, 7, 8, 9, 10, 11, 12];
        let bgr = [3, 2, 1, 6, 5, 4, 0xee, 9, 8, 7, 12, 11, 10];
        let rgba = [1, 2, 3, 0, 4, 5, 6, 0, 0xee, 7, 8, 9, 0, 10, 11, 12, 0];
        for (data, stride, format) in [
            (&rgb[..], 7, RL_PIXEL_RGB24),
            (&bgr[..], 7, RL_PIXEL_BGR24),
            (&rgba[..], 9, RL_PIXEL_RGBA32),
        ] {
            let img = from_pixels(data, 2, 2, stride, format, &LIMITS).unwrap();
            assert_eq!(img.as_raw(), &want, "format {format}");
        }
        let grey = from_pixels(&[9, 200], 2, 1, 0, RL_PIXEL_GRAY8, &LIMITS).unwrap();
        assert_eq!(grey.as_raw(), &vec![9, 9, 9, 200, 200, 200]);
    }

    #[test]
    fn a_buffer_that_does_not_match_its_size_is_an_image_error() {
        let code = |r: Result<RgbImage>| r.map(drop).unwrap_err().code;
        // One byte short of the last row.
        assert_eq!(
            code(from_pixels(&[0; 11], 2, 2, 0, RL_PIXEL_RGB24, &LIMITS)),
            ErrorCode::Image
        );
        assert_eq!(
            code(from_pixels(&[0; 12], 2, 2, 5, RL_PIXEL_RGB24, &LIMITS)),
            ErrorCode::Image
        );
        assert_eq!(
            code(from_pixels(&[], 0, 2, 0, RL_PIXEL_RGB24, &LIMITS)),
            ErrorCode::Image
        );
        assert_eq!(
            code(from_pixels(&[0; 63], 21, 1, 0, RL_PIXEL_RGB24, &LIMITS)),
            ErrorCode::Image
        );
        assert_eq!(
            code(from_pixels(&[0; 12], 2, 2, 0, 0, &LIMITS)),
            ErrorCode::InvalidArgument
        );
    }
}
