//! At rest: the key, tampering, the lock.

use std::fs;

use crate::common::*;

use local_gallery::*;

#[test]
fn a_wrong_key_is_refused_and_the_gallery_still_opens_with_its_own() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 3);
    assert!(matches!(
        LocalGallery::open(dir.path(), &OTHER_KEY),
        Err(LocalGalleryError::WrongKey(Source::Gallery))
    ));
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert_eq!(g.stats().faces, 3);
}

#[test]
fn nothing_of_a_person_is_stored_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    let d = descriptor(7);
    g.add_face(&pid("PersonVisible"), &d, meta("NameVisible"))
        .unwrap();
    let bytes = fs::read(log_path(dir.path())).unwrap();
    let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!find(b"PersonVisible"));
    assert!(!find(b"NameVisible"));
    let d_bytes: Vec<u8> = d[..4].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert!(!find(&d_bytes));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(log_path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_flipped_byte_is_an_error_wherever_it_is() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 4);
    let path = log_path(dir.path());
    let good = fs::read(&path).unwrap();
    let f = frames(&good);
    assert_eq!(f.len(), 4);
    let open_with = |bytes: &[u8]| {
        fs::write(&path, bytes).unwrap();
        LocalGallery::open(dir.path(), &KEY).map(|g| g.stats().faces)
    };

    // In the header: its checksum.
    let mut b = good.clone();
    b[14] ^= 0x01;
    assert!(matches!(
        open_with(&b),
        Err(LocalGalleryError::Corrupt {
            what: Source::Gallery,
            offset: 0,
            ..
        })
    ));
    // In a record in the middle, and in the last record: a bad checksum in a complete
    // frame is damage, not a torn write.
    for i in [1, 3] {
        let mut b = good.clone();
        b[f[i].0 + 30] ^= 0x20;
        match open_with(&b) {
            Err(LocalGalleryError::Corrupt { offset, reason, .. }) => {
                assert_eq!(offset, f[i].0 as u64);
                assert!(reason.contains("checksum"), "{reason}");
            }
            other => panic!("record {i}: {other:?}"),
        }
    }
    // Altered on purpose, with the checksum fixed: authentication catches it.
    let mut b = good.clone();
    b[f[2].0 + 40] ^= 0x01;
    fix_checksum(&mut b, f[2]);
    assert!(matches!(
        open_with(&b),
        Err(LocalGalleryError::Tampered { offset, .. }) if offset == f[2].0 as u64
    ));
    // Two records swapped (same length, checksums intact): their positions are sealed.
    assert_eq!(f[1].1, f[2].1);
    let mut b = good.clone();
    let (r1, r2) = (f[1], f[2]);
    let first = good[r1.0..r1.0 + r1.1].to_vec();
    b.copy_within(r2.0..r2.0 + r2.1, r1.0);
    b[r2.0..r2.0 + r2.1].copy_from_slice(&first);
    assert!(matches!(
        open_with(&b),
        Err(LocalGalleryError::Tampered { offset, .. }) if offset == f[1].0 as u64
    ));
    // A record dropped from the middle.
    let mut b = good[..f[1].0].to_vec();
    b.extend_from_slice(&good[f[2].0..]);
    assert!(matches!(
        open_with(&b),
        Err(LocalGalleryError::Tampered { .. })
    ));
    // A length field damaged so that it reaches past the end: the intact frames after
    // it show it is not a torn write.
    let mut b = good.clone();
    b[f[2].0 + 1] = 0x0f;
    assert!(matches!(
        open_with(&b),
        Err(LocalGalleryError::Corrupt { .. })
    ));
    // Not a gallery at all.
    assert!(matches!(
        open_with(b"hello"),
        Err(LocalGalleryError::NotRecognised { .. })
    ));
    // The original opens as before.
    assert_eq!(open_with(&good).unwrap(), 4);
}

#[test]
fn one_handle_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert!(matches!(
        LocalGallery::open(dir.path(), &KEY),
        Err(LocalGalleryError::Locked(_))
    ));
    drop(g);
    LocalGallery::open(dir.path(), &KEY).unwrap();
}
