//! ONNX Runtime as the engine's runtime (`runtime::use_onnxruntime`, the library from
//! the PyPI wheel that scripts/onnxruntime-env installs): the same faces, boxes and
//! descriptors as tract on the fixture photos, for MMOD, the fast detector and the
//! descriptor, with every graph of the engine accepted by ONNX Runtime.

use vision::{Engine, EngineConfig};

// The `it` binary's set-up (scripts, model store), shared as a file.
#[path = "it/common.rs"]
mod common;

fn engines(store: &models::ModelStore) -> (Engine, Engine) {
    let mmod = Engine::load(store, EngineConfig::default()).unwrap();
    (mmod, Engine::load(store, common::fast_config()).unwrap())
}

#[test]
fn onnxruntime_runs_the_engine_as_tract_does() {
    let store = common::store();
    // tract's engines first: loading ONNX Runtime switches the networks loaded after it.
    let (tract_mmod, tract_fast) = engines(&store);
    assert!(!vision::runtime::onnxruntime_loaded());
    let library = common::run_script(&common::repo_root().join("scripts/onnxruntime-env"), &[]);
    vision::runtime::use_onnxruntime(&library).unwrap();
    assert!(vision::runtime::onnxruntime_loaded());
    let (ort_mmod, ort_fast) = engines(&store);
    assert_eq!(
        vision::runtime::onnxruntime_fallbacks(),
        Vec::<(&str, String)>::new(),
        "graphs of the engine ONNX Runtime refused"
    );
    let blazeface = vision::runtime::Network::load_tfjs(
        &store,
        "blazeface",
        "blazeface.json",
        [1, 256, 256, 3],
    )
    .unwrap();
    assert_eq!(blazeface.runtime(), "onnxruntime");

    for name in ["obama.jpg", "obama2.jpg", "biden.jpg", "astronaut.png"] {
        let img = common::fixture_480(name);
        for (what, tract, ort) in [
            ("mmod", &tract_mmod, &ort_mmod),
            ("fast", &tract_fast, &ort_fast),
        ] {
            let a = tract.embed(&img).unwrap();
            let b = ort.embed(&img).unwrap();
            assert_eq!(a.len(), b.len(), "{name} {what}: {a:?} vs {b:?}");
            for ((fa, da), (fb, db)) in a.iter().zip(&b) {
                let iou = fa.rect.iou(&fb.rect);
                let dc = (fa.confidence - fb.confidence).abs();
                let d = da.distance(db);
                eprintln!(
                    "{name} {what}: IoU {iou:.4}, confidence {} vs {}, descriptor distance {d:.2e}",
                    fa.confidence, fb.confidence
                );
                assert!(iou >= 0.95, "{name} {what}: {:?} vs {:?}", fa.rect, fb.rect);
                assert!(dc < 1e-3, "{name} {what}: confidence {dc}");
                assert!(d < 1e-3, "{name} {what}: descriptor distance {d}");
            }
        }
    }
}
