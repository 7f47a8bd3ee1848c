//! 1:N and 1:1 against the gallery: SearchFaces, SearchFacesReturnsByGroup,
//! SearchPersons, SearchPersonsReturnsByGroup, VerifyFace, VerifyPerson.
//!
//! Scores come from the engine's calibration table (distance → 0-100), and
//! FaceMatchThreshold goes the other way through the same table.

use gallery::{Descriptor, GroupId, PersonHit, PersonId, SearchRequest, SearchResponse, Strategy};
use serde_json::{json, Value};
use vision::Face;

use super::face::{check_min_face_size, load_image, no_face, on_engine, rect_json, round_score};
use super::person::{person_id, refuse_quality_control};
use super::{Call, Fields};
use crate::error::ApiError;

/// The API's limits: faces searched per image (MaxFaceNum), persons returned per face
/// (MaxPersonNum) and per face and group (MaxPersonNumPerGroup).
const MAX_SEARCH_FACES: i64 = 10;
const MAX_PERSONS: i64 = 100;
const MAX_PERSONS_PER_GROUP: i64 = 10;

/// What a search action returns around its candidates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// SearchFaces: candidates carry the FaceId that matched; FaceNum.
    Faces,
    /// SearchPersons: a person's faces are taken together, so no FaceId; PersonNum.
    Persons,
}

/// The probe faces of the image (largest first, at most `max_faces`) and descriptors.
async fn probes(call: &Call<'_>, max_faces: usize) -> Result<Vec<(Face, Descriptor)>, ApiError> {
    let bytes = load_image(call, "Image", "Url").await?;
    let found = on_engine(call, move |engine| {
        let img = engine.decode(&bytes)?;
        let mut faces = engine.detect(&img)?;
        faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
        faces.truncate(max_faces);
        let descriptors = engine.describe(&img, &faces)?;
        Ok(faces.into_iter().zip(descriptors).collect::<Vec<_>>())
    })
    .await?;
    if found.is_empty() {
        return Err(no_face());
    }
    found
        .into_iter()
        .map(|(f, d)| Ok((f, Descriptor::new(d.0)?)))
        .collect()
}

/// FaceMatchThreshold (0-100, default 0 = no bound) as a distance bound.
fn max_distance(call: &Call<'_>) -> Result<Option<f32>, ApiError> {
    let threshold = call.float_opt("FaceMatchThreshold")?.unwrap_or(0.0);
    if !(0.0..=100.0).contains(&threshold) {
        return Err(ApiError::new(
            "InvalidParameterValue.FaceMatchThresholdIllegal",
            format!("FaceMatchThreshold must be 0 to 100, got {threshold}"),
        ));
    }
    if threshold <= 0.0 {
        return Ok(None);
    }
    Ok(Some(
        call.state.engine.calibration().distance(threshold) as f32
    ))
}

fn switch(call: &Call<'_>, name: &str) -> Result<bool, ApiError> {
    match call.int_opt(name)? {
        None | Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(v) => Err(ApiError::invalid_value(format!(
            "{name} must be 0 or 1, got {v}"
        ))),
    }
}

fn candidate(call: &Call<'_>, kind: Kind, hit: &PersonHit, resp: &SearchResponse) -> Value {
    let score = round_score(
        call.state
            .engine
            .calibration()
            .score(f64::from(hit.distance)),
    );
    let face_id = match kind {
        Kind::Faces => json!(hit.face_id.as_str()),
        Kind::Persons => Value::Null,
    };
    match resp.person_info.get(&hit.person_id) {
        Some(info) => json!({
            "PersonId": hit.person_id.as_str(),
            "FaceId": face_id,
            "Score": score,
            "PersonName": info.person.name,
            "Gender": info.person.gender.code(),
            "PersonGroupInfos": info.groups.iter().map(|g| json!({
                "GroupId": g.group_id.as_str(),
                "PersonExDescriptions": g.ex_descriptions,
            })).collect::<Vec<_>>(),
        }),
        None => json!({
            "PersonId": hit.person_id.as_str(),
            "FaceId": face_id,
            "Score": score,
            "PersonName": Value::Null,
            "Gender": Value::Null,
            "PersonGroupInfos": Value::Null,
        }),
    }
}

async fn search(call: &Call<'_>, kind: Kind, by_group: bool) -> Result<Fields, ApiError> {
    let group_ids = call
        .str_list_opt("GroupIds")?
        .ok_or_else(|| ApiError::missing("GroupIds"))?
        .into_iter()
        .map(GroupId::new)
        .collect::<Result<Vec<_>, _>>()?;
    let max_faces = call.int_opt("MaxFaceNum")?.unwrap_or(1);
    if !(1..=MAX_SEARCH_FACES).contains(&max_faces) {
        return Err(ApiError::new(
            "LimitExceeded.ErrorFaceNumExceed",
            format!("MaxFaceNum must be 1 to {MAX_SEARCH_FACES}, got {max_faces}"),
        ));
    }
    check_min_face_size(call)?;
    let (field, max) = if by_group {
        ("MaxPersonNumPerGroup", MAX_PERSONS_PER_GROUP)
    } else {
        ("MaxPersonNum", MAX_PERSONS)
    };
    let max_person_num = call.int_opt(field)?.unwrap_or(5);
    if !(1..=max).contains(&max_person_num) {
        return Err(ApiError::new(
            "InvalidParameterValue.SearchPersonsExceed",
            format!("{field} must be 1 to {max}, got {max_person_num}"),
        ));
    }
    let need_person_info = switch(call, "NeedPersonInfo")?;
    refuse_quality_control(call)?;
    call.refuse_switch("NeedRotateDetection", "rotation search")?;
    let max_distance = max_distance(call)?;
    let account = call.account()?;
    // The groups must exist (and the limits hold) before any image work is paid for.
    for g in &group_ids {
        call.state.gallery.group(&account, g).await?;
    }
    let probes = probes(call, max_faces as usize).await?;
    let req = SearchRequest {
        group_ids,
        probes: probes.iter().map(|(_, d)| d.clone()).collect(),
        max_person_num: usize::try_from(max_person_num).unwrap_or(0),
        by_group,
        max_distance,
        need_person_info,
        strategy: Strategy::Auto,
    };
    let resp = call.state.gallery.search(&account, &req).await?;
    let mut out = Fields::new();
    if by_group {
        let results: Vec<Value> = probes
            .iter()
            .zip(&resp.results)
            .map(|((face, _), r)| {
                json!({
                    "FaceRect": rect_json(face),
                    "GroupCandidates": r.by_group.iter().map(|g| json!({
                        "GroupId": g.group_id.as_str(),
                        "Candidates": g.persons.iter()
                            .map(|p| candidate(call, kind, p, &resp)).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                    "RetCode": 0,
                })
            })
            .collect();
        out.insert("ResultsReturnsByGroup".into(), Value::Array(results));
    } else {
        let results: Vec<Value> = probes
            .iter()
            .zip(&resp.results)
            .map(|((face, _), r)| {
                json!({
                    "Candidates": r.persons.iter()
                        .map(|p| candidate(call, kind, p, &resp)).collect::<Vec<_>>(),
                    "FaceRect": rect_json(face),
                    "RetCode": 0,
                })
            })
            .collect();
        out.insert("Results".into(), Value::Array(results));
    }
    match kind {
        Kind::Faces => out.insert("FaceNum".into(), json!(resp.face_num)),
        Kind::Persons => out.insert("PersonNum".into(), json!(resp.person_num)),
    };
    out.insert(
        "FaceModelVersion".into(),
        json!(resp.face_model_version.as_str()),
    );
    Ok(out)
}

pub async fn search_faces(call: &Call<'_>) -> Result<Fields, ApiError> {
    search(call, Kind::Faces, false).await
}

pub async fn search_faces_returns_by_group(call: &Call<'_>) -> Result<Fields, ApiError> {
    search(call, Kind::Faces, true).await
}

pub async fn search_persons(call: &Call<'_>) -> Result<Fields, ApiError> {
    search(call, Kind::Persons, false).await
}

pub async fn search_persons_returns_by_group(call: &Call<'_>) -> Result<Fields, ApiError> {
    search(call, Kind::Persons, true).await
}

/// VerifyFace and VerifyPerson: the image's largest face against the person's faces;
/// the score is the best of them (VerifyPerson's "fused" person is ranked the same way
/// as in search: by its nearest face). IsMatch is the calibration's match line.
pub async fn verify(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person: PersonId = person_id(call)?;
    refuse_quality_control(call)?;
    call.refuse_switch("NeedRotateDetection", "rotation search")?;
    let account = call.account()?;
    let faces = call.state.gallery.person_faces(&account, &person).await?;
    let version = call
        .state
        .gallery
        .person_groups(&account, &person, Some(0), Some(1))
        .await?
        .1;
    let bytes = load_image(call, "Image", "Url").await?;
    let stored: Vec<vision::Descriptor> = faces
        .iter()
        .map(|f| vision::Descriptor(f.descriptor.as_slice().to_vec()))
        .collect();
    let (score, is_match) = on_engine(call, move |engine| {
        let (_, probe) = super::face::describe_one(engine, &bytes, true)?;
        let mut best = 0.0f64;
        for s in &stored {
            best = best.max(engine.compare(&probe, s)?.score);
        }
        Ok((best, engine.calibration().is_match(best)))
    })
    .await?;
    let mut out = Fields::new();
    out.insert("Score".into(), json!(round_score(score)));
    out.insert("IsMatch".into(), json!(is_match));
    out.insert("FaceModelVersion".into(), json!(version.as_str()));
    Ok(out)
}
