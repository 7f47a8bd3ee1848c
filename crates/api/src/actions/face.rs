//! DetectFace and CompareFace: the engine on one or two images.

use std::sync::Arc;

use serde_json::{json, Value};
use vision::{Analyzer, Descriptor, Engine, Face, Oriented};

use super::{Call, Fields};
use crate::error::{ApiError, NO_FACE_IN_PHOTO};
use crate::image::image_bytes;

/// The face model version every response names: the engine's descriptor is the one
/// model, and groups of either version are searched with it.
pub const FACE_MODEL_VERSION: &str = "3.0";

pub fn check_model_version(call: &Call<'_>) -> Result<(), ApiError> {
    match call.str_opt("FaceModelVersion")? {
        None | Some("2.0") | Some("3.0") => Ok(()),
        Some(v) => Err(ApiError::new(
            "InvalidParameterValue.FaceModelVersionIllegal",
            format!("FaceModelVersion must be \"2.0\" or \"3.0\", got {v:?}"),
        )),
    }
}

/// MinFaceSize: the API takes 34 (default) or 20; the engine's own minimum face size
/// applies either way.
pub fn check_min_face_size(call: &Call<'_>) -> Result<(), ApiError> {
    match call.int_opt("MinFaceSize")? {
        None | Some(20) | Some(34) => Ok(()),
        Some(v) => Err(ApiError::invalid_value(format!(
            "MinFaceSize must be 34 or 20, got {v}"
        ))),
    }
}

/// Scores as the API reports them: two decimals.
pub fn round_score(score: f64) -> f64 {
    (score * 100.0).round() / 100.0
}

/// NeedRotateDetection: 1 also looks for faces on the image turned by quarter circles
/// when there are none as sent (for photos on their side without EXIF orientation).
pub fn rotate_switch(call: &Call<'_>) -> Result<bool, ApiError> {
    match call.int_opt("NeedRotateDetection")? {
        None | Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(v) => Err(ApiError::invalid_value(format!(
            "NeedRotateDetection must be 0 or 1, got {v}"
        ))),
    }
}

/// Decodes an image and finds its faces: the one way every action detects. With
/// `rotate`, an image without faces is also tried turned (`Engine::detect_turned`); the
/// faces are in the frame of the image they were found on (`Oriented::image`), and the
/// caller maps what it reports back with `Oriented`'s `*_to_original`.
pub fn decode_detect(engine: &Engine, bytes: &[u8], rotate: bool) -> Result<Oriented, ApiError> {
    let img = engine.decode(bytes)?;
    if rotate {
        Ok(engine.detect_turned(img)?)
    } else {
        let faces = engine.detect(&img)?;
        Ok(Oriented::upright(img, faces))
    }
}

pub fn no_face() -> ApiError {
    ApiError::new(NO_FACE_IN_PHOTO, "no face was found in the image")
}

/// Runs CPU-bound work that needs the analysis networks as well as the engine off the
/// async threads.
pub async fn on_analyzer<T: Send + 'static>(
    call: &Call<'_>,
    work: impl FnOnce(&Engine, &Analyzer) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let engine: Arc<Engine> = Arc::clone(&call.state.engine);
    let analyzer: Arc<Analyzer> = Arc::clone(&call.state.analyzer);
    tokio::task::spawn_blocking(move || work(&engine, &analyzer))
        .await
        .map_err(|e| ApiError::internal(format!("analysis task failed: {e}")))?
}

/// Faces largest first (the API's order), as the engine found them.
pub fn largest_first(mut faces: Vec<Face>) -> Vec<Face> {
    faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
    faces
}

pub fn rect_json(face: &Face) -> Value {
    json!({ "X": face.x(), "Y": face.y(), "Width": face.width(), "Height": face.height() })
}

/// The image of `image_field`/`url_field`, decoded.
pub async fn load_image(
    call: &Call<'_>,
    image_field: &str,
    url_field: &str,
) -> Result<Vec<u8>, ApiError> {
    image_bytes(
        call.str_opt(image_field)?,
        call.str_opt(url_field)?,
        &call.state.config.urls,
    )
    .await
}

/// The chosen face of an image and its descriptor (`largest`: by area, else by the
/// detector's confidence), refused with FaceQualityNotQualified when it fails
/// QualityControl `quality` (0: no check). `rotate`: NeedRotateDetection. The face comes
/// back in the frame of the image as sent.
pub fn describe_one(
    engine: &Engine,
    analyzer: &Analyzer,
    bytes: &[u8],
    largest: bool,
    quality: u8,
    rotate: bool,
) -> Result<(Face, Descriptor), ApiError> {
    let mut found = decode_detect(engine, bytes, rotate)?;
    let faces = std::mem::take(&mut found.faces);
    let img = &found.image;
    let face = if largest {
        largest_first(faces).into_iter().next()
    } else {
        faces.into_iter().next()
    }
    .ok_or_else(no_face)?;
    if !super::attributes::face_qualifies(analyzer, img, &face, quality)? {
        return Err(super::attributes::not_qualified(quality));
    }
    let descriptor = engine
        .describe(img, std::slice::from_ref(&face))?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("the engine returned no descriptor"))?;
    Ok((found.face_to_original(&face), descriptor))
}

pub async fn detect_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    let max_faces = call.int_opt("MaxFaceNum")?.unwrap_or(1);
    if !(1..=120).contains(&max_faces) {
        return Err(ApiError::invalid_value(format!(
            "MaxFaceNum must be 1 to 120, got {max_faces}"
        )));
    }
    check_min_face_size(call)?;
    // Any value but 1 means "no" for these two (IAI's rule).
    let attributes = call.int_opt("NeedFaceAttributes")? == Some(1);
    let quality = call.int_opt("NeedQualityDetection")? == Some(1);
    let rotate = rotate_switch(call)?;
    check_model_version(call)?;
    let bytes = load_image(call, "Image", "Url").await?;
    let (found, faces, analysed) = on_analyzer(call, move |engine, analyzer| {
        let mut found = decode_detect(engine, &bytes, rotate)?;
        let mut faces = largest_first(std::mem::take(&mut found.faces));
        faces.truncate(max_faces as usize);
        let analysed =
            super::attributes::analyse_faces(analyzer, &found.image, &faces, attributes, quality)?;
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
            info["FaceAttributesInfo"] =
                super::attributes::attributes_json(a.attributes.as_ref(), found.turn);
            info["FaceQualityInfo"] = a
                .quality
                .as_ref()
                .map_or(Value::Null, super::attributes::quality_json);
            info
        })
        .collect();
    let mut out = Fields::new();
    // The size of the image as sent, whose frame every box is in (docs/api.md).
    out.insert("ImageWidth".into(), json!(found.original_width));
    out.insert("ImageHeight".into(), json!(found.original_height));
    out.insert("FaceInfos".into(), Value::Array(infos));
    out.insert("FaceModelVersion".into(), json!(FACE_MODEL_VERSION));
    Ok(out)
}

pub async fn compare_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    check_model_version(call)?;
    let quality = super::attributes::quality_control(call)?;
    let rotate = rotate_switch(call)?;
    let largest = match call.int_opt("FaceMatchingStrategy")? {
        None | Some(0) => false,
        Some(1) => true,
        Some(v) => {
            return Err(ApiError::invalid_value(format!(
                "FaceMatchingStrategy must be 0 or 1, got {v}"
            )))
        }
    };
    let a = load_image(call, "ImageA", "UrlA").await?;
    let b = load_image(call, "ImageB", "UrlB").await?;
    let score = on_analyzer(call, move |engine, analyzer| {
        let (_, da) = describe_one(engine, analyzer, &a, largest, quality, rotate)?;
        let (_, db) = describe_one(engine, analyzer, &b, largest, quality, rotate)?;
        Ok(engine.compare(&da, &db)?.score)
    })
    .await?;
    let mut out = Fields::new();
    out.insert("Score".into(), json!(round_score(score)));
    out.insert("FaceModelVersion".into(), json!(FACE_MODEL_VERSION));
    Ok(out)
}
