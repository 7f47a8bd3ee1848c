//! DetectFaceAttributes (docs/attributes.md). Attributes no model here estimates are
//! never invented: they come back in the API's "no valid value" forms, listed in
//! docs/attributes.md.

use serde_json::{json, Value};
use vision::{Attributes, FaceMesh, Turn};

use super::common::{
    analyse_faces, decode_detect, image_size, largest_first, load_image, max_face_num, no_face,
    on_analyzer, only_model_3, rect_json,
};
use super::{Call, Fields, Switch};
use crate::error::ApiError;

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
                // Whole numbers, as the SDK models declare HeadPose (int64 in Go's).
                "Pitch": f64::from(pose.pitch).round() as i64,
                "Yaw": f64::from(pose.yaw).round() as i64,
                "Roll": f64::from(turn.roll_to_original(pose.roll)).round() as i64,
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
    let max_faces = max_face_num(call)?;
    only_model_3(call)?;
    let rotate = call.switch("NeedRotateDetection", Switch::ZeroOrOne)?;
    let wanted = attribute_types(call)?;
    let bytes = load_image(call, "Image", "Url").await?;
    let need = !wanted.is_empty();
    let (oriented, faces, found) = on_analyzer(call, move |engine, analyzer| {
        let mut oriented = decode_detect(engine, &bytes, rotate, None)?;
        let mut faces = largest_first(std::mem::take(&mut oriented.faces));
        if faces.is_empty() {
            return Err(no_face());
        }
        faces.truncate(max_faces);
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
