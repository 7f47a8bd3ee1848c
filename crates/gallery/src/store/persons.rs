//! Persons and their group memberships: CreatePerson, DeletePerson,
//! DeletePersonFromGroup, CopyPerson, ModifyPersonBaseInfo, ModifyPersonGroupInfo,
//! GetPersonBaseInfo, GetPersonList, GetPersonListNum, GetPersonGroupInfo.

use std::collections::{BTreeSet, HashMap};

use db::sql;
use sqlx::Row;

use super::{count, descriptor_version_of, json_strings, now_us, to_json, version_of, Store};
use crate::error::{GalleryError, Result};
use crate::ids::{check_length, check_name, AccountId, FaceId, GroupId, PersonId};
use crate::limits::{
    Field, MAX_GROUPS_PER_PERSON, MAX_GROUP_DESCRIPTIONS, MAX_PERSON_DESCRIPTION_CHARS,
    MAX_PERSON_NAME_CHARS,
};
use crate::model::{
    CreatedPerson, FaceModelVersion, Gender, GroupMember, Listed, NewPerson, Page, Person,
    PersonDescription, PersonGroupInfo,
};

pub(crate) fn check_person_name(name: &str) -> Result<()> {
    check_name(Field::PersonName, name, 1, MAX_PERSON_NAME_CHARS)
}

/// Checks description values against the group's `defined` fields and merges them into
/// `current` (one value per field).
fn merge_descriptions(
    current: &mut Vec<String>,
    values: &[PersonDescription],
    defined: usize,
) -> Result<()> {
    if values.len() > MAX_GROUP_DESCRIPTIONS {
        return Err(GalleryError::TooMany {
            field: Field::PersonExDescriptionInfos,
            len: values.len(),
            max: MAX_GROUP_DESCRIPTIONS,
        });
    }
    let mut seen = BTreeSet::new();
    current.resize(defined.max(current.len()), String::new());
    for v in values {
        check_length(
            Field::PersonExDescription,
            &v.value,
            0,
            MAX_PERSON_DESCRIPTION_CHARS,
        )?;
        let index = usize::try_from(v.index)
            .ok()
            .filter(|i| *i < defined && seen.insert(*i))
            .ok_or(GalleryError::PersonDescriptionIndex {
                index: v.index,
                defined,
            })?;
        current[index] = v.value.clone();
    }
    Ok(())
}

/// Pads or cuts stored values to the group's current number of fields.
fn aligned(mut values: Vec<String>, defined: usize) -> Vec<String> {
    values.resize(defined, String::new());
    values
}

/// The person row, locked for the rest of the transaction.
struct LockedPerson {
    face_count: i64,
    group_count: i64,
    face_model_version: FaceModelVersion,
    descriptor_version: u32,
}

impl Store {
    async fn lock_person(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        account: &AccountId,
        person: &PersonId,
    ) -> Result<LockedPerson> {
        // A no-op UPDATE takes the row lock on both backends (SELECT … FOR UPDATE is
        // not SQLite).
        let row = sqlx::query(
            "UPDATE gallery_persons SET face_count = face_count
             WHERE account_id = $1 AND person_id = $2
             RETURNING face_count, group_count, face_model_version, descriptor_version",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| GalleryError::PersonNotFound(person.to_string()))?;
        Ok(LockedPerson {
            face_count: row.try_get("face_count")?,
            group_count: row.try_get("group_count")?,
            face_model_version: version_of(&row)?,
            descriptor_version: descriptor_version_of(&row)?,
        })
    }

    /// The groups `person` is in, sorted (the lock order).
    pub(crate) async fn person_group_ids(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        account: &AccountId,
        person: &PersonId,
    ) -> Result<Vec<GroupId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT group_id FROM gallery_members WHERE account_id = $1 AND person_id = $2
             ORDER BY group_id",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_all(&mut **tx)
        .await?;
        Ok(ids.into_iter().map(GroupId::trusted).collect())
    }

    pub(crate) async fn create_person(
        &self,
        account: &AccountId,
        new: &NewPerson,
        request_id: Option<&str>,
    ) -> Result<CreatedPerson> {
        check_person_name(&new.name)?;
        if let Some(face) = &new.face {
            self.check_descriptor(&face.descriptor)?;
            self.check_thumbnail(face)?;
        }
        let face_id = new.face.as_ref().map(|_| FaceId::generate());
        self.retry(|| self.create_person_once(account, new, face_id.as_ref(), request_id))
            .await
    }

    async fn create_person_once(
        &self,
        account: &AccountId,
        new: &NewPerson,
        face_id: Option<&FaceId>,
        request_id: Option<&str>,
    ) -> Result<CreatedPerson> {
        let mut tx = self.begin_write().await?;
        if let Some(request_id) = request_id {
            self.record_enrolment(&mut tx, account, request_id).await?;
        }
        let group = sqlx::query(
            "SELECT ex_descriptions FROM gallery_groups WHERE account_id = $1 AND group_id = $2",
        )
        .bind(account.as_str())
        .bind(new.group_id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| GalleryError::GroupNotFound(new.group_id.to_string()))?;
        let defined = json_strings(&group, "ex_descriptions")?.len();
        let mut descriptions = Vec::new();
        merge_descriptions(&mut descriptions, &new.ex_descriptions, defined)?;
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM gallery_persons WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(new.person_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if exists > 0 {
            return Err(GalleryError::PersonIdAlreadyExists(
                new.person_id.to_string(),
            ));
        }
        let faces = i64::from(face_id.is_some());
        let bumped = self
            .bump_group(&mut tx, account, &new.group_id, &[&new.person_id], 1, faces)
            .await?
            .ok_or_else(|| GalleryError::GroupNotFound(new.group_id.to_string()))?;
        if let Some(face) = new.face.as_ref() {
            if face.descriptor_version != bumped.descriptor_version {
                return Err(GalleryError::DescriptorVersionMismatch {
                    what: format!("group {}", new.group_id),
                    expected: bumped.descriptor_version,
                    other: "the new face".into(),
                    actual: face.descriptor_version,
                    hint: "describe the face with the group's version",
                });
            }
        }
        let now = now_us();
        let inserted = sqlx::query(
            "INSERT INTO gallery_persons (account_id, person_id, person_name, gender,
                face_model_version, created_us, face_count, group_count, descriptor_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
        )
        .bind(account.as_str())
        .bind(new.person_id.as_str())
        .bind(new.name.as_str())
        .bind(new.gender.code())
        .bind(bumped.face_model_version.as_str())
        .bind(now)
        .bind(faces)
        .bind(i64::from(bumped.descriptor_version))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if db::is_unique_violation(&e) => {
                return Err(GalleryError::PersonIdAlreadyExists(
                    new.person_id.to_string(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::query(
            "INSERT INTO gallery_members (account_id, group_id, person_id, ex_descriptions, joined_us)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account.as_str())
        .bind(new.group_id.as_str())
        .bind(new.person_id.as_str())
        .bind(to_json(&descriptions))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let (Some(face), Some(face_id)) = (&new.face, face_id) {
            self.insert_face(&mut tx, account, &new.person_id, face_id, face, now)
                .await?;
            self.insert_thumbnails(&mut tx, account, &[(face_id, face)])
                .await?;
        }
        tx.commit().await?;
        Ok(CreatedPerson {
            face_id: face_id.cloned(),
            face_model_version: bumped.face_model_version,
            descriptor_version: bumped.descriptor_version,
        })
    }

    pub(crate) async fn modify_person_base_info(
        &self,
        account: &AccountId,
        person: &PersonId,
        name: Option<&str>,
        gender: Option<Gender>,
    ) -> Result<()> {
        if let Some(name) = name {
            check_person_name(name)?;
        }
        let done = sqlx::query(
            "UPDATE gallery_persons
             SET person_name = COALESCE($3, person_name), gender = COALESCE($4, gender)
             WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .bind(name)
        .bind(gender.map(Gender::code))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(GalleryError::PersonNotFound(person.to_string()));
        }
        Ok(())
    }

    pub(crate) async fn modify_person_group_info(
        &self,
        account: &AccountId,
        group: &GroupId,
        person: &PersonId,
        values: &[PersonDescription],
    ) -> Result<()> {
        self.retry(|| self.modify_person_group_info_once(account, group, person, values))
            .await
    }

    async fn modify_person_group_info_once(
        &self,
        account: &AccountId,
        group: &GroupId,
        person: &PersonId,
        values: &[PersonDescription],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_person(&mut tx, account, person).await?;
        let fields = sqlx::query(
            "SELECT ex_descriptions FROM gallery_groups WHERE account_id = $1 AND group_id = $2",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| GalleryError::GroupNotFound(group.to_string()))?;
        let defined = json_strings(&fields, "ex_descriptions")?.len();
        let member = sqlx::query(
            "SELECT ex_descriptions FROM gallery_members
             WHERE account_id = $1 AND group_id = $2 AND person_id = $3",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .bind(person.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| GalleryError::PersonNotInGroup {
            group_id: group.to_string(),
            person_id: person.to_string(),
        })?;
        let mut current = aligned(json_strings(&member, "ex_descriptions")?, defined);
        merge_descriptions(&mut current, values, defined)?;
        sqlx::query(
            "UPDATE gallery_members SET ex_descriptions = $4
             WHERE account_id = $1 AND group_id = $2 AND person_id = $3",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .bind(person.as_str())
        .bind(to_json(&current))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the person from every group, faces and all.
    pub(crate) async fn delete_person(&self, account: &AccountId, person: &PersonId) -> Result<()> {
        self.retry(|| self.delete_person_once(account, person))
            .await
    }

    async fn delete_person_once(&self, account: &AccountId, person: &PersonId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let locked = self.lock_person(&mut tx, account, person).await?;
        for group in self.person_group_ids(&mut tx, account, person).await? {
            self.bump_group(&mut tx, account, &group, &[person], -1, -locked.face_count)
                .await?;
        }
        self.delete_person_thumbnails(&mut tx, account, person)
            .await?;
        for table in ["gallery_faces", "gallery_members", "gallery_persons"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE account_id = $1 AND person_id = $2"
            ))
            .bind(account.as_str())
            .bind(person.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes the person out of one group; a person left in no group is deleted.
    pub(crate) async fn delete_person_from_group(
        &self,
        account: &AccountId,
        group: &GroupId,
        person: &PersonId,
    ) -> Result<()> {
        self.retry(|| self.delete_person_from_group_once(account, group, person))
            .await
    }

    async fn delete_person_from_group_once(
        &self,
        account: &AccountId,
        group: &GroupId,
        person: &PersonId,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let locked = self.lock_person(&mut tx, account, person).await?;
        let removed = sqlx::query(
            "DELETE FROM gallery_members WHERE account_id = $1 AND group_id = $2 AND person_id = $3",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .bind(person.as_str())
        .execute(&mut *tx)
        .await?;
        if removed.rows_affected() == 0 {
            let group_exists: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM gallery_groups WHERE account_id = $1 AND group_id = $2",
            )
            .bind(account.as_str())
            .bind(group.as_str())
            .fetch_one(&mut *tx)
            .await?;
            return Err(if group_exists == 0 {
                GalleryError::GroupNotFound(group.to_string())
            } else {
                GalleryError::PersonNotInGroup {
                    group_id: group.to_string(),
                    person_id: person.to_string(),
                }
            });
        }
        self.bump_group(&mut tx, account, group, &[person], -1, -locked.face_count)
            .await?;
        if locked.group_count <= 1 {
            self.delete_person_thumbnails(&mut tx, account, person)
                .await?;
            for table in ["gallery_faces", "gallery_persons"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE account_id = $1 AND person_id = $2"
                ))
                .bind(account.as_str())
                .bind(person.as_str())
                .execute(&mut *tx)
                .await?;
            }
        } else {
            sqlx::query(
                "UPDATE gallery_persons SET group_count = group_count - 1
                 WHERE account_id = $1 AND person_id = $2",
            )
            .bind(account.as_str())
            .bind(person.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds the person to `groups` (without descriptions). Groups the person is
    /// already in are skipped; returns the groups it was added to, in request order.
    pub(crate) async fn copy_person(
        &self,
        account: &AccountId,
        person: &PersonId,
        groups: &[GroupId],
    ) -> Result<Vec<GroupId>> {
        if groups.len() > MAX_GROUPS_PER_PERSON {
            return Err(GalleryError::TooMany {
                field: Field::GroupIds,
                len: groups.len(),
                max: MAX_GROUPS_PER_PERSON,
            });
        }
        self.retry(|| self.copy_person_once(account, person, groups))
            .await
    }

    async fn copy_person_once(
        &self,
        account: &AccountId,
        person: &PersonId,
        groups: &[GroupId],
    ) -> Result<Vec<GroupId>> {
        let mut tx = self.begin_write().await?;
        let locked = self.lock_person(&mut tx, account, person).await?;
        let current: BTreeSet<GroupId> = self
            .person_group_ids(&mut tx, account, person)
            .await?
            .into_iter()
            .collect();
        let targets: BTreeSet<&GroupId> = groups.iter().filter(|g| !current.contains(*g)).collect();
        if current.len() + targets.len() > MAX_GROUPS_PER_PERSON {
            return Err(GalleryError::GroupsPerPersonLimit {
                max: MAX_GROUPS_PER_PERSON,
            });
        }
        let now = now_us();
        // Sorted: the lock order.
        for group in &targets {
            let bumped = self
                .bump_group(&mut tx, account, group, &[person], 1, locked.face_count)
                .await?
                .ok_or_else(|| GalleryError::GroupNotFound(group.to_string()))?;
            if bumped.face_model_version != locked.face_model_version {
                return Err(GalleryError::AcrossModelVersions);
            }
            if bumped.descriptor_version != locked.descriptor_version {
                return Err(GalleryError::DescriptorVersionMismatch {
                    what: format!("person {person}"),
                    expected: locked.descriptor_version,
                    other: format!("group {group}"),
                    actual: bumped.descriptor_version,
                    hint: "a person can only join groups of its own descriptor version; enrol its faces anew (CreatePerson) to join the other group",
                });
            }
            sqlx::query(
                "INSERT INTO gallery_members (account_id, group_id, person_id, ex_descriptions, joined_us)
                 VALUES ($1, $2, $3, '[]', $4)",
            )
            .bind(account.as_str())
            .bind(group.as_str())
            .bind(person.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE gallery_persons SET group_count = group_count + $3
             WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .bind(targets.len() as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut added = Vec::new();
        for g in groups {
            if targets.contains(g) && !added.contains(g) {
                added.push(g.clone());
            }
        }
        Ok(added)
    }

    /// GetPersonBaseInfo.
    pub(crate) async fn person(&self, account: &AccountId, person: &PersonId) -> Result<Person> {
        let row = sqlx::query(
            "SELECT person_id, person_name, gender, created_us FROM gallery_persons
             WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| GalleryError::PersonNotFound(person.to_string()))?;
        let mut faces = self
            .face_ids_of(account, std::slice::from_ref(person))
            .await?;
        person_from_row(&row, &mut faces)
    }

    /// Face ids of `persons`, oldest first.
    async fn face_ids_of(
        &self,
        account: &AccountId,
        persons: &[PersonId],
    ) -> Result<HashMap<String, Vec<FaceId>>> {
        let mut out: HashMap<String, Vec<FaceId>> = HashMap::new();
        let d = self.dialect();
        for chunk in persons.chunks(200) {
            let sql = format!(
                "SELECT person_id, face_id FROM gallery_faces
                 WHERE account_id = {} AND person_id IN ({})
                 ORDER BY created_us, face_id",
                sql::param(d, 1),
                sql::list(d, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(account.as_str());
            for p in chunk {
                q = q.bind(p.as_str());
            }
            for row in q.fetch_all(self.pool()).await? {
                out.entry(row.try_get("person_id")?)
                    .or_default()
                    .push(FaceId::trusted(row.try_get("face_id")?));
            }
        }
        Ok(out)
    }

    /// GetPersonList: the group's members in joining order, with the group's counts.
    pub(crate) async fn list_members(
        &self,
        account: &AccountId,
        group: &GroupId,
        page: Page,
    ) -> Result<(Listed<GroupMember>, u64, FaceModelVersion)> {
        let g = self.group(account, group).await?;
        let rows = sqlx::query(
            "SELECT p.person_id, p.person_name, p.gender, p.created_us, m.ex_descriptions
             FROM gallery_members m
             JOIN gallery_persons p ON p.account_id = m.account_id AND p.person_id = m.person_id
             WHERE m.account_id = $1 AND m.group_id = $2
             ORDER BY m.joined_us, m.person_id LIMIT $3 OFFSET $4",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .bind(i64::from(page.limit))
        .bind(page.offset as i64)
        .fetch_all(self.pool())
        .await?;
        let ids: Vec<PersonId> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("person_id").map(PersonId::trusted))
            .collect::<Result<_, _>>()?;
        let mut faces = self.face_ids_of(account, &ids).await?;
        let defined = g.ex_descriptions.len();
        let members = rows
            .iter()
            .map(|row| {
                Ok(GroupMember {
                    person: person_from_row(row, &mut faces)?,
                    ex_descriptions: aligned(json_strings(row, "ex_descriptions")?, defined),
                })
            })
            .collect::<Result<_>>()?;
        Ok((
            Listed {
                items: members,
                total: g.person_count,
            },
            g.face_count,
            g.face_model_version,
        ))
    }

    /// GetPersonGroupInfo: the groups the person is in, with its descriptions there.
    pub(crate) async fn person_groups(
        &self,
        account: &AccountId,
        person: &PersonId,
        page: Page,
    ) -> Result<(Listed<PersonGroupInfo>, FaceModelVersion)> {
        let p = sqlx::query(
            "SELECT group_count, face_model_version FROM gallery_persons
             WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| GalleryError::PersonNotFound(person.to_string()))?;
        let rows = sqlx::query(
            "SELECT m.group_id, m.ex_descriptions, g.ex_descriptions AS fields
             FROM gallery_members m
             JOIN gallery_groups g ON g.account_id = m.account_id AND g.group_id = m.group_id
             WHERE m.account_id = $1 AND m.person_id = $2
             ORDER BY m.joined_us, m.group_id LIMIT $3 OFFSET $4",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .bind(i64::from(page.limit))
        .bind(page.offset as i64)
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                let defined = json_strings(row, "fields")?.len();
                Ok(PersonGroupInfo {
                    group_id: GroupId::trusted(row.try_get("group_id")?),
                    ex_descriptions: aligned(json_strings(row, "ex_descriptions")?, defined),
                })
            })
            .collect::<Result<_>>()?;
        Ok((
            Listed {
                items,
                total: count(&p, "group_count")?,
            },
            version_of(&p)?,
        ))
    }

    /// Persons with their groups among `groups` (NeedPersonInfo of a search).
    pub(crate) async fn persons_in_groups(
        &self,
        account: &AccountId,
        persons: &[PersonId],
        groups: &[GroupId],
    ) -> Result<HashMap<PersonId, (Person, Vec<PersonGroupInfo>)>> {
        let mut out = HashMap::new();
        if persons.is_empty() {
            return Ok(out);
        }
        let mut faces = self.face_ids_of(account, persons).await?;
        let wanted: BTreeSet<&GroupId> = groups.iter().collect();
        let d = self.dialect();
        for chunk in persons.chunks(200) {
            let sql = format!(
                "SELECT p.person_id, p.person_name, p.gender, p.created_us,
                        m.group_id, m.ex_descriptions, g.ex_descriptions AS fields
                 FROM gallery_persons p
                 JOIN gallery_members m ON m.account_id = p.account_id AND m.person_id = p.person_id
                 JOIN gallery_groups g ON g.account_id = m.account_id AND g.group_id = m.group_id
                 WHERE p.account_id = {} AND p.person_id IN ({})
                 ORDER BY m.joined_us, m.group_id",
                sql::param(d, 1),
                sql::list(d, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(account.as_str());
            for p in chunk {
                q = q.bind(p.as_str());
            }
            for row in q.fetch_all(self.pool()).await? {
                let person_id = PersonId::trusted(row.try_get("person_id")?);
                let group_id = GroupId::trusted(row.try_get("group_id")?);
                if !out.contains_key(&person_id) {
                    let person = person_from_row(&row, &mut faces)?;
                    out.insert(person_id.clone(), (person, Vec::new()));
                }
                if wanted.contains(&group_id) {
                    let defined = json_strings(&row, "fields")?.len();
                    if let Some((_, infos)) = out.get_mut(&person_id) {
                        infos.push(PersonGroupInfo {
                            group_id,
                            ex_descriptions: aligned(
                                json_strings(&row, "ex_descriptions")?,
                                defined,
                            ),
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}

fn person_from_row(
    row: &sqlx::any::AnyRow,
    faces: &mut HashMap<String, Vec<FaceId>>,
) -> Result<Person> {
    let person_id: String = row.try_get("person_id")?;
    let created_us: i64 = row.try_get("created_us")?;
    let gender: i64 = row.try_get("gender")?;
    Ok(Person {
        face_ids: faces.get(&person_id).cloned().unwrap_or_default(),
        person_id: PersonId::trusted(person_id),
        name: row.try_get("person_name")?,
        gender: Gender::from_code(gender).map_err(|e| GalleryError::Corrupt(e.to_string()))?,
        created_ms: created_us / 1000,
    })
}
