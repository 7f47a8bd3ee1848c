//! Values across the boundary. Results go to Java as primitive arrays that the Java
//! classes unpack (`Face.fromValues`, …); these are their layouts, and the Java side
//! reads them in the same order.

use jni::objects::{JByteArray, JDoubleArray, JFloatArray, JObjectArray, JString};
use jni::JNIEnv;
use sdk::{Comparison, Face, LicenceInfo, Liveness, Quality, Rect, RgbImage, Status};

use crate::boundary::Failure;

/// The 5 landmarks of every detected face.
const LANDMARKS: usize = 5;

/// A face as doubles (exact for the pixel coordinates and the `f32` confidence): left,
/// top, right, bottom (inclusive), confidence, then x, y of the 5 landmarks.
pub const FACE_LEN: usize = 5 + 2 * LANDMARKS;

/// Quality as ints: score, sharpness, brightness, then the completeness of eyebrow, eye,
/// nose, cheek, mouth, chin.
pub const QUALITY_LEN: usize = 9;

/// Liveness as doubles: score (0-100), combined raw value, antispoof, liveness.
pub const LIVENESS_LEN: usize = 4;

/// The licence summary as strings: id, sdk, kind, features (comma-separated), expiry
/// (Unix seconds, empty when permanent), status (`valid` or `expiring`), days left
/// (empty when permanent).
pub const LICENCE_FIELDS: usize = 7;

pub fn face_values(face: &Face) -> Result<[f64; FACE_LEN], Failure> {
    if face.landmarks.len() != LANDMARKS {
        return Err(Failure::Sdk(sdk::SdkError::Internal(format!(
            "a face with {} landmarks, not {LANDMARKS}",
            face.landmarks.len()
        ))));
    }
    let r = face.rect;
    let mut out = [0.0; FACE_LEN];
    out[..5].copy_from_slice(&[
        r.left as f64,
        r.top as f64,
        r.right as f64,
        r.bottom as f64,
        f64::from(face.confidence),
    ]);
    for (i, (x, y)) in face.landmarks.iter().enumerate() {
        out[5 + 2 * i] = *x as f64;
        out[6 + 2 * i] = *y as f64;
    }
    Ok(out)
}

/// The face a Java `Face` describes (as [`face_values`] wrote it).
pub fn face_from_values(v: &[f64]) -> Result<Face, Failure> {
    if v.len() != FACE_LEN {
        return Err(Failure::argument(format!(
            "a face is {FACE_LEN} values, got {}",
            v.len()
        )));
    }
    let coord = |x: f64| -> Result<i64, Failure> {
        // Whole numbers only: a face is the one detect returned, not an approximation.
        if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
            Ok(x as i64)
        } else {
            Err(Failure::argument(format!(
                "face coordinate {x} is not a whole number"
            )))
        }
    };
    let rect = Rect::new(coord(v[0])?, coord(v[1])?, coord(v[2])?, coord(v[3])?);
    if rect.right < rect.left || rect.bottom < rect.top {
        return Err(Failure::argument("the face box is empty"));
    }
    let landmarks = (0..LANDMARKS)
        .map(|i| Ok((coord(v[5 + 2 * i])?, coord(v[6 + 2 * i])?)))
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(Face {
        rect,
        confidence: v[4] as f32,
        landmarks,
        landmarks_68: None,
    })
}

pub fn quality_values(q: &Quality) -> [i32; QUALITY_LEN] {
    let c = &q.completeness;
    [
        q.score,
        q.sharpness,
        q.brightness,
        c.eyebrow,
        c.eye,
        c.nose,
        c.cheek,
        c.mouth,
        c.chin,
    ]
    // Every value is 0-100.
    .map(|v| i32::try_from(v).unwrap_or(i32::MAX))
}

pub fn comparison_values(c: &Comparison) -> [f64; 2] {
    [c.distance, c.score]
}

pub fn liveness_values(l: &Liveness) -> [f64; LIVENESS_LEN] {
    [
        l.score,
        l.combined,
        f64::from(l.raw.antispoof),
        f64::from(l.raw.liveness),
    ]
}

pub fn licence_fields(info: &LicenceInfo) -> [String; LICENCE_FIELDS] {
    let (status, days) = match info.status {
        Status::Valid { days_left } => ("valid", days_left),
        Status::Expiring { days_left } => ("expiring", Some(days_left)),
    };
    [
        info.id.clone(),
        info.sdk.as_str().to_owned(),
        info.kind.as_str().to_owned(),
        info.features
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(","),
        info.expires.map(|e| e.to_string()).unwrap_or_default(),
        status.to_owned(),
        days.map(|d| d.to_string()).unwrap_or_default(),
    ]
}

/// A required string argument; `what` names it in the error.
pub fn string(env: &mut JNIEnv<'_>, s: &JString<'_>, what: &str) -> Result<String, Failure> {
    optional_string(env, s)?.ok_or_else(|| Failure::argument(format!("{what} is null")))
}

/// A string argument that may be null.
pub fn optional_string(env: &mut JNIEnv<'_>, s: &JString<'_>) -> Result<Option<String>, Failure> {
    if s.is_null() {
        return Ok(None);
    }
    Ok(Some(env.get_string(s)?.into()))
}

pub fn strings(
    env: &mut JNIEnv<'_>,
    array: &JObjectArray<'_>,
    what: &str,
) -> Result<Vec<String>, Failure> {
    if array.is_null() {
        return Err(Failure::argument(format!("{what} is null")));
    }
    let n = env.get_array_length(array)?;
    (0..n)
        .map(|i| {
            let item = JString::from(env.get_object_array_element(array, i)?);
            let value = string(env, &item, what);
            env.delete_local_ref(item)?;
            value
        })
        .collect()
}

pub fn bytes(env: &mut JNIEnv<'_>, array: &JByteArray<'_>, what: &str) -> Result<Vec<u8>, Failure> {
    if array.is_null() {
        return Err(Failure::argument(format!("{what} is null")));
    }
    Ok(env.convert_byte_array(array)?)
}

pub fn floats(
    env: &mut JNIEnv<'_>,
    array: &JFloatArray<'_>,
    what: &str,
) -> Result<Vec<f32>, Failure> {
    if array.is_null() {
        return Err(Failure::argument(format!("{what} is null")));
    }
    let n = usize::try_from(env.get_array_length(array)?).unwrap_or(0);
    let mut out = vec![0.0f32; n];
    env.get_float_array_region(array, 0, &mut out)?;
    Ok(out)
}

pub fn doubles(
    env: &mut JNIEnv<'_>,
    array: &JDoubleArray<'_>,
    what: &str,
) -> Result<Vec<f64>, Failure> {
    if array.is_null() {
        return Err(Failure::argument(format!("{what} is null")));
    }
    let n = usize::try_from(env.get_array_length(array)?).unwrap_or(0);
    let mut out = vec![0.0f64; n];
    env.get_double_array_region(array, 0, &mut out)?;
    Ok(out)
}

/// An RGB image from packed 8-bit RGB rows (`Image` on the Java side).
pub fn image(
    env: &mut JNIEnv<'_>,
    width: i32,
    height: i32,
    rgb: &JByteArray<'_>,
) -> Result<RgbImage, Failure> {
    let (w, h) = match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => {
            return Err(Failure::argument(format!(
                "image size {width}x{height} is not positive"
            )))
        }
    };
    let pixels = bytes(env, rgb, "image pixels")?;
    let len = pixels.len();
    RgbImage::from_raw(w, h, pixels).ok_or_else(|| {
        Failure::argument(format!(
            "a {w}x{h} RGB image needs {} bytes, got {len}",
            u64::from(w) * u64::from(h) * 3
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Face {
        Face {
            rect: Rect::new(-3, 10, 120, 140),
            confidence: 1.031_25,
            landmarks: vec![(1, 2), (3, 4), (5, 6), (7, 8), (9, -10)],
            landmarks_68: None,
        }
    }

    #[test]
    fn a_face_survives_the_round_trip() {
        let values = face_values(&face()).unwrap();
        assert_eq!(values[..5], [-3.0, 10.0, 120.0, 140.0, 1.031_25]);
        assert_eq!(face_from_values(&values).unwrap(), face());
    }

    #[test]
    fn a_malformed_face_is_an_invalid_argument() {
        let mut values = face_values(&face()).unwrap();
        values[6] = 2.5;
        let err = face_from_values(&values).unwrap_err();
        assert!(matches!(err, Failure::Sdk(ref e) if e.code() == sdk::ErrorCode::InvalidArgument));
        assert!(face_from_values(&values[..14]).is_err());
        let mut empty = face_values(&face()).unwrap();
        empty[2] = -4.0;
        assert!(face_from_values(&empty).is_err());
    }
}
