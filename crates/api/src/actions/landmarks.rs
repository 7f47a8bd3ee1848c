//! The landmark actions: AnalyzeFace (IAI's 90 points) and AnalyzeDenseLandmarks, from
//! the face mesh of every face the engine finds (docs/landmarks.md).

use serde_json::{json, Value};
use vision::mesh::FaceMesh;
use vision::{Analyzer, Engine, Face, Oriented, Point};

use super::common::{
    check_model_version, decode_detect, image_size, largest_first, load_image, no_face,
    on_analyzer, only_model_3, FACE_MODEL_VERSION,
};
use super::{Call, Fields, Switch};
use crate::error::ApiError;

/// AnalyzeFace returns at most this many faces, AnalyzeDenseLandmarks this many.
const MAX_SHAPES: usize = 10;
const MAX_DENSE_SHAPES: usize = 5;

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
fn meshes(
    engine: &Engine,
    analyzer: &Analyzer,
    bytes: &[u8],
    limit: usize,
    rotate: bool,
) -> Result<(Oriented, Vec<(Face, FaceMesh)>), ApiError> {
    let mut found = decode_detect(engine, bytes, rotate, None)?;
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

pub async fn analyze_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    // Mode: 0 every face (up to the action's limit), 1 the largest only.
    let largest = call.switch("Mode", Switch::ZeroOrOne)?;
    check_model_version(call)?;
    let rotate = call.switch("NeedRotateDetection", Switch::ZeroOrOne)?;
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
    out.insert("FaceModelVersion".into(), json!(FACE_MODEL_VERSION));
    Ok(out)
}

pub async fn analyze_dense_landmarks(call: &Call<'_>) -> Result<Fields, ApiError> {
    // Mode: 0 every face (up to the action's limit), 1 the largest only.
    let largest = call.switch("Mode", Switch::ZeroOrOne)?;
    only_model_3(call)?;
    let rotate = call.switch("NeedRotateDetection", Switch::ZeroOrOne)?;
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
