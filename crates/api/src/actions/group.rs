//! The group actions: CreateGroup, DeleteGroup, GetGroupList, GetGroupInfo, ModifyGroup.

use gallery::{FaceModelVersion, GalleryError, Group, GroupChanges, GroupId, NewGroup};
use serde_json::{json, Value};

use super::{Call, Fields};
use crate::error::ApiError;

pub fn group_id(call: &Call<'_>) -> Result<GroupId, ApiError> {
    Ok(GroupId::new(call.str_req("GroupId")?)?)
}

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
        Value::Object(m) => Ok(m),
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
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::missing("GroupExDescriptionInfos.GroupExDescriptionIndex"))?;
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
