//! The weights manifest and the binary shards: decoding every entry to a dense tensor.

use serde::Deserialize;

use crate::TfjsError;

/// One group of the manifest: shard files read back to back, then its entries in order.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ManifestGroup {
    pub paths: Vec<String>,
    pub weights: Vec<ManifestEntry>,
}

/// One weight as the manifest describes it.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ManifestEntry {
    pub name: String,
    pub shape: Vec<i64>,
    pub dtype: String,
    #[serde(default)]
    pub quantization: Option<Quantization>,
}

/// How a quantized entry is stored: `uint8`/`uint16` with an affine map
/// (`value = q · scale + min`), or `float16` (IEEE half).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Quantization {
    pub dtype: String,
    #[serde(default)]
    pub scale: Option<f64>,
    #[serde(default)]
    pub min: Option<f64>,
}

/// The element type of a decoded tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    I32,
    Bool,
}

/// A decoded tensor's values.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I32(Vec<i32>),
    Bool(Vec<bool>),
}

/// A weight, decoded (dequantized when it was stored quantized).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    pub fn dtype(&self) -> DType {
        match self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::I32(_) => DType::I32,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    /// The values as f32 (integers converted), e.g. for filters.
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F32(v) => v.clone(),
            TensorData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| f32::from(u8::from(x))).collect(),
        }
    }

    /// The values as i64 when the tensor holds integers (shapes, paddings, axes).
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        match &self.data {
            TensorData::I32(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            _ => None,
        }
    }
}

/// Stored element formats.
#[derive(Clone, Copy)]
enum Stored {
    F32,
    I32,
    Bool,
    U8 { scale: f64, min: f64 },
    U16 { scale: f64, min: f64 },
    F16,
}

impl Stored {
    fn width(self) -> usize {
        match self {
            Stored::F32 | Stored::I32 => 4,
            Stored::U16 { .. } | Stored::F16 => 2,
            Stored::U8 { .. } | Stored::Bool => 1,
        }
    }
}

fn weight_err(name: &str, why: impl Into<String>) -> TfjsError {
    TfjsError::Weight {
        name: name.to_string(),
        why: why.into(),
    }
}

fn stored_format(e: &ManifestEntry) -> Result<(Stored, DType), TfjsError> {
    let dtype = match e.dtype.as_str() {
        "float32" => DType::F32,
        "int32" => DType::I32,
        "bool" => DType::Bool,
        other => {
            return Err(weight_err(
                &e.name,
                format!("dtype {other:?} is not supported"),
            ))
        }
    };
    let stored = match (&e.quantization, dtype) {
        (None, DType::F32) => Stored::F32,
        (None, DType::I32) => Stored::I32,
        (None, DType::Bool) => Stored::Bool,
        (Some(_), DType::Bool) => return Err(weight_err(&e.name, "a quantized bool")),
        (Some(q), _) => {
            let affine = || match (q.scale, q.min) {
                (Some(scale), Some(min)) if scale.is_finite() && min.is_finite() => {
                    Ok((scale, min))
                }
                _ => Err(weight_err(
                    &e.name,
                    format!("{} quantization needs finite scale and min", q.dtype),
                )),
            };
            match q.dtype.as_str() {
                "uint8" => {
                    let (scale, min) = affine()?;
                    Stored::U8 { scale, min }
                }
                "uint16" => {
                    let (scale, min) = affine()?;
                    Stored::U16 { scale, min }
                }
                "float16" if dtype == DType::F32 => Stored::F16,
                other => {
                    return Err(weight_err(
                        &e.name,
                        format!("quantization {other:?} of {} is not supported", e.dtype),
                    ))
                }
            }
        }
    };
    Ok((stored, dtype))
}

/// Decodes the entries of all groups from the concatenated bytes of all their shards,
/// in manifest order. `bytes` must be exactly as long as the manifest describes.
pub(crate) fn decode(
    groups: &[ManifestGroup],
    bytes: &[u8],
) -> Result<Vec<(String, Tensor)>, TfjsError> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    for entry in groups.iter().flat_map(|g| &g.weights) {
        let (stored, dtype) = stored_format(entry)?;
        let shape = entry
            .shape
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| weight_err(&entry.name, "negative dimension")))
            .collect::<Result<Vec<_>, _>>()?;
        let count = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| weight_err(&entry.name, "shape overflows"))?;
        let needed = count
            .checked_mul(stored.width())
            .ok_or_else(|| weight_err(&entry.name, "shape overflows"))?;
        // Checked before allocating: a hostile shape cannot allocate beyond the file.
        let raw = offset
            .checked_add(needed)
            .and_then(|end| bytes.get(offset..end))
            .ok_or_else(|| TfjsError::Truncated {
                name: entry.name.clone(),
                offset,
                needed,
                available: bytes.len(),
            })?;
        offset += needed;
        let data = decode_values(raw, stored, dtype);
        out.push((entry.name.clone(), Tensor { shape, data }));
    }
    if offset != bytes.len() {
        return Err(TfjsError::TrailingBytes {
            used: offset,
            available: bytes.len(),
        });
    }
    Ok(out)
}

fn decode_values(raw: &[u8], stored: Stored, dtype: DType) -> TensorData {
    let f32s = |f: &dyn Fn(&[u8]) -> f32, w: usize| raw.chunks_exact(w).map(f).collect::<Vec<_>>();
    // The affine map is evaluated in f64 and rounded once, as tfjs does (JavaScript
    // numbers are doubles; the result is stored in a Float32Array or rounded to int32).
    let affine = |q: f64, scale: f64, min: f64| q * scale + min;
    match (stored, dtype) {
        (Stored::F32, _) => {
            TensorData::F32(f32s(&|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]), 4))
        }
        (Stored::I32, _) => TensorData::I32(
            raw.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        (Stored::Bool, _) => TensorData::Bool(raw.iter().map(|&b| b != 0).collect()),
        (Stored::F16, _) => TensorData::F32(f32s(
            &|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32(),
            2,
        )),
        (Stored::U8 { scale, min }, DType::I32) => TensorData::I32(
            raw.iter()
                .map(|&q| affine(f64::from(q), scale, min).round() as i32)
                .collect(),
        ),
        (Stored::U16 { scale, min }, DType::I32) => TensorData::I32(
            raw.chunks_exact(2)
                .map(|c| {
                    affine(f64::from(u16::from_le_bytes([c[0], c[1]])), scale, min).round() as i32
                })
                .collect(),
        ),
        (Stored::U8 { scale, min }, _) => TensorData::F32(
            raw.iter()
                .map(|&q| affine(f64::from(q), scale, min) as f32)
                .collect(),
        ),
        (Stored::U16 { scale, min }, _) => TensorData::F32(f32s(
            &|c| affine(f64::from(u16::from_le_bytes([c[0], c[1]])), scale, min) as f32,
            2,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(entries: serde_json::Value) -> Vec<ManifestGroup> {
        serde_json::from_value(serde_json::json!([{"paths": ["a.bin"], "weights": entries}]))
            .unwrap()
    }

    #[test]
    fn decodes_every_stored_format_in_order() {
        let groups = group(serde_json::json!([
            {"name": "f", "shape": [2], "dtype": "float32"},
            {"name": "i", "shape": [], "dtype": "int32"},
            {"name": "h", "shape": [2], "dtype": "float32",
             "quantization": {"dtype": "float16", "original_dtype": "float32"}},
            {"name": "u8", "shape": [2], "dtype": "float32",
             "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
            {"name": "u16", "shape": [1], "dtype": "float32",
             "quantization": {"dtype": "uint16", "scale": 0.25, "min": 2.0}},
            {"name": "qi", "shape": [1], "dtype": "int32",
             "quantization": {"dtype": "uint8", "scale": 0.3, "min": 0.0}},
            {"name": "b", "shape": [2], "dtype": "bool"}
        ]));
        let mut bytes = Vec::new();
        bytes.extend(1.5f32.to_le_bytes());
        bytes.extend((-2.0f32).to_le_bytes());
        bytes.extend((-7i32).to_le_bytes());
        bytes.extend(half::f16::from_f32(0.099_975_586).to_le_bytes());
        bytes.extend(half::f16::from_f32(-65504.0).to_le_bytes());
        bytes.extend([0u8, 5]);
        bytes.extend(1000u16.to_le_bytes());
        bytes.push(5); // 5 · 0.3 = 1.5 rounds to 2
        bytes.extend([0u8, 1]);
        let w = decode(&groups, &bytes).unwrap();
        let names: Vec<_> = w.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["f", "i", "h", "u8", "u16", "qi", "b"]);
        assert_eq!(w[0].1.data, TensorData::F32(vec![1.5, -2.0]));
        assert_eq!(w[1].1.shape, Vec::<usize>::new());
        assert_eq!(w[1].1.data, TensorData::I32(vec![-7]));
        assert_eq!(w[2].1.data, TensorData::F32(vec![0.099_975_586, -65504.0]));
        assert_eq!(w[3].1.data, TensorData::F32(vec![-1.0, 1.5]));
        assert_eq!(w[4].1.data, TensorData::F32(vec![252.0]));
        assert_eq!(w[5].1.data, TensorData::I32(vec![2]));
        assert_eq!(w[6].1.data, TensorData::Bool(vec![false, true]));
    }

    #[test]
    fn short_and_long_shards_are_typed_errors() {
        let groups = group(serde_json::json!([{"name": "f", "shape": [3, 2], "dtype": "float32"}]));
        let err = decode(&groups, &[0u8; 20]).unwrap_err();
        assert!(
            matches!(
                err,
                TfjsError::Truncated {
                    needed: 24,
                    available: 20,
                    ..
                }
            ),
            "{err}"
        );
        let err = decode(&groups, &[0u8; 28]).unwrap_err();
        assert!(
            matches!(
                err,
                TfjsError::TrailingBytes {
                    used: 24,
                    available: 28
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn hostile_shapes_and_formats_are_refused_without_allocating() {
        for (entry, what) in [
            (
                serde_json::json!({"name": "x", "shape": [i64::MAX, 4], "dtype": "float32"}),
                "overflows",
            ),
            (
                serde_json::json!({"name": "x", "shape": [-1], "dtype": "float32"}),
                "negative",
            ),
            (
                serde_json::json!({"name": "x", "shape": [1], "dtype": "string"}),
                "not supported",
            ),
            (
                serde_json::json!({"name": "x", "shape": [1], "dtype": "float32",
                                "quantization": {"dtype": "uint8"}}),
                "scale and min",
            ),
            (
                serde_json::json!({"name": "x", "shape": [1], "dtype": "int32",
                                "quantization": {"dtype": "float16"}}),
                "not supported",
            ),
        ] {
            let err = decode(&group(serde_json::json!([entry])), &[0u8; 8]).unwrap_err();
            assert!(
                matches!(&err, TfjsError::Weight { why, .. } if why.contains(what)),
                "{err}"
            );
        }
        let huge =
            group(serde_json::json!([{"name": "x", "shape": [1i64 << 40], "dtype": "float32"}]));
        assert!(matches!(
            decode(&huge, &[0u8; 8]).unwrap_err(),
            TfjsError::Truncated { .. }
        ));
    }
}
