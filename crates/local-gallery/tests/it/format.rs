//! The formats as docs/local-gallery.md describes them, read and written here with
//! nothing but that page, AES-GCM and CRC-32: if the code and the page part ways,
//! these tests fail.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::common::*;

use local_gallery::*;

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

fn aad(file_id: &[u8], seq: u64) -> Vec<u8> {
    let mut a = file_id.to_vec();
    a.extend_from_slice(&seq.to_le_bytes());
    a
}

fn header(key: &[u8; 32], kind: u8, file_id: [u8; 16]) -> Vec<u8> {
    let mut h = b"RLGALLRY".to_vec();
    h.extend_from_slice(&1u16.to_le_bytes());
    h.push(kind);
    h.push(0);
    h.extend_from_slice(&file_id);
    let nonce = [3u8; 12];
    let check = cipher(key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: b"renlian-local-gallery-key-check!",
                aad: &h,
            },
        )
        .unwrap();
    h.extend_from_slice(&nonce);
    h.extend_from_slice(&check);
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(h.len(), 92);
    h
}

fn frame(key: &[u8; 32], file_id: &[u8], seq: u64, record: &[u8]) -> Vec<u8> {
    let nonce = [seq as u8 + 100; 12];
    let sealed = cipher(key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: record,
                aad: &aad(file_id, seq),
            },
        )
        .unwrap();
    let mut body = nonce.to_vec();
    body.extend_from_slice(&sealed);
    let mut f = (body.len() as u32).to_le_bytes().to_vec();
    let mut h = crc32fast::Hasher::new();
    h.update(&f);
    h.update(&body);
    f.extend_from_slice(&h.finalize().to_le_bytes());
    f.extend_from_slice(&body);
    f
}

fn opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

fn add_face(person: &str, face: u64, d: &[f32], name: Option<&str>, tag: Option<&str>) -> Vec<u8> {
    let mut r = vec![1u8, 1u8, person.len() as u8];
    r.extend_from_slice(person.as_bytes());
    r.extend_from_slice(&face.to_le_bytes());
    for v in d {
        r.extend_from_slice(&v.to_le_bytes());
    }
    opt(&mut r, name);
    opt(&mut r, tag);
    r
}

fn end(faces: u64) -> Vec<u8> {
    let mut r = vec![1u8, 4u8];
    r.extend_from_slice(&faces.to_le_bytes());
    r
}

/// An export of `records` sealed under `key`, as the page describes it.
fn export(key: &[u8; 32], records: &[Vec<u8>]) -> Vec<u8> {
    let file_id = [0x5a; 16];
    let mut out = header(key, 2, file_id);
    for (seq, r) in records.iter().enumerate() {
        out.extend(frame(key, &file_id, seq as u64, r));
    }
    out
}

#[test]
fn the_gallery_log_reads_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let d = descriptor(4);
    let face = {
        let g = LocalGallery::open(dir.path(), &KEY).unwrap();
        let face = g
            .add_face(
                &pid("emp-7"),
                &d,
                FaceMeta {
                    name: Some("名".into()),
                    tag: None,
                },
            )
            .unwrap();
        g.remove_face(face).unwrap();
        face
    };
    let bytes = std::fs::read(log_path(dir.path())).unwrap();
    assert_eq!(&bytes[..8], b"RLGALLRY");
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 1);
    assert_eq!((bytes[10], bytes[11]), (1, 0));
    assert_eq!(
        u32::from_le_bytes(bytes[88..92].try_into().unwrap()),
        crc32fast::hash(&bytes[..88])
    );
    let c = cipher(&KEY);
    let check = c
        .decrypt(
            Nonce::from_slice(&bytes[28..40]),
            Payload {
                msg: &bytes[40..88],
                aad: &bytes[..28],
            },
        )
        .unwrap();
    assert_eq!(check, b"renlian-local-gallery-key-check!");
    let file_id = &bytes[12..28];
    let f = frames(&bytes);
    assert_eq!(f.len(), 2);
    let open = |(at, len): (usize, usize), seq| {
        let body = &bytes[at + 8..at + len];
        c.decrypt(
            Nonce::from_slice(&body[..12]),
            Payload {
                msg: &body[12..],
                aad: &aad(file_id, seq),
            },
        )
        .unwrap()
    };
    assert_eq!(
        open(f[0], 0),
        add_face("emp-7", face.as_u64(), &d, Some("名"), None)
    );
    let mut remove = vec![1u8, 2u8];
    remove.extend_from_slice(&face.as_u64().to_le_bytes());
    assert_eq!(open(f[1], 1), remove);
}

#[test]
fn an_export_written_from_the_page_imports() {
    let key = [0x11; 32];
    let d1 = descriptor(1);
    let d2 = descriptor(2);
    let face1 = 1_234_567_890_123_456_789;
    let face2 = 2_234_567_890_123_456_789;
    let good = export(
        &key,
        &[
            add_face("a", face1, &d1, Some("Ann"), Some("{}")),
            add_face("b", face2, &d2, None, None),
            end(2),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    let done = g.import(&good[..], &key, ImportMode::Replace).unwrap();
    assert_eq!((done.faces, done.added, done.total), (2, 2, 2));
    let a = g.person(&pid("a")).unwrap();
    assert_eq!(a.faces[0].id, FaceId::from_u64(face1));
    assert_eq!(a.faces[0].descriptor, d1);
    assert_eq!(a.faces[0].meta.name.as_deref(), Some("Ann"));
    assert_eq!(a.faces[0].meta.tag.as_deref(), Some("{}"));
    assert_eq!(g.search(&d2, 1).unwrap()[0].face, FaceId::from_u64(face2));

    // The same face id with other metadata: a conflict on merge, nothing written.
    let other = export(
        &key,
        &[add_face("a", face1, &d1, Some("Anne"), None), end(1)],
    );
    assert!(matches!(
        g.import(&other[..], &key, ImportMode::Merge),
        Err(LocalGalleryError::ImportConflict(f)) if f == FaceId::from_u64(face1)
    ));
    assert_eq!(
        g.person(&pid("a")).unwrap().faces[0].meta.name.as_deref(),
        Some("Ann")
    );
    // A count that does not match, a face twice, a removal in an export, a bad id.
    let bad = [
        export(&key, &[add_face("a", face1, &d1, None, None), end(2)]),
        export(
            &key,
            &[
                add_face("a", face1, &d1, None, None),
                add_face("b", face1, &d2, None, None),
                end(2),
            ],
        ),
        export(&key, &[vec![1, 3, 1, b'a'], end(0)]),
        export(&key, &[add_face("a b", face1, &d1, None, None), end(1)]),
    ];
    for (i, e) in bad.iter().enumerate() {
        match g.import(&e[..], &key, ImportMode::Merge) {
            Err(LocalGalleryError::Corrupt {
                what: Source::Export,
                ..
            }) => {}
            other => panic!("export {i}: {other:?}"),
        }
    }
    assert_eq!(g.stats().faces, 2);
}
