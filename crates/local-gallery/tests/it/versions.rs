//! The descriptor version a gallery file records (header byte 11): 0 = version 1, as
//! every file written before the byte was used; kept by compaction and exports; an empty
//! gallery takes the version it is opened for; an import never mixes two versions.

use std::fs;

use local_gallery::{ImportMode, LocalGallery, LocalGalleryError, Options};

use crate::common::*;

fn opened_for(dir: &std::path::Path, version: u8) -> LocalGallery {
    let options = Options {
        descriptor_version: version,
        ..Options::default()
    };
    LocalGallery::open_with(dir, &KEY, options).unwrap()
}

#[test]
fn the_file_records_its_descriptor_version() {
    let dir = tempfile::tempdir().unwrap();
    // Version 1 writes the byte as files before versions did.
    {
        let g = LocalGallery::open(dir.path(), &KEY).unwrap();
        assert_eq!(g.descriptor_version(), 1);
        g.add_face(&pid("a"), &descriptor(1), meta("a")).unwrap();
    }
    assert_eq!(fs::read(log_path(dir.path())).unwrap()[11], 0);
    // A gallery with faces keeps its version whatever it is opened for…
    {
        let g = opened_for(dir.path(), 2);
        assert_eq!(g.descriptor_version(), 1);
        g.compact().unwrap();
        assert_eq!(g.descriptor_version(), 1);
        g.remove_person(&pid("a")).unwrap();
    }
    // … and takes it once it has none.
    let g = opened_for(dir.path(), 2);
    assert_eq!(g.descriptor_version(), 2);
    assert_eq!(fs::read(log_path(dir.path())).unwrap()[11], 2);
    g.add_face(&pid("b"), &descriptor(2), meta("b")).unwrap();
    drop(g);
    assert_eq!(
        LocalGallery::open(dir.path(), &KEY)
            .unwrap()
            .descriptor_version(),
        2
    );
}

#[test]
fn an_import_never_mixes_two_versions() {
    let (d1, d2, d3) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let v1 = opened_for(d1.path(), 1);
    v1.add_face(&pid("a"), &descriptor(1), meta("a")).unwrap();
    let v2 = opened_for(d2.path(), 2);
    v2.add_face(&pid("b"), &descriptor(2), meta("b")).unwrap();
    let mut export = Vec::new();
    v1.export(&mut export, &OTHER_KEY).unwrap();
    // Merged into faces of another version: refused, nothing written.
    assert!(matches!(
        v2.import(&export[..], &OTHER_KEY, ImportMode::Merge),
        Err(LocalGalleryError::DescriptorVersion {
            gallery: 2,
            export: 1
        })
    ));
    assert_eq!(all_faces(&v2).len(), 1);
    // Replacing, or merging into an empty gallery: the gallery takes the export's version.
    v2.import(&export[..], &OTHER_KEY, ImportMode::Replace)
        .unwrap();
    assert_eq!(v2.descriptor_version(), 1);
    let empty = opened_for(d3.path(), 2);
    empty
        .import(&export[..], &OTHER_KEY, ImportMode::Merge)
        .unwrap();
    assert_eq!(empty.descriptor_version(), 1);
    assert_eq!(all_faces(&empty).len(), 1);
}
