//! The limits the IAI API 3.0 documents for groups, persons and faces, in one place.

use std::fmt;

/// Longest GroupId / PersonId, in bytes ("长度限制64B").
pub const MAX_ID_BYTES: usize = 64;
/// GroupName: [1, 60] characters.
pub const MAX_GROUP_NAME_CHARS: usize = 60;
/// Tag: [0, 40] characters.
pub const MAX_TAG_CHARS: usize = 40;
/// At most five custom description fields per group.
pub const MAX_GROUP_DESCRIPTIONS: usize = 5;
/// Each custom description field name: [1, 30] characters.
pub const MAX_GROUP_DESCRIPTION_CHARS: usize = 30;
/// PersonName: [1, 60] characters.
pub const MAX_PERSON_NAME_CHARS: usize = 60;
/// A person's description value: [0, 60] characters.
pub const MAX_PERSON_DESCRIPTION_CHARS: usize = 60;
/// A person holds at most five faces.
pub const MAX_FACES_PER_PERSON: usize = 5;
/// One CreateFace call adds at most four faces ("一次最多上传四张人脸"): a person
/// always starts with one.
pub const MAX_FACES_PER_UPLOAD: usize = 4;
/// A person is in at most 100 groups.
pub const MAX_GROUPS_PER_PERSON: usize = 100;
/// SearchFaces / SearchPersons: at most 100 groups per search.
pub const MAX_SEARCH_GROUPS: usize = 100;
/// The ReturnsByGroup variants: at most 60 groups per search.
pub const MAX_SEARCH_GROUPS_BY_GROUP: usize = 60;
/// MaxPersonNum: default 5, at most 100.
pub const MAX_PERSON_NUM: usize = 100;
/// MaxPersonNumPerGroup: default 5, at most 10.
pub const MAX_PERSON_NUM_PER_GROUP: usize = 10;
/// GetGroupList / GetPersonList: Limit at most 1000.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// GetPersonGroupInfo: Limit at most 100.
pub const MAX_PERSON_GROUP_LIST_LIMIT: u32 = 100;
/// Default page size of every list action.
pub const DEFAULT_LIST_LIMIT: u32 = 10;
/// Largest face thumbnail stored, in bytes. Not an API limit: ours, far above the
/// ~4.4 KB of `vision::thumbnail`'s 112-px JPEG, so that only a caller's mistake meets it.
pub const MAX_THUMBNAIL_BYTES: usize = 64 * 1024;

/// Limits that an operator may want to change; the defaults are the documented ones.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Groups per account (documented: 100,000 per APPID).
    pub max_groups_per_account: u64,
    /// Faces in a group of model version 2.0 (documented: 1,000,000).
    pub max_faces_per_group_v2: u64,
    /// Faces in a group of model version 3.0 (documented: 3,000,000).
    pub max_faces_per_group_v3: u64,
    /// Faces one search may cover, summed over its groups (same figures as a group).
    pub max_search_faces_v2: u64,
    pub max_search_faces_v3: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_groups_per_account: 100_000,
            max_faces_per_group_v2: 1_000_000,
            max_faces_per_group_v3: 3_000_000,
            max_search_faces_v2: 1_000_000,
            max_search_faces_v3: 3_000_000,
        }
    }
}

/// Names of the request fields the checks talk about, spelled as the API spells them,
/// so an error can be mapped to its IAI code without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    AccountId,
    GroupId,
    GroupName,
    Tag,
    GroupExDescriptions,
    GroupExDescriptionName,
    PersonId,
    PersonName,
    PersonExDescriptionInfos,
    PersonExDescription,
    FaceIds,
    GroupIds,
    Limit,
    MaxFaceNum,
    MaxPersonNum,
    MaxPersonNumPerGroup,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Field::AccountId => "AccountId",
            Field::GroupId => "GroupId",
            Field::GroupName => "GroupName",
            Field::Tag => "Tag",
            Field::GroupExDescriptions => "GroupExDescriptions",
            Field::GroupExDescriptionName => "GroupExDescription",
            Field::PersonId => "PersonId",
            Field::PersonName => "PersonName",
            Field::PersonExDescriptionInfos => "PersonExDescriptionInfos",
            Field::PersonExDescription => "PersonExDescription",
            Field::FaceIds => "FaceIds",
            Field::GroupIds => "GroupIds",
            Field::Limit => "Limit",
            Field::MaxFaceNum => "MaxFaceNum",
            Field::MaxPersonNum => "MaxPersonNum",
            Field::MaxPersonNumPerGroup => "MaxPersonNumPerGroup",
        };
        f.write_str(name)
    }
}
