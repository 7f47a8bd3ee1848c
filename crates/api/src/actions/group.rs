//! The group actions: CreateGroup, DeleteGroup, GetGroupList, GetGroupInfo, ModifyGroup.

use gallery::{FaceModelVersion, GalleryError, Group, GroupChanges, NewGroup};
use serde_json::{json, Value};

use super::common::group_id;
use super::{Call, Fields};
use crate::error::ApiError;

fn group_json(g: &Group) -> Value {
    json!({
        "GroupName": g.name,
        "GroupId": g.group_id.as_str(),
        "GroupExDescriptions": g.ex_descriptions,
        "Tag": g.tag,
        "FaceModelVersion": g.face_model_version.as_str(),
        "CreationTimestamp": g.created_ms,
        "UpdateTimestamp": g.updated_ms,
    })
}

pub async fn create_group(call: &Call<'_>) -> Result<Fields, ApiError> {
    let name = call.str_req("GroupName")?;
    let id = group_id(call)?;
    let version = match call.str_opt("FaceModelVersion")? {
        Some(v) => FaceModelVersion::parse(v)?,
        None => FaceModelVersion::parse("3.0")?,
    };
    let new = NewGroup {
        group_id: id,
        name: name.to_string(),
        tag: call.str_opt("Tag")?.unwrap_or("").to_string(),
        ex_descriptions: call
            .str_list_opt("GroupExDescriptions")?
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect(),
        face_model_version: version,
        descriptor_version: vision::DescriptorVersion::LATEST.number(),
    };
    let group = call
        .state
        .gallery
        .create_group(&call.account()?, &new)
        .await?;
    let mut out = Fields::new();
    out.insert(
        "FaceModelVersion".into(),
        json!(group.face_model_version.as_str()),
    );
    Ok(out)
}

pub async fn delete_group(call: &Call<'_>) -> Result<Fields, ApiError> {
    let id = group_id(call)?;
    call.state
        .gallery
        .delete_group(&call.account()?, &id)
        .await?;
    Ok(Fields::new())
}

pub async fn get_group_list(call: &Call<'_>) -> Result<Fields, ApiError> {
    let listed = call
        .state
        .gallery
        .list_groups(
            &call.account()?,
            call.int_opt("Offset")?,
            call.int_opt("Limit")?,
        )
        .await?;
    let mut out = Fields::new();
    out.insert(
        "GroupInfos".into(),
        Value::Array(listed.items.iter().map(group_json).collect()),
    );
    out.insert("GroupNum".into(), json!(listed.total));
    Ok(out)
}

pub async fn get_group_info(call: &Call<'_>) -> Result<Fields, ApiError> {
    let id = group_id(call)?;
    let g = call.state.gallery.group(&call.account()?, &id).await?;
    match group_json(&g) {
        // GetGroupList's GroupInfo has UpdateTimestamp; GetGroupInfo's response does not
        // declare it (the SDKs' GetGroupInfoResponse).
        Value::Object(mut m) => {
            m.remove("UpdateTimestamp");
            Ok(m)
        }
        _ => Err(ApiError::internal("group rendering failed")),
    }
}

pub async fn modify_group(call: &Call<'_>) -> Result<Fields, ApiError> {
    let id = group_id(call)?;
    let mut changes = GroupChanges {
        name: call.str_opt("GroupName")?.map(str::to_string),
        tag: call.str_opt("Tag")?.map(str::to_string),
        ex_descriptions: Vec::new(),
    };
    for info in call
        .objects_opt("GroupExDescriptionInfos")?
        .into_iter()
        .flatten()
    {
        let index = info
            .get("GroupExDescriptionIndex")
            .ok_or_else(|| ApiError::missing("GroupExDescriptionInfos.GroupExDescriptionIndex"))
            .and_then(|v| call.int_of("GroupExDescriptionInfos.GroupExDescriptionIndex", v))?;
        let text = info
            .get("GroupExDescription")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::missing("GroupExDescriptionInfos.GroupExDescription"))?;
        changes.ex_descriptions.push((index, text.to_string()));
    }
    match call
        .state
        .gallery
        .modify_group(&call.account()?, &id, &changes)
        .await
    {
        Ok(()) => Ok(Fields::new()),
        // ModifyGroup names this refusal differently from CreateGroup.
        Err(e @ GalleryError::DuplicateGroupDescription(_)) => Err(ApiError::new(
            "FailedOperation.DuplicatedGroupDescription",
            e.to_string(),
        )),
        Err(e) => Err(e.into()),
    }
}

// The upgrade actions. This server has one descriptor network: groups labelled "2.0" and
// "3.0" hold descriptors of the same model, so there is nothing to re-extract between
// those labels. A group of descriptor version 1 would need its faces described again
// with version 2, and no face images or crops are stored to do it from (only
// descriptors, and optional console thumbnails too small to describe). So no upgrade job
// ever exists; the answers say so instead of inventing a job.

/// UpgradeGroupFaceModelVersion: refused with the API's own code for a group that
/// cannot be upgraded, after checking the request.
pub async fn upgrade_group_face_model_version(call: &Call<'_>) -> Result<Fields, ApiError> {
    let id = group_id(call)?;
    let target = FaceModelVersion::parse(call.str_req("FaceModelVersion")?)?;
    let group = call.state.gallery.group(&call.account()?, &id).await?;
    let latest = vision::DescriptorVersion::LATEST.number();
    if group.descriptor_version < latest {
        return Err(ApiError::new(
            "FailedOperation.GroupCannotUpgrade",
            format!(
                "group {} holds version-{} face descriptors, and this server stores no face images or crops to describe its faces again with version {latest}: enrol the faces again (CreatePerson, CreateFace) into a new group, which gets version {latest}",
                id.as_str(),
                group.descriptor_version,
            ),
        ));
    }
    Err(ApiError::new(
        "FailedOperation.GroupCannotUpgrade",
        format!(
            "group {} is at FaceModelVersion {} and this server runs one face model for every version label, so there is nothing to upgrade to {}",
            id.as_str(),
            group.face_model_version.as_str(),
            target.as_str()
        ),
    ))
}

/// GetUpgradeGroupFaceModelVersionJobList: no job was ever started (see above).
pub async fn upgrade_job_list(call: &Call<'_>) -> Result<Fields, ApiError> {
    // Paging fields are checked as the API checks them, though the list is empty.
    let offset = call.int_opt("Offset")?.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::new(
            "InvalidParameterValue.OffsetExceed",
            format!("Offset must be at least 0, got {offset}"),
        ));
    }
    let limit = call.int_opt("Limit")?.unwrap_or(10);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            "InvalidParameterValue.LimitExceed",
            format!("Limit must be 1 to 1000, got {limit}"),
        ));
    }
    let mut out = Fields::new();
    out.insert("JobInfos".into(), json!([]));
    out.insert("JobNum".into(), json!(0));
    Ok(out)
}

/// GetUpgradeGroupFaceModelVersionResult and RevertGroupFaceModelVersion: every JobId is
/// unknown, since no job exists.
pub async fn upgrade_job(call: &Call<'_>) -> Result<Fields, ApiError> {
    let job = call.str_req("JobId")?;
    Err(ApiError::new(
        "FailedOperation.UpgradeJobIdNotExist",
        format!("upgrade job {job:?} does not exist: this server runs no upgrade jobs"),
    ))
}
