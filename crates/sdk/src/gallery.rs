//! The local gallery through the licence: enrolment and 1:N search need `search`;
//! listing, removing and exporting need only an open SDK, and exporting works with no
//! licence at all ([`export_gallery`]), so a customer can always take its data away.
//!
//! Storage, encryption and durability are `local-gallery`'s (docs/local-gallery.md);
//! the search is the server's index code (`face-index`), and its distances become the
//! API's scores here.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use licensing::Feature;
use local_gallery::{
    FaceId, FaceMeta, ImportMode, LocalGallery, LocalGalleryError, Options, PersonId,
};
use vision::{Descriptor, DescriptorVersion, RgbImage};

use crate::error::{ErrorCode, Result, SdkError};
use crate::instance::FaceSdk;

/// The gallery's directory inside the SDK's data directory.
pub const GALLERY_DIR: &str = "gallery";

/// A face found by [`Gallery::search`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub person_id: String,
    pub face_id: u64,
    /// Euclidean distance between the descriptors.
    pub distance: f32,
    /// The API's score of the pair (0-100; 50 and above: the same person), by the score
    /// model of the gallery's descriptor version.
    pub score: f64,
}

/// A person of the gallery: its id and its faces' ids and names.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonSummary {
    pub person_id: String,
    pub faces: Vec<FaceSummary>,
}

/// One enrolled face.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceSummary {
    pub face_id: u64,
    pub name: Option<String>,
    pub tag: Option<String>,
}

/// The SDK's local gallery, encrypted at rest with the app's 32-byte key. One open
/// gallery per data directory at a time (the file is locked).
pub struct Gallery {
    sdk: FaceSdk,
    store: LocalGallery,
}

impl std::fmt::Debug for Gallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gallery")
            .field("dir", &self.store.dir())
            .finish_non_exhaustive()
    }
}

impl FaceSdk {
    /// Opens (or creates) the local gallery in the data directory with the app's key.
    /// A wrong key is refused with [`ErrorCode::GalleryKey`].
    pub fn gallery(&self, key: &[u8; 32]) -> Result<Gallery> {
        let store = open_store(self.data_dir(), key)?;
        Ok(Gallery {
            sdk: self.clone(),
            store,
        })
    }
}

fn gallery_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(GALLERY_DIR)
}

/// The gallery of `data_dir`: a new one (or one without faces) records
/// [`DescriptorVersion::LATEST`]; one with faces keeps its own version.
fn open_store(data_dir: &Path, key: &[u8; 32]) -> Result<LocalGallery> {
    let options = Options {
        descriptor_version: DescriptorVersion::LATEST.number() as u8,
        ..Options::default()
    };
    Ok(LocalGallery::open_with(
        gallery_dir(data_dir),
        key,
        options,
    )?)
}

/// Exports the gallery of `data_dir` with no licence: for a device whose licence has
/// ended. Writes every face sealed under `export_key`; returns how many.
pub fn export_gallery(
    data_dir: &Path,
    key: &[u8; 32],
    writer: impl Write,
    export_key: &[u8; 32],
) -> Result<usize> {
    let store = open_store(data_dir, key)?;
    Ok(store.export(writer, export_key)?)
}

impl Gallery {
    /// The version of the descriptors the gallery holds: [`DescriptorVersion::LATEST`]
    /// for a gallery created (or emptied) by this SDK, 1 for one that holds faces enrolled
    /// by an SDK before version 2.
    pub fn descriptor_version(&self) -> Result<DescriptorVersion> {
        DescriptorVersion::from_number(i64::from(self.store.descriptor_version()))
            .map_err(|e| SdkError::Internal(format!("the gallery records {e}")))
    }

    /// Refuses descriptors of [`FaceSdk::descriptor`] (the latest version) for a gallery
    /// of an older version: they cannot be compared.
    fn require_version(&self, version: DescriptorVersion) -> Result<DescriptorVersion> {
        let ours = self.descriptor_version()?;
        if ours != version {
            return Err(SdkError::InvalidArgument(format!(
                "the gallery holds version-{ours} face descriptors and this descriptor is version {version}; they cannot be compared: enrol the faces again into an empty gallery (it takes version {}), or describe the probe with FaceSdk::descriptor_as and search with Gallery::search_as",
                DescriptorVersion::LATEST
            )));
        }
        Ok(ours)
    }

    /// Adds a face (its descriptor from [`FaceSdk::descriptor`]) to a person, creating
    /// the person on its first face; returns the new face id. Needs `search`; refused for
    /// a gallery of an older descriptor version ([`Gallery::descriptor_version`]).
    pub fn add(
        &self,
        person_id: &str,
        descriptor: &[f32],
        name: Option<String>,
        tag: Option<String>,
    ) -> Result<u64> {
        self.sdk.gate().require(Feature::Search)?;
        self.require_version(DescriptorVersion::LATEST)?;
        let person = PersonId::new(person_id)?;
        let id = self
            .store
            .add_face(&person, descriptor, FaceMeta { name, tag })?;
        Ok(id.as_u64())
    }

    /// Adds many faces in one write (all or none), e.g. a first enrolment from files;
    /// returns their ids in order. Needs `search`.
    pub fn add_batch(&self, faces: &[(String, Vec<f32>)]) -> Result<Vec<u64>> {
        self.sdk.gate().require(Feature::Search)?;
        self.require_version(DescriptorVersion::LATEST)?;
        let faces = faces
            .iter()
            .map(|(person, descriptor)| {
                Ok(local_gallery::NewFace {
                    person: PersonId::new(person.as_str())?,
                    descriptor: descriptor.clone(),
                    meta: FaceMeta::default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self
            .store
            .add_faces(&faces)?
            .into_iter()
            .map(FaceId::as_u64)
            .collect())
    }

    /// Detects the largest face of `img`, describes it with the gallery's descriptor
    /// version and adds it to `person_id`. Needs `detect`, `features` and `search`.
    pub fn enrol(&self, person_id: &str, img: &RgbImage, name: Option<String>) -> Result<u64> {
        self.sdk.gate().require(Feature::Search)?;
        let version = self.descriptor_version()?;
        let face = self
            .sdk
            .detect(img)?
            .into_iter()
            .next()
            .ok_or(SdkError::NoFace)?;
        let descriptor = self.sdk.descriptor_as(img, &face, version)?;
        let person = PersonId::new(person_id)?;
        let id = self
            .store
            .add_face(&person, &descriptor.0, FaceMeta { name, tag: None })?;
        Ok(id.as_u64())
    }

    /// The `top_k` faces nearest to `descriptor` (from [`FaceSdk::descriptor`]), with the
    /// API's scores, best first. Needs `search`; refused for a gallery of an older
    /// descriptor version (see [`Gallery::search_as`]).
    pub fn search(&self, descriptor: &[f32], top_k: usize) -> Result<Vec<SearchHit>> {
        self.search_as(descriptor, top_k, DescriptorVersion::LATEST)
    }

    /// [`Gallery::search`] with a probe of `version`, which must be the gallery's
    /// ([`Gallery::descriptor_version`]; [`FaceSdk::descriptor_as`] makes one). The
    /// `top_k` nearest faces are scored by that version's model, from both descriptors of
    /// each pair, and ordered by score.
    pub fn search_as(
        &self,
        descriptor: &[f32],
        top_k: usize,
        version: DescriptorVersion,
    ) -> Result<Vec<SearchHit>> {
        self.sdk.gate().require(Feature::Search)?;
        if top_k == 0 {
            return Err(SdkError::InvalidArgument("top_k must be at least 1".into()));
        }
        let version = self.require_version(version)?;
        let model = self.sdk.score_model(version);
        let probe = Descriptor(descriptor.to_vec());
        let mut hits: Vec<SearchHit> = self
            .store
            .search(descriptor, top_k)?
            .into_iter()
            .map(|hit| {
                let stored = Descriptor(hit.descriptor);
                SearchHit {
                    person_id: hit.person.as_str().to_owned(),
                    face_id: hit.face.as_u64(),
                    distance: hit.distance,
                    score: model.score_at(&probe, &stored, f64::from(hit.distance)),
                }
            })
            .collect();
        // Stable: equal scores keep the nearest first.
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(hits)
    }

    /// Removes one face (its person goes with its last face).
    pub fn remove_face(&self, face_id: u64) -> Result<()> {
        Ok(self.store.remove_face(FaceId::from_u64(face_id))?)
    }

    /// Removes a person and its faces; returns how many faces went.
    pub fn remove_person(&self, person_id: &str) -> Result<usize> {
        Ok(self.store.remove_person(&PersonId::new(person_id)?)?)
    }

    /// Every person id, in order.
    pub fn list(&self) -> Vec<String> {
        self.store
            .list_persons()
            .into_iter()
            .map(|p| p.as_str().to_owned())
            .collect()
    }

    /// One person and its faces (`None` if absent).
    pub fn person(&self, person_id: &str) -> Result<Option<PersonSummary>> {
        let id = PersonId::new(person_id)?;
        Ok(self.store.person(&id).map(|p| PersonSummary {
            person_id: p.id.as_str().to_owned(),
            faces: p
                .faces
                .into_iter()
                .map(|f| FaceSummary {
                    face_id: f.id.as_u64(),
                    name: f.meta.name,
                    tag: f.meta.tag,
                })
                .collect(),
        }))
    }

    /// Persons and faces held.
    pub fn stats(&self) -> local_gallery::Stats {
        self.store.stats()
    }

    /// Writes every face sealed under `export_key` (docs/local-gallery.md, the export
    /// format); returns how many.
    pub fn export(&self, writer: impl Write, export_key: &[u8; 32]) -> Result<usize> {
        Ok(self.store.export(writer, export_key)?)
    }

    /// Reads an export sealed under `export_key`, merging it in or replacing the
    /// gallery; all or nothing. Needs `search`.
    pub fn import(
        &self,
        reader: impl Read,
        export_key: &[u8; 32],
        replace: bool,
    ) -> Result<local_gallery::Imported> {
        self.sdk.gate().require(Feature::Search)?;
        let mode = if replace {
            ImportMode::Replace
        } else {
            ImportMode::Merge
        };
        Ok(self.store.import(reader, export_key, mode)?)
    }
}

impl From<LocalGalleryError> for SdkError {
    fn from(e: LocalGalleryError) -> SdkError {
        SdkError::Gallery(e)
    }
}

/// The code of a gallery error.
pub(crate) fn gallery_code(e: &LocalGalleryError) -> ErrorCode {
    use LocalGalleryError as G;
    match e {
        G::WrongKey(_) => ErrorCode::GalleryKey,
        G::FieldLength { .. } | G::FieldCharacter { .. } | G::Descriptor(_) => {
            ErrorCode::InvalidArgument
        }
        G::Io { .. } | G::Stream(_) => ErrorCode::Storage,
        _ => ErrorCode::Gallery,
    }
}
