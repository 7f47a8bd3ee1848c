//! NeedRotateDetection's search on the fixture photos turned by quarter circles (no EXIF
//! orientation): which turn finds the face, that its box maps back onto the upright
//! detection, and what the search costs when no turn finds a face.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use vision::{Engine, EngineConfig, RgbImage, Turn};

fn fixture(name: &str) -> RgbImage {
    fixture_at(name, 320)
}

fn fixture_at(name: &str, width: u32) -> RgbImage {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("scripts/fixtures"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let img = image::open(dir.join(name)).unwrap();
    // 320 px wide by default, as the API tests: the CPU detector is slow on large photos.
    img.resize(width, 10_000, image::imageops::FilterType::Triangle)
        .to_rgb8()
}

fn engine() -> Engine {
    let store = models::ModelStore::from_env().unwrap();
    Engine::load(&store, EngineConfig::default()).unwrap()
}

const ALL: [Turn; 4] = [Turn::None, Turn::Cw90, Turn::Cw180, Turn::Cw270];

/// The turn that undoes `sent`.
fn inverse(sent: Turn) -> Turn {
    match sent {
        Turn::None => Turn::None,
        Turn::Cw90 => Turn::Cw270,
        Turn::Cw180 => Turn::Cw180,
        Turn::Cw270 => Turn::Cw90,
    }
}

#[test]
fn every_quarter_turn_is_undone_and_the_box_maps_back() {
    let engine = engine();
    for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
        let img = fixture(name);
        let upright = engine.detect(&img).unwrap();
        assert_eq!(upright.len(), 1, "{name}");
        for sent in ALL {
            let photo = sent.apply(&img);
            let found = engine.detect_turned(photo.clone()).unwrap();
            assert_eq!(found.turn, inverse(sent), "{name} sent {sent:?}");
            assert_eq!(
                (found.original_width, found.original_height),
                photo.dimensions()
            );
            assert_eq!(
                found.image, img,
                "{name}: the kept image is the upright one"
            );
            assert_eq!(found.faces, upright, "{name} sent {sent:?}");
            // Back in the frame of the photo as sent, the box is where the face lies:
            // the upright box turned like the photo, corner for corner.
            let back = found.face_to_original(&found.faces[0]);
            let on_photo =
                inverse(sent).rect_to_original(upright[0].rect, photo.width(), photo.height());
            assert_eq!(back.rect, on_photo, "{name} sent {sent:?}");
            let (w, h) = (i64::from(photo.width()), i64::from(photo.height()));
            let r = back.rect;
            assert!(
                r.right > 0 && r.bottom > 0 && r.left < w && r.top < h,
                "{name}: {r:?} off the photo"
            );
        }
    }
}

/// The extra cost of the search: four detections instead of one. Printed for
/// docs/api.md (median of 3 after a warm-up that builds the detector's plans).
#[test]
fn search_cost_on_a_photo_without_and_with_a_face() {
    let engine = engine();
    for (name, width) in [
        ("astronaut.png", 320),
        ("obama.jpg", 320),
        ("obama.jpg", 640),
    ] {
        let img = fixture_at(name, width);
        let median = |f: &dyn Fn()| {
            f();
            let mut ms: Vec<f64> = (0..3)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            ms.sort_by(f64::total_cmp);
            ms[1]
        };
        let plain = median(&|| {
            engine.detect(&img).unwrap();
        });
        let turned = median(&|| {
            engine.detect_turned(img.clone()).unwrap();
        });
        let found = engine.detect_turned(img.clone()).unwrap();
        let faces = engine.detect(&img).unwrap();
        assert_eq!(found.turn, Turn::None, "{name}");
        assert_eq!(found.faces, faces, "{name}");
        println!(
            "{name} {}x{}: detect {plain:.0} ms, detect_turned {turned:.0} ms, extra {:.0} ms",
            img.width(),
            img.height(),
            turned - plain
        );
    }
}
