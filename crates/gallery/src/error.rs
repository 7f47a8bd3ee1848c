//! The one error type of the gallery. Each variant carries what the API needs to
//! pick the IAI error code (the mapping table lives in `docs/gallery.md` and, as code,
//! in the `api` crate).

use crate::limits::Field;

/// Everything a gallery operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    /// A text field is empty where it must not be, or longer than its limit.
    #[error("{field} must be {min} to {max} characters, got {len}")]
    FieldLength {
        field: Field,
        len: usize,
        min: usize,
        max: usize,
    },
    /// A text field contains a character its syntax does not allow.
    #[error("{field} contains the character {ch:?}, which is not allowed")]
    FieldCharacter { field: Field, ch: char },
    /// A list is longer than its limit (GroupIds, GroupExDescriptions, paging Limit…).
    #[error("{field} has {len} entries, at most {max} are allowed")]
    TooMany {
        field: Field,
        len: usize,
        max: usize,
    },
    /// The names of the group's custom description fields repeat.
    #[error("group description field name {0:?} appears twice")]
    DuplicateGroupDescription(String),
    /// A person's description value names an index the group does not define, or
    /// names one index twice.
    #[error(
        "person description index {index} is not one of the group's {defined} fields, or repeats"
    )]
    PersonDescriptionIndex { index: i64, defined: usize },
    /// Gender outside 0 (unset), 1 (male), 2 (female).
    #[error("gender must be 0, 1 or 2, got {0}")]
    Gender(i64),
    /// FaceModelVersion other than "2.0" or "3.0".
    #[error("face model version {0:?} is not supported")]
    FaceModelVersion(String),
    /// A search or copy spans groups of different face model versions.
    #[error("groups of different face model versions cannot be mixed")]
    AcrossModelVersions,
    /// A search spans groups whose descriptors are of different versions.
    #[error(
        "the searched groups hold face descriptors of different versions ({0} and {1}), which cannot be compared: search the groups of each version separately"
    )]
    AcrossDescriptorVersions(u32, u32),
    /// A person would join a group (or a face a person) whose descriptors are of another
    /// version.
    #[error(
        "{what} holds version-{expected} face descriptors and {other} version-{actual} ones, which cannot be compared: {hint}"
    )]
    DescriptorVersionMismatch {
        what: String,
        expected: u32,
        other: String,
        actual: u32,
        hint: &'static str,
    },
    /// A descriptor with the wrong dimension or a non-finite component.
    #[error("descriptor is invalid: {0}")]
    Descriptor(String),
    /// Paging offset beyond what the API allows (negative).
    #[error("offset {0} is out of range")]
    Offset(i64),
    /// MaxPersonNum / MaxFaceNum / Limit outside its documented range.
    #[error("{field} must be between {min} and {max}, got {value}")]
    OutOfRange {
        field: Field,
        value: i64,
        min: i64,
        max: i64,
    },

    #[error("group {0} already exists")]
    GroupIdAlreadyExists(String),
    #[error("a group named {0:?} already exists")]
    GroupNameAlreadyExists(String),
    #[error("group {0} does not exist")]
    GroupNotFound(String),
    #[error("person {0} already exists")]
    PersonIdAlreadyExists(String),
    #[error("person {0} does not exist")]
    PersonNotFound(String),
    #[error("face {0} does not exist on this person")]
    FaceNotFound(String),
    #[error("person {person_id} is already in group {group_id}")]
    PersonAlreadyInGroup { group_id: String, person_id: String },
    #[error("person {person_id} is not in group {group_id}")]
    PersonNotInGroup { group_id: String, person_id: String },

    /// The person would hold more than five faces.
    #[error("a person holds at most {max} faces; it has {existing} and {adding} were added")]
    PersonFaceLimit {
        existing: usize,
        adding: usize,
        max: usize,
    },
    /// One CreateFace call adds more faces than allowed at once.
    #[error("at most {max} faces can be added in one call, got {got}")]
    UploadFaceLimit { got: usize, max: usize },
    /// Deleting these faces would leave the person without any.
    #[error("a person must keep at least one face")]
    LastFace,
    /// The group would hold more faces than its model version allows.
    #[error("group {group_id} would exceed its limit of {max} faces")]
    GroupFaceLimit { group_id: String, max: u64 },
    /// The account would own more groups than allowed.
    #[error("an account holds at most {max} groups")]
    GroupCountLimit { max: u64 },
    /// The person would be a member of more than 100 groups.
    #[error("a person can be in at most {max} groups")]
    GroupsPerPersonLimit { max: usize },
    /// None of the searched groups holds a face.
    #[error("the searched groups hold no faces")]
    NoFaceInGroups,
    /// The searched groups together hold more faces than one search may cover.
    #[error("the searched groups hold {faces} faces, at most {max} can be searched at once")]
    SearchFaceLimit { faces: u64, max: u64 },

    /// A face thumbnail larger than [`crate::limits::MAX_THUMBNAIL_BYTES`].
    #[error("a face thumbnail holds at most {max} bytes, got {len}")]
    ThumbnailTooLarge { len: usize, max: usize },

    /// The billing's reconciliation gave this request up as never enrolled (its charge is
    /// voided), so its write is refused: the call outlived the reconciliation's grace.
    #[error("request {0} was abandoned before its write; nothing was enrolled")]
    EnrolmentAbandoned(String),
    /// Another writer touched the same rows at the same time and the retries ran out.
    #[error("conflicting concurrent operation, try again")]
    Conflict,
    /// Stored data that cannot be read back (corrupt descriptor, bad JSON).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("index error: {0}")]
    Index(String),
}

/// Short for `Result<T, GalleryError>`.
pub type Result<T, E = GalleryError> = std::result::Result<T, E>;
