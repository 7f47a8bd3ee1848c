//! Unfinished writes at the end of the log, and compaction.

use std::fs::{self, OpenOptions};
use std::io::Write;

use crate::common::*;

use local_gallery::*;

#[test]
fn a_torn_last_record_is_dropped_and_writing_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let ids = filled(dir.path(), 3);
    let path = log_path(dir.path());
    let len = fs::metadata(&path).unwrap().len();
    let f = frames(&fs::read(&path).unwrap());
    // A process killed inside the last append: the file ends 5 bytes early.
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    {
        let g = LocalGallery::open(dir.path(), &KEY).unwrap();
        assert_eq!(g.dropped_tail(), (len - 5) - f[2].0 as u64);
        assert_eq!(fs::metadata(&path).unwrap().len(), f[2].0 as u64);
        let kept: Vec<FaceId> = all_faces(&g).iter().map(|(_, f)| f.id).collect();
        let mut want = ids[..2].to_vec();
        want.sort();
        assert_eq!(kept, want);
        g.add_face(&pid("p2"), &descriptor(2), meta("n2")).unwrap();
    }
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert_eq!(g.dropped_tail(), 0);
    assert_eq!(g.stats().faces, 3);
    assert_eq!(g.search(&descriptor(2), 1).unwrap()[0].person, pid("p2"));
}

#[test]
fn a_tail_of_zeros_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 2);
    let path = log_path(dir.path());
    // What a file system leaves when it extended the file but the data never landed.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&[0u8; 700]).unwrap();
    drop(f);
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert_eq!(g.dropped_tail(), 700);
    assert_eq!(g.stats().faces, 2);
}

#[test]
fn an_unfinished_batch_is_dropped_whole() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 1);
    let path = log_path(dir.path());
    let before = fs::metadata(&path).unwrap().len();
    {
        let g = LocalGallery::open(dir.path(), &KEY).unwrap();
        let batch: Vec<NewFace> = (10..13)
            .map(|i| NewFace {
                person: pid("batch"),
                descriptor: descriptor(i),
                meta: FaceMeta::default(),
            })
            .collect();
        g.add_faces(&batch).unwrap();
    }
    let bytes = fs::read(&path).unwrap();
    let f = frames(&bytes);
    assert_eq!(f.len(), 4);
    // Killed while the third frame of the batch was being written: the first two are
    // complete and authentic, but the write never committed.
    fs::write(&path, &bytes[..f[3].0 + 100]).unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert_eq!(g.list_persons(), vec![pid("p0")]);
    assert_eq!(g.dropped_tail(), (f[3].0 + 100) as u64 - before);
    assert_eq!(fs::metadata(&path).unwrap().len(), before);
}

#[test]
fn compaction_drops_dead_records_and_keeps_every_face() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        compact_min_dead: 20,
        ..Options::default()
    };
    let g = LocalGallery::open_with(dir.path(), &KEY, options).unwrap();
    let keep: Vec<FaceId> = (0..10)
        .map(|i| {
            g.add_face(&pid(&format!("keep{i}")), &descriptor(i), meta("k"))
                .unwrap()
        })
        .collect();
    // Churn: add and remove; every pair leaves two dead records.
    let mut max_records = 0;
    for i in 100..130 {
        let f = g
            .add_face(&pid("churn"), &descriptor(i), FaceMeta::default())
            .unwrap();
        g.remove_face(f).unwrap();
        max_records = max_records.max(g.stats().log_records);
    }
    let s = g.stats();
    // It compacted on its own once dead records passed 20 and outnumbered the live.
    assert!(max_records <= 10 + 22, "{max_records}");
    assert!(s.log_records < 10 + 60, "{s:?}");
    assert_eq!(s.faces, 10);
    g.compact().unwrap();
    let s = g.stats();
    assert_eq!(s.log_records, 10);
    assert_eq!(
        s.log_bytes,
        fs::metadata(log_path(dir.path())).unwrap().len()
    );
    let before = all_faces(&g);
    // Writes after a compaction go to the new file.
    let late = g
        .add_face(&pid("late"), &descriptor(999), meta("l"))
        .unwrap();
    drop(g);
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    let mut after = all_faces(&g);
    after.retain(|(_, f)| f.id != late);
    assert_eq!(after, before);
    assert_eq!(g.search(&descriptor(999), 1).unwrap()[0].face, late);
    for (i, id) in keep.iter().enumerate() {
        assert_eq!(g.search(&descriptor(i as u64), 1).unwrap()[0].face, *id);
    }
    assert!(!dir.path().join("gallery.log.tmp").exists());
}

#[test]
fn a_leftover_rewrite_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 2);
    // A compaction killed before its rename leaves its file beside the log.
    fs::write(dir.path().join("gallery.log.tmp"), b"half a rewrite").unwrap();
    let g = LocalGallery::open(dir.path(), &KEY).unwrap();
    assert_eq!(g.stats().faces, 2);
    assert!(!dir.path().join("gallery.log.tmp").exists());
}
