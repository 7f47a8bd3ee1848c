//! Images from Python: encoded bytes (JPEG, PNG, BMP) decoded by the SDK, or raw pixels
//! (bytes and a layout) so a camera frame or an array needs no encoding and no numpy.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};
use sdk::RgbImage;

use crate::error::{invalid, OrRaise};

/// A decoded RGB image, ready for the SDK's calls. Make one with `FaceSdk.decode` or
/// `Image.from_raw`; decoding once and reusing the image saves a decode per call.
#[pyclass(frozen, module = "renlian_sdk", name = "Image")]
pub(crate) struct Image {
    pub(crate) rgb: Arc<RgbImage>,
}

/// Pixel layouts `Image.from_raw` accepts, with their bytes per pixel.
const FORMATS: [(&str, usize); 5] = [
    ("rgb", 3),
    ("bgr", 3),
    ("rgba", 4),
    ("bgra", 4),
    ("gray", 1),
];

#[pymethods]
impl Image {
    /// An image from raw 8-bit pixels: `format` is "rgb", "bgr", "rgba", "bgra" or
    /// "gray"; `stride` is the bytes from one row to the next (default: tightly
    /// packed). `data` is any bytes-like object (bytes, bytearray, memoryview, a
    /// C-contiguous array).
    #[staticmethod]
    #[pyo3(signature = (data, width, height, format = "rgb", stride = None))]
    fn from_raw(
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        width: u32,
        height: u32,
        format: &str,
        stride: Option<usize>,
    ) -> PyResult<Image> {
        let bytes = bytes_of(data)?;
        let rgb = py
            .detach(|| rgb_from_raw(&bytes, width, height, format, stride))
            .map_err(invalid)?;
        Ok(Image { rgb: Arc::new(rgb) })
    }

    #[getter]
    fn width(&self) -> u32 {
        self.rgb.width()
    }

    #[getter]
    fn height(&self) -> u32 {
        self.rgb.height()
    }

    /// The pixels as packed RGB bytes, row by row.
    fn to_rgb_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.rgb.as_raw())
    }

    fn __repr__(&self) -> String {
        format!(
            "Image(width={}, height={})",
            self.rgb.width(),
            self.rgb.height()
        )
    }
}

/// An `Image` as is, or encoded bytes decoded by `sdk` (with the GIL released).
pub(crate) fn image_arg(
    py: Python<'_>,
    sdk: &sdk::FaceSdk,
    obj: &Bound<'_, PyAny>,
) -> PyResult<Arc<RgbImage>> {
    if let Ok(img) = obj.cast::<Image>() {
        return Ok(img.get().rgb.clone());
    }
    let bytes = bytes_of(obj)?;
    let rgb = py.detach(|| sdk.decode(&bytes)).or_raise()?;
    Ok(Arc::new(rgb))
}

/// The bytes of a bytes-like object, copied so the GIL can be released while they are
/// used. bytes and bytearray directly; anything else through `memoryview(...).tobytes()`
/// (abi3 before 3.11 has no buffer protocol API).
pub(crate) fn bytes_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if obj.is_instance_of::<pyo3::types::PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "expected bytes-like image data, got str (open files in binary mode)",
        ));
    }
    let view = obj
        .py()
        .import("builtins")?
        .getattr("memoryview")?
        .call1((obj,))?;
    let bytes = view.call_method0("tobytes")?;
    Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// Packs raw pixels of `format` into an RGB image.
fn rgb_from_raw(
    data: &[u8],
    width: u32,
    height: u32,
    format: &str,
    stride: Option<usize>,
) -> Result<RgbImage, String> {
    let format = format.to_ascii_lowercase();
    let format = if format == "grey" {
        "gray".to_owned()
    } else {
        format
    };
    let channels = FORMATS
        .iter()
        .find(|(name, _)| *name == format)
        .map(|(_, n)| *n)
        .ok_or_else(|| {
            format!("unknown pixel format {format:?} (known: rgb, bgr, rgba, bgra, gray)")
        })?;
    if width == 0 || height == 0 {
        return Err(format!("empty image: {width}x{height}"));
    }
    let (w, h) = (width as usize, height as usize);
    let row = w.checked_mul(channels).ok_or("image too large")?;
    let stride = stride.unwrap_or(row);
    if stride < row {
        return Err(format!(
            "stride {stride} is less than a row of {width} {format} pixels ({row} bytes)"
        ));
    }
    let needed = stride
        .checked_mul(h - 1)
        .and_then(|n| n.checked_add(row))
        .ok_or("image too large")?;
    if data.len() < needed {
        return Err(format!(
            "{} bytes is too short for {width}x{height} {format} with stride {stride} \
             ({needed} bytes needed)",
            data.len()
        ));
    }
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let line = &data[y * stride..y * stride + row];
        match format.as_str() {
            "rgb" => out.extend_from_slice(line),
            "bgr" => line
                .chunks_exact(3)
                .for_each(|p| out.extend_from_slice(&[p[2], p[1], p[0]])),
            "rgba" => line
                .chunks_exact(4)
                .for_each(|p| out.extend_from_slice(&p[..3])),
            "bgra" => line
                .chunks_exact(4)
                .for_each(|p| out.extend_from_slice(&[p[2], p[1], p[0]])),
            _ => line.iter().for_each(|&g| out.extend_from_slice(&[g, g, g])),
        }
    }
    RgbImage::from_raw(width, height, out).ok_or_else(|| "image buffer size mismatch".to_owned())
}
