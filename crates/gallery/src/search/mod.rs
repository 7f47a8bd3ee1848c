//! 1:N search: requests, results, and how per-group neighbours become the ranked
//! persons and faces of SearchFaces / SearchPersons and their ReturnsByGroup variants.

pub(crate) mod cache;

use std::collections::{HashMap, HashSet};

// The index itself lives in `face-index`, shared with the on-device gallery.
pub use face_index::{squared_l2, AnnParams, IndexConfig, Strategy};

/// One group's faces in memory, keyed by the gallery's ids.
pub type FaceIndex = face_index::FaceIndex<FaceId, PersonId>;
/// A face found in one group.
pub type Neighbour = face_index::Neighbour<FaceId, PersonId>;

use crate::error::{GalleryError, Result};
use crate::ids::{FaceId, GroupId, PersonId};
use crate::limits::{
    Field, MAX_FACES_PER_PERSON, MAX_PERSON_NUM, MAX_PERSON_NUM_PER_GROUP, MAX_SEARCH_GROUPS,
    MAX_SEARCH_GROUPS_BY_GROUP,
};
use crate::model::{Descriptor, FaceModelVersion, Person, PersonGroupInfo};

/// Most faces searched from one image (MaxFaceNum).
pub const MAX_PROBE_FACES: usize = 10;

/// One search: the probe faces of an image against some groups.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub group_ids: Vec<GroupId>,
    /// The faces found in the image, largest first (at most MaxFaceNum of them).
    pub probes: Vec<Descriptor>,
    /// Persons to return per probe (MaxPersonNum), or per probe and group
    /// (MaxPersonNumPerGroup) when `by_group`.
    pub max_person_num: usize,
    /// Rank per group (SearchFacesReturnsByGroup, SearchPersonsReturnsByGroup).
    pub by_group: bool,
    /// Only faces at most this far away (the API's FaceMatchThreshold, converted).
    pub max_distance: Option<f32>,
    /// Fetch names, genders and group descriptions of the persons found.
    pub need_person_info: bool,
    pub strategy: Strategy,
}

/// A face near a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceHit {
    pub face_id: FaceId,
    pub person_id: PersonId,
    pub distance: f32,
    /// The matched face's descriptor, so that the caller can score the pair with a score
    /// model that depends on both descriptors (version 2's).
    pub descriptor: Descriptor,
}

/// A person near a probe, ranked by the nearest of its faces.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonHit {
    pub person_id: PersonId,
    /// The face that ranked the person.
    pub face_id: FaceId,
    pub distance: f32,
    /// That face's descriptor.
    pub descriptor: Descriptor,
}

/// Persons found in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupHits {
    pub group_id: GroupId,
    pub persons: Vec<PersonHit>,
}

/// The result for one probe face.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProbeResult {
    /// Across all groups, at most `max_person_num` (empty when `by_group`).
    pub persons: Vec<PersonHit>,
    /// The nearest faces across all groups, each face once, at most
    /// `max_person_num × 5`.
    pub faces: Vec<FaceHit>,
    /// Per group in request order, when `by_group`.
    pub by_group: Vec<GroupHits>,
}

/// What the API needs about a person found (NeedPersonInfo).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonInfo {
    pub person: Person,
    /// The searched groups the person is in, with its descriptions there.
    pub groups: Vec<PersonGroupInfo>,
}

/// The answer to a [`SearchRequest`].
#[derive(Debug, Clone)]
pub struct SearchResponse {
    /// One per probe, in probe order.
    pub results: Vec<ProbeResult>,
    /// Faces in the searched groups (FaceNum), summed over groups.
    pub face_num: u64,
    /// Persons in the searched groups (PersonNum), summed over groups.
    pub person_num: u64,
    pub face_model_version: FaceModelVersion,
    /// The version of the descriptors the searched groups hold (all the same): the probes
    /// must be of it, and the hits are scored with its model.
    pub descriptor_version: u32,
    /// Filled when `need_person_info`.
    pub person_info: HashMap<PersonId, PersonInfo>,
}

impl SearchRequest {
    /// Checks the request against the documented limits; returns the groups without
    /// repeats, in request order.
    pub(crate) fn checked_groups(&self, descriptor_dim: usize) -> Result<Vec<GroupId>> {
        let max_groups = if self.by_group {
            MAX_SEARCH_GROUPS_BY_GROUP
        } else {
            MAX_SEARCH_GROUPS
        };
        if self.group_ids.is_empty() || self.group_ids.len() > max_groups {
            return Err(GalleryError::TooMany {
                field: Field::GroupIds,
                len: self.group_ids.len(),
                max: max_groups,
            });
        }
        if self.probes.is_empty() || self.probes.len() > MAX_PROBE_FACES {
            return Err(GalleryError::OutOfRange {
                field: Field::MaxFaceNum,
                value: self.probes.len() as i64,
                min: 1,
                max: MAX_PROBE_FACES as i64,
            });
        }
        let (field, max_persons) = if self.by_group {
            (Field::MaxPersonNumPerGroup, MAX_PERSON_NUM_PER_GROUP)
        } else {
            (Field::MaxPersonNum, MAX_PERSON_NUM)
        };
        if self.max_person_num == 0 || self.max_person_num > max_persons {
            return Err(GalleryError::OutOfRange {
                field,
                value: self.max_person_num as i64,
                min: 1,
                max: max_persons as i64,
            });
        }
        for p in &self.probes {
            if p.dim() != descriptor_dim {
                return Err(GalleryError::Descriptor(format!(
                    "probe has {} components, the gallery stores {descriptor_dim}",
                    p.dim()
                )));
            }
        }
        let mut seen = HashSet::new();
        Ok(self
            .group_ids
            .iter()
            .filter(|g| seen.insert(*g))
            .cloned()
            .collect())
    }

    /// How many faces each group must return so that `max_person_num` distinct
    /// persons can be formed: a person has at most five faces.
    pub(crate) fn faces_per_group(&self) -> usize {
        self.max_person_num * MAX_FACES_PER_PERSON
    }
}

/// Best face per person, nearest first, at most `k` persons.
pub(crate) fn rank_persons(hits: &[FaceHit], k: usize) -> Vec<PersonHit> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    // `hits` is sorted nearest first, so a person's first hit is its best.
    for h in hits {
        if out.len() == k {
            break;
        }
        if seen.insert(&h.person_id) {
            out.push(PersonHit {
                person_id: h.person_id.clone(),
                face_id: h.face_id.clone(),
                distance: h.distance,
                descriptor: h.descriptor.clone(),
            });
        }
    }
    out
}

/// Merges per-group neighbours into one list, each face once, nearest first.
pub(crate) fn merge_faces(per_group: &[Vec<FaceHit>], k: usize) -> Vec<FaceHit> {
    let mut all: Vec<&FaceHit> = per_group.iter().flatten().collect();
    all.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then_with(|| a.face_id.cmp(&b.face_id))
    });
    let mut seen = HashSet::new();
    all.into_iter()
        .filter(|n| seen.insert(&n.face_id))
        .take(k)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(face: &str, person: &str, d: f32) -> FaceHit {
        FaceHit {
            face_id: FaceId::trusted(face.into()),
            person_id: PersonId::new(person).unwrap(),
            distance: d,
            descriptor: Descriptor::new(vec![d]).unwrap(),
        }
    }

    #[test]
    fn persons_rank_by_their_best_face_and_faces_appear_once() {
        // Person a is in both groups, so its face f1 comes back twice.
        let g1 = vec![n("f1", "a", 0.3), n("f2", "b", 0.4), n("f3", "a", 0.5)];
        let g2 = vec![n("f1", "a", 0.3), n("f4", "c", 0.35)];
        let faces = merge_faces(&[g1, g2], 10);
        let ids: Vec<&str> = faces.iter().map(|f| f.face_id.as_str()).collect();
        assert_eq!(ids, vec!["f1", "f4", "f2", "f3"]);
        let persons = rank_persons(&faces, 2);
        assert_eq!(persons.len(), 2);
        assert_eq!(persons[0].person_id.as_str(), "a");
        assert_eq!(persons[0].face_id.as_str(), "f1");
        assert_eq!(persons[1].person_id.as_str(), "c");
    }
}
