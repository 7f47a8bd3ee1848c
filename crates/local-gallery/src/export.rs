//! Export and import: the whole gallery as one file, sealed under a key the caller
//! passes (the gallery's own key, or a transfer key shared by the devices).
//!
//! An export is the gallery file format with kind 2 (docs/local-gallery.md): a header,
//! one AddFace record per face, and an End record with the number of faces, so a cut
//! export is refused rather than half imported. An import reads and checks the whole
//! export before it changes anything, then rewrites the gallery's log in one atomic
//! replacement.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, BufWriter, Read, Write};

use crate::error::{LocalGalleryError, Result, Source};
use crate::format::{read_frame, read_header, FrameRead, Kind, Sealer, FRAME_HEAD, HEADER_LEN};
use crate::gallery::{Index, LocalGallery, Tables};
use crate::ids::{FaceId, PersonId};
use crate::log::write_records;
use crate::model::{FaceMeta, ImportMode, DESCRIPTOR_DIM};
use crate::record::{Op, Record};

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Faces in the export.
    pub faces: usize,
    /// Faces added to the gallery (in a merge, those it did not hold already).
    pub added: usize,
    /// Faces in the gallery afterwards.
    pub total: usize,
}

struct ExportedFace {
    person: PersonId,
    face: FaceId,
    descriptor: Vec<f32>,
    meta: FaceMeta,
}

fn corrupt(offset: u64, reason: String) -> LocalGalleryError {
    LocalGalleryError::Corrupt {
        what: Source::Export,
        offset,
        reason,
    }
}

/// Reads and checks a whole export; returns its faces and their descriptor version.
fn read_export<R: Read>(reader: R, key: &[u8; 32]) -> Result<(Vec<ExportedFace>, u8)> {
    let sealer = Sealer::new(key);
    let mut r = BufReader::with_capacity(1 << 16, reader);
    let header = read_header(&mut r).map_err(LocalGalleryError::Stream)?;
    let (file_id, descriptor_version) = sealer.check_header(&header, Kind::Export)?;
    let mut offset = HEADER_LEN as u64;
    let mut seq = 0u64;
    let mut faces = Vec::new();
    let mut seen = HashSet::new();
    loop {
        let body = match read_frame(&mut r).map_err(LocalGalleryError::Stream)? {
            FrameRead::Body(b) => b,
            FrameRead::End | FrameRead::Short(_) => return Err(LocalGalleryError::Truncated),
            FrameRead::Bad(reason) => return Err(corrupt(offset, reason)),
        };
        let plain = sealer
            .open(&file_id, seq, &body)
            .ok_or(LocalGalleryError::Tampered {
                what: Source::Export,
                offset,
            })?;
        let record = Record::decode(&plain).map_err(|reason| corrupt(offset, reason))?;
        match record.op {
            Op::AddFace {
                person,
                face,
                descriptor,
                meta,
            } => {
                if !seen.insert(face) {
                    return Err(corrupt(offset, format!("face {face} appears twice")));
                }
                faces.push(ExportedFace {
                    person,
                    face,
                    descriptor,
                    meta,
                });
            }
            Op::End { faces: n } => {
                if n != faces.len() as u64 {
                    return Err(corrupt(
                        offset,
                        format!(
                            "end record counts {n} faces, the export holds {}",
                            faces.len()
                        ),
                    ));
                }
                let mut rest = [0u8; 1];
                if r.read(&mut rest).map_err(LocalGalleryError::Stream)? != 0 {
                    return Err(corrupt(
                        offset + (FRAME_HEAD + body.len()) as u64,
                        "bytes after the end record".into(),
                    ));
                }
                return Ok((faces, descriptor_version));
            }
            _ => return Err(corrupt(offset, "an export holds only faces".into())),
        }
        offset += (FRAME_HEAD + body.len()) as u64;
        seq += 1;
    }
}

impl LocalGallery {
    /// Writes every face to `writer`, sealed under `key`; returns how many. The
    /// gallery's own key suits moving between devices of one app; a separate transfer
    /// key keeps the export apart from the gallery.
    pub fn export<W: Write>(&self, writer: W, key: &[u8; 32]) -> Result<usize> {
        let sealer = Sealer::new(key);
        let inner = self.inner.lock();
        let index = self.index.read();
        let faces = inner.tables.owner.len();
        let records = inner
            .tables
            .snapshot(&index)
            .map(|op| op.map(|op| Record { commit: true, op }))
            .chain(std::iter::once(Ok(Record {
                commit: true,
                op: Op::End {
                    faces: faces as u64,
                },
            })));
        let mut w = BufWriter::with_capacity(1 << 16, writer);
        write_records(
            &mut w,
            &sealer,
            Kind::Export,
            inner.log.descriptor_version(),
            records,
            &LocalGalleryError::Stream,
        )?;
        Ok(faces)
    }

    /// Reads an export sealed under `key` and merges it into the gallery or replaces
    /// the gallery with it. The whole export is read and checked first; nothing is
    /// written when any of it is refused, and the change is one atomic rewrite.
    pub fn import<R: Read>(&self, reader: R, key: &[u8; 32], mode: ImportMode) -> Result<Imported> {
        let (exported, version) = read_export(reader, key)?;
        let mut inner = self.inner.lock();
        let ours = inner.log.descriptor_version();
        // Descriptors of two versions never meet: a gallery that will hold only the
        // export's faces (a replace, or a merge into an empty gallery) takes the export's
        // version; a merge of faces into faces of another version is refused.
        let takes_export = mode == ImportMode::Replace || inner.tables.owner.is_empty();
        if version != ours && !takes_export && !exported.is_empty() {
            return Err(LocalGalleryError::DescriptorVersion {
                gallery: ours,
                export: version,
            });
        }
        let version = if takes_export { version } else { ours };
        let mut tables = Tables::default();
        let mut index = Index::new(DESCRIPTOR_DIM, self.options.index);
        if mode == ImportMode::Merge {
            let current = self.index.read();
            for op in inner.tables.snapshot(&current) {
                tables
                    .apply(&mut index, op?)
                    .map_err(|reason| corrupt(0, reason))?;
            }
        }
        let mut added = 0;
        let mut counts: HashMap<PersonId, usize> = HashMap::new();
        for f in &exported {
            if let Some(owner) = tables.owner.get(&f.face) {
                let same = owner == &f.person
                    && tables.persons.get(owner).is_some_and(|faces| {
                        faces
                            .iter()
                            .any(|(id, meta)| *id == f.face && *meta == f.meta)
                    })
                    && index
                        .person_faces(owner)
                        .iter()
                        .any(|(id, d)| **id == f.face && same_bits(d, &f.descriptor));
                if !same {
                    return Err(LocalGalleryError::ImportConflict(f.face));
                }
                continue;
            }
            let n = counts
                .entry(f.person.clone())
                .or_insert_with(|| tables.persons.get(&f.person).map_or(0, Vec::len));
            *n += 1;
            if *n > self.options.max_faces_per_person {
                return Err(LocalGalleryError::TooManyFaces {
                    person: f.person.clone(),
                    max: self.options.max_faces_per_person,
                });
            }
            tables
                .apply(
                    &mut index,
                    Op::AddFace {
                        person: f.person.clone(),
                        face: f.face,
                        descriptor: f.descriptor.clone(),
                        meta: f.meta.clone(),
                    },
                )
                .map_err(|reason| corrupt(0, reason))?;
            added += 1;
        }
        inner
            .log
            .rewrite_as(&self.dir, &self.sealer, version, tables.snapshot(&index))?;
        let total = tables.owner.len();
        inner.tables = tables;
        *self.index.write() = index;
        drop(inner);
        self.maybe_build_ann();
        Ok(Imported {
            faces: exported.len(),
            added,
            total,
        })
    }
}

/// Descriptors equal bit for bit (what a round trip through a file gives).
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}
