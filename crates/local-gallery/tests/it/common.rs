//! Shared helpers.

use std::path::{Path, PathBuf};

use face_index::synthetic::Synthetic;
use local_gallery::*;

pub const KEY: [u8; 32] = [0x42; 32];
pub const OTHER_KEY: [u8; 32] = [0x43; 32];

pub fn pid(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}

/// A reproducible descriptor with the spread of real ones (see `face_index::synthetic`).
pub fn descriptor(seed: u64) -> Vec<f32> {
    Synthetic::new(DESCRIPTOR_DIM, seed).identity()
}

pub fn log_path(dir: &Path) -> PathBuf {
    dir.join("gallery.log")
}

pub fn meta(name: &str) -> FaceMeta {
    FaceMeta {
        name: Some(name.into()),
        tag: Some(format!(r#"{{"badge":"{name}"}}"#)),
    }
}

/// Every face of the gallery with its person, sorted by face id.
pub fn all_faces(g: &LocalGallery) -> Vec<(PersonId, Face)> {
    let mut out: Vec<(PersonId, Face)> = g
        .list_persons()
        .into_iter()
        .flat_map(|p| {
            let person = g.person(&p).unwrap();
            person.faces.into_iter().map(move |f| (p.clone(), f))
        })
        .collect();
    out.sort_by_key(|(_, f)| f.id);
    out
}

/// Offsets and total lengths of the frames after the 92-byte header.
pub fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 92;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        out.push((at, 8 + len));
        at += 8 + len;
    }
    out
}

/// Recomputes a frame's checksum, as someone altering the file on purpose would.
pub fn fix_checksum(bytes: &mut [u8], (at, len): (usize, usize)) {
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[at..at + 4]);
    h.update(&bytes[at + 8..at + len]);
    let crc = h.finalize();
    bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
}

/// A gallery of `n` persons with one face each (descriptor(i) for person p{i}).
pub fn filled(dir: &Path, n: u64) -> Vec<FaceId> {
    let g = LocalGallery::open(dir, &KEY).unwrap();
    (0..n)
        .map(|i| {
            g.add_face(
                &pid(&format!("p{i}")),
                &descriptor(i),
                meta(&format!("n{i}")),
            )
            .unwrap()
        })
        .collect()
}
