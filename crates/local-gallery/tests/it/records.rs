//! Adding, listing, removing, reopening, and the limits.

use crate::common::*;

use local_gallery::*;

#[test]
fn faces_round_trip_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (a1, a2, b1);
    {
        let g = LocalGallery::open(dir.path(), &KEY).unwrap();
        assert!(g.list_persons().is_empty());
        a1 = g
            .add_face(&pid("alice"), &descriptor(1), meta("Alice"))
            .unwrap();
        a2 = g
            .add_face(&pid("alice"), &descriptor(2), FaceMeta::default())
            .unwrap();
        b1 = g
            .add_face(&pid("bob"), &descriptor(3), meta("鲍勃"))
            .unwrap();
        assert_ne!(a1, a2);
        assert_eq!(g.list_persons(), vec![pid("alice"), pid("bob")]);
        let alice = g.person(&pid("alice")).unwrap();
        assert_eq!(
            alice.faces.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec![a1, a2]
        );
        assert_eq!(alice.faces[0].descriptor, descriptor(1));
        assert_eq!(alice.faces[0].meta, meta("Alice"));
        assert_eq!(alice.faces[1].meta, FaceMeta::default());
        let s = g.stats();
        assert_eq!((s.persons, s.faces, s.log_records), (2, 3, 3));
    }
    let before;
    {
        let g = LocalGallery::open(dir.path(), &KEY).unwrap();
        assert_eq!(g.dropped_tail(), 0);
        before = all_faces(&g);
        assert_eq!(before.len(), 3);
        let bob = g.person(&pid("bob")).unwrap();
        assert_eq!(bob.faces[0].id, b1);
        assert_eq!(bob.faces[0].meta, meta("鲍勃"));
        assert_eq!(bob.faces[0].descriptor, descriptor(3));

        // Remove one face, then a person; removing the last face removes its person.
        g.remove_face(a1).unwrap();
        assert_eq!(g.person(&pid("alice")).unwrap().faces.len(), 1);
        assert_eq!(g.remove_person(&pid("bob")).unwrap(), 1);
        assert!(g.person(&pid("bob")).is_none());
        g.remove_face(a2).unwrap();
        assert!(g.list_persons().is_empty());
        let c = g
            .add_face(&pid("carol"), &descriptor(4), meta("C"))
            .unwrap();
        assert_eq!(g.search(&descriptor(4), 5).unwrap()[0].face, c);
    }
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert_eq!(g.list_persons(), vec![pid("carol")]);
    assert_eq!(g.stats().faces, 1);
    assert!(matches!(
        g.remove_face(a1),
        Err(LocalGalleryError::FaceNotFound(f)) if f == a1
    ));
    assert!(matches!(
        g.remove_person(&pid("bob")),
        Err(LocalGalleryError::PersonNotFound(_))
    ));
}

#[test]
fn limits_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    let p = pid("p");
    assert!(matches!(
        g.add_face(&p, &descriptor(1)[..127], FaceMeta::default()),
        Err(LocalGalleryError::Descriptor(m)) if m.contains("127 components")
    ));
    let mut nan = descriptor(1);
    nan[5] = f32::NAN;
    assert!(matches!(
        g.add_face(&p, &nan, FaceMeta::default()),
        Err(LocalGalleryError::Descriptor(m)) if m.contains("component 5")
    ));
    assert!(matches!(
        g.search(&[0.0; 129], 1),
        Err(LocalGalleryError::Descriptor(_))
    ));
    assert!(matches!(
        PersonId::new("no spaces"),
        Err(LocalGalleryError::FieldCharacter {
            field: Field::PersonId,
            ch: ' '
        })
    ));
    assert!(matches!(
        PersonId::new("x".repeat(65)),
        Err(LocalGalleryError::FieldLength {
            field: Field::PersonId,
            len: 65,
            ..
        })
    ));
    let long_name = FaceMeta {
        name: Some("名".repeat(MAX_NAME_CHARS + 1)),
        tag: None,
    };
    assert!(matches!(
        g.add_face(&p, &descriptor(1), long_name),
        Err(LocalGalleryError::FieldLength {
            field: Field::Name,
            len: 61,
            ..
        })
    ));
    let control = FaceMeta {
        name: Some("a\nb".into()),
        tag: None,
    };
    assert!(matches!(
        g.add_face(&p, &descriptor(1), control),
        Err(LocalGalleryError::FieldCharacter {
            field: Field::Name,
            ch: '\n'
        })
    ));
    let long_tag = FaceMeta {
        name: None,
        tag: Some("x".repeat(MAX_TAG_BYTES + 1)),
    };
    assert!(matches!(
        g.add_face(&p, &descriptor(1), long_tag),
        Err(LocalGalleryError::FieldLength {
            field: Field::Tag,
            ..
        })
    ));
    // A full-size tag and name are fine.
    let full = FaceMeta {
        name: Some("名".repeat(MAX_NAME_CHARS)),
        tag: Some("x".repeat(MAX_TAG_BYTES)),
    };
    g.add_face(&p, &descriptor(1), full.clone()).unwrap();
    assert_eq!(g.person(&p).unwrap().faces[0].meta, full);
    // Five faces per person; a batch that would pass the limit writes nothing.
    for i in 2..=DEFAULT_MAX_FACES_PER_PERSON as u64 {
        g.add_face(&p, &descriptor(i), FaceMeta::default()).unwrap();
    }
    let batch = vec![
        NewFace {
            person: pid("q"),
            descriptor: descriptor(10),
            meta: FaceMeta::default(),
        },
        NewFace {
            person: p.clone(),
            descriptor: descriptor(11),
            meta: FaceMeta::default(),
        },
    ];
    assert!(matches!(
        g.add_faces(&batch),
        Err(LocalGalleryError::TooManyFaces { max: 5, .. })
    ));
    assert!(g.person(&pid("q")).is_none());
    assert_eq!(g.stats().log_records, 5);
    drop(g);
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert_eq!(g.stats().faces, 5);
}

#[test]
fn a_batch_is_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    let faces: Vec<NewFace> = (0..3)
        .map(|i| NewFace {
            person: pid(&format!("p{i}")),
            descriptor: descriptor(i),
            meta: meta(&format!("n{i}")),
        })
        .collect();
    let ids = g.add_faces(&faces).unwrap();
    assert_eq!(ids.len(), 3);
    for (i, id) in ids.iter().enumerate() {
        let hits = g.search(&descriptor(i as u64), 1).unwrap();
        assert_eq!(hits[0].face, *id);
        assert_eq!(hits[0].person, pid(&format!("p{i}")));
        assert_eq!(hits[0].distance, 0.0);
    }
}

#[test]
fn a_gallery_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    shared(&g);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let g = &g;
            s.spawn(move || {
                for i in 0..10 {
                    let d = descriptor(t * 100 + i);
                    let f = g
                        .add_face(&pid(&format!("t{t}-{i}")), &d, FaceMeta::default())
                        .unwrap();
                    assert_eq!(g.search(&d, 1).unwrap()[0].face, f);
                }
            });
        }
    });
    assert_eq!(g.stats().faces, 40);
    drop(g);
    assert_eq!(
        LocalGallery::open(dir.path(), &KEY).unwrap().stats().faces,
        40
    );
}
