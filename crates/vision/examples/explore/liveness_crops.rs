//! Raw liveness scores of every face in a list of photos under several crops of the
//! dlib box, written as CSV:
//!
//! ```text
//! RENLIAN_LIVENESS_LIST=list.txt RENLIAN_LIVENESS_OUT=scores.csv \
//!   cargo run --example explore -- liveness-crops
//! ```
//!
//! `list.txt` has one `LABEL PATH` per line (e.g. `genuine /photos/a.jpg`). The photos
//! stay where they are; only figures computed from the CSV go into the docs.

use std::io::Write;

use vision::geometry::Rect;
use vision::liveness::face_crop;
use vision::{Engine, EngineConfig, LivenessNets, RgbImage};

/// The crop variants measured: the dlib box and squares grown around its centre, each
/// also mirrored, and the box shifted by a tenth of its side.
fn variants(img: &RgbImage, r: Rect) -> Vec<(String, RgbImage)> {
    let mut out = Vec::new();
    for scale in [1.0, 1.25, 1.5] {
        for mirror in [false, true] {
            let c = face_crop(img, r, scale, mirror).unwrap();
            out.push((format!("s{scale}{}", if mirror { "m" } else { "" }), c));
        }
    }
    let d = r.width() / 10;
    out.push((
        "shift".into(),
        face_crop(img, r.translate(d, d), 1.0, false).unwrap(),
    ));
    out
}

pub fn run() {
    let list = std::env::var("RENLIAN_LIVENESS_LIST").expect("RENLIAN_LIVENESS_LIST");
    let out = std::env::var("RENLIAN_LIVENESS_OUT").expect("RENLIAN_LIVENESS_OUT");
    let store = models::ModelStore::from_env().unwrap();
    let engine = Engine::load(&store, EngineConfig::default()).unwrap();
    let nets = LivenessNets::load(&store).unwrap();
    let mut csv = std::fs::File::create(out).unwrap();
    writeln!(
        csv,
        "label,file,faces,face,width,variant,antispoof,liveness"
    )
    .unwrap();
    for line in std::fs::read_to_string(list).unwrap().lines() {
        let Some((label, path)) = line.split_once(' ') else {
            continue;
        };
        let img = engine.decode(&std::fs::read(path).unwrap()).unwrap();
        let mut faces = engine.detect(&img).unwrap();
        faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
        if faces.is_empty() {
            writeln!(csv, "{label},{path},0,,,,,").unwrap();
            continue;
        }
        // The largest face, as the API scores it.
        let f = &faces[0];
        for (name, c) in variants(&img, f.rect) {
            let s = nets.score(&c).unwrap();
            writeln!(
                csv,
                "{label},{path},{},0,{},{name},{},{}",
                faces.len(),
                f.rect.width(),
                s.antispoof,
                s.liveness
            )
            .unwrap();
        }
        let a = nets.assess(&img, f.rect).unwrap();
        writeln!(
            csv,
            "{label},{path},{},0,{},assess,{},{}",
            faces.len(),
            f.rect.width(),
            a.raw.antispoof,
            a.raw.liveness
        )
        .unwrap();
    }
}
