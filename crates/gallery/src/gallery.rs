//! [`Gallery`]: every operation of the group, person, face and search actions,
//! scoped by account.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::AnyPool;

use crate::error::{GalleryError, Result};
use crate::ids::{AccountId, FaceId, GroupId, PersonId};
use crate::limits::{Limits, MAX_LIST_LIMIT, MAX_PERSON_GROUP_LIST_LIMIT};
use crate::model::{
    CreatedPerson, Descriptor, Face, FaceModelVersion, Gender, Group, GroupChanges, GroupMember,
    Listed, NewFace, NewGroup, NewPerson, Page, Person, PersonDescription, PersonGroupInfo,
};
use crate::search::cache::{GroupSlot, IndexCache};
use crate::search::{
    merge_faces, rank_persons, FaceHit, FaceIndex, GroupHits, IndexConfig, Neighbour, PersonInfo,
    ProbeResult, SearchRequest, SearchResponse,
};
use crate::store::{now_us, Store};

/// How a gallery is set up. The defaults are the API's documented limits and 128-d
/// descriptors (the `vision` engine's).
#[derive(Debug, Clone)]
pub struct GalleryConfig {
    pub descriptor_dim: usize,
    pub limits: Limits,
    pub index: IndexConfig,
}

impl Default for GalleryConfig {
    fn default() -> Self {
        Self {
            descriptor_dim: 128,
            limits: Limits::default(),
            index: IndexConfig::default(),
        }
    }
}

/// A page of GetPersonList with the group's counts.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonList {
    pub members: Listed<GroupMember>,
    pub face_num: u64,
    pub face_model_version: FaceModelVersion,
}

/// Groups, persons and faces of every account, and their search indexes on this node.
/// Cheap to clone; clones share the pool and the indexes.
#[derive(Clone)]
pub struct Gallery {
    store: Store,
    cache: Arc<IndexCache>,
}

impl Gallery {
    /// Creates or migrates the gallery's tables (prefix `gallery_`) on `pool`.
    /// Call `sqlx::any::install_default_drivers()` before opening the pool.
    pub async fn open(pool: AnyPool, config: GalleryConfig) -> Result<Self> {
        let store = Store::open(pool, config.limits, config.descriptor_dim).await?;
        Ok(Self {
            store,
            cache: Arc::new(IndexCache::new(config.descriptor_dim, config.index)),
        })
    }

    // Groups.

    /// CreateGroup.
    pub async fn create_group(&self, account: &AccountId, new: &NewGroup) -> Result<Group> {
        self.store.create_group(account, new).await
    }

    /// GetGroupInfo, with the group's person and face counts.
    pub async fn group(&self, account: &AccountId, group: &GroupId) -> Result<Group> {
        self.store.group(account, group).await
    }

    /// GetGroupList: Offset ≥ 0, Limit 1..=1000 (default 10), oldest group first.
    pub async fn list_groups(
        &self,
        account: &AccountId,
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Listed<Group>> {
        let page = Page::new(offset, limit, MAX_LIST_LIMIT)?;
        self.store.list_groups(account, page).await
    }

    /// ModifyGroup.
    pub async fn modify_group(
        &self,
        account: &AccountId,
        group: &GroupId,
        changes: &GroupChanges,
    ) -> Result<()> {
        self.store.modify_group(account, group, changes).await
    }

    /// DeleteGroup: persons in no other group are deleted with it.
    pub async fn delete_group(&self, account: &AccountId, group: &GroupId) -> Result<()> {
        self.store.delete_group(account, group).await?;
        self.cache.forget(account, group);
        Ok(())
    }

    // Persons.

    /// CreatePerson, with the face found in its image.
    pub async fn create_person(
        &self,
        account: &AccountId,
        new: &NewPerson,
    ) -> Result<CreatedPerson> {
        self.store.create_person(account, new, None).await
    }

    /// CreatePerson paid for by the billed request `request_id`: the write also records
    /// that this RequestId enrolled, in its own transaction, so the billing's
    /// reconciliation can tell a crashed call that wrote from one that did not
    /// ([`Gallery::claim_enrolment`]). Refused with
    /// [`GalleryError::EnrolmentAbandoned`] once the reconciliation gave it up.
    pub async fn create_person_for(
        &self,
        account: &AccountId,
        new: &NewPerson,
        request_id: &str,
    ) -> Result<CreatedPerson> {
        self.store
            .create_person(account, new, Some(request_id))
            .await
    }

    /// Whether the billed request `request_id` enrolled (a person or faces); when it did
    /// not, it is marked abandoned in the same step so that it never will. For the
    /// billing's reconciliation of enrolments left pending by a crash.
    pub async fn claim_enrolment(&self, account: &AccountId, request_id: &str) -> Result<bool> {
        self.store.claim_enrolment(account, request_id).await
    }

    /// GetPersonBaseInfo.
    pub async fn person(&self, account: &AccountId, person: &PersonId) -> Result<Person> {
        self.store.person(account, person).await
    }

    /// ModifyPersonBaseInfo; `None` leaves a field as it is.
    pub async fn modify_person_base_info(
        &self,
        account: &AccountId,
        person: &PersonId,
        name: Option<&str>,
        gender: Option<Gender>,
    ) -> Result<()> {
        self.store
            .modify_person_base_info(account, person, name, gender)
            .await
    }

    /// ModifyPersonGroupInfo.
    pub async fn modify_person_group_info(
        &self,
        account: &AccountId,
        group: &GroupId,
        person: &PersonId,
        values: &[PersonDescription],
    ) -> Result<()> {
        self.store
            .modify_person_group_info(account, group, person, values)
            .await
    }

    /// DeletePerson: from every group, with its faces.
    pub async fn delete_person(&self, account: &AccountId, person: &PersonId) -> Result<()> {
        self.store.delete_person(account, person).await
    }

    /// DeletePersonFromGroup: a person left in no group is deleted.
    pub async fn delete_person_from_group(
        &self,
        account: &AccountId,
        group: &GroupId,
        person: &PersonId,
    ) -> Result<()> {
        self.store
            .delete_person_from_group(account, group, person)
            .await
    }

    /// CopyPerson: returns the groups the person was added to (SucGroupIds).
    pub async fn copy_person(
        &self,
        account: &AccountId,
        person: &PersonId,
        groups: &[GroupId],
    ) -> Result<Vec<GroupId>> {
        self.store.copy_person(account, person, groups).await
    }

    /// GetPersonList: Offset ≥ 0, Limit 1..=1000 (default 10).
    pub async fn list_persons(
        &self,
        account: &AccountId,
        group: &GroupId,
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> Result<PersonList> {
        let page = Page::new(offset, limit, MAX_LIST_LIMIT)?;
        let (members, face_num, face_model_version) =
            self.store.list_members(account, group, page).await?;
        Ok(PersonList {
            members,
            face_num,
            face_model_version,
        })
    }

    /// GetPersonListNum: (persons, faces) of a group.
    pub async fn person_list_num(
        &self,
        account: &AccountId,
        group: &GroupId,
    ) -> Result<(u64, u64)> {
        let g = self.store.group(account, group).await?;
        Ok((g.person_count, g.face_count))
    }

    /// GetPersonGroupInfo: Offset ≥ 0, Limit 1..=100 (default 10).
    pub async fn person_groups(
        &self,
        account: &AccountId,
        person: &PersonId,
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> Result<(Listed<PersonGroupInfo>, FaceModelVersion)> {
        let page = Page::new(offset, limit, MAX_PERSON_GROUP_LIST_LIMIT)?;
        self.store.person_groups(account, person, page).await
    }

    // Faces.

    /// CreateFace: adds 1 to 4 faces; never takes a person past five, even under
    /// concurrent calls. Returns the new FaceIds in input order.
    pub async fn create_faces(
        &self,
        account: &AccountId,
        person: &PersonId,
        faces: &[NewFace],
    ) -> Result<Vec<FaceId>> {
        self.store.create_faces(account, person, faces, None).await
    }

    /// CreateFace paid for by the billed request `request_id`; see
    /// [`Gallery::create_person_for`].
    pub async fn create_faces_for(
        &self,
        account: &AccountId,
        person: &PersonId,
        faces: &[NewFace],
        request_id: &str,
    ) -> Result<Vec<FaceId>> {
        self.store
            .create_faces(account, person, faces, Some(request_id))
            .await
    }

    /// DeleteFace: returns the ids deleted (SucFaceIds).
    pub async fn delete_faces(
        &self,
        account: &AccountId,
        person: &PersonId,
        face_ids: &[FaceId],
    ) -> Result<Vec<FaceId>> {
        self.store.delete_faces(account, person, face_ids).await
    }

    /// The version of the descriptors the person holds: its new faces must be described
    /// with it (the version of the group it was created in; 1 for persons stored before
    /// descriptor versions were).
    pub async fn person_descriptor_version(
        &self,
        account: &AccountId,
        person: &PersonId,
    ) -> Result<u32> {
        self.store.person_descriptor_version(account, person).await
    }

    /// The person's faces with descriptors (VerifyFace, VerifyPerson, and the
    /// FaceMatchThreshold check of CreateFace).
    pub async fn person_faces(&self, account: &AccountId, person: &PersonId) -> Result<Vec<Face>> {
        self.store.person_faces(account, person).await
    }

    /// The face's thumbnail (a small JPEG cut at enrolment, for the web console), if one
    /// was stored. Scoped by account: another account's face id finds none.
    pub async fn thumbnail(
        &self,
        account: &AccountId,
        face_id: &FaceId,
    ) -> Result<Option<Vec<u8>>> {
        self.store.thumbnail(account, face_id).await
    }

    /// Whether enrolments store a thumbnail of each new face: the deployment's setting,
    /// on by default. Read from the database on every call (one primary-key read, no
    /// cache), so every node sharing the database sees a change at once.
    pub async fn stores_thumbnails(&self) -> Result<bool> {
        self.store.stores_thumbnails().await
    }

    /// Turns storing thumbnails on or off for the whole deployment (every node sharing
    /// the database). The write of each enrolment reads it again in its transaction.
    /// Turning it off keeps the thumbnails already stored until their faces are deleted.
    pub async fn set_store_thumbnails(&self, on: bool) -> Result<()> {
        self.store.set_store_thumbnails(on).await
    }

    /// Drops change-log rows older than `max_age`; run it now and then from one node.
    /// Indexes further behind than that reload their group whole.
    pub async fn prune_change_log(&self, max_age: std::time::Duration) -> Result<u64> {
        let before = now_us() - i64::try_from(max_age.as_micros()).unwrap_or(i64::MAX);
        self.store.prune_changes(before).await
    }

    // Search.

    /// SearchFaces, SearchPersons and their ReturnsByGroup variants.
    pub async fn search(&self, account: &AccountId, req: &SearchRequest) -> Result<SearchResponse> {
        let groups = req.checked_groups(self.store.descriptor_dim())?;
        let states = self.store.group_states(account, &groups).await?;
        let mut ordered = Vec::with_capacity(groups.len());
        for g in &groups {
            ordered.push(
                states
                    .get(g)
                    .ok_or_else(|| GalleryError::GroupNotFound(g.to_string()))?,
            );
        }
        let version = ordered[0].face_model_version;
        if ordered.iter().any(|s| s.face_model_version != version) {
            return Err(GalleryError::AcrossModelVersions);
        }
        let descriptor_version = ordered[0].descriptor_version;
        if let Some(other) = ordered
            .iter()
            .find(|s| s.descriptor_version != descriptor_version)
        {
            return Err(GalleryError::AcrossDescriptorVersions(
                descriptor_version.min(other.descriptor_version),
                descriptor_version.max(other.descriptor_version),
            ));
        }
        let face_num: u64 = ordered.iter().map(|s| s.face_count).sum();
        let person_num: u64 = ordered.iter().map(|s| s.person_count).sum();
        let max_faces = match version {
            FaceModelVersion::V2 => self.store.limits().max_search_faces_v2,
            FaceModelVersion::V3 => self.store.limits().max_search_faces_v3,
        };
        if face_num > max_faces {
            return Err(GalleryError::SearchFaceLimit {
                faces: face_num,
                max: max_faces,
            });
        }
        if face_num == 0 {
            return Err(GalleryError::NoFaceInGroups);
        }
        let mut slots = Vec::with_capacity(ordered.len());
        for state in &ordered {
            slots.push(self.cache.fresh(&self.store, account, state).await?);
        }

        let req_owned = req.clone();
        let groups_owned = groups.clone();
        let results =
            tokio::task::spawn_blocking(move || run_search(&req_owned, &groups_owned, &slots))
                .await
                .map_err(|e| GalleryError::Index(e.to_string()))?;

        let person_info = if req.need_person_info {
            let mut ids: Vec<PersonId> = results
                .iter()
                .flat_map(|r| {
                    r.persons
                        .iter()
                        .chain(r.by_group.iter().flat_map(|g| g.persons.iter()))
                        .map(|p| p.person_id.clone())
                })
                .collect();
            ids.sort();
            ids.dedup();
            self.store
                .persons_in_groups(account, &ids, &groups)
                .await?
                .into_iter()
                .map(|(id, (person, groups))| (id, PersonInfo { person, groups }))
                .collect()
        } else {
            HashMap::new()
        };
        Ok(SearchResponse {
            results,
            face_num,
            person_num,
            face_model_version: version,
            descriptor_version,
            person_info,
        })
    }

    /// Live faces of a group's index on this node and whether it has its inverted file
    /// yet (None when this node has not searched the group).
    pub fn index_stats(&self, account: &AccountId, group: &GroupId) -> Option<(usize, bool)> {
        self.cache.stats(account, group)
    }
}

fn run_search(
    req: &SearchRequest,
    groups: &[GroupId],
    slots: &[Arc<GroupSlot>],
) -> Vec<ProbeResult> {
    let k = req.faces_per_group();
    let max_distance = req.max_distance.unwrap_or(f32::INFINITY);
    req.probes
        .iter()
        .map(|probe| {
            let per_group: Vec<Vec<FaceHit>> = slots
                .iter()
                .map(|s| {
                    let index = s.index.read();
                    index
                        .nearest(probe.as_slice(), k, max_distance, req.strategy)
                        .into_iter()
                        .filter_map(|n| hit_of(&index, n))
                        .collect()
                })
                .collect();
            if req.by_group {
                let by_group = groups
                    .iter()
                    .zip(&per_group)
                    .map(|(g, hits)| {
                        let faces = merge_faces(std::slice::from_ref(hits), k);
                        GroupHits {
                            group_id: g.clone(),
                            persons: rank_persons(&faces, req.max_person_num),
                        }
                    })
                    .collect();
                ProbeResult {
                    persons: Vec::new(),
                    faces: merge_faces(&per_group, k),
                    by_group,
                }
            } else {
                let faces = merge_faces(&per_group, k);
                ProbeResult {
                    persons: rank_persons(&faces, req.max_person_num),
                    faces,
                    by_group: Vec::new(),
                }
            }
        })
        .collect()
}

/// A neighbour with its descriptor, read from the index that found it (under the same
/// read lock, so the face is there).
fn hit_of(index: &FaceIndex, n: Neighbour) -> Option<FaceHit> {
    let descriptor = index
        .person_faces(&n.person_id)
        .into_iter()
        .find(|(f, _)| **f == n.face_id)
        .and_then(|(_, d)| Descriptor::new(d.to_vec()).ok())?;
    Some(FaceHit {
        face_id: n.face_id,
        person_id: n.person_id,
        distance: n.distance,
        descriptor,
    })
}

/// The API server runs these futures on a multi-threaded runtime: they must be Send.
/// (Checked when the tests compile.)
#[cfg(test)]
#[allow(dead_code)]
fn futures_are_send(g: &Gallery, a: &AccountId, r: &SearchRequest, p: &PersonId) {
    fn send<T: Send>(_: T) {}
    send(g.search(a, r));
    send(g.create_faces(a, p, &[]));
    send(g.delete_group(a, &GroupId::trusted(String::new())));
    send(g.copy_person(a, p, &[]));
    send(g.thumbnail(a, &FaceId::from_request("1")));
    send(g.set_store_thumbnails(true));
}
