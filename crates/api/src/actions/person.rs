//! The person and face actions: CreatePerson, DeletePerson, DeletePersonFromGroup,
//! GetPersonList, GetPersonListNum, GetPersonBaseInfo, CreateFace, DeleteFace.

use gallery::{
    Descriptor, FaceId, FaceRect, Gender, GroupId, NewFace, NewPerson, PersonDescription, PersonId,
    SearchRequest, Strategy,
};
use serde_json::{json, Value};

use super::common::{
    admit, check_model_version, describe_with_thumbnail, descriptor_version, engine_descriptor,
    gallery_descriptor, group_id, load_image, on_analyzer, person_id, quality_control, rect_json,
    QUALITY_NOT_QUALIFIED,
};
use super::{Call, Fields, Switch};
use crate::error::{ApiError, NO_FACE_IN_PHOTO};
use crate::image::image_bytes;

/// A face to store: its descriptor of `version` (its person's and groups').
fn new_face(
    face: &vision::Face,
    d: &vision::Described,
    version: vision::DescriptorVersion,
    thumbnail: Option<Vec<u8>>,
) -> Result<NewFace, ApiError> {
    Ok(NewFace {
        descriptor: gallery_descriptor(d.of(version))?,
        descriptor_version: version.number(),
        rect: face_rect(face),
        thumbnail,
    })
}

/// PersonExDescriptionInfos: (index, value) pairs of the group's description fields.
fn person_descriptions(call: &Call<'_>) -> Result<Vec<PersonDescription>, ApiError> {
    let mut out = Vec::new();
    for info in call
        .objects_opt("PersonExDescriptionInfos")?
        .into_iter()
        .flatten()
    {
        let index = info
            .get("PersonExDescriptionIndex")
            .ok_or_else(|| ApiError::missing("PersonExDescriptionInfos.PersonExDescriptionIndex"))
            .and_then(|v| call.int_of("PersonExDescriptionInfos.PersonExDescriptionIndex", v))?;
        let value = info
            .get("PersonExDescription")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::missing("PersonExDescriptionInfos.PersonExDescription"))?;
        out.push(PersonDescription {
            index,
            value: value.to_string(),
        });
    }
    Ok(out)
}

pub async fn create_person(call: &Call<'_>) -> Result<Fields, ApiError> {
    let group = group_id(call)?;
    let name = call.str_req("PersonName")?.to_string();
    let person = person_id(call)?;
    let gender = Gender::from_code(call.int_opt("Gender")?.unwrap_or(0))?;
    let ex_descriptions = person_descriptions(call)?;
    let unique = match call.int_opt("UniquePersonControl")? {
        None | Some(0) => None,
        Some(level @ 1..=4) => Some(level),
        Some(v) => {
            return Err(ApiError::new(
                "InvalidParameterValue.UniquePersonControlIllegal",
                format!("UniquePersonControl must be 0 to 4, got {v}"),
            ))
        }
    };
    let quality = quality_control(call)?;
    let rotate = call.switch("NeedRotateDetection", Switch::ZeroOrOne)?;
    let account = call.account()?;
    // The group must exist before the image work is paid for; its descriptor version is
    // the new person's.
    let stored_group = call.state.gallery.group(&account, &group).await?;
    let face_model_version = stored_group.face_model_version;
    let version = descriptor_version(stored_group.descriptor_version)?;
    let bytes = load_image(call, "Image", "Url").await?;
    // Asked before the image work, so that nothing is cut when the deployment stores no
    // thumbnails; the gallery's write reads the setting again in its transaction.
    let thumbnail = call.state.gallery.stores_thumbnails().await?;
    let (face, descriptor, thumbnail) = on_analyzer(call, move |engine, analyzer| {
        describe_with_thumbnail(engine, analyzer, &bytes, true, quality, rotate, thumbnail)
    })
    .await?;
    let rect = rect_json(&face);
    let new_face = new_face(&face, &descriptor, version, thumbnail)?;
    if let Some(level) = unique {
        if let Some(similar) =
            similar_person(call, &account, &group, &new_face.descriptor, version, level).await?
        {
            // Not created: the API answers with the person it resembles.
            let mut out = Fields::new();
            out.insert("FaceId".into(), json!(""));
            out.insert("FaceRect".into(), rect);
            out.insert("SimilarPersonId".into(), json!(similar.as_str()));
            out.insert(
                "FaceModelVersion".into(),
                json!(face_model_version.as_str()),
            );
            return Ok(out);
        }
    }
    let new = NewPerson {
        group_id: group,
        person_id: person.clone(),
        name,
        gender,
        ex_descriptions,
        face: Some(new_face),
    };
    // Metered as pending before the write and confirmed after it (docs/billing.md,
    // "Enrolment"): never stored unbilled, and metering's refusal (arrears) leaves nothing
    // behind; a failed write gives the unit back, a crash is settled by the reconciliation.
    let created = call
        .enrolment()
        .run(|gallery, request_id| gallery.create_person_for(&account, &new, request_id))
        .await?;
    let mut out = Fields::new();
    out.insert(
        "FaceId".into(),
        json!(created.face_id.as_ref().map(FaceId::as_str).unwrap_or("")),
    );
    out.insert("FaceRect".into(), rect);
    out.insert("SimilarPersonId".into(), json!(""));
    out.insert(
        "FaceModelVersion".into(),
        json!(created.face_model_version.as_str()),
    );
    Ok(out)
}

/// UniquePersonControl 1-4 asks whether the group already holds the same person at a
/// false-accept rate of 1e-2, 1e-3, 1e-4 or 1e-5 (the API's levels); the rate becomes a
/// score through the FAR scale, then a distance bound through the score model of the
/// group's descriptor version; the persons within it are kept if their real score (from
/// both descriptors of the pair) reaches the score, and the best of them is the answer.
async fn similar_person(
    call: &Call<'_>,
    account: &gallery::AccountId,
    group: &GroupId,
    descriptor: &Descriptor,
    version: vision::DescriptorVersion,
    level: i64,
) -> Result<Option<PersonId>, ApiError> {
    let far = 10f64.powi(-(1 + level as i32));
    let model = call.state.engine.score_model(version);
    let score = score_for_far(model, far);
    let probe = engine_descriptor(descriptor);
    let req = SearchRequest {
        group_ids: vec![group.clone()],
        probes: vec![descriptor.clone()],
        // A few: with a score model that depends on both faces of a pair, the nearest
        // person is not always the best scored.
        max_person_num: SIMILAR_CANDIDATES,
        by_group: false,
        max_distance: Some(model.max_distance(&probe, score) as f32),
        need_person_info: false,
        strategy: Strategy::Auto,
    };
    match call.state.gallery.search(account, &req).await {
        Ok(resp) => Ok(resp
            .results
            .into_iter()
            .next()
            .into_iter()
            .flat_map(|r| r.persons)
            .map(|p| {
                let s = model.score_at(
                    &probe,
                    &engine_descriptor(&p.descriptor),
                    f64::from(p.distance),
                );
                (p.person_id, s)
            })
            .filter(|(_, s)| *s >= score)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(p, _)| p)),
        // An empty group holds nobody similar.
        Err(gallery::GalleryError::NoFaceInGroups) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Persons UniquePersonControl weighs.
const SIMILAR_CANDIDATES: usize = 5;

/// The score whose false-accept rate (by the model's `far`) is `far`: `far` falls
/// as the score rises, so bisect.
fn score_for_far(calibration: &vision::ScoreModel, far: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 100.0f64);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if calibration.far(mid) > far {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

fn face_rect(face: &vision::Face) -> FaceRect {
    FaceRect {
        x: face.x(),
        y: face.y(),
        width: face.width(),
        height: face.height(),
    }
}

pub async fn delete_person(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    call.state
        .gallery
        .delete_person(&call.account()?, &person)
        .await?;
    Ok(Fields::new())
}

pub async fn delete_person_from_group(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    let group = group_id(call)?;
    call.state
        .gallery
        .delete_person_from_group(&call.account()?, &group, &person)
        .await?;
    Ok(Fields::new())
}

pub async fn get_person_list(call: &Call<'_>) -> Result<Fields, ApiError> {
    let group = group_id(call)?;
    let list = call
        .state
        .gallery
        .list_persons(
            &call.account()?,
            &group,
            call.int_opt("Offset")?,
            call.int_opt("Limit")?,
        )
        .await?;
    let infos: Vec<Value> = list
        .members
        .items
        .iter()
        .map(|m| {
            json!({
                "PersonName": m.person.name,
                "PersonId": m.person.person_id.as_str(),
                "Gender": m.person.gender.code(),
                "PersonExDescriptions": m.ex_descriptions,
                "FaceIds": m.person.face_ids.iter().map(FaceId::as_str).collect::<Vec<_>>(),
                "CreationTimestamp": m.person.created_ms,
            })
        })
        .collect();
    let mut out = Fields::new();
    out.insert("PersonInfos".into(), Value::Array(infos));
    out.insert("PersonNum".into(), json!(list.members.total));
    out.insert("FaceNum".into(), json!(list.face_num));
    out.insert(
        "FaceModelVersion".into(),
        json!(list.face_model_version.as_str()),
    );
    Ok(out)
}

pub async fn get_person_list_num(call: &Call<'_>) -> Result<Fields, ApiError> {
    let group = group_id(call)?;
    let (persons, faces) = call
        .state
        .gallery
        .person_list_num(&call.account()?, &group)
        .await?;
    let mut out = Fields::new();
    out.insert("PersonNum".into(), json!(persons));
    out.insert("FaceNum".into(), json!(faces));
    Ok(out)
}

pub async fn get_person_base_info(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    let p = call.state.gallery.person(&call.account()?, &person).await?;
    let mut out = Fields::new();
    out.insert("PersonName".into(), json!(p.name));
    out.insert("Gender".into(), json!(p.gender.code()));
    out.insert(
        "FaceIds".into(),
        json!(p.face_ids.iter().map(FaceId::as_str).collect::<Vec<_>>()),
    );
    Ok(out)
}

/// RetCode values of CreateFace, per image.
const RET_NO_FACE: i64 = -1101;
const RET_DECODE: i64 = -1102;
const RET_SIZE: i64 = -1109;
const RET_QUALITY: i64 = -1601;
const RET_BELOW_THRESHOLD: i64 = -1604;

pub async fn create_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    let account = call.account()?;
    let quality = quality_control(call)?;
    let rotate = call.switch("NeedRotateDetection", Switch::ZeroOrOne)?;
    check_model_version(call)?;
    let threshold = call.float_opt("FaceMatchThreshold")?.unwrap_or(60.0);
    if !(0.0..=100.0).contains(&threshold) {
        return Err(ApiError::invalid_value(format!(
            "FaceMatchThreshold must be 0 to 100, got {threshold}"
        )));
    }
    // Urls take precedence over Images, as for single images.
    let urls = call.str_list_opt("Urls")?.unwrap_or_default();
    let images = call.str_list_opt("Images")?.unwrap_or_default();
    let (sources, are_urls) = if urls.is_empty() {
        (images, false)
    } else {
        (urls, true)
    };
    if sources.is_empty() {
        return Err(ApiError::new(
            "InvalidParameterValue.ImageEmpty",
            "one of Images or Urls must be given",
        ));
    }
    if sources.len() > 4 {
        return Err(ApiError::new(
            "InvalidParameterValue.UploadFaceNumExceed",
            format!(
                "at most 4 images can be added at once, got {}",
                sources.len()
            ),
        ));
    }
    // The person must exist before any image work is done; its descriptor version is its
    // new faces'.
    let existing = call.state.gallery.person_faces(&account, &person).await?;
    let version = descriptor_version(
        call.state
            .gallery
            .person_descriptor_version(&account, &person)
            .await?,
    )?;
    let mut inputs = Vec::with_capacity(sources.len());
    for s in &sources {
        let bytes = if are_urls {
            image_bytes(None, Some(s), &call.state.config.urls).await
        } else {
            image_bytes(Some(s), None, &call.state.config.urls).await
        };
        let bytes = match bytes {
            Ok(b) => admit(call, &b).await.map(|()| b),
            Err(e) => Err(e),
        };
        inputs.push(bytes);
    }
    let existing: Vec<vision::Descriptor> = existing
        .iter()
        .map(|f| engine_descriptor(&f.descriptor))
        .collect();
    // As in CreatePerson: nothing is cut when the deployment stores no thumbnails.
    let thumbnails = call.state.gallery.stores_thumbnails().await?;
    let outcomes = on_analyzer(call, move |engine, analyzer| {
        let mut outcomes = Vec::with_capacity(inputs.len());
        for input in inputs {
            let outcome = match input {
                Err(e) if e.code == "FailedOperation.ImageSizeExceed" => Err(RET_SIZE),
                Err(_) => Err(RET_DECODE),
                Ok(bytes) => match describe_with_thumbnail(
                    engine, analyzer, &bytes, true, quality, rotate, thumbnails,
                ) {
                    Err(e) if e.code == NO_FACE_IN_PHOTO => Err(RET_NO_FACE),
                    Err(e) if e.code == QUALITY_NOT_QUALIFIED => Err(RET_QUALITY),
                    Err(e) if e.code.contains("Resolution") || e.code.contains("Size") => {
                        Err(RET_SIZE)
                    }
                    Err(e) if e.code.starts_with("FailedOperation.Image") => Err(RET_DECODE),
                    Err(e) => return Err(e),
                    Ok((face, d, thumbnail)) => {
                        let mut best = f64::NEG_INFINITY;
                        for old in &existing {
                            best = best.max(engine.compare_as(d.of(version), old, version)?.score);
                        }
                        if existing.is_empty() || best >= threshold {
                            Ok((face, d, thumbnail))
                        } else {
                            Err(RET_BELOW_THRESHOLD)
                        }
                    }
                },
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    })
    .await?;
    let mut new_faces = Vec::new();
    let mut rects = Vec::new();
    let mut indexes = Vec::new();
    let mut ret_codes = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok((face, d, thumbnail)) => {
                rects.push(rect_json(&face));
                new_faces.push(new_face(&face, &d, version, thumbnail)?);
                indexes.push(i);
                ret_codes.push(0);
            }
            Err(code) => ret_codes.push(code),
        }
    }
    if new_faces.is_empty() && ret_codes.iter().all(|c| *c == RET_NO_FACE) {
        return Err(ApiError::new(
            NO_FACE_IN_PHOTO,
            "no face was found in any image",
        ));
    }
    let ids = if new_faces.is_empty() {
        Vec::new()
    } else {
        // Metered around the write, as CreatePerson.
        call.enrolment()
            .run(|gallery, request_id| {
                gallery.create_faces_for(&account, &person, &new_faces, request_id)
            })
            .await?
    };
    let mut out = Fields::new();
    out.insert("SucFaceNum".into(), json!(ids.len()));
    out.insert(
        "SucFaceIds".into(),
        json!(ids.iter().map(FaceId::as_str).collect::<Vec<_>>()),
    );
    out.insert("RetCode".into(), json!(ret_codes));
    out.insert("SucIndexes".into(), json!(indexes));
    out.insert("SucFaceRects".into(), Value::Array(rects));
    out.insert("FaceModelVersion".into(), json!("3.0"));
    Ok(out)
}

pub async fn delete_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    let ids: Vec<FaceId> = call
        .str_list_opt("FaceIds")?
        .ok_or_else(|| ApiError::missing("FaceIds"))?
        .into_iter()
        .map(FaceId::from_request)
        .collect();
    let deleted = call
        .state
        .gallery
        .delete_faces(&call.account()?, &person, &ids)
        .await?;
    let mut out = Fields::new();
    out.insert("SucDeletedNum".into(), json!(deleted.len()));
    out.insert(
        "SucFaceIds".into(),
        json!(deleted.iter().map(FaceId::as_str).collect::<Vec<_>>()),
    );
    Ok(out)
}

pub async fn copy_person(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    let groups = call
        .str_list_opt("GroupIds")?
        .ok_or_else(|| ApiError::missing("GroupIds"))?
        .into_iter()
        .map(GroupId::new)
        .collect::<Result<Vec<_>, _>>()?;
    let added = call
        .state
        .gallery
        .copy_person(&call.account()?, &person, &groups)
        .await?;
    let mut out = Fields::new();
    out.insert("SucGroupNum".into(), json!(added.len()));
    out.insert(
        "SucGroupIds".into(),
        json!(added.iter().map(GroupId::as_str).collect::<Vec<_>>()),
    );
    Ok(out)
}

pub async fn get_person_group_info(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    let (listed, version) = call
        .state
        .gallery
        .person_groups(
            &call.account()?,
            &person,
            call.int_opt("Offset")?,
            call.int_opt("Limit")?,
        )
        .await?;
    let infos: Vec<Value> = listed
        .items
        .iter()
        .map(|g| {
            json!({
                "GroupId": g.group_id.as_str(),
                "PersonExDescriptions": g.ex_descriptions,
            })
        })
        .collect();
    let mut out = Fields::new();
    out.insert("PersonGroupInfos".into(), Value::Array(infos));
    out.insert("GroupNum".into(), json!(listed.total));
    out.insert("FaceModelVersion".into(), json!(version.as_str()));
    Ok(out)
}

pub async fn modify_person_base_info(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    let name = call.str_opt("PersonName")?;
    let gender = call.int_opt("Gender")?.map(Gender::from_code).transpose()?;
    call.state
        .gallery
        .modify_person_base_info(&call.account()?, &person, name, gender)
        .await?;
    Ok(Fields::new())
}

pub async fn modify_person_group_info(call: &Call<'_>) -> Result<Fields, ApiError> {
    let group = group_id(call)?;
    let person = person_id(call)?;
    if call.objects_opt("PersonExDescriptionInfos")?.is_none() {
        return Err(ApiError::missing("PersonExDescriptionInfos"));
    }
    let values = person_descriptions(call)?;
    call.state
        .gallery
        .modify_person_group_info(&call.account()?, &group, &person, &values)
        .await?;
    Ok(Fields::new())
}
