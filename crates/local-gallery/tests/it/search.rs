//! 1:N search against a brute-force scan, the inverted file, export and import.

use std::time::{Duration, Instant};

use face_index::synthetic::Synthetic;
use face_index::IndexConfig;

use crate::common::*;

use local_gallery::*;

/// Persons with one to three photos each of a synthetic identity; returns the
/// identities.
fn enrol(g: &LocalGallery, persons: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut synth = Synthetic::new(DESCRIPTOR_DIM, seed);
    let mut identities = Vec::new();
    let mut batch = Vec::new();
    for i in 0..persons {
        let id = synth.identity();
        for _ in 0..(1 + i % 3) {
            batch.push(NewFace {
                person: pid(&format!("p{i}")),
                descriptor: synth.photo(&id),
                meta: FaceMeta::default(),
            });
        }
        identities.push(id);
    }
    for chunk in batch.chunks(500) {
        g.add_faces(chunk).unwrap();
    }
    identities
}

/// Every face by distance to `probe`, by a plain loop.
fn brute_force(g: &LocalGallery, probe: &[f32]) -> Vec<(FaceId, f32)> {
    let mut all: Vec<(FaceId, f32)> = all_faces(g)
        .into_iter()
        .map(|(_, f)| {
            let d2: f32 = f
                .descriptor
                .iter()
                .zip(probe)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            (f.id, d2.sqrt())
        })
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    all
}

#[test]
fn search_equals_a_brute_force_scan() {
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert!(g.search(&descriptor(1), 5).unwrap().is_empty());
    let identities = enrol(&g, 200, 5);
    let faces = g.stats().faces;
    // 1 + i % 3 faces for person i: 67 with one, 67 with two, 66 with three.
    assert_eq!(faces, 67 + 67 * 2 + 66 * 3);
    let mut synth = Synthetic::new(DESCRIPTOR_DIM, 77);
    for (n, k) in [
        (0usize, 1usize),
        (1, 7),
        (2, 25),
        (3, faces + 10),
        (4, usize::MAX),
    ] {
        // A new photo of an enrolled identity, and a stranger.
        for probe in [synth.photo(&identities[n * 31]), synth.identity()] {
            let want = brute_force(&g, &probe);
            let got = g.search(&probe, k).unwrap();
            assert_eq!(got.len(), k.min(faces));
            for (h, (face, d)) in got.iter().zip(&want) {
                assert_eq!(h.face, *face);
                assert!((h.distance - d).abs() < 1e-5, "{} vs {d}", h.distance);
            }
        }
    }
    assert!(g.search(&descriptor(1), 0).unwrap().is_empty());
    assert!(!g.stats().inverted_file);
}

#[test]
fn large_galleries_search_through_the_inverted_file() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        index: IndexConfig {
            ann_min_faces: 2000,
            ..IndexConfig::default()
        },
        ..Options::default()
    };
    let g = LocalGallery::open_with(dir.path(), &KEY, options).unwrap();
    let identities = enrol(&g, 1500, 9);
    assert!(g.stats().faces >= 2000);
    // Built on a thread of its own.
    let t = Instant::now();
    while !g.stats().inverted_file {
        assert!(t.elapsed() < Duration::from_secs(120), "no inverted file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut synth = Synthetic::new(DESCRIPTOR_DIM, 78);
    let mut agree = 0;
    let probes = 100;
    for i in 0..probes {
        let probe = synth.photo(&identities[i * 13]);
        let want = brute_force(&g, &probe);
        let got = g.search(&probe, 5).unwrap();
        assert_eq!(got.len(), 5);
        assert!(got.windows(2).all(|w| w[0].distance <= w[1].distance));
        if got[0].face == want[0].0 {
            agree += 1;
        }
        assert_eq!(got[0].person, pid(&format!("p{}", i * 13)));
    }
    assert!(agree >= 97, "top-1 agreement with exact {agree}/{probes}");
    // Reopened, it builds again from the log.
    drop(g);
    let g = LocalGallery::open_with(dir.path(), &KEY, options).unwrap();
    let t = Instant::now();
    while !g.stats().inverted_file {
        assert!(t.elapsed() < Duration::from_secs(120), "no inverted file");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn export_then_import_gives_identical_search_results() {
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    enrol(&g, 60, 11);
    g.add_face(&pid("named"), &descriptor(5), meta("名字"))
        .unwrap();
    let mut export = Vec::new();
    // Sealed under a transfer key, not the gallery's.
    assert_eq!(g.export(&mut export, &OTHER_KEY).unwrap(), g.stats().faces);

    let other = tempfile::tempdir().unwrap();
    let h = LocalGallery::open(other.path(), &[9; 32]).unwrap();
    assert!(matches!(
        h.import(&export[..], &KEY, ImportMode::Replace),
        Err(LocalGalleryError::WrongKey(Source::Export))
    ));
    let done = h
        .import(&export[..], &OTHER_KEY, ImportMode::Replace)
        .unwrap();
    assert_eq!(done.faces, g.stats().faces);
    assert_eq!(done.total, g.stats().faces);
    assert_eq!(all_faces(&h), all_faces(&g));
    let mut synth = Synthetic::new(DESCRIPTOR_DIM, 3);
    for _ in 0..20 {
        let probe = synth.identity();
        assert_eq!(h.search(&probe, 10).unwrap(), g.search(&probe, 10).unwrap());
    }
    // It is on disk under the new gallery's key.
    drop(h);
    let h = LocalGallery::open(other.path(), &[9; 32]).unwrap();
    assert_eq!(all_faces(&h), all_faces(&g));
}

#[test]
fn imports_merge_or_replace_and_check_everything_first() {
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    let a = g.add_face(&pid("a"), &descriptor(1), meta("A")).unwrap();
    let b = g.add_face(&pid("b"), &descriptor(2), meta("B")).unwrap();
    let mut export = Vec::new();
    g.export(&mut export, &KEY).unwrap();

    let other = tempfile::tempdir().unwrap();
    let h = LocalGallery::open(other.path(), &KEY).unwrap();
    let c = h.add_face(&pid("a"), &descriptor(3), meta("A2")).unwrap();
    // Merge: a gets its second face, b arrives; merging again changes nothing.
    let done = h.import(&export[..], &KEY, ImportMode::Merge).unwrap();
    assert_eq!((done.faces, done.added, done.total), (2, 2, 3));
    let ids: Vec<FaceId> = h
        .person(&pid("a"))
        .unwrap()
        .faces
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, vec![c, a]);
    let done = h.import(&export[..], &KEY, ImportMode::Merge).unwrap();
    assert_eq!((done.added, done.total), (0, 3));
    // Replace: exactly the export.
    h.import(&export[..], &KEY, ImportMode::Replace).unwrap();
    let ids: Vec<FaceId> = all_faces(&h).iter().map(|(_, f)| f.id).collect();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(ids, want);

    // Refusals leave the gallery as it was.
    let before = all_faces(&h);
    let log_before = std::fs::read(log_path(other.path())).unwrap();
    let refused = |bytes: &[u8], mode| {
        let e = h.import(bytes, &KEY, mode).unwrap_err();
        assert_eq!(all_faces(&h), before);
        assert_eq!(std::fs::read(log_path(other.path())).unwrap(), log_before);
        e
    };
    let f = frames(&export);
    // Cut anywhere: at a frame boundary (the end record is missing) or inside a frame.
    assert!(matches!(
        refused(&export[..f[2].0], ImportMode::Replace),
        LocalGalleryError::Truncated
    ));
    assert!(matches!(
        refused(&export[..export.len() - 3], ImportMode::Merge),
        LocalGalleryError::Truncated
    ));
    let mut flipped = export.clone();
    flipped[f[1].0 + 50] ^= 1;
    assert!(matches!(
        refused(&flipped, ImportMode::Replace),
        LocalGalleryError::Corrupt {
            what: Source::Export,
            ..
        }
    ));
    fix_checksum(&mut flipped, f[1]);
    assert!(matches!(
        refused(&flipped, ImportMode::Replace),
        LocalGalleryError::Tampered {
            what: Source::Export,
            ..
        }
    ));
    let mut longer = export.clone();
    longer.push(0);
    assert!(matches!(
        refused(&longer, ImportMode::Replace),
        LocalGalleryError::Corrupt { .. }
    ));
    // A gallery's own log is not an export.
    assert!(matches!(
        refused(
            &std::fs::read(log_path(dir.path())).unwrap(),
            ImportMode::Merge
        ),
        LocalGalleryError::NotRecognised {
            what: Source::Export,
            ..
        }
    ));
    // The same face id with other contents, and a person pushed past its limit.
    let g2dir = tempfile::tempdir().unwrap();
    let g2 = LocalGallery::open(g2dir.path(), &KEY).unwrap();
    g2.import(&export[..], &KEY, ImportMode::Replace).unwrap();
    g2.remove_face(a).unwrap();
    g2.add_face(&pid("b"), &descriptor(20), FaceMeta::default())
        .unwrap();
    for i in 0..5 {
        g2.add_face(&pid("a"), &descriptor(30 + i), FaceMeta::default())
            .unwrap();
    }
    let mut export2 = Vec::new();
    g2.export(&mut export2, &KEY).unwrap();
    h.import(&export[..], &KEY, ImportMode::Replace).unwrap();
    let e = h.import(&export2[..], &KEY, ImportMode::Merge).unwrap_err();
    assert!(
        matches!(e, LocalGalleryError::TooManyFaces { ref person, max: 5 } if *person == pid("a"))
    );
}
