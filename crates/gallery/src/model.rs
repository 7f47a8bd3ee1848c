//! The domain: groups, persons, faces, their descriptors, and paging.

use crate::error::{GalleryError, Result};
use crate::ids::{FaceId, GroupId, PersonId};
use crate::limits::{Field, DEFAULT_LIST_LIMIT};

/// The face model version a group was created for. Descriptors of different versions
/// are not comparable, so a search or a copy never mixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaceModelVersion {
    V2,
    V3,
}

impl FaceModelVersion {
    /// Parses the API's spelling ("2.0", "3.0").
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "2.0" => Ok(Self::V2),
            "3.0" => Ok(Self::V3),
            other => Err(GalleryError::FaceModelVersion(other.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "2.0",
            Self::V3 => "3.0",
        }
    }
}

impl Default for FaceModelVersion {
    /// "3.0" is the documented default for new accounts.
    fn default() -> Self {
        Self::V3
    }
}

/// 0 = not given, 1 = male, 2 = female.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gender {
    #[default]
    Unset,
    Male,
    Female,
}

impl Gender {
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            0 => Ok(Self::Unset),
            1 => Ok(Self::Male),
            2 => Ok(Self::Female),
            other => Err(GalleryError::Gender(other)),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Unset => 0,
            Self::Male => 1,
            Self::Female => 2,
        }
    }
}

/// A face descriptor: the engine's embedding, compared by Euclidean distance.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor(Vec<f32>);

impl Descriptor {
    /// Refuses empty vectors and NaN/infinite components; the dimension is checked
    /// against the gallery's configuration when stored or searched.
    pub fn new(values: Vec<f32>) -> Result<Self> {
        if values.is_empty() {
            return Err(GalleryError::Descriptor("empty".into()));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(GalleryError::Descriptor(format!(
                "component {i} is not finite"
            )));
        }
        Ok(Self(values))
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    pub fn dim(&self) -> usize {
        self.0.len()
    }

    /// Little-endian f32 bytes, the stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(4) {
            return Err(GalleryError::Corrupt(format!(
                "descriptor of {} bytes is not a whole number of f32",
                bytes.len()
            )));
        }
        let values = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Self::new(values).map_err(|e| GalleryError::Corrupt(e.to_string()))
    }
}

/// Where the face was found in its source image (FaceRect of the API). Coordinates may
/// be negative when the box reaches past the image edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaceRect {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

/// A face to enrol: what the engine extracted from one image.
#[derive(Debug, Clone)]
pub struct NewFace {
    pub descriptor: Descriptor,
    /// Which version `descriptor` is; it must be the person's (and so its groups').
    pub descriptor_version: u32,
    pub rect: FaceRect,
    /// A small JPEG of the face for the web console, stored with the face in its
    /// transaction unless the deployment stores no thumbnails
    /// ([`crate::Gallery::set_store_thumbnails`]); at most
    /// [`crate::limits::MAX_THUMBNAIL_BYTES`].
    pub thumbnail: Option<Vec<u8>>,
}

/// A stored face.
#[derive(Debug, Clone)]
pub struct Face {
    pub face_id: FaceId,
    pub person_id: PersonId,
    pub descriptor: Descriptor,
    /// Which version `descriptor` is (1 for faces stored before versions were).
    pub descriptor_version: u32,
    pub rect: FaceRect,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// CreateGroup's input.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub group_id: GroupId,
    pub name: String,
    pub tag: String,
    /// Names of the custom description fields every person of the group gets.
    pub ex_descriptions: Vec<String>,
    pub face_model_version: FaceModelVersion,
    /// The version of the descriptors the group will hold (the `vision` crate's
    /// `DescriptorVersion::number()`, normally its latest); its persons get the same.
    pub descriptor_version: u32,
}

/// ModifyGroup's input; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupChanges {
    pub name: Option<String>,
    pub tag: Option<String>,
    /// (index, new name). An index equal to the current number of fields appends one.
    pub ex_descriptions: Vec<(i64, String)>,
}

/// A group as GetGroupInfo / GetGroupList return it, with its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub group_id: GroupId,
    pub name: String,
    pub tag: String,
    pub ex_descriptions: Vec<String>,
    pub face_model_version: FaceModelVersion,
    /// The version of the descriptors its persons' faces hold (1 for every group
    /// created before descriptor versions were stored).
    pub descriptor_version: u32,
    /// Milliseconds since the Unix epoch (CreationTimestamp).
    pub created_ms: i64,
    /// Milliseconds since the Unix epoch (UpdateTimestamp).
    pub updated_ms: i64,
    pub person_count: u64,
    pub face_count: u64,
}

/// One value of a person's custom description, by the group field's index.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonDescription {
    pub index: i64,
    pub value: String,
}

/// CreatePerson's input.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub group_id: GroupId,
    pub person_id: PersonId,
    pub name: String,
    pub gender: Gender,
    pub ex_descriptions: Vec<PersonDescription>,
    /// The face found in CreatePerson's image. The 2020-03-03 action always has one.
    pub face: Option<NewFace>,
}

/// What CreatePerson created.
#[derive(Debug, Clone)]
pub struct CreatedPerson {
    pub face_id: Option<FaceId>,
    pub face_model_version: FaceModelVersion,
    /// The group's descriptor version, now the person's.
    pub descriptor_version: u32,
}

/// A person (GetPersonBaseInfo).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub person_id: PersonId,
    pub name: String,
    pub gender: Gender,
    pub face_ids: Vec<FaceId>,
    pub created_ms: i64,
}

/// A person as a member of one group (GetPersonList, NeedPersonInfo).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMember {
    pub person: Person,
    /// One value per group description field, "" where none was given.
    pub ex_descriptions: Vec<String>,
}

/// One group a person is in, with the person's descriptions there (GetPersonGroupInfo).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonGroupInfo {
    pub group_id: GroupId,
    pub ex_descriptions: Vec<String>,
}

/// A page of a list: Offset/Limit as the API takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u32,
}

impl Page {
    /// Checks the API's paging fields: Offset ≥ 0 (default 0), Limit in 1..=max
    /// (default 10).
    pub fn new(offset: Option<i64>, limit: Option<i64>, max_limit: u32) -> Result<Self> {
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            return Err(GalleryError::Offset(offset));
        }
        let limit = limit.unwrap_or(i64::from(DEFAULT_LIST_LIMIT));
        if limit < 1 || limit > i64::from(max_limit) {
            return Err(GalleryError::OutOfRange {
                field: Field::Limit,
                value: limit,
                min: 1,
                max: i64::from(max_limit),
            });
        }
        Ok(Self {
            offset: offset as u64,
            limit: limit as u32,
        })
    }
}

/// One page of a list and the total it was cut from.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_bytes_round_trip() {
        let d = Descriptor::new(vec![0.5, -1.25, 3.0e-7]).unwrap();
        assert_eq!(d.to_bytes().len(), 12);
        assert_eq!(Descriptor::from_bytes(&d.to_bytes()).unwrap(), d);
        assert!(Descriptor::from_bytes(&[0, 0, 0]).is_err());
        assert!(Descriptor::new(vec![f32::NAN]).is_err());
        assert!(Descriptor::new(vec![]).is_err());
    }

    #[test]
    fn paging_defaults_and_limits() {
        assert_eq!(
            Page::new(None, None, 1000).unwrap(),
            Page {
                offset: 0,
                limit: 10
            }
        );
        assert!(Page::new(Some(-1), None, 1000).is_err());
        assert!(Page::new(None, Some(1001), 1000).is_err());
        assert!(Page::new(None, Some(0), 1000).is_err());
        assert_eq!(Page::new(Some(5), Some(100), 100).unwrap().limit, 100);
    }

    #[test]
    fn versions_and_genders_parse_as_documented() {
        assert_eq!(
            FaceModelVersion::parse("3.0").unwrap(),
            FaceModelVersion::V3
        );
        assert!(matches!(
            FaceModelVersion::parse("4.0"),
            Err(GalleryError::FaceModelVersion(_))
        ));
        assert_eq!(Gender::from_code(2).unwrap(), Gender::Female);
        assert!(matches!(Gender::from_code(3), Err(GalleryError::Gender(3))));
    }
}
