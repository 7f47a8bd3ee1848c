//! The offline SDK's on-device face gallery.
//!
//! What it is for: persons (ids under the server's PersonId rule), each with a few faces
//! (a 128-d descriptor from `vision` and small metadata), kept in one directory and
//! searched 1:N with the server's index code (`face-index`: exact below its threshold,
//! inverted file above). At rest every byte of person data is sealed with AES-256-GCM
//! under a key the app supplies, and a wrong key is refused at open
//! ([`LocalGalleryError::WrongKey`]). Writes go to an append-only log and are fsynced
//! before they return; a process killed mid-write leaves the write either whole or
//! absent, and any other damage is a typed error. One export format moves a gallery
//! between devices. The formats are described byte by byte in `docs/local-gallery.md`.
//!
//! What it is not for: images, detection, descriptors or scores (the SDK does those
//! with `vision`); key storage (the app supplies the key); several processes sharing
//! a gallery (the directory is locked by the handle that opened it).

mod error;
mod export;
mod format;
mod gallery;
mod ids;
mod log;
mod model;
mod record;

pub use error::{Field, LocalGalleryError, Result, Source};
pub use export::Imported;
pub use face_index::IndexConfig;
pub use gallery::LocalGallery;
pub use ids::{FaceId, PersonId, MAX_PERSON_ID_BYTES};
pub use model::{
    Face, FaceMeta, Hit, ImportMode, NewFace, Options, Person, Stats, DEFAULT_MAX_FACES_PER_PERSON,
    DESCRIPTOR_DIM, MAX_NAME_CHARS, MAX_TAG_BYTES,
};
