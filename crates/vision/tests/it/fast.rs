//! The fast detector path (BlazeFace, boxes mapped to MMOD's convention) on the fixture
//! photos: it finds the faces MMOD finds, with boxes close to MMOD's, and the descriptors
//! computed from its boxes stay close to those from MMOD's boxes.

use std::sync::OnceLock;

use vision::{Engine, EngineConfig, Turn};

use crate::common::{fast_config, fixture_480 as fixture};

struct Engines {
    mmod: Engine,
    fast: Engine,
}

fn engines() -> &'static Engines {
    static E: OnceLock<Engines> = OnceLock::new();
    E.get_or_init(|| {
        let store = models::ModelStore::from_env().unwrap();
        Engines {
            mmod: Engine::load(&store, EngineConfig::default()).unwrap(),
            fast: Engine::load(&store, fast_config()).unwrap(),
        }
    })
}

const PHOTOS: [&str; 4] = ["obama.jpg", "obama2.jpg", "biden.jpg", "astronaut.png"];

#[test]
fn finds_the_fixture_faces_with_boxes_close_to_mmod() {
    let e = engines();
    for name in PHOTOS {
        let img = fixture(name);
        let mmod = e.mmod.detect_boxes(&img).unwrap();
        let fast = e.fast.detect_boxes(&img).unwrap();
        assert!(!mmod.is_empty(), "{name}: MMOD found no face");
        for m in &mmod {
            let best = fast.iter().map(|f| f.rect.iou(&m.rect)).fold(0.0, f64::max);
            println!("{name}: MMOD {:?}, best fast IoU {best:.3}", m.rect);
            assert!(
                best >= 0.65,
                "{name}: MMOD face {:?}, fast {fast:?}",
                m.rect
            );
        }
        // No face MMOD does not see (every fixture has one person in view at this size).
        assert_eq!(fast.len(), mmod.len(), "{name}: {fast:?} vs {mmod:?}");
        for f in &fast {
            assert!(f.confidence >= 0.65 && f.confidence <= 1.0, "{f:?}");
        }
    }
}

#[test]
fn descriptors_from_fast_boxes_stay_close_to_mmod_ones() {
    let e = engines();
    for name in PHOTOS {
        let img = fixture(name);
        let m = e.mmod.embed(&img).unwrap();
        let f = e.fast.embed(&img).unwrap();
        let (dm, df) = (&m[0].1, &f[0].1);
        let d = dm.distance(df);
        println!("{name}: descriptor distance MMOD path vs fast path {d:.4}");
        // Same-person photos of this descriptor lie below 0.6; the same photo through
        // the two box conventions must be far closer than that (measured 0.04-0.06).
        assert!(d < 0.12, "{name}: {d}");
    }
}

#[test]
fn rotation_search_on_the_fast_path_finds_the_upright_turn() {
    let e = engines();
    let img = fixture("obama.jpg");
    for sent in [Turn::Cw90, Turn::Cw180, Turn::Cw270] {
        let turned = sent.apply(&img);
        let found = e.fast.detect_turned(turned).unwrap();
        assert_eq!(found.faces.len(), 1, "{sent:?}");
        // The turn found undoes the one applied: the image is upright again.
        assert_eq!(found.image, img, "{sent:?}: kept {:?}", found.turn);
    }
}
