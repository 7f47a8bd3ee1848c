//! The landmark actions: AnalyzeFace (IAI's 90 points) and AnalyzeDenseLandmarks, from
//! the face mesh of every face the engine finds (docs/landmarks.md).

use serde_json::{json, Value};
use vision::mesh::FaceMesh;
use vision::{Analyzer, Engine, Face, Point, RgbImage};

use super::face::{check_model_version, largest_first, load_image, no_face, on_analyzer};
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

/// Points as the API writes them: whole pixels.
fn points(ps: &[Point]) -> Value {
    Value::Array(
        ps.iter()
            .map(|p| json!({ "X": p.x.round() as i64, "Y": p.y.round() as i64 }))
            .collect(),
    )
}

/// The faces of an image with their meshes, largest first, at most `limit`.
pub(super) fn meshes(
    engine: &Engine,
    analyzer: &Analyzer,
    bytes: &[u8],
    limit: usize,
) -> Result<(RgbImage, Vec<(Face, FaceMesh)>), ApiError> {
    let img = engine.decode(bytes)?;
    let faces = largest_first(engine.detect(&img)?);
    if faces.is_empty() {
        return Err(no_face());
    }
    let mut out = Vec::with_capacity(faces.len().min(limit));
    for face in faces.into_iter().take(limit) {
        let mesh = analyzer.mesh.run(&img, &face)?;
        out.push((face, mesh));
    }
    Ok((img, out))
}

pub(super) fn image_size(out: &mut Fields, img: &RgbImage) {
    out.insert("ImageWidth".into(), json!(img.width()));
    out.insert("ImageHeight".into(), json!(img.height()));
}

pub async fn analyze_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    let largest = mode(call)?;
    check_model_version(call)?;
    call.refuse_switch("NeedRotateDetection", "rotation search")?;
    let bytes = load_image(call, "Image", "Url").await?;
    let limit = if largest { 1 } else { MAX_SHAPES };
    let (img, faces) = on_analyzer(call, move |e, a| meshes(e, a, &bytes, limit)).await?;
    let shapes: Vec<Value> = faces
        .iter()
        .map(|(_, mesh)| {
            let s = mesh.shape90();
            json!({
                "FaceProfile": points(&s.face_profile),
                "LeftEye": points(&s.left_eye),
                "RightEye": points(&s.right_eye),
                "LeftEyeBrow": points(&s.left_eye_brow),
                "RightEyeBrow": points(&s.right_eye_brow),
                "Mouth": points(&s.mouth),
                "Nose": points(&s.nose),
                "LeftPupil": points(&[s.left_pupil]),
                "RightPupil": points(&[s.right_pupil]),
            })
        })
        .collect();
    let mut out = Fields::new();
    image_size(&mut out, &img);
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
    call.refuse_switch("NeedRotateDetection", "rotation search")?;
    let bytes = load_image(call, "Image", "Url").await?;
    let limit = if largest { 1 } else { MAX_DENSE_SHAPES };
    let (img, faces) = on_analyzer(call, move |e, a| meshes(e, a, &bytes, limit)).await?;
    let shapes: Vec<Value> = faces
        .iter()
        .map(|(face, mesh)| {
            let d = mesh.dense();
            json!({
                "X": face.x(), "Y": face.y(), "Width": face.width(), "Height": face.height(),
                "LeftEye": points(&d.left_eye),
                "RightEye": points(&d.right_eye),
                "LeftEyeBrow": points(&d.left_eye_brow),
                "RightEyeBrow": points(&d.right_eye_brow),
                "MouthOutside": points(&d.mouth_outside),
                "MouthInside": points(&d.mouth_inside),
                "Nose": points(&d.nose),
                "LeftPupil": points(&d.left_pupil),
                "RightPupil": points(&d.right_pupil),
                "CentralAxis": points(&d.central_axis),
                "Chin": points(&d.chin),
                "LeftEyeBags": points(&d.left_eye_bags),
                "RightEyeBags": points(&d.right_eye_bags),
                "Forehead": points(&d.forehead),
            })
        })
        .collect();
    let mut out = Fields::new();
    image_size(&mut out, &img);
    out.insert("DenseFaceShapeSet".into(), Value::Array(shapes));
    out.insert("FaceModelVersion".into(), json!("3.0"));
    Ok(out)
}
