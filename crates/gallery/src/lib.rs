//! The gallery: person groups, persons, faces and their descriptors, and 1:N search
//! over them, for the IAI API 3.0 actions (CreateGroup … SearchPersonsReturnsByGroup).
//!
//! What it is for: storing what the group/person/face actions create, with every
//! limit and id rule the API documents and a typed error per refusal
//! ([`GalleryError`]); and answering searches, exactly for small groups and through
//! an inverted-file (IVF) index for large ones. Everything is scoped by an [`AccountId`].
//! Storage is one `sqlx::AnyPool` (SQLite or PostgreSQL, tables prefixed
//! `gallery_`); several nodes can share one PostgreSQL database, and each search
//! first brings its node's indexes up to the database's revision, so an enrolment
//! committed through one node is found through any other (see `docs/gallery.md`).
//!
//! It also keeps a small JPEG thumbnail per face for the web console, as the caller's
//! bytes, written and deleted with the face, and the deployment's setting that turns
//! storing them off.
//!
//! What it is not for: HTTP, decoding images, face detection or descriptors (the `vision`
//! engine makes those), turning distances into 0–100 scores (the `api` crate's
//! calibration), billing.

mod error;
mod gallery;
mod ids;
pub mod limits;
mod model;
pub mod search;
mod store;
/// Synthetic descriptors, shared with the on-device gallery through `face-index`.
pub use face_index::synthetic;

pub use error::{GalleryError, Result};
pub use gallery::{Gallery, GalleryConfig, PersonList};
pub use ids::{AccountId, FaceId, GroupId, PersonId};
pub use limits::{Field, Limits};
pub use model::{
    CreatedPerson, Descriptor, Face, FaceModelVersion, FaceRect, Gender, Group, GroupChanges,
    GroupMember, Listed, NewFace, NewGroup, NewPerson, Page, Person, PersonDescription,
    PersonGroupInfo,
};
pub use search::{
    FaceHit, GroupHits, PersonHit, PersonInfo, ProbeResult, SearchRequest, SearchResponse, Strategy,
};
