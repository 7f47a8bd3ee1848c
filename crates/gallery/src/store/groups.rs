//! Groups: CreateGroup, ModifyGroup, DeleteGroup, GetGroupInfo, GetGroupList.

use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{count, descriptor_version_of, json_strings, now_us, to_json, version_of, Store};
use crate::error::{GalleryError, Result};
use crate::ids::{check_name, AccountId, GroupId};
use crate::limits::{
    Field, MAX_GROUP_DESCRIPTIONS, MAX_GROUP_DESCRIPTION_CHARS, MAX_GROUP_NAME_CHARS, MAX_TAG_CHARS,
};
use crate::model::{Group, GroupChanges, Listed, NewGroup, Page};

const GROUP_COLUMNS: &str = "group_id, group_name, tag, ex_descriptions, face_model_version,
    descriptor_version, created_us, updated_us, person_count, face_count";

fn check_group_name(name: &str) -> Result<()> {
    check_name(Field::GroupName, name, 1, MAX_GROUP_NAME_CHARS)
}

fn check_tag(tag: &str) -> Result<()> {
    check_name(Field::Tag, tag, 0, MAX_TAG_CHARS)
}

fn check_descriptions(names: &[String]) -> Result<()> {
    if names.len() > MAX_GROUP_DESCRIPTIONS {
        return Err(GalleryError::TooMany {
            field: Field::GroupExDescriptions,
            len: names.len(),
            max: MAX_GROUP_DESCRIPTIONS,
        });
    }
    let mut seen = HashSet::new();
    for name in names {
        check_name(
            Field::GroupExDescriptionName,
            name,
            1,
            MAX_GROUP_DESCRIPTION_CHARS,
        )?;
        if !seen.insert(name.as_str()) {
            return Err(GalleryError::DuplicateGroupDescription(name.clone()));
        }
    }
    Ok(())
}

fn group_from_row(row: &AnyRow) -> Result<Group> {
    let created_us: i64 = row.try_get("created_us")?;
    let updated_us: i64 = row.try_get("updated_us")?;
    Ok(Group {
        group_id: GroupId::trusted(row.try_get("group_id")?),
        name: row.try_get("group_name")?,
        tag: row.try_get("tag")?,
        ex_descriptions: json_strings(row, "ex_descriptions")?,
        face_model_version: version_of(row)?,
        descriptor_version: descriptor_version_of(row)?,
        created_ms: created_us / 1000,
        updated_ms: updated_us / 1000,
        person_count: count(row, "person_count")?,
        face_count: count(row, "face_count")?,
    })
}

impl Store {
    pub(crate) async fn create_group(&self, account: &AccountId, new: &NewGroup) -> Result<Group> {
        check_group_name(&new.name)?;
        check_tag(&new.tag)?;
        check_descriptions(&new.ex_descriptions)?;
        self.retry(|| self.create_group_once(account, new)).await
    }

    async fn create_group_once(&self, account: &AccountId, new: &NewGroup) -> Result<Group> {
        let mut tx = self.begin_write().await?;
        let existing = sqlx::query(
            "SELECT group_id, group_name FROM gallery_groups
             WHERE account_id = $1 AND (group_id = $2 OR group_name = $3)",
        )
        .bind(account.as_str())
        .bind(new.group_id.as_str())
        .bind(new.name.as_str())
        .fetch_all(&mut *tx)
        .await?;
        for row in &existing {
            let id: String = row.try_get("group_id")?;
            if id == new.group_id.as_str() {
                return Err(GalleryError::GroupIdAlreadyExists(id));
            }
        }
        if !existing.is_empty() {
            return Err(GalleryError::GroupNameAlreadyExists(new.name.clone()));
        }
        let groups: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM gallery_groups WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_one(&mut *tx)
                .await?;
        if groups as u64 >= self.limits().max_groups_per_account {
            return Err(GalleryError::GroupCountLimit {
                max: self.limits().max_groups_per_account,
            });
        }
        let now = now_us();
        let incarnation: i64 = rand::random_range(1..i64::MAX);
        let inserted = sqlx::query(
            "INSERT INTO gallery_groups (account_id, group_id, incarnation, group_name, tag,
                ex_descriptions, face_model_version, created_us, updated_us, revision,
                person_count, face_count, descriptor_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 0, 0, 0, $9)",
        )
        .bind(account.as_str())
        .bind(new.group_id.as_str())
        .bind(incarnation)
        .bind(new.name.as_str())
        .bind(new.tag.as_str())
        .bind(to_json(&new.ex_descriptions))
        .bind(new.face_model_version.as_str())
        .bind(now)
        .bind(i64::from(new.descriptor_version))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Lost a race with a concurrent CreateGroup (PostgreSQL only: SQLite
            // writers are serialised by BEGIN IMMEDIATE).
            Err(e) if db::is_unique_violation(&e) => {
                return Err(if e.to_string().contains("name") {
                    GalleryError::GroupNameAlreadyExists(new.name.clone())
                } else {
                    GalleryError::GroupIdAlreadyExists(new.group_id.to_string())
                });
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(Group {
            group_id: new.group_id.clone(),
            name: new.name.clone(),
            tag: new.tag.clone(),
            ex_descriptions: new.ex_descriptions.clone(),
            face_model_version: new.face_model_version,
            descriptor_version: new.descriptor_version,
            created_ms: now / 1000,
            updated_ms: now / 1000,
            person_count: 0,
            face_count: 0,
        })
    }

    pub(crate) async fn group(&self, account: &AccountId, group: &GroupId) -> Result<Group> {
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM gallery_groups WHERE account_id = $1 AND group_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(account.as_str())
            .bind(group.as_str())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| GalleryError::GroupNotFound(group.to_string()))?;
        group_from_row(&row)
    }

    /// Groups in creation order, with the account's total.
    pub(crate) async fn list_groups(
        &self,
        account: &AccountId,
        page: Page,
    ) -> Result<Listed<Group>> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM gallery_groups WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_one(self.pool())
                .await?;
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM gallery_groups WHERE account_id = $1
             ORDER BY created_us, group_id LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(account.as_str())
            .bind(i64::from(page.limit))
            .bind(page.offset as i64)
            .fetch_all(self.pool())
            .await?;
        Ok(Listed {
            items: rows.iter().map(group_from_row).collect::<Result<_>>()?,
            total: total.max(0) as u64,
        })
    }

    pub(crate) async fn modify_group(
        &self,
        account: &AccountId,
        group: &GroupId,
        changes: &GroupChanges,
    ) -> Result<()> {
        if let Some(name) = &changes.name {
            check_group_name(name)?;
        }
        if let Some(tag) = &changes.tag {
            check_tag(tag)?;
        }
        for (_, name) in &changes.ex_descriptions {
            check_name(
                Field::GroupExDescriptionName,
                name,
                1,
                MAX_GROUP_DESCRIPTION_CHARS,
            )?;
        }
        self.retry(|| self.modify_group_once(account, group, changes))
            .await
    }

    async fn modify_group_once(
        &self,
        account: &AccountId,
        group: &GroupId,
        changes: &GroupChanges,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT group_name, tag, ex_descriptions FROM gallery_groups
             WHERE account_id = $1 AND group_id = $2",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| GalleryError::GroupNotFound(group.to_string()))?;
        let mut name: String = row.try_get("group_name")?;
        let mut tag: String = row.try_get("tag")?;
        let mut fields = json_strings(&row, "ex_descriptions")?;
        for (index, value) in &changes.ex_descriptions {
            let i = usize::try_from(*index).ok().filter(|i| *i <= fields.len());
            match i {
                Some(i) if i == fields.len() => fields.push(value.clone()),
                Some(i) => fields[i] = value.clone(),
                None => {
                    return Err(GalleryError::OutOfRange {
                        field: Field::GroupExDescriptions,
                        value: *index,
                        min: 0,
                        max: fields.len() as i64,
                    })
                }
            }
        }
        check_descriptions(&fields)?;
        if let Some(new_name) = &changes.name {
            if *new_name != name {
                let taken: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM gallery_groups WHERE account_id = $1 AND group_name = $2",
                )
                .bind(account.as_str())
                .bind(new_name.as_str())
                .fetch_one(&mut *tx)
                .await?;
                if taken > 0 {
                    return Err(GalleryError::GroupNameAlreadyExists(new_name.clone()));
                }
                name = new_name.clone();
            }
        }
        if let Some(new_tag) = &changes.tag {
            tag = new_tag.clone();
        }
        let updated = sqlx::query(
            "UPDATE gallery_groups SET group_name = $3, tag = $4, ex_descriptions = $5, updated_us = $6
             WHERE account_id = $1 AND group_id = $2",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .bind(name.as_str())
        .bind(tag.as_str())
        .bind(to_json(&fields))
        .bind(now_us())
        .execute(&mut *tx)
        .await;
        match updated {
            Ok(_) => {}
            Err(e) if db::is_unique_violation(&e) => {
                return Err(GalleryError::GroupNameAlreadyExists(name));
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the group. Its persons that are in no other group go with it, faces and
    /// all; the others only lose their descriptions for this group.
    pub(crate) async fn delete_group(&self, account: &AccountId, group: &GroupId) -> Result<()> {
        self.retry(|| self.delete_group_once(account, group)).await
    }

    async fn delete_group_once(&self, account: &AccountId, group: &GroupId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM gallery_groups WHERE account_id = $1 AND group_id = $2")
                .bind(account.as_str())
                .bind(group.as_str())
                .execute(&mut *tx)
                .await?;
        if deleted.rows_affected() == 0 {
            return Err(GalleryError::GroupNotFound(group.to_string()));
        }
        // Persons whose only group this is: their faces' thumbnails, their faces, then
        // themselves.
        let only_here = "SELECT p.person_id FROM gallery_persons p
             JOIN gallery_members m ON m.account_id = p.account_id AND m.person_id = p.person_id
             WHERE m.account_id = $1 AND m.group_id = $2 AND p.group_count = 1";
        sqlx::query(&format!(
            "DELETE FROM gallery_thumbnails WHERE account_id = $1 AND face_id IN (
                SELECT face_id FROM gallery_faces
                WHERE account_id = $1 AND person_id IN ({only_here}))"
        ))
        .bind(account.as_str())
        .bind(group.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM gallery_faces WHERE account_id = $1 AND person_id IN ({only_here})"
        ))
        .bind(account.as_str())
        .bind(group.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM gallery_persons WHERE account_id = $1 AND person_id IN ({only_here})"
        ))
        .bind(account.as_str())
        .bind(group.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE gallery_persons SET group_count = group_count - 1
             WHERE account_id = $1 AND person_id IN (
                SELECT person_id FROM gallery_members WHERE account_id = $1 AND group_id = $2)",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM gallery_members WHERE account_id = $1 AND group_id = $2")
            .bind(account.as_str())
            .bind(group.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM gallery_group_changes WHERE account_id = $1 AND group_id = $2")
            .bind(account.as_str())
            .bind(group.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
