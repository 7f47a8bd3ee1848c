//! `Analyzer::load` with an empty conversion cache, then with it filled, and each graph's
//! conversion against a cache hit: `cargo run --example explore -- analyzer-load`.
//! A measurement, meaningful only on an otherwise idle machine.

use std::path::{Path, PathBuf};
use std::time::Instant;

use models::{DlibModel, ModelStore, NoProgress, Origin, Pack};

/// A store with an empty ONNX cache and the shared `human-models` pack.
fn fresh_store() -> (tempfile::TempDir, ModelStore) {
    let shared = ModelStore::from_env().unwrap();
    shared.ensure(Pack::HumanModels, &NoProgress).unwrap();
    let pack = shared.human_model_path("antispoof.json").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(pack.parent().unwrap(), tmp.path().join("human-models")).unwrap();
    if shared.is_present(Pack::Dlib) {
        let dat = shared.dlib_path(DlibModel::ResnetDescriptor).unwrap();
        std::os::unix::fs::symlink(dat.parent().unwrap(), tmp.path().join("dlib")).unwrap();
    }
    let store = ModelStore::at(tmp.path());
    assert!(store.is_present(Pack::HumanModels));
    (tmp, store)
}

fn fresh_conversion(store: &ModelStore, file: &str) -> Vec<u8> {
    let path = store.human_model_path(file).unwrap();
    tfjs::to_onnx(&tfjs::GraphModel::load(&path).unwrap()).unwrap()
}

fn cache_files(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root.join("onnx"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

pub fn run() {
    let (tmp, store) = fresh_store();
    let t = Instant::now();
    vision::Analyzer::load(&store).unwrap();
    let cold = t.elapsed();
    let t = Instant::now();
    vision::Analyzer::load(&store).unwrap();
    let cached = t.elapsed();
    // Per graph: a fresh conversion against a cache hit (which hashes the sources and
    // the entry).
    for file in vision::Analyzer::GRAPHS
        .iter()
        .filter(|f| **f != "gear.json")
    {
        let t = Instant::now();
        let fresh = fresh_conversion(&store, file);
        let convert = t.elapsed();
        let t = Instant::now();
        let hit = vision::tfjs_onnx(&store, file).unwrap();
        let read = t.elapsed();
        assert_eq!(hit.origin, Origin::Cached, "{file}");
        assert!(hit.bytes == fresh, "{file}");
        println!(
            "{file:<15} {:>6.1} MB ONNX: convert {:>6.1} ms, cache hit {:>6.1} ms",
            fresh.len() as f64 / 1e6,
            convert.as_secs_f64() * 1e3,
            read.as_secs_f64() * 1e3
        );
    }
    assert_eq!(cache_files(tmp.path()).len(), 6);
    // dlib's descriptor through the same cache: import, then a hit.
    if store.is_present(Pack::Dlib) {
        let m = DlibModel::ResnetDescriptor;
        let t = Instant::now();
        let imported = store.onnx(m).unwrap();
        let import = t.elapsed();
        let t = Instant::now();
        let hit = store.onnx(m).unwrap();
        let read = t.elapsed();
        assert!(hit == imported);
        println!(
            "resnet-descriptor {:>4.1} MB ONNX: import  {:>6.1} ms, cache hit {:>6.1} ms",
            hit.len() as f64 / 1e6,
            import.as_secs_f64() * 1e3,
            read.as_secs_f64() * 1e3
        );
    }
    println!(
        "Analyzer::load: cold {:.2} s, cached {:.2} s",
        cold.as_secs_f64(),
        cached.as_secs_f64()
    );
}
