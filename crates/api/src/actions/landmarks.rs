//! The landmark actions: AnalyzeFace (IAI's 90 points) and AnalyzeDenseLandmarks, from
//! the face mesh of every face the engine finds (docs/landmarks.md).

use serde_json::{json, Value};
use vision::mesh::FaceMesh;
use vision::{Analyzer, Engine, Face, Oriented, Point};

use super::face::{
    check_model_version, decode_detect, largest_first, load_image, no_face, on_analyzer,
    rotate_switch,
};
use super::{Call, Fields};
use crate::error::ApiError;

/// AnalyzeFace returns at most this many faces, AnalyzeDenseLandmarks this many.
const MAX_SHAPES: usize = 10;
const MAX_DENSE_SHAPES: usize = 5;
/// Mode: 0 every face (up to the action's limit), 1 the largest only.
fn mode(call: &Call<'_>) -> Result<bool, ApiError> {
    match call.int_opt("Mode")? {
        None | Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(v) => Err(ApiError::invalid_value(format!(
            "Mode must be 0 or 1, got {v}"
        ))),
    }
}

pub(super) fn only_model_3(call: &Call<'_>) -> Result<(), ApiError> {
    match call.str_opt("FaceModelVersion")? {
        None | Some("3.0") => Ok(()),
        Some(v) => Err(ApiError::new(
            "InvalidParameterValue.FaceModelVersionIllegal",
            format!("this action only supports FaceModelVersion \"3.0\", got {v:?}"),
        )),
    }
}

/// Points as the API writes them: whole pixels, in the frame of the image as sent.
fn points(found: &Oriented, ps: &[Point]) -> Value {
    Value::Array(
        ps.iter()
            .map(|&p| {
                let p = found.point_to_original(p);
                json!({ "X": p.x.round() as i64, "Y": p.y.round() as i64 })
            })
            .collect(),
    )
}

/// The faces of an image with their meshes, largest first, at most `limit`; faces and
/// meshes in the frame of the image they were found on (`rotate`: NeedRotateDetection).
pub(super) fn meshes(
    engine: &Engine,
    analyzer: &Analyzer,
    bytes: &[u8],
    limit: usize,
    rotate: bool,
) -> Result<(Oriented, Vec<(Face, FaceMesh)>), ApiError> {
    let mut found = decode_detect(engine, bytes, rotate)?;
    let faces = largest_first(std::mem::take(&mut found.faces));
    if faces.is_empty() {
        return Err(no_face());
    }
    let mut out = Vec::with_capacity(faces.len().min(limit));
    for face in faces.into_iter().take(limit) {
        let mesh = analyzer.mesh.run(&found.image, &face)?;
        out.push((face, mesh));
    }
    Ok((found, out))
}

/// ImageWidth and ImageHeight: the image as sent, whose frame every box and point is in.
pub(super) fn image_size(out: &mut Fields, found: &Oriented) {
    out.insert("ImageWidth".into(), json!(found.original_width));
    out.insert("ImageHeight".into(), json!(found.original_height));
}

pub async fn analyze_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    let largest = mode(call)?;
    check_model_version(call)?;
    let rotate = rotate_switch(call)?;
    let bytes = load_image(call, "Image", "Url").await?;
    let limit = if largest { 1 } else { MAX_SHAPES };
    let (found, faces) = on_analyzer(call, move |e, a| meshes(e, a, &bytes, limit, rotate)).await?;
    let shapes: Vec<Value> = faces
        .iter()
        .map(|(_, mesh)| {
            let s = mesh.shape90();
            json!({
                "FaceProfile": points(&found, &s.face_profile),
                "LeftEye": points(&found, &s.left_eye),
                "RightEye": points(&found, &s.right_eye),
                "LeftEyeBrow": points(&found, &s.left_eye_brow),
                "RightEyeBrow": points(&found, &s.right_eye_brow),
                "Mouth": points(&found, &s.mouth),
                "Nose": points(&found, &s.nose),
                "LeftPupil": points(&found, &[s.left_pupil]),
                "RightPupil": points(&found, &[s.right_pupil]),
            })
        })
        .collect();
    let mut out = Fields::new();
    image_size(&mut out, &found);
    out.insert("FaceShapeSet".into(), Value::Array(shapes));
    out.insert(
        "FaceModelVersion".into(),
        json!(super::face::FACE_MODEL_VERSION),
    );
    Ok(out)
}

pub async fn analyze_dense_landmarks(call: &Call<'_>) -> Result<Fields, ApiError> {
    let largest = mode(call)?;
    only_model_3(call)?;
    let rotate = rotate_switch(call)?;
    let bytes = load_image(call, "Image", "Url").await?;
    let limit = if largest { 1 } else { MAX_DENSE_SHAPES };
    let (found, faces) = on_analyzer(call, move |e, a| meshes(e, a, &bytes, limit, rotate)).await?;
    let shapes: Vec<Value> = faces
        .iter()
        .map(|(face, mesh)| {
            let rect = found.rect_to_original(face.rect);
            let d = mesh.dense();
            json!({
                "X": rect.left, "Y": rect.top, "Width": rect.width(), "Height": rect.height(),
                "LeftEye": points(&found, &d.left_eye),
                "RightEye": points(&found, &d.right_eye),
                "LeftEyeBrow": points(&found, &d.left_eye_brow),
                "RightEyeBrow": points(&found, &d.right_eye_brow),
                "MouthOutside": points(&found, &d.mouth_outside),
                "MouthInside": points(&found, &d.mouth_inside),
                "Nose": points(&found, &d.nose),
                "LeftPupil": points(&found, &d.left_pupil),
                "RightPupil": points(&found, &d.right_pupil),
                "CentralAxis": points(&found, &d.central_axis),
                "Chin": points(&found, &d.chin),
                "LeftEyeBags": points(&found, &d.left_eye_bags),
                "RightEyeBags": points(&found, &d.right_eye_bags),
                "Forehead": points(&found, &d.forehead),
            })
        })
        .collect();
    let mut out = Fields::new();
    image_size(&mut out, &found);
    out.insert("DenseFaceShapeSet".into(), Value::Array(shapes));
    out.insert("FaceModelVersion".into(), json!("3.0"));
    Ok(out)
}
