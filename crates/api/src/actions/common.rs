//! What several action modules share: reading the common fields (GroupId, PersonId,
//! MaxFaceNum, MinFaceSize, FaceModelVersion, QualityControl), loading and detecting an
//! image, the per-face analysis, QualityControl, and the JSON pieces every face answer
//! has. The action modules import from here and never from each other.

use std::sync::Arc;

use gallery::{GroupId, PersonId};
use serde_json::{json, Value};
use vision::{
    Analyzer, Attributes, Described, Descriptor, DescriptorVersion, Engine, Face, FaceMesh,
    Oriented, Quality, RgbImage,
};

use super::{Call, Fields};
use crate::error::{ApiError, NO_FACE_IN_PHOTO};
use crate::image::image_bytes;

/// The face model version every engine result names: the engine's descriptor is the one
/// model, and groups of either version are searched with it.
pub const FACE_MODEL_VERSION: &str = "3.0";

/// The error IAI gives when an image fails QualityControl.
pub const QUALITY_NOT_QUALIFIED: &str = "FailedOperation.FaceQualityNotQualified";

/// DetectFace estimates attributes of the largest 5 faces and quality of the largest 30
/// (later faces get the API's "no reference value" form, as IAI documents).
pub const MAX_ATTRIBUTE_FACES: usize = 5;
pub const MAX_QUALITY_FACES: usize = 30;

pub fn group_id(call: &Call<'_>) -> Result<GroupId, ApiError> {
    Ok(GroupId::new(call.str_req("GroupId")?)?)
}

pub fn person_id(call: &Call<'_>) -> Result<PersonId, ApiError> {
    Ok(PersonId::new(call.str_req("PersonId")?)?)
}

/// FaceModelVersion "2.0" or "3.0" (or absent).
pub fn check_model_version(call: &Call<'_>) -> Result<(), ApiError> {
    match call.str_opt("FaceModelVersion")? {
        None | Some("2.0") | Some("3.0") => Ok(()),
        Some(v) => Err(ApiError::new(
            "InvalidParameterValue.FaceModelVersionIllegal",
            format!("FaceModelVersion must be \"2.0\" or \"3.0\", got {v:?}"),
        )),
    }
}

/// FaceModelVersion "3.0" (or absent), for the actions IAI offers on 3.0 only.
pub fn only_model_3(call: &Call<'_>) -> Result<(), ApiError> {
    match call.str_opt("FaceModelVersion")? {
        None | Some("3.0") => Ok(()),
        Some(v) => Err(ApiError::new(
            "InvalidParameterValue.FaceModelVersionIllegal",
            format!("this action only supports FaceModelVersion \"3.0\", got {v:?}"),
        )),
    }
}

/// MinFaceSize: the API takes 34 or 20. When a request names one, the detector looks
/// for faces down to that size (with MMOD, at four to sixteen times the cost: the image
/// is upsampled as dlib does); without it, the server's own minimum applies
/// (`--min-face-size`, 80 by default), not IAI's 34: docs/api.md says why.
pub fn min_face_size(call: &Call<'_>) -> Result<Option<u32>, ApiError> {
    match call.int_opt("MinFaceSize")? {
        None => Ok(None),
        Some(v @ (20 | 34)) => Ok(Some(v as u32)),
        Some(v) => Err(ApiError::invalid_value(format!(
            "MinFaceSize must be 34 or 20, got {v}"
        ))),
    }
}

/// MaxFaceNum of the detection actions: 1-120, default 1.
pub fn max_face_num(call: &Call<'_>) -> Result<usize, ApiError> {
    let max_faces = call.int_opt("MaxFaceNum")?.unwrap_or(1);
    if !(1..=120).contains(&max_faces) {
        return Err(ApiError::invalid_value(format!(
            "MaxFaceNum must be 1 to 120, got {max_faces}"
        )));
    }
    Ok(max_faces as usize)
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

/// A stored descriptor version (a group's, a person's, a face's) as the engine's.
pub fn descriptor_version(number: u32) -> Result<DescriptorVersion, ApiError> {
    DescriptorVersion::from_number(i64::from(number))
        .map_err(|e| ApiError::internal(format!("stored data: {e}")))
}

/// A stored descriptor as the engine's.
pub fn engine_descriptor(d: &gallery::Descriptor) -> Descriptor {
    Descriptor(d.as_slice().to_vec())
}

/// An engine descriptor as the gallery stores it.
pub fn gallery_descriptor(d: &Descriptor) -> Result<gallery::Descriptor, ApiError> {
    Ok(gallery::Descriptor::new(d.0.clone())?)
}

/// Scores as the API reports them: two decimals.
pub fn round_score(score: f64) -> f64 {
    (score * 100.0).round() / 100.0
}

/// The image of `image_field`/`url_field`, its bytes, admitted under the pixel budget.
pub async fn load_image(
    call: &Call<'_>,
    image_field: &str,
    url_field: &str,
) -> Result<Vec<u8>, ApiError> {
    let bytes = image_bytes(
        call.str_opt(image_field)?,
        call.str_opt(url_field)?,
        &call.state.config.urls,
    )
    .await?;
    admit(call, &bytes).await?;
    Ok(bytes)
}

/// Holds the image's pixels against the server's pixel budget until the call ends
/// (`AppState::pixels`): the engine's memory grows with the pixels it works on (about
/// 100 MB per megapixel at the detector's peak), so the budget bounds what concurrent
/// requests can make the server hold. A call that cannot get its share within
/// `ServerConfig::admission_wait` is refused with `RequestLimitExceeded`.
pub async fn admit(call: &Call<'_>, bytes: &[u8]) -> Result<(), ApiError> {
    let Some((_, width, height)) = crate::image::header_size(bytes) else {
        // Not an image whose header reads: the decoder refuses it at no cost.
        return Ok(());
    };
    let units = crate::state::pixel_units(u64::from(width) * u64::from(height))
        .min(call.state.pixel_units_total());
    let wait = call.state.config.admission_wait;
    let permit = tokio::time::timeout(wait, call.state.pixels.clone().acquire_many_owned(units))
        .await
        .map_err(|_| {
            ApiError::new(
                "RequestLimitExceeded",
                format!(
                    "the server is busy with other images and could not take this one within {} s; try again",
                    wait.as_secs()
                ),
            )
        })?
        .map_err(|_| ApiError::internal("the pixel budget is closed"))?;
    if let Ok(mut held) = call.admitted.lock() {
        held.push(permit);
    }
    Ok(())
}

/// Runs CPU-bound work that needs the analysis networks as well as the engine off the
/// async threads.
pub async fn on_analyzer<T: Send + 'static>(
    call: &Call<'_>,
    work: impl FnOnce(&Engine, &Analyzer) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let engine: Arc<Engine> = Arc::clone(&call.state.engine);
    let analyzer: Arc<Analyzer> = Arc::clone(&call.state.analyzer);
    // If this future is dropped (the client went away and the server dropped its
    // request), the guard raises the flag and the engine stops at its next network run
    // instead of finishing work no one will receive (or pay for).
    let flag = vision::cancel::CancelFlag::new();
    let mut guard = CancelOnDrop(Some(flag.clone()));
    let result = tokio::task::spawn_blocking(move || {
        vision::cancel::run_cancellable(&flag, || work(&engine, &analyzer))
    })
    .await
    .map_err(|e| ApiError::internal(format!("analysis task failed: {e}")))?;
    guard.0 = None;
    result
}

/// Raises its flag when dropped while still armed (the work was not awaited to the end).
struct CancelOnDrop(Option<vision::cancel::CancelFlag>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = &self.0 {
            flag.cancel();
        }
    }
}

/// Decodes an image and finds its faces: the one way every action detects. With
/// `rotate`, an image without faces is also tried turned (`Engine::detect_turned`); the
/// faces are in the frame of the image they were found on (`Oriented::image`), and the
/// caller maps what it reports back with `Oriented`'s `*_to_original`. `min_face_size`
/// is a request's MinFaceSize; `None` keeps the engine's configured minimum.
pub fn decode_detect(
    engine: &Engine,
    bytes: &[u8],
    rotate: bool,
    min_face_size: Option<u32>,
) -> Result<Oriented, ApiError> {
    let img = engine.decode(bytes)?;
    let min = min_face_size.unwrap_or(engine.config().detect.min_face_size);
    if rotate {
        Ok(engine.detect_turned_sized(img, min)?)
    } else {
        let faces = engine.detect_sized(&img, min)?;
        Ok(Oriented::upright(img, faces))
    }
}

pub fn no_face() -> ApiError {
    ApiError::new(NO_FACE_IN_PHOTO, "no face was found in the image")
}

/// Faces largest first (the API's order), as the engine found them.
pub fn largest_first(mut faces: Vec<Face>) -> Vec<Face> {
    faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
    faces
}

pub fn rect_json(face: &Face) -> Value {
    json!({ "X": face.x(), "Y": face.y(), "Width": face.width(), "Height": face.height() })
}

/// ImageWidth and ImageHeight: the image as sent, whose frame every box and point is in.
pub fn image_size(out: &mut Fields, found: &Oriented) {
    out.insert("ImageWidth".into(), json!(found.original_width));
    out.insert("ImageHeight".into(), json!(found.original_height));
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

/// The chosen face of an image and its descriptors of every version (`largest`: by area, else by the
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
) -> Result<(Face, Described), ApiError> {
    let (face, descriptor, _) =
        describe_with_thumbnail(engine, analyzer, bytes, largest, quality, rotate, false)?;
    Ok((face, descriptor))
}

/// [`describe_one`] for an enrolment: with `thumbnail`, also the face's thumbnail
/// ([`vision::thumbnail`]), cut from the image the face was found in (upright when
/// NeedRotateDetection turned it); `None` when it is off or could not be cut.
pub fn describe_with_thumbnail(
    engine: &Engine,
    analyzer: &Analyzer,
    bytes: &[u8],
    largest: bool,
    quality: u8,
    rotate: bool,
    thumbnail: bool,
) -> Result<(Face, Described, Option<Vec<u8>>), ApiError> {
    let mut found = decode_detect(engine, bytes, rotate, None)?;
    let faces = std::mem::take(&mut found.faces);
    let img = &found.image;
    let face = if largest {
        largest_first(faces).into_iter().next()
    } else {
        faces.into_iter().next()
    }
    .ok_or_else(no_face)?;
    if !face_qualifies(analyzer, img, &face, quality)? {
        return Err(not_qualified(quality));
    }
    // Both versions for the price of version 2: the caller keeps the one its group or
    // person holds (DescriptorVersion::LATEST when nothing stored is involved).
    let descriptor = engine
        .describe_versions(img, std::slice::from_ref(&face))?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("the engine returned no descriptor"))?;
    // A thumbnail that cannot be cut leaves the face without one: it must not fail a
    // billed enrolment.
    let thumbnail = if thumbnail {
        vision::thumbnail::face_thumbnail(img, face.rect)
            .inspect_err(|e| tracing::warn!(error = %e, "face stored without a thumbnail"))
            .ok()
    } else {
        None
    };
    Ok((found.face_to_original(&face), descriptor, thumbnail))
}

/// What DetectFace and DetectFaceAttributes computed for one face beyond its box.
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
