//! The cache of converted TensorFlow.js graphs, on the real `human-models` pack: a hit
//! is byte-identical to a fresh conversion, a damaged entry is rebuilt, another
//! converter version misses. Each test uses its own store whose `human-models` directory
//! links to the shared pack, so the cache starts empty and the shared one is untouched.

use std::path::{Path, PathBuf};

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

#[test]
fn cache_hit_is_byte_identical_to_a_fresh_conversion() {
    let (tmp, store) = fresh_store();
    let fresh = fresh_conversion(&store, "iris.json");
    let first = vision::tfjs_onnx(&store, "iris.json").unwrap();
    assert_eq!(first.origin, Origin::Converted);
    assert!(first.bytes == fresh, "first conversion differs");
    let hit = vision::tfjs_onnx(&store, "iris.json").unwrap();
    assert_eq!(hit.origin, Origin::Cached);
    assert!(
        hit.bytes == fresh,
        "cached bytes differ from a fresh conversion"
    );
    assert_eq!(cache_files(tmp.path()), std::slice::from_ref(&hit.path));
    let name = hit.path.file_name().unwrap().to_string_lossy().into_owned();
    let tag = format!("-tfjs-c{}.", tfjs::CONVERTER_VERSION);
    assert!(name.starts_with("iris-") && name.contains(&tag), "{name}");
}

#[test]
fn damaged_cache_entry_is_rebuilt() {
    let (tmp, store) = fresh_store();
    let fresh = fresh_conversion(&store, "antispoof.json");
    let first = vision::tfjs_onnx(&store, "antispoof.json").unwrap();
    // One bit flipped in the middle of the weights: same size, wrong contents.
    let mut bytes = std::fs::read(&first.path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&first.path, &bytes).unwrap();
    let again = vision::tfjs_onnx(&store, "antispoof.json").unwrap();
    assert_eq!(again.origin, Origin::Rebuilt);
    assert!(again.bytes == fresh);
    // Truncated, as a torn write would leave it.
    std::fs::write(&first.path, &fresh[..fresh.len() / 3]).unwrap();
    let again = vision::tfjs_onnx(&store, "antispoof.json").unwrap();
    assert_eq!(again.origin, Origin::Rebuilt);
    assert!(std::fs::read(&again.path).unwrap() == fresh);
    assert_eq!(cache_files(tmp.path()), std::slice::from_ref(&again.path));
    // And the networks load from the rebuilt entry.
    vision::LivenessNets::load(&store).unwrap();
}

#[test]
fn another_converter_version_misses() {
    let (tmp, store) = fresh_store();
    let cached = vision::tfjs_onnx(&store, "liveness.json").unwrap();
    let path = store.human_model_path("liveness.json").unwrap();
    let sources = tfjs::GraphModel::source_files(&path).unwrap();
    assert_eq!(
        sources.len(),
        2,
        "liveness.json and its one shard: {sources:?}"
    );
    // The same files under the next converter version: not served the old entry.
    let next = format!("tfjs-c{}", tfjs::CONVERTER_VERSION + 1);
    let mut converted = false;
    let other = store
        .converted_onnx("liveness", &sources, &next, || {
            converted = true;
            Ok(b"from the next converter".to_vec())
        })
        .unwrap();
    assert!(converted);
    assert_eq!(other.origin, Origin::Converted);
    assert_eq!(other.bytes, b"from the next converter");
    assert_ne!(other.path, cached.path);
    // The current version still finds its own entry.
    let hit = vision::tfjs_onnx(&store, "liveness.json").unwrap();
    assert_eq!((hit.origin, &hit.path), (Origin::Cached, &cached.path));
    assert_eq!(cache_files(tmp.path()).len(), 2);
}
