//! The person and face actions: CreatePerson, DeletePerson, DeletePersonFromGroup,
//! GetPersonList, GetPersonListNum, GetPersonBaseInfo, CreateFace, DeleteFace.

use gallery::{
    Descriptor, FaceId, FaceRect, Gender, NewFace, NewPerson, PersonDescription, PersonId,
};
use serde_json::{json, Value};

use super::face::{check_model_version, describe_one, load_image, on_engine, rect_json};
use super::group::group_id;
use super::{Call, Fields};
use crate::error::{ApiError, NO_FACE_IN_PHOTO};
use crate::image::image_bytes;

fn person_id(call: &Call<'_>) -> Result<PersonId, ApiError> {
    Ok(PersonId::new(call.str_req("PersonId")?)?)
}

fn new_face(face: &vision::Face, d: vision::Descriptor) -> Result<NewFace, ApiError> {
    Ok(NewFace {
        descriptor: Descriptor::new(d.0)?,
        rect: FaceRect {
            x: face.x(),
            y: face.y(),
            width: face.width(),
            height: face.height(),
        },
    })
}

fn refuse_quality_control(call: &Call<'_>) -> Result<(), ApiError> {
    match call.int_opt("QualityControl")? {
        None | Some(0) => Ok(()),
        Some(1..=4) => Err(ApiError::unsupported(
            "QualityControl needs the face quality model, which this server does not provide yet",
        )),
        Some(v) => Err(ApiError::invalid_value(format!(
            "QualityControl must be 0 to 4, got {v}"
        ))),
    }
}

pub async fn create_person(call: &Call<'_>) -> Result<Fields, ApiError> {
    let group = group_id(call)?;
    let name = call.str_req("PersonName")?.to_string();
    let person = person_id(call)?;
    let gender = Gender::from_code(call.int_opt("Gender")?.unwrap_or(0))?;
    let mut ex_descriptions = Vec::new();
    for info in call
        .objects_opt("PersonExDescriptionInfos")?
        .into_iter()
        .flatten()
    {
        let index = info
            .get("PersonExDescriptionIndex")
            .and_then(Value::as_i64)
            .ok_or_else(|| {
                ApiError::missing("PersonExDescriptionInfos.PersonExDescriptionIndex")
            })?;
        let value = info
            .get("PersonExDescription")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::missing("PersonExDescriptionInfos.PersonExDescription"))?;
        ex_descriptions.push(PersonDescription {
            index,
            value: value.to_string(),
        });
    }
    match call.int_opt("UniquePersonControl")? {
        None | Some(0) => {}
        Some(1..=4) => {
            return Err(ApiError::unsupported(
                "UniquePersonControl is not implemented by this server yet",
            ))
        }
        Some(v) => {
            return Err(ApiError::invalid_value(format!(
                "UniquePersonControl must be 0 to 4, got {v}"
            )))
        }
    }
    refuse_quality_control(call)?;
    call.refuse_switch("NeedRotateDetection", "rotation search")?;
    let bytes = load_image(call, "Image", "Url").await?;
    let (face, descriptor) =
        on_engine(call, move |engine| describe_one(engine, &bytes, true)).await?;
    let rect = rect_json(&face);
    let new = NewPerson {
        group_id: group,
        person_id: person,
        name,
        gender,
        ex_descriptions,
        face: Some(new_face(&face, descriptor)?),
    };
    let created = call
        .state
        .gallery
        .create_person(&call.account()?, &new)
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
const RET_BELOW_THRESHOLD: i64 = -1604;

pub async fn create_face(call: &Call<'_>) -> Result<Fields, ApiError> {
    let person = person_id(call)?;
    let account = call.account()?;
    refuse_quality_control(call)?;
    call.refuse_switch("NeedRotateDetection", "rotation search")?;
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
    // The person must exist before any image work is done.
    let existing = call.state.gallery.person_faces(&account, &person).await?;
    let mut inputs = Vec::with_capacity(sources.len());
    for s in &sources {
        let bytes = if are_urls {
            image_bytes(None, Some(s), &call.state.config.urls).await
        } else {
            image_bytes(Some(s), None, &call.state.config.urls).await
        };
        inputs.push(bytes);
    }
    let existing: Vec<vision::Descriptor> = existing
        .into_iter()
        .map(|f| vision::Descriptor(f.descriptor.as_slice().to_vec()))
        .collect();
    let outcomes = on_engine(call, move |engine| {
        let mut outcomes = Vec::with_capacity(inputs.len());
        for input in inputs {
            let outcome = match input {
                Err(e) if e.code == "FailedOperation.ImageSizeExceed" => Err(RET_SIZE),
                Err(_) => Err(RET_DECODE),
                Ok(bytes) => match describe_one(engine, &bytes, true) {
                    Err(e) if e.code == NO_FACE_IN_PHOTO => Err(RET_NO_FACE),
                    Err(e) if e.code.contains("Resolution") || e.code.contains("Size") => {
                        Err(RET_SIZE)
                    }
                    Err(e) if e.code.starts_with("FailedOperation.Image") => Err(RET_DECODE),
                    Err(e) => return Err(e),
                    Ok((face, d)) => {
                        let mut best = f64::NEG_INFINITY;
                        for old in &existing {
                            best = best.max(engine.compare(&d, old)?.score);
                        }
                        if existing.is_empty() || best >= threshold {
                            Ok((face, d))
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
            Ok((face, d)) => {
                rects.push(rect_json(&face));
                new_faces.push(new_face(&face, d)?);
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
        call.state
            .gallery
            .create_faces(&account, &person, &new_faces)
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
