//! The one error type of the local gallery.

use std::fmt;
use std::path::PathBuf;

use crate::ids::{FaceId, PersonId};

/// A text field the gallery checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    PersonId,
    Name,
    Tag,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PersonId => "PersonId",
            Self::Name => "name",
            Self::Tag => "tag",
        })
    }
}

/// Which file a format error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The gallery's own log in its directory.
    Gallery,
    /// An export being imported.
    Export,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Gallery => "gallery",
            Self::Export => "export",
        })
    }
}

/// Everything a local-gallery operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum LocalGalleryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading an import or writing an export failed.
    #[error("export stream: {0}")]
    Stream(#[source] std::io::Error),
    /// Another process (or another open handle) holds the gallery.
    #[error("{0} is open elsewhere")]
    Locked(PathBuf),
    /// The key does not open the file: its sealed key check does not authenticate.
    #[error("the key does not open this {0}")]
    WrongKey(Source),
    /// Not a file of ours, or of a format version or kind we do not read.
    #[error("not a readable {what}: {reason}")]
    NotRecognised { what: Source, reason: String },
    /// Damage that is not a torn last write: a bad checksum before the end, a malformed
    /// record, records that contradict each other.
    #[error("{what} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        what: Source,
        offset: u64,
        reason: String,
    },
    /// A record whose checksum is right but which does not authenticate under the key:
    /// altered, moved or from another file.
    #[error("{what} record at byte {offset} was altered")]
    Tampered { what: Source, offset: u64 },
    /// An export that stops before its end record.
    #[error("the export is truncated")]
    Truncated,
    #[error("{field} must be {min} to {max} long, got {len}")]
    FieldLength {
        field: Field,
        len: usize,
        min: usize,
        max: usize,
    },
    #[error("{field} contains the character {ch:?}, which is not allowed")]
    FieldCharacter { field: Field, ch: char },
    /// Wrong dimension or a non-finite component.
    #[error("descriptor is invalid: {0}")]
    Descriptor(String),
    #[error("person {person} would have more than {max} faces")]
    TooManyFaces { person: PersonId, max: usize },
    #[error("person {0} is not in the gallery")]
    PersonNotFound(PersonId),
    #[error("face {0} is not in the gallery")]
    FaceNotFound(FaceId),
    /// A merged import holds a face id the gallery has with different contents.
    #[error("face {0} is in the gallery with other contents")]
    ImportConflict(FaceId),
    /// A failed write could not be undone on disk; reopening the gallery recovers.
    /// An import would put faces described with one descriptor version beside faces of
    /// another: they cannot be compared.
    #[error(
        "the gallery holds version-{gallery} descriptors and the export version-{export} ones, which cannot be compared: import it into an empty gallery, or replace the gallery with it"
    )]
    DescriptorVersion { gallery: u8, export: u8 },
    #[error("a failed write left the gallery file unusable until it is reopened")]
    Broken,
    /// AES-GCM refused to seal (only for messages far larger than any record).
    #[error("sealing a record failed")]
    Seal,
    /// The operating system's random source failed (nonces and ids come from it).
    #[error("random source: {0}")]
    Random(String),
}

pub type Result<T, E = LocalGalleryError> = std::result::Result<T, E>;
