//! [`LocalGallery`]: the state in memory, the log on disk, and the search index.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use face_index::{AnnBuilder, FaceIndex, Strategy};
use parking_lot::{Mutex, RwLock};

use crate::error::{LocalGalleryError, Result, Source};
use crate::format::Sealer;
use crate::ids::{FaceId, PersonId};
use crate::log::{self, create_private, Log, LOG_FILE};
use crate::model::{
    check_descriptor, Face, FaceMeta, Hit, NewFace, Options, Person, Stats, DESCRIPTOR_DIM,
};
use crate::record::Op;

const LOCK_FILE: &str = "gallery.lock";

pub(crate) type Index = FaceIndex<FaceId, PersonId>;

/// Who owns which face, and each face's metadata. Descriptors live only in the index.
#[derive(Default)]
pub(crate) struct Tables {
    /// Each person's faces in the order added; a person exists while it has a face.
    pub(crate) persons: BTreeMap<PersonId, Vec<(FaceId, FaceMeta)>>,
    pub(crate) owner: HashMap<FaceId, PersonId>,
}

impl Tables {
    /// Applies one change to the tables and the index. Writes are checked before they
    /// are logged, so an error here means the log contradicts itself.
    pub(crate) fn apply(&mut self, index: &mut Index, op: Op) -> Result<(), String> {
        match op {
            Op::AddFace {
                person,
                face,
                descriptor,
                meta,
            } => {
                if self.owner.contains_key(&face) {
                    return Err(format!("face {face} is added twice"));
                }
                if !index.insert(face, person.clone(), &descriptor) {
                    return Err(format!("face {face} has {} components", descriptor.len()));
                }
                self.owner.insert(face, person.clone());
                self.persons.entry(person).or_default().push((face, meta));
            }
            Op::RemoveFace { face } => {
                let person = self
                    .owner
                    .remove(&face)
                    .ok_or_else(|| format!("face {face} is removed but not there"))?;
                if let Some(faces) = self.persons.get_mut(&person) {
                    faces.retain(|(f, _)| *f != face);
                    if faces.is_empty() {
                        self.persons.remove(&person);
                    }
                }
                index.remove_face(&person, &face);
            }
            Op::RemovePerson { person } => {
                let faces = self
                    .persons
                    .remove(&person)
                    .ok_or_else(|| format!("person {person} is removed but not there"))?;
                for (f, _) in faces {
                    self.owner.remove(&f);
                }
                index.remove_person(&person);
            }
            Op::End { .. } => return Err("an export's end record in the gallery".into()),
        }
        Ok(())
    }

    /// Every face as an AddFace, persons in id order, faces in the order added: what a
    /// rewritten log or an export holds.
    pub(crate) fn snapshot<'a>(
        &'a self,
        index: &'a Index,
    ) -> impl Iterator<Item = Result<Op>> + 'a {
        self.persons.iter().flat_map(move |(person, faces)| {
            let stored = index.person_faces(person);
            faces
                .iter()
                .map(|(face, meta)| {
                    let descriptor = stored
                        .iter()
                        .find(|(f, _)| *f == face)
                        .map(|(_, d)| d.to_vec())
                        .ok_or_else(|| LocalGalleryError::Corrupt {
                            what: Source::Gallery,
                            offset: 0,
                            reason: format!("face {face} is missing from the index"),
                        })?;
                    Ok(Op::AddFace {
                        person: person.clone(),
                        face: *face,
                        descriptor,
                        meta: meta.clone(),
                    })
                })
                .collect::<Vec<_>>()
        })
    }
}

pub(crate) struct Inner {
    pub(crate) log: Log,
    pub(crate) tables: Tables,
}

/// The on-device gallery: persons and their faces in one directory, every byte of them
/// sealed with the app's key, searched in memory.
///
/// Thread-safe: writes are serialised, searches run in parallel with each other and
/// with the disk part of writes. One handle per directory: a second open, from this
/// process or another, is refused with [`LocalGalleryError::Locked`].
pub struct LocalGallery {
    pub(crate) dir: PathBuf,
    pub(crate) options: Options,
    pub(crate) sealer: Sealer,
    pub(crate) inner: Mutex<Inner>,
    pub(crate) index: Arc<RwLock<Index>>,
    building: Arc<AtomicBool>,
    dropped_tail: u64,
    /// Holds the directory's lock until dropped.
    _lock: File,
}

impl LocalGallery {
    /// Opens the gallery in `dir` (created when missing) with the app's key and the
    /// default [`Options`].
    pub fn open(dir: impl AsRef<Path>, key: &[u8; 32]) -> Result<Self> {
        Self::open_with(dir, key, Options::default())
    }

    pub fn open_with(dir: impl AsRef<Path>, key: &[u8; 32], options: Options) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LocalGalleryError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = create_private(&lock_path, false).map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LocalGalleryError::Locked(dir));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        log::remove_stale(&dir)?;
        let sealer = Sealer::new(key);
        let path = dir.join(LOG_FILE);
        if !path.try_exists().map_err(io_err(&path))? {
            log::create(&dir, &sealer, options.descriptor_version)?;
        }
        let mut tables = Tables::default();
        let mut index = Index::new(DESCRIPTOR_DIM, options.index);
        let (mut log, dropped_tail) = Log::open(&path, &sealer, |op, offset| {
            tables
                .apply(&mut index, op)
                .map_err(|reason| LocalGalleryError::Corrupt {
                    what: Source::Gallery,
                    offset,
                    reason,
                })
        })?;
        if index.needs_compaction() {
            index.compact();
        }
        if tables.owner.is_empty() && log.descriptor_version() != options.descriptor_version {
            // No faces: nothing of the old version to keep comparable.
            log.rewrite_as(
                &dir,
                &sealer,
                options.descriptor_version,
                tables.snapshot(&index),
            )?;
        }
        let gallery = Self {
            dir,
            options,
            sealer,
            inner: Mutex::new(Inner { log, tables }),
            index: Arc::new(RwLock::new(index)),
            building: Arc::new(AtomicBool::new(false)),
            dropped_tail,
            _lock: lock,
        };
        gallery.maybe_build_ann();
        Ok(gallery)
    }

    /// The version of the descriptors the gallery holds (the `vision` crate's number):
    /// what its faces were described with, and what a probe must be described with.
    pub fn descriptor_version(&self) -> u8 {
        self.inner.lock().log.descriptor_version()
    }

    /// The directory the gallery lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of an unfinished last write (a process killed mid-append) dropped at open.
    pub fn dropped_tail(&self) -> u64 {
        self.dropped_tail
    }

    /// Adds one face to `person` (created by its first face); returns the new face's id
    /// once it is on disk.
    pub fn add_face(
        &self,
        person: &PersonId,
        descriptor: &[f32],
        meta: FaceMeta,
    ) -> Result<FaceId> {
        let mut ids = self.add_faces(&[NewFace {
            person: person.clone(),
            descriptor: descriptor.to_vec(),
            meta,
        }])?;
        // One face in, one id out.
        Ok(ids.remove(0))
    }

    /// Adds several faces as one write: after a crash either all of them are there or
    /// none. Nothing is written when any of them is refused.
    pub fn add_faces(&self, faces: &[NewFace]) -> Result<Vec<FaceId>> {
        for f in faces {
            check_descriptor(&f.descriptor)?;
            f.meta.check()?;
        }
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let mut inner = self.inner.lock();
        let mut counts: HashMap<&PersonId, usize> = HashMap::new();
        for f in faces {
            let n = counts
                .entry(&f.person)
                .or_insert_with(|| inner.tables.persons.get(&f.person).map_or(0, Vec::len));
            *n += 1;
            if *n > self.options.max_faces_per_person {
                return Err(LocalGalleryError::TooManyFaces {
                    person: f.person.clone(),
                    max: self.options.max_faces_per_person,
                });
            }
        }
        let mut ids = Vec::with_capacity(faces.len());
        while ids.len() < faces.len() {
            let id = FaceId::random()?;
            // 63 random bits: a repeat is all but impossible, but costs nothing to rule out.
            if !inner.tables.owner.contains_key(&id) && !ids.contains(&id) {
                ids.push(id);
            }
        }
        let ops: Vec<Op> = faces
            .iter()
            .zip(&ids)
            .map(|(f, id)| Op::AddFace {
                person: f.person.clone(),
                face: *id,
                descriptor: f.descriptor.clone(),
                meta: f.meta.clone(),
            })
            .collect();
        self.write(&mut inner, ops)?;
        Ok(ids)
    }

    /// Removes one face; a person whose last face goes is removed with it.
    pub fn remove_face(&self, face: FaceId) -> Result<()> {
        let mut inner = self.inner.lock();
        if !inner.tables.owner.contains_key(&face) {
            return Err(LocalGalleryError::FaceNotFound(face));
        }
        self.write(&mut inner, vec![Op::RemoveFace { face }])
    }

    /// Removes a person and all its faces; returns how many faces went.
    pub fn remove_person(&self, person: &PersonId) -> Result<usize> {
        let mut inner = self.inner.lock();
        let faces = match inner.tables.persons.get(person) {
            Some(f) => f.len(),
            None => return Err(LocalGalleryError::PersonNotFound(person.clone())),
        };
        self.write(
            &mut inner,
            vec![Op::RemovePerson {
                person: person.clone(),
            }],
        )?;
        Ok(faces)
    }

    /// Logs checked changes (fsynced), then applies them in memory.
    fn write(&self, inner: &mut Inner, ops: Vec<Op>) -> Result<()> {
        inner.log.append(&self.sealer, &ops)?;
        {
            let mut index = self.index.write();
            for op in ops {
                inner.tables.apply(&mut index, op).map_err(|reason| {
                    LocalGalleryError::Corrupt {
                        what: Source::Gallery,
                        offset: inner.log.len(),
                        reason,
                    }
                })?;
            }
            if index.needs_compaction() {
                index.compact();
            }
        }
        let live = inner.tables.owner.len() as u64;
        let dead = inner.log.records().saturating_sub(live);
        if dead > self.options.compact_min_dead as u64 && dead > live {
            // The write is done and durable; a failed compaction leaves the old log in
            // place and is tried again after the next write.
            let _ = self.compact_locked(inner);
        }
        self.maybe_build_ann();
        Ok(())
    }

    /// Rewrites the log with only the live faces (done automatically once dead
    /// records outnumber live faces).
    pub fn compact(&self) -> Result<()> {
        let mut inner = self.inner.lock();
        self.compact_locked(&mut inner)
    }

    fn compact_locked(&self, inner: &mut Inner) -> Result<()> {
        let index = self.index.read();
        let Inner { log, tables } = inner;
        log.rewrite(&self.dir, &self.sealer, tables.snapshot(&index))
    }

    /// Person ids, sorted.
    pub fn list_persons(&self) -> Vec<PersonId> {
        self.inner.lock().tables.persons.keys().cloned().collect()
    }

    /// A person with its faces, descriptors and metadata.
    pub fn person(&self, id: &PersonId) -> Option<Person> {
        let inner = self.inner.lock();
        let faces = inner.tables.persons.get(id)?;
        let index = self.index.read();
        let stored = index.person_faces(id);
        Some(Person {
            id: id.clone(),
            faces: faces
                .iter()
                .filter_map(|(face, meta)| {
                    let (_, d) = stored.iter().find(|(f, _)| *f == face)?;
                    Some(Face {
                        id: *face,
                        descriptor: d.to_vec(),
                        meta: meta.clone(),
                    })
                })
                .collect(),
        })
    }

    /// The `top_k` faces nearest to `descriptor`, nearest first: an exact scan below
    /// [`face_index::IndexConfig::ann_min_faces`] faces, the inverted file above (once
    /// built; until then a scan).
    pub fn search(&self, descriptor: &[f32], top_k: usize) -> Result<Vec<Hit>> {
        check_descriptor(descriptor)?;
        let hits: Vec<Hit> = {
            let index = self.index.read();
            // The index allocates k slots: never more than it has faces.
            let k = top_k.min(index.len());
            index
                .nearest(descriptor, k, f32::INFINITY, Strategy::Auto)
                .into_iter()
                .map(|n| {
                    // Read under the same lock: the face is there.
                    let stored = index
                        .person_faces(&n.person_id)
                        .into_iter()
                        .find(|(f, _)| **f == n.face_id)
                        .map(|(_, d)| d.to_vec())
                        .unwrap_or_default();
                    Hit {
                        person: n.person_id,
                        face: n.face_id,
                        distance: n.distance,
                        descriptor: stored,
                    }
                })
                .collect()
        };
        self.maybe_build_ann();
        Ok(hits)
    }

    pub fn stats(&self) -> Stats {
        let inner = self.inner.lock();
        let index = self.index.read();
        Stats {
            persons: inner.tables.persons.len(),
            faces: inner.tables.owner.len(),
            log_records: inner.log.records(),
            log_bytes: inner.log.len(),
            inverted_file: index.has_ann(),
        }
    }

    /// Starts building the inverted file on a thread of its own once the gallery is
    /// large enough; searches scan exactly until it is installed (the server's scheme).
    pub(crate) fn maybe_build_ann(&self) {
        if !self.index.read().wants_ann() || self.building.swap(true, Ordering::AcqRel) {
            return;
        }
        let index = self.index.clone();
        let building = self.building.clone();
        let spawned = std::thread::Builder::new()
            .name("local-gallery-ivf".into())
            .spawn(move || {
                let sample = AnnBuilder::sample(&index.read());
                let mut builder = sample.train();
                loop {
                    let batch = builder.next_batch(&index.read());
                    match batch {
                        None => break,
                        Some(b) if b.is_empty() => {
                            builder.install(&mut index.write());
                            break;
                        }
                        Some(b) => builder.extend(&b),
                    }
                }
                building.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            // No thread to spare: searches keep scanning; the next write tries again.
            self.building.store(false, Ordering::Release);
        }
    }
}
