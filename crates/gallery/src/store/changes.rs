//! How search indexes learn about writes made by any node.
//!
//! Every transaction that changes which faces a group holds bumps the group's
//! `revision` with an UPDATE of its row, and logs one `gallery_group_changes` row per
//! person it touched, under that revision. The row lock is held until commit, so
//! within one group revisions commit in order and without gaps: a reader that sees
//! revision R can read every change up to R. An index at revision r reloads the
//! faces of the persons logged in (r, R] and is then as fresh as the database was
//! when R was read.

use std::collections::HashMap;

use db::sql;
use sqlx::{Any, Row, Transaction};

use super::{count, descriptor_version_of, now_us, version_of, Store};
use crate::error::{GalleryError, Result};
use crate::ids::{AccountId, FaceId, GroupId, PersonId};
use crate::model::{Descriptor, FaceModelVersion};

/// A group's identity and freshness, as a search sees it before it runs.
#[derive(Debug, Clone)]
pub(crate) struct GroupState {
    pub group_id: GroupId,
    pub incarnation: i64,
    pub revision: i64,
    pub face_model_version: FaceModelVersion,
    pub descriptor_version: u32,
    pub person_count: u64,
    pub face_count: u64,
}

/// The persons touched at one revision.
#[derive(Debug, Clone)]
pub(crate) struct GroupChange {
    pub revision: i64,
    pub person_id: PersonId,
}

/// A face as the index holds it.
#[derive(Debug, Clone)]
pub(crate) struct IndexedFace {
    pub face_id: FaceId,
    pub person_id: PersonId,
    pub descriptor: Descriptor,
}

/// What a bump did to a group, for limit checks.
pub(crate) struct Bumped {
    pub face_model_version: FaceModelVersion,
    pub descriptor_version: u32,
}

const IN_CHUNK: usize = 200;

impl Store {
    /// Bumps `group`'s revision and counts inside `tx`, logs `persons` as touched, and
    /// refuses when the group would hold more faces than its version allows.
    /// Returns None when the group does not exist.
    pub(crate) async fn bump_group(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &AccountId,
        group: &GroupId,
        persons: &[&PersonId],
        person_delta: i64,
        face_delta: i64,
    ) -> Result<Option<Bumped>> {
        let row = sqlx::query(
            "UPDATE gallery_groups
             SET revision = revision + 1,
                 person_count = person_count + $3,
                 face_count = face_count + $4
             WHERE account_id = $1 AND group_id = $2
             RETURNING revision, face_count, face_model_version, descriptor_version",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .bind(person_delta)
        .bind(face_delta)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let revision: i64 = row.try_get("revision")?;
        let face_count: i64 = row.try_get("face_count")?;
        let face_model_version = version_of(&row)?;
        if face_delta > 0 && face_count as u64 > self.max_faces_per_group(face_model_version) {
            return Err(GalleryError::GroupFaceLimit {
                group_id: group.to_string(),
                max: self.max_faces_per_group(face_model_version),
            });
        }
        let now = now_us();
        for person in persons {
            sqlx::query(
                "INSERT INTO gallery_group_changes (account_id, group_id, revision, person_id, changed_us)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(account.as_str())
            .bind(group.as_str())
            .bind(revision)
            .bind(person.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(Some(Bumped {
            face_model_version,
            descriptor_version: descriptor_version_of(&row)?,
        }))
    }

    /// The states of `groups` (those that exist), in one query.
    pub(crate) async fn group_states(
        &self,
        account: &AccountId,
        groups: &[GroupId],
    ) -> Result<HashMap<GroupId, GroupState>> {
        let mut out = HashMap::with_capacity(groups.len());
        let d = self.dialect();
        for chunk in groups.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT group_id, incarnation, revision, face_model_version, descriptor_version,
                    person_count, face_count
                 FROM gallery_groups WHERE account_id = {} AND group_id IN ({})",
                sql::param(d, 1),
                sql::list(d, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(account.as_str());
            for g in chunk {
                q = q.bind(g.as_str());
            }
            for row in q.fetch_all(self.pool()).await? {
                let group_id = GroupId::trusted(row.try_get("group_id")?);
                out.insert(
                    group_id.clone(),
                    GroupState {
                        group_id,
                        incarnation: row.try_get("incarnation")?,
                        revision: row.try_get("revision")?,
                        face_model_version: version_of(&row)?,
                        descriptor_version: descriptor_version_of(&row)?,
                        person_count: count(&row, "person_count")?,
                        face_count: count(&row, "face_count")?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Changes of `group` after `revision`, oldest first.
    pub(crate) async fn changes_since(
        &self,
        account: &AccountId,
        group: &GroupId,
        revision: i64,
    ) -> Result<Vec<GroupChange>> {
        let rows = sqlx::query(
            "SELECT revision, person_id FROM gallery_group_changes
             WHERE account_id = $1 AND group_id = $2 AND revision > $3
             ORDER BY revision",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .bind(revision)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GroupChange {
                    revision: r.try_get("revision")?,
                    person_id: PersonId::trusted(r.try_get("person_id")?),
                })
            })
            .collect()
    }

    /// Every face of every member of `group`.
    pub(crate) async fn group_faces(
        &self,
        account: &AccountId,
        group: &GroupId,
    ) -> Result<Vec<IndexedFace>> {
        let rows = sqlx::query(
            "SELECT f.face_id, f.person_id, f.descriptor
             FROM gallery_members m
             JOIN gallery_faces f ON f.account_id = m.account_id AND f.person_id = m.person_id
             WHERE m.account_id = $1 AND m.group_id = $2",
        )
        .bind(account.as_str())
        .bind(group.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(indexed_face).collect()
    }

    /// The faces of `persons` that are (now) members of `group`.
    pub(crate) async fn member_faces(
        &self,
        account: &AccountId,
        group: &GroupId,
        persons: &[PersonId],
    ) -> Result<Vec<IndexedFace>> {
        let mut out = Vec::new();
        let d = self.dialect();
        for chunk in persons.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT f.face_id, f.person_id, f.descriptor
                 FROM gallery_members m
                 JOIN gallery_faces f ON f.account_id = m.account_id AND f.person_id = m.person_id
                 WHERE m.account_id = {} AND m.group_id = {} AND m.person_id IN ({})",
                sql::param(d, 1),
                sql::param(d, 2),
                sql::list(d, 3, chunk.len())
            );
            let mut q = sqlx::query(&sql)
                .bind(account.as_str())
                .bind(group.as_str());
            for p in chunk {
                q = q.bind(p.as_str());
            }
            for row in q.fetch_all(self.pool()).await? {
                out.push(indexed_face(&row)?);
            }
        }
        Ok(out)
    }

    /// Drops change rows older than `before_us`. An index that was further behind than
    /// that notices the gap and reloads its group whole.
    pub(crate) async fn prune_changes(&self, before_us: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM gallery_group_changes WHERE changed_us < $1")
            .bind(before_us)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

fn indexed_face(row: &sqlx::any::AnyRow) -> Result<IndexedFace> {
    let bytes: Vec<u8> = row.try_get("descriptor")?;
    Ok(IndexedFace {
        face_id: FaceId::trusted(row.try_get("face_id")?),
        person_id: PersonId::trusted(row.try_get("person_id")?),
        descriptor: Descriptor::from_bytes(&bytes)?,
    })
}
