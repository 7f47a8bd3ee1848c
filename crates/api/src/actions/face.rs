//! DetectFace and CompareFace: the engine on one or two images. DetectFace's per-face
//! FaceAttributesInfo and FaceQualityInfo are written here (docs/attributes.md,
//! docs/quality.md).

use serde_json::{json, Value};
use vision::{Attributes, FaceMesh, Quality, Turn};

use super::common::{
    analyse_faces, check_model_version, decode_detect, describe_one, image_size, largest_first,
    load_image, max_face_num, min_face_size, no_face, on_analyzer, quality_control, rect_json,
    round_score, FACE_MODEL_VERSION,
};
use super::{Call, Fields, Switch};
use crate::error::ApiError;

pub async fn detect_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    let max_faces = max_face_num(call)?;
    let min_face = min_face_size(call)?;
    // Any value but 1 means "no" for these two (IAI's rule).
    let attributes = call.switch("NeedFaceAttributes", Switch::OneOrOff)?;
    let quality = call.switch("NeedQualityDetection", Switch::OneOrOff)?;
    let rotate = call.switch("NeedRotateDetection", Switch::ZeroOrOne)?;
    check_model_version(call)?;
    let bytes = load_image(call, "Image", "Url").await?;
    let (found, faces, analysed) = on_analyzer(call, move |engine, analyzer| {
        let mut found = decode_detect(engine, &bytes, rotate, min_face)?;
        let mut faces = largest_first(std::mem::take(&mut found.faces));
        faces.truncate(max_faces);
        let analysed = analyse_faces(analyzer, &found.image, &faces, attributes, quality)?;
        Ok((found, faces, analysed))
    })
    .await?;
    if faces.is_empty() {
        return Err(no_face());
    }
    let infos: Vec<Value> = faces
        .iter()
        .zip(&analysed)
        .map(|(face, a)| {
            let mut info = rect_json(&found.face_to_original(face));
            info["FaceAttributesInfo"] = attributes_json(a.attributes.as_ref(), found.turn);
            info["FaceQualityInfo"] = a.quality.as_ref().map_or(Value::Null, quality_json);
            info
        })
        .collect();
    let mut out = Fields::new();
    // The size of the image as sent, whose frame every box is in (docs/api.md).
    image_size(&mut out, &found);
    out.insert("FaceInfos".into(), Value::Array(infos));
    out.insert("FaceModelVersion".into(), json!(FACE_MODEL_VERSION));
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

/// An angle as the SDK models declare it: a whole number (Go's SDK decodes Pitch, Yaw
/// and Roll into int64 and refuses `3.0`).
fn clamp_angle(v: f32, limit: f32) -> i64 {
    f64::from(v.clamp(-limit, limit)).round() as i64
}

/// DetectFace's FaceAttributesInfo. Attributes no model here estimates take IAI's "no
/// valid value" form where the field has one (null) and its zero value otherwise (Beauty
/// 0, Glass false; docs/attributes.md); faces beyond the first five and calls without
/// NeedFaceAttributes get the all-zero form IAI documents as carrying no meaning.
/// `turn`: the turn the face was found on (NeedRotateDetection); Roll is reported in
/// the frame of the image as sent.
fn attributes_json(a: Option<&(Attributes, FaceMesh)>, turn: Turn) -> Value {
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

/// DetectFace's FaceQualityInfo.
fn quality_json(q: &Quality) -> Value {
    let c = &q.completeness;
    json!({
        "Score": q.score, "Sharpness": q.sharpness, "Brightness": q.brightness,
        "Completeness": {
            "Eyebrow": c.eyebrow, "Eye": c.eye, "Nose": c.nose,
            "Cheek": c.cheek, "Mouth": c.mouth, "Chin": c.chin,
        },
    })
}

pub async fn compare_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    check_model_version(call)?;
    let quality = quality_control(call)?;
    let rotate = call.switch("NeedRotateDetection", Switch::ZeroOrOne)?;
    let largest = call.switch("FaceMatchingStrategy", Switch::ZeroOrOne)?;
    let a = load_image(call, "ImageA", "UrlA").await?;
    let b = load_image(call, "ImageB", "UrlB").await?;
    let score = on_analyzer(call, move |engine, analyzer| {
        // Nothing stored is involved: the latest descriptor version and its score model,
        // as the offline SDK's compare.
        let v = vision::DescriptorVersion::LATEST;
        let (_, da) = describe_one(engine, analyzer, &a, largest, quality, rotate)?;
        let (_, db) = describe_one(engine, analyzer, &b, largest, quality, rotate)?;
        Ok(engine.compare_as(da.of(v), db.of(v), v)?.score)
    })
    .await?;
    let mut out = Fields::new();
    out.insert("Score".into(), json!(round_score(score)));
    out.insert("FaceModelVersion".into(), json!(FACE_MODEL_VERSION));
    Ok(out)
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
