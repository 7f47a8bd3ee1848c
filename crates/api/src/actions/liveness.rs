//! DetectLiveFace and DetectLiveFaceAccurate: static (single-photo) liveness of the
//! largest face, as a 0-100 score from `vision::liveness` (how it is formed and what it
//! is worth: docs/liveness.md).

use serde_json::json;
use vision::LivenessNets;

use super::common::{load_image, no_face, on_analyzer, round_score, FACE_MODEL_VERSION};
use super::{Call, Fields};
use crate::error::ApiError;

/// DetectLiveFaceAccurate asks for faces larger than 100×100 pixels.
const ACCURATE_MIN_FACE: i64 = 100;

/// The largest face's liveness score (0-100) of the request's image.
async fn largest_face_score(call: &Call<'_>, min_face: Option<i64>) -> Result<f64, ApiError> {
    let bytes = load_image(call, "Image", "Url").await?;
    on_analyzer(call, move |engine, analyzer| {
        let img = engine.decode(&bytes)?;
        let face = engine
            .detect(&img)?
            .into_iter()
            .max_by_key(|f| f.rect.area())
            .ok_or_else(no_face)?;
        if let Some(min) = min_face {
            if face.width() < min || face.height() < min {
                return Err(ApiError::new(
                    "FailedOperation.FaceSizeTooSmall",
                    format!(
                        "the face is {}×{} pixels; this action needs at least {min}×{min}",
                        face.width(),
                        face.height()
                    ),
                ));
            }
        }
        let nets: &LivenessNets = &analyzer.liveness;
        Ok(nets.assess(&img, face.rect)?.score)
    })
    .await
}

/// DetectLiveFace (2018-03-01 and 2020-03-03): Score, and for model 3.0 IsLiveness
/// (the score at or above the recommended threshold).
pub async fn detect_live_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    let version = match call.str_opt("FaceModelVersion")? {
        None | Some("3.0") => "3.0",
        Some("2.0") => "2.0",
        Some(v) => {
            return Err(ApiError::new(
                "InvalidParameterValue.FaceModelVersionIllegal",
                format!("FaceModelVersion must be \"2.0\" or \"3.0\", got {v:?}"),
            ))
        }
    };
    let score = largest_face_score(call, None).await?;
    let mut out = Fields::new();
    out.insert("Score".into(), json!(round_score(score)));
    out.insert("FaceModelVersion".into(), json!(version));
    if version == "3.0" {
        out.insert(
            "IsLiveness".into(),
            json!(score >= vision::liveness::RECOMMENDED_THRESHOLD),
        );
    }
    Ok(out)
}

/// DetectLiveFaceAccurate (2020-03-03): Score, thresholds 5/10/40/70/90 (40 recommended).
pub async fn detect_live_face_accurate(call: &Call<'_>) -> Result<Fields, ApiError> {
    match call.str_opt("FaceModelVersion")? {
        None | Some("3.0") => {}
        Some(v) => {
            return Err(ApiError::new(
                "InvalidParameterValue.FaceModelVersionIllegal",
                format!("FaceModelVersion must be \"3.0\", got {v:?}"),
            ))
        }
    }
    let score = largest_face_score(call, Some(ACCURATE_MIN_FACE)).await?;
    let mut out = Fields::new();
    out.insert("Score".into(), json!(round_score(score)));
    out.insert("FaceModelVersion".into(), json!(FACE_MODEL_VERSION));
    Ok(out)
}
