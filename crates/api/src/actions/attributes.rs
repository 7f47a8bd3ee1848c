//! The attribute and quality side of the API: DetectFace's FaceAttributesInfo and
//! FaceQualityInfo, DetectFaceAttributes, and QualityControl (docs/attributes.md,
//! docs/quality.md). Attributes no model here estimates are never invented: they come
//! back in the API's "no valid value" forms, listed in docs/attributes.md.

use serde_json::{json, Value};
use vision::{Analyzer, Attributes, Face, FaceMesh, Quality, RgbImage, Turn};

use super::face::{
    decode_detect, largest_first, load_image, no_face, on_analyzer, rect_json, rotate_switch,
};
use super::landmarks::{image_size, only_model_3};
use super::{Call, Fields};
use crate::error::ApiError;

/// DetectFace estimates attributes of the largest 5 faces and quality of the largest 30
/// (later faces get the API's "no reference value" form, as IAI documents).
pub const MAX_ATTRIBUTE_FACES: usize = 5;
pub const MAX_QUALITY_FACES: usize = 30;

/// The error IAI gives when an image fails QualityControl.
pub const QUALITY_NOT_QUALIFIED: &str = "FailedOperation.FaceQualityNotQualified";

/// What DetectFace computed for one face beyond its box.
pub struct FaceAnalysis {
    pub attributes: Option<(Attributes, FaceMesh)>,
    pub quality: Option<Quality>,
}

/// Attributes and/or quality of the largest faces (within the API's per-face limits).
pub fn analyse_faces(
    analyzer: &Analyzer,
    img: &RgbImage,
    faces: &[Face],
    attributes: bool,
    quality: bool,
) -> Result<Vec<FaceAnalysis>, ApiError> {
    let mut out = Vec::with_capacity(faces.len());
    for (i, face) in faces.iter().enumerate() {
        let want_attr = attributes && i < MAX_ATTRIBUTE_FACES;
        let want_quality = quality && i < MAX_QUALITY_FACES;
        if !want_attr && !want_quality {
            out.push(FaceAnalysis {
                attributes: None,
                quality: None,
            });
            continue;
        }
        let mesh = analyzer.mesh.run(img, face)?;
        let quality =
            want_quality.then(|| vision::quality::assess(img, face.rect, &mesh.shape90()));
        let attributes = if want_attr {
            Some((analyzer.attributes.estimate(img, face)?, mesh))
        } else {
            None
        };
        out.push(FaceAnalysis {
            attributes,
            quality,
        });
    }
    Ok(out)
}

/// 0-100 gender as DetectFace reports it: 0-49 female, 50-100 male, the side the same
/// as DetectFaceAttributes' verdict (P(male) ≥ 0.5 is male) even where rounding would
/// cross 50.
fn gender_score(a: &Attributes) -> i64 {
    let score = (a.gender_male * 100.0).round().clamp(0.0, 100.0) as i64;
    if a.gender_male >= 0.5 {
        score.max(50)
    } else {
        score.min(49)
    }
}

fn clamp_angle(v: f32, limit: f32) -> f64 {
    f64::from(v.clamp(-limit, limit)).round()
}

/// DetectFace's FaceAttributesInfo. Attributes no model here estimates take IAI's "no
/// valid value" form where the field has one (null) and its zero value otherwise (Beauty
/// 0, Glass false; docs/attributes.md); faces beyond the first five and calls without
/// NeedFaceAttributes get the all-zero form IAI documents as carrying no meaning.
/// `turn`: the turn the face was found on (NeedRotateDetection); Roll is reported in
/// the frame of the image as sent.
pub fn attributes_json(a: Option<&(Attributes, FaceMesh)>, turn: Turn) -> Value {
    match a {
        None => json!({
            "Gender": 0, "Age": 0, "Expression": 0, "Glass": false,
            "Pitch": 0, "Yaw": 0, "Roll": 0, "Beauty": 0,
            "Hat": null, "Mask": null, "Hair": null, "EyeOpen": null,
        }),
        Some((attr, mesh)) => {
            let pose = mesh.head_pose();
            json!({
                "Gender": gender_score(attr),
                "Age": attr.age.round().clamp(0.0, 100.0) as i64,
                "Expression": attr.smile.round().clamp(0.0, 100.0) as i64,
                "Glass": false,
                "Pitch": clamp_angle(pose.pitch, 30.0),
                "Yaw": clamp_angle(pose.yaw, 30.0),
                "Roll": clamp_angle(turn.roll_to_original(pose.roll), 180.0),
                "Beauty": 0,
                "Hat": null,
                "Mask": null,
                "Hair": null,
                "EyeOpen": mesh.eyes_open(),
            })
        }
    }
}

pub fn quality_json(q: &Quality) -> Value {
    let c = &q.completeness;
    json!({
        "Score": q.score, "Sharpness": q.sharpness, "Brightness": q.brightness,
        "Completeness": {
            "Eyebrow": c.eyebrow, "Eye": c.eye, "Nose": c.nose,
            "Cheek": c.cheek, "Mouth": c.mouth, "Chin": c.chin,
        },
    })
}

/// Which attributes DetectFaceAttributes was asked for (case-insensitive, comma-separated).
const ATTRIBUTE_TYPES: &[&str] = &[
    "none",
    "age",
    "beauty",
    "emotion",
    "eye",
    "eyebrow",
    "gender",
    "hair",
    "hat",
    "headpose",
    "mask",
    "mouth",
    "moustache",
    "nose",
    "shape",
    "skin",
    "smile",
];

fn attribute_types(call: &Call<'_>) -> Result<Vec<String>, ApiError> {
    let Some(list) = call.str_opt("FaceAttributesType")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for t in list.split(',').map(|t| t.trim().to_ascii_lowercase()) {
        if t.is_empty() {
            continue;
        }
        if !ATTRIBUTE_TYPES.contains(&t.as_str()) {
            return Err(ApiError::invalid_value(format!(
                "FaceAttributesType has an unknown attribute {t:?}"
            )));
        }
        if t != "none" && !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn item(kind: i64, probability: f32) -> Value {
    json!({ "Type": kind, "Probability": (f64::from(probability) * 1e4).round() / 1e4 })
}

/// An attribute no model here estimates: Probability 0 says the Type is not known to be
/// right (docs/attributes.md).
fn unknown_item() -> Value {
    json!({ "Type": 0, "Probability": 0.0 })
}

fn detail_json(wanted: &[String], found: Option<&(Attributes, FaceMesh)>, turn: Turn) -> Value {
    let want = |t: &str| found.is_some() && wanted.iter().any(|w| w == t);
    let (attr, mesh) = match found {
        Some((a, m)) => (Some(a), Some(m)),
        None => (None, None),
    };
    let mut v = json!({
        "Age": 0, "Beauty": 0, "Smile": 0,
        "Emotion": unknown_item(), "Gender": unknown_item(), "Mask": unknown_item(),
        "Moustache": unknown_item(), "Nose": unknown_item(), "Shape": unknown_item(),
        "Skin": unknown_item(),
        "Eye": { "Glass": unknown_item(), "EyeOpen": unknown_item(),
                 "EyelidType": unknown_item(), "EyeSize": unknown_item() },
        "Eyebrow": { "EyebrowDensity": unknown_item(), "EyebrowCurve": unknown_item(),
                     "EyebrowLength": unknown_item() },
        "Hair": { "Length": unknown_item(), "Bang": unknown_item(), "Color": unknown_item() },
        "Hat": { "Style": unknown_item(), "Color": unknown_item() },
        "HeadPose": { "Pitch": 0, "Yaw": 0, "Roll": 0 },
        "Mouth": { "MouthOpen": unknown_item() },
    });
    if let (Some(a), Some(m)) = (attr, mesh) {
        if want("age") {
            v["Age"] = json!(a.age.round().clamp(0.0, 65.0) as i64);
        }
        if want("smile") {
            v["Smile"] = json!(a.smile.round().clamp(0.0, 100.0) as i64);
        }
        if want("gender") {
            // DetectFaceAttributes: Type 0 male, 1 female.
            v["Gender"] = if a.gender_male >= 0.5 {
                item(0, a.gender_male)
            } else {
                item(1, 1.0 - a.gender_male)
            };
        }
        if want("emotion") {
            let (kind, p) =
                a.emotion
                    .iter()
                    .copied()
                    .enumerate()
                    .fold(
                        (0, f32::MIN),
                        |best, (i, p)| if p > best.1 { (i, p) } else { best },
                    );
            v["Emotion"] = item(kind as i64, p);
        }
        if want("headpose") {
            let pose = m.head_pose();
            v["HeadPose"] = json!({
                "Pitch": f64::from(pose.pitch).round(),
                "Yaw": f64::from(pose.yaw).round(),
                "Roll": f64::from(turn.roll_to_original(pose.roll)).round(),
            });
        }
        if want("eye") {
            // Type 0 open, 1 closed (at least one eye closed, as DetectFace's EyeOpen).
            // No model gives a probability: it is the share of the two eyes that agree
            // with the verdict (docs/attributes.md), not a calibrated one.
            let (l, r) = m.eye_openness();
            let closed = [l, r]
                .iter()
                .filter(|&&e| e < vision::mesh::EYE_CLOSED_BELOW)
                .count();
            v["Eye"]["EyeOpen"] = if closed == 0 {
                item(0, 1.0)
            } else {
                item(1, closed as f32 / 2.0)
            };
        }
    }
    v
}

pub async fn detect_face_attributes(call: &Call<'_>) -> Result<Fields, ApiError> {
    let max_faces = call.int_opt("MaxFaceNum")?.unwrap_or(1);
    if !(1..=120).contains(&max_faces) {
        return Err(ApiError::invalid_value(format!(
            "MaxFaceNum must be 1 to 120, got {max_faces}"
        )));
    }
    only_model_3(call)?;
    let rotate = rotate_switch(call)?;
    let wanted = attribute_types(call)?;
    let bytes = load_image(call, "Image", "Url").await?;
    let need = !wanted.is_empty();
    let (oriented, faces, found) = on_analyzer(call, move |engine, analyzer| {
        let mut oriented = decode_detect(engine, &bytes, rotate)?;
        let mut faces = largest_first(std::mem::take(&mut oriented.faces));
        if faces.is_empty() {
            return Err(no_face());
        }
        faces.truncate(max_faces as usize);
        let found = analyse_faces(analyzer, &oriented.image, &faces, need, false)?;
        Ok((oriented, faces, found))
    })
    .await?;
    let infos: Vec<Value> = faces
        .iter()
        .zip(&found)
        .map(|(face, f)| {
            json!({
                "FaceRect": rect_json(&oriented.face_to_original(face)),
                "FaceDetailAttributesInfo": detail_json(&wanted, f.attributes.as_ref(), oriented.turn),
            })
        })
        .collect();
    let mut out = Fields::new();
    image_size(&mut out, &oriented);
    out.insert("FaceDetailInfos".into(), Value::Array(infos));
    out.insert("FaceModelVersion".into(), json!("3.0"));
    Ok(out)
}

/// QualityControl 0-4 of CreatePerson, CreateFace, the searches, verification and
/// CompareFace (0: none).
pub fn quality_control(call: &Call<'_>) -> Result<u8, ApiError> {
    match call.int_opt("QualityControl")? {
        None => Ok(0),
        Some(v @ 0..=4) => Ok(v as u8),
        Some(v) => Err(ApiError::new(
            "InvalidParameterValue.QualityControlIllegal",
            format!("QualityControl must be 0 to 4, got {v}"),
        )),
    }
}

/// Whether `face` passes QualityControl `level` (always at 0).
pub fn face_qualifies(
    analyzer: &Analyzer,
    img: &RgbImage,
    face: &Face,
    level: u8,
) -> Result<bool, ApiError> {
    if level == 0 {
        return Ok(true);
    }
    let mesh = analyzer.mesh.run(img, face)?;
    let q = vision::quality::assess(img, face.rect, &mesh.shape90());
    Ok(vision::quality::meets(level, &q))
}

pub fn not_qualified(level: u8) -> ApiError {
    ApiError::new(
        QUALITY_NOT_QUALIFIED,
        format!("the face does not meet the image quality required by QualityControl={level}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_gender(p: f32) -> Attributes {
        Attributes {
            age: 30.0,
            gender_male: p,
            emotion: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            smile: 0.0,
        }
    }

    #[test]
    fn gender_score_keeps_the_verdicts_side() {
        assert_eq!(gender_score(&with_gender(0.495)), 49);
        assert_eq!(gender_score(&with_gender(0.5)), 50);
        assert_eq!(gender_score(&with_gender(0.0)), 0);
        assert_eq!(gender_score(&with_gender(0.987)), 99);
        assert_eq!(gender_score(&with_gender(1.0)), 100);
    }
}
