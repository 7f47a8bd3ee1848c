//! Image bytes to RGB pixels: JPEG, PNG, BMP and WebP, EXIF orientation applied.
//!
//! Limits on bytes and pixels are checked before any pixel is decoded (the pixel count
//! comes from the header), so hostile input costs little. Every failure is a typed
//! [`VisionError`]; no input makes this module panic.

use std::io::Cursor;

use image::{ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::error::{Result, VisionError};

/// Limits applied to every image before it is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted input, in bytes.
    pub max_bytes: u64,
    /// Largest accepted image, in pixels (width × height).
    pub max_pixels: u64,
    /// Largest accepted width or height, in pixels.
    pub max_side: u32,
}

impl Default for DecodeLimits {
    /// 20 MiB, 40 megapixels, 16384 px a side: every camera photo, no decompression bomb.
    fn default() -> Self {
        DecodeLimits {
            max_bytes: 20 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_side: 16384,
        }
    }
}

/// Decodes JPEG, PNG, BMP or WebP bytes to 8-bit RGB, honouring the EXIF orientation.
/// Alpha is dropped; grey and 16-bit images are converted.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(VisionError::EmptyImage);
    }
    check_limit("bytes", bytes.len() as u64, limits.max_bytes)?;
    let format = image::guess_format(bytes).map_err(|_| VisionError::UnknownFormat)?;
    match format {
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Bmp | ImageFormat::WebP => {}
        other => return Err(VisionError::UnsupportedFormat(format_name(other))),
    }
    // zune-jpeg fills a missing tail with grey instead of failing: check the end marker.
    if format == ImageFormat::Jpeg && !jpeg_has_end_after_last_scan(bytes) {
        return Err(VisionError::Truncated);
    }
    // The png crate returns the pixels without reading the end chunk: check it is there.
    if format == ImageFormat::Png && !png_has_end_chunk(bytes) {
        return Err(VisionError::Truncated);
    }
    if format == ImageFormat::WebP && !webp_is_whole(bytes) {
        return Err(VisionError::Truncated);
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    // Room for the decoded image in its widest pixel type plus the decoder's own buffers.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(16).max(1 << 20));
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|e| classify(e, limits))?;
    let (width, height) = decoder.dimensions();
    check_limit("width", u64::from(width), u64::from(limits.max_side))?;
    check_limit("height", u64::from(height), u64::from(limits.max_side))?;
    check_limit(
        "pixels",
        u64::from(width) * u64::from(height),
        limits.max_pixels,
    )?;
    if width == 0 || height == 0 {
        return Err(VisionError::Corrupt("zero-sized image".into()));
    }
    // A broken EXIF block should not cost the photo: fall back to "as stored".
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(|e| classify(e, limits))?;
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

fn check_limit(what: &'static str, actual: u64, limit: u64) -> Result<()> {
    if actual > limit {
        return Err(VisionError::TooLarge {
            what,
            actual,
            limit,
        });
    }
    Ok(())
}

fn format_name(format: ImageFormat) -> String {
    format
        .extensions_str()
        .first()
        .map(|e| e.to_ascii_uppercase())
        .unwrap_or_else(|| format!("{format:?}"))
}

/// Entropy-coded JPEG data byte-stuffs 0xFF, so an EOI marker (FF D9) after the last
/// start-of-scan (FF DA) means the final scan is complete.
fn jpeg_has_end_after_last_scan(bytes: &[u8]) -> bool {
    let Some(last_sos) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else {
        return false;
    };
    bytes[last_sos..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// The IEND chunk (type then its 4-byte CRC) closes every complete PNG.
fn png_has_end_chunk(bytes: &[u8]) -> bool {
    bytes
        .windows(4)
        .rposition(|w| w == b"IEND")
        .is_some_and(|i| bytes.len() >= i + 8)
}

/// A WebP file is one RIFF chunk whose header gives its length: the bytes must hold it
/// all (a lossy frame cut short can otherwise decode to a partial picture).
fn webp_is_whole(bytes: &[u8]) -> bool {
    let Some(size) = bytes.get(4..8) else {
        return false;
    };
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    bytes.len() >= size.saturating_add(8)
}

fn classify(err: image::ImageError, limits: &DecodeLimits) -> VisionError {
    use image::error::{ImageError, LimitErrorKind};
    match err {
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            VisionError::Truncated
        }
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => VisionError::TooLarge {
                what: "width",
                actual: u64::from(limits.max_side) + 1,
                limit: u64::from(limits.max_side),
            },
            _ => VisionError::TooLarge {
                what: "pixels",
                actual: limits.max_pixels + 1,
                limit: limits.max_pixels,
            },
        },
        ImageError::Unsupported(e) => VisionError::UnsupportedFormat(e.to_string()),
        other => {
            let message = other.to_string();
            let lower = message.to_ascii_lowercase();
            if lower.contains("eof") || lower.contains("end of file") || lower.contains("truncat") {
                VisionError::Truncated
            } else {
                VisionError::Corrupt(message)
            }
        }
    }
}
