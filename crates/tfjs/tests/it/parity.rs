//! Our conversion, run in tract, against TensorFlow.js itself on the same inputs.
//!
//! The reference is the pure-JavaScript `@tensorflow/tfjs` (CPU backend) installed by
//! `scripts/tfjs-env`, driven by `tests/reference/run_graph_model.js`; the models come
//! from the `human-models` pack through the `models` crate's store, the input photos
//! from `scripts/fixtures`. Inputs are the photos' central squares resized to the model's
//! input size and normalised as the Human library does for that model; both sides get
//! the very same f32 tensor. Agreement: for every output, the largest absolute
//! difference is at most 1e-4 of the output's largest magnitude.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use models::{ModelStore, NoProgress, Pack};
use serde_json::Value;
use tract_onnx::prelude::*;

const TOLERANCE: f32 = 1e-4;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs one of the project's setup scripts and returns the path it prints.
fn script(name: &str) -> PathBuf {
    let out = Command::new(root().join("scripts").join(name))
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{name}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn tfjs_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| script("tfjs-env"))
}

fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| script("fixtures"))
}

fn model_json(name: &str) -> PathBuf {
    static STORE: OnceLock<ModelStore> = OnceLock::new();
    let store = STORE.get_or_init(|| {
        let store = ModelStore::from_env().unwrap();
        store.ensure(Pack::HumanModels, &NoProgress).unwrap();
        store
    });
    store.human_model_path(&format!("{name}.json")).unwrap()
}

/// How a model's input is normalised from 0-255 RGB (or grey for `Grey`).
#[derive(Clone, Copy)]
enum Norm {
    /// v / 127.5 − 1 (blazeface).
    MinusOneToOne,
    /// v / 255 (facemesh, iris, antispoof, liveness; gear, whose outputs saturate on raw values).
    ZeroToOne,
    /// raw 0-255 (faceres).
    Raw,
    /// one grey channel (0.2989 R + 0.587 G + 0.114 B) / 255, then (g − 0.5)·2 (emotion).
    Grey,
}

/// The central square of each photo, resized to `size`, as one NHWC batch.
fn input(photos: &[&str], size: u32, norm: Norm) -> (Vec<usize>, Vec<f32>) {
    let channels = if matches!(norm, Norm::Grey) { 1 } else { 3 };
    let mut data = Vec::new();
    for photo in photos {
        let img = image::open(fixtures().join(photo)).unwrap().to_rgb8();
        let side = img.width().min(img.height());
        let crop = image::imageops::crop_imm(
            &img,
            (img.width() - side) / 2,
            (img.height() - side) / 2,
            side,
            side,
        )
        .to_image();
        let small =
            image::imageops::resize(&crop, size, size, image::imageops::FilterType::Triangle);
        for p in small.pixels() {
            let [r, g, b] = p.0.map(f32::from);
            match norm {
                Norm::MinusOneToOne => data.extend([r, g, b].map(|v| v / 127.5 - 1.0)),
                Norm::ZeroToOne => data.extend([r, g, b].map(|v| v / 255.0)),
                Norm::Raw => data.extend([r, g, b]),
                Norm::Grey => data.push(((0.2989 * r + 0.587 * g + 0.114 * b) / 255.0 - 0.5) * 2.0),
            }
        }
    }
    let n = photos.len();
    (vec![n, size as usize, size as usize, channels], data)
}

struct Output {
    shape: Vec<usize>,
    data: Vec<f32>,
}

fn reference(json: &Path, shape: &[usize], data: &[f32], outputs: &[String]) -> Vec<Output> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.f32");
    std::fs::write(
        &input,
        data.iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/run_graph_model.js"))
        .arg(json)
        .arg(&input)
        .arg(dims.join(","))
        .arg(outputs.join(","))
        .env("NODE_PATH", tfjs_dir().join("node_modules"))
        .output()
        .expect("running node (Node.js is needed for the tfjs reference)");
    assert!(
        out.status.success(),
        "tfjs reference failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| Output {
            shape: o["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect(),
            data: o["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

fn ours(json: &Path, shape: &[usize], data: &[f32]) -> (Vec<String>, Vec<Output>) {
    let model = tfjs::GraphModel::load(json).unwrap();
    assert_eq!(tfjs::unsupported_ops(&model), vec![]);
    let onnx = tfjs::to_onnx(&model).unwrap();
    let plan = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])
        .unwrap()
        .with_input_fact(0, f32::fact(shape).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let input = Tensor::from_shape(shape, data).unwrap();
    let outs = plan.run(tvec!(input.into())).unwrap();
    let names = model.outputs.iter().map(|o| o.node.clone()).collect();
    let outs = outs
        .iter()
        .map(|t| Output {
            shape: t.shape().to_vec(),
            data: t
                .to_plain_array_view::<f32>()
                .unwrap()
                .iter()
                .copied()
                .collect(),
        })
        .collect();
    (names, outs)
}

/// Runs both sides and asserts agreement; returns the worst relative error.
fn parity(name: &str, photos: &[&str], size: u32, norm: Norm) -> f32 {
    let json = model_json(name);
    let (shape, data) = input(photos, size, norm);
    let (names, ours) = ours(&json, &shape, &data);
    let theirs = reference(&json, &shape, &data, &names);
    assert_eq!(ours.len(), theirs.len());
    let mut worst = 0f32;
    for ((name_o, a), b) in names.iter().zip(&ours).zip(&theirs) {
        assert_eq!(a.shape, b.shape, "{name}/{name_o}: shapes differ");
        assert!(
            a.data.iter().all(|v| v.is_finite()),
            "{name}/{name_o}: non-finite output"
        );
        let scale = b.data.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = a
            .data
            .iter()
            .zip(&b.data)
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            scale > 0.0,
            "{name}/{name_o}: the reference output is all zero"
        );
        let rel = diff / scale;
        println!(
            "{name}/{name_o} {:?}: max |ours − tfjs| = {diff:.3e}, max |tfjs| = {scale:.3e}, relative {rel:.3e}",
            a.shape
        );
        assert!(
            rel <= TOLERANCE,
            "{name}/{name_o}: relative difference {rel:.3e} > {TOLERANCE:e}"
        );
        worst = worst.max(rel);
    }
    worst
}

#[test]
fn blazeface_matches_tfjs() {
    parity("blazeface", &["obama.jpg"], 256, Norm::MinusOneToOne);
}

#[test]
fn facemesh_matches_tfjs() {
    parity(
        "facemesh",
        &["obama.jpg", "biden.jpg"],
        192,
        Norm::ZeroToOne,
    );
}

#[test]
fn antispoof_matches_tfjs() {
    parity(
        "antispoof",
        &["obama.jpg", "biden.jpg"],
        128,
        Norm::ZeroToOne,
    );
}

#[test]
fn liveness_matches_tfjs() {
    parity("liveness", &["obama.jpg", "biden.jpg"], 32, Norm::ZeroToOne);
}

#[test]
fn iris_matches_tfjs() {
    parity("iris", &["obama.jpg"], 64, Norm::ZeroToOne);
}

#[test]
fn emotion_matches_tfjs() {
    parity("emotion", &["obama.jpg"], 64, Norm::Grey);
}

#[test]
fn gear_matches_tfjs() {
    parity("gear", &["obama.jpg"], 198, Norm::ZeroToOne);
}

#[test]
fn faceres_matches_tfjs() {
    parity("faceres", &["obama.jpg"], 224, Norm::Raw);
}
