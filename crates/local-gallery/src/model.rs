//! What the gallery stores and returns, and its limits.

use face_index::IndexConfig;

use crate::error::{Field, LocalGalleryError, Result};
use crate::ids::{FaceId, PersonId};

/// Components of a descriptor (the `vision` engine's 128-d face descriptor).
pub const DESCRIPTOR_DIM: usize = 128;
/// Longest face name, in characters (the server's person-name limit).
pub const MAX_NAME_CHARS: usize = 60;
/// Longest tag, in bytes of UTF-8.
pub const MAX_TAG_BYTES: usize = 1024;
/// Faces per person unless [`Options`] say otherwise (the server's limit).
pub const DEFAULT_MAX_FACES_PER_PERSON: usize = 5;

/// Small metadata the app keeps with a face.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaceMeta {
    /// A display name: 1 to 60 characters, no control characters.
    pub name: Option<String>,
    /// Free text for the app (JSON or anything else), up to 1024 bytes.
    pub tag: Option<String>,
}

impl FaceMeta {
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(name) = &self.name {
            let len = name.chars().count();
            if len == 0 || len > MAX_NAME_CHARS {
                return Err(LocalGalleryError::FieldLength {
                    field: Field::Name,
                    len,
                    min: 1,
                    max: MAX_NAME_CHARS,
                });
            }
            if let Some(ch) = name.chars().find(|c| c.is_control()) {
                return Err(LocalGalleryError::FieldCharacter {
                    field: Field::Name,
                    ch,
                });
            }
        }
        if let Some(tag) = &self.tag {
            if tag.len() > MAX_TAG_BYTES {
                return Err(LocalGalleryError::FieldLength {
                    field: Field::Tag,
                    len: tag.len(),
                    min: 0,
                    max: MAX_TAG_BYTES,
                });
            }
        }
        Ok(())
    }
}

/// Refuses descriptors of another dimension or with non-finite components.
pub(crate) fn check_descriptor(d: &[f32]) -> Result<()> {
    if d.len() != DESCRIPTOR_DIM {
        return Err(LocalGalleryError::Descriptor(format!(
            "{} components, the gallery stores {DESCRIPTOR_DIM}",
            d.len()
        )));
    }
    if let Some(i) = d.iter().position(|v| !v.is_finite()) {
        return Err(LocalGalleryError::Descriptor(format!(
            "component {i} is not finite"
        )));
    }
    Ok(())
}

/// A face to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFace {
    pub person: PersonId,
    pub descriptor: Vec<f32>,
    pub meta: FaceMeta,
}

/// A stored face.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    pub id: FaceId,
    pub descriptor: Vec<f32>,
    pub meta: FaceMeta,
}

/// A person and its faces, in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: PersonId,
    pub faces: Vec<Face>,
}

/// A face found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub person: PersonId,
    pub face: FaceId,
    /// Euclidean distance to the probe (the SDK turns it into a score).
    pub distance: f32,
    /// The face's descriptor: a score model of the pair (descriptor version 2's) needs
    /// both descriptors.
    pub descriptor: Vec<f32>,
}

/// What an import does with the faces already in the gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Keep them and add the export's faces. A face id present in both must have the
    /// same contents (then it is kept once), and no person may exceed its face limit.
    Merge,
    /// The gallery becomes exactly the export's contents.
    Replace,
}

/// How a gallery is opened.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Faces one person may have (checked on add and import, not on open).
    pub max_faces_per_person: usize,
    /// Search index: exact below `ann_min_faces`, inverted file above (the server's
    /// defaults).
    pub index: IndexConfig,
    /// The log is rewritten without its dead records once it holds more than this many
    /// and more dead records than live faces.
    pub compact_min_dead: usize,
    /// The descriptor version (the `vision` crate's number) a gallery without faces
    /// records, so that its new faces are of it: a new gallery, or one opened empty. A
    /// gallery with faces keeps the version its file records (1 for every file written
    /// before versions were recorded).
    pub descriptor_version: u8,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_faces_per_person: DEFAULT_MAX_FACES_PER_PERSON,
            index: IndexConfig::default(),
            compact_min_dead: 4096,
            descriptor_version: 1,
        }
    }
}

/// The gallery's size and search mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub persons: usize,
    pub faces: usize,
    /// Records in the log, live or dead (what compaction would drop).
    pub log_records: u64,
    /// Bytes of the log file.
    pub log_bytes: u64,
    /// Whether searches go through the inverted file (built in the background once
    /// the gallery reaches `ann_min_faces`).
    pub inverted_file: bool,
}
