//! The face-analysis benchmark: time per face of each analysis pipeline, ours against
//! TensorFlow.js (pure-JavaScript CPU backend in Node.js) on the same crop tensors in the
//! same run, and the largest output difference between the two as a parity check.
//!
//! `cargo test --workspace --bench analysis` is the smoke run (one face, one repeat, the
//! parity asserted); `cargo bench --workspace --bench analysis` (or the smoke command with
//! `-- --bench`) the full one: every fixture face, best of 5 for ours, the mean of 20 tfjs
//! runs after a warm-up.
//!
//! Pipelines today: liveness (six crops of the face box, each through the antispoof and
//! liveness models; `LivenessNets::assess`). Each pipeline is one function returning
//! [`Row`]s and the tfjs [`Job`]s for its tensors, so mesh + iris and attributes slot in
//! beside it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};
use vision::liveness::{face_crop, resize_bilinear_unit, ANTISPOOF_SIZE, LIVENESS_SIZE};
use vision::{Analyzer, Engine, EngineConfig, Face, RgbImage};

const IMAGES: [&str; 4] = ["obama.jpg", "obama2.jpg", "biden.jpg", "astronaut.png"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn script(name: &str) -> PathBuf {
    let out = Command::new(root().join("scripts").join(name))
        .output()
        .expect("run a helper script");
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Best of `n` runs, in milliseconds.
fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            ms(t)
        })
        .fold(f64::INFINITY, f64::min)
}

/// One model run for tfjs: a graph model on one prepared input tensor, and our output
/// for the same tensor.
struct Job {
    model: PathBuf,
    output: String,
    shape: Vec<usize>,
    input: Vec<f32>,
    ours_first: f32,
    /// Which per-face figure this run's time adds to.
    row: usize,
}

/// One line of the table: a pipeline stage per face.
struct Row {
    name: String,
    ours_ms: f64,
    /// Ours without cropping and resizing: the model runs only.
    ours_models_ms: f64,
}

/// The liveness pipeline on one face.
fn liveness(
    analyzer: &Analyzer,
    store: &models::ModelStore,
    img: &RgbImage,
    face: &Face,
    runs: usize,
) -> (Row, Vec<Job>) {
    let nets = &analyzer.liveness;
    let whole = best_of(runs, || nets.assess(img, face.rect).expect("assess"));
    let model = |file: &str| {
        let path = store.human_model_path(file).expect("model path");
        let graph = tfjs::GraphModel::load(&path).expect("graph");
        let output = graph.outputs[0].node.clone();
        (path, output)
    };
    let (antispoof, antispoof_out) = model("antispoof.json");
    let (live, live_out) = model("liveness.json");
    let mut jobs = Vec::new();
    let mut models_ms = 0.0;
    for crop in &nets.calibration().crops {
        let c = face_crop(img, face.rect, crop.scale, crop.mirror).expect("crop");
        let small = resize_bilinear_unit(&c, ANTISPOOF_SIZE).expect("resize");
        let tiny = resize_bilinear_unit(&c, LIVENESS_SIZE).expect("resize");
        let s = nets.score(&c).expect("score");
        // The model runs alone: the crop's score minus its two resizes.
        let score = best_of(runs, || nets.score(&c).expect("score"));
        let resizes = best_of(runs, || {
            (
                resize_bilinear_unit(&c, ANTISPOOF_SIZE),
                resize_bilinear_unit(&c, LIVENESS_SIZE),
            )
        });
        models_ms += score - resizes;
        jobs.push(Job {
            model: antispoof.clone(),
            output: antispoof_out.clone(),
            shape: vec![1, ANTISPOOF_SIZE, ANTISPOOF_SIZE, 3],
            input: small,
            ours_first: s.antispoof,
            row: 0,
        });
        jobs.push(Job {
            model: live.clone(),
            output: live_out.clone(),
            shape: vec![1, LIVENESS_SIZE, LIVENESS_SIZE, 3],
            input: tiny,
            ours_first: s.liveness,
            row: 0,
        });
    }
    (
        Row {
            name: format!(
                "liveness ({} crops × 2 models)",
                nets.calibration().crops.len()
            ),
            ours_ms: whole,
            ours_models_ms: models_ms,
        },
        jobs,
    )
}

/// Runs the jobs in one Node process; returns (first output, ms per run) per job.
fn tfjs(jobs: &[Job], repeat: usize) -> Vec<(f32, f64)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut list = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let input = dir.path().join(format!("{i}.f32"));
        let bytes: Vec<u8> = job.input.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&input, bytes).expect("write input");
        list.push(json!({
            "model": job.model, "input": input, "shape": job.shape, "output": job.output,
        }));
    }
    let spec = dir.path().join("jobs.json");
    std::fs::write(&spec, json!({ "repeat": repeat, "jobs": list }).to_string())
        .expect("write jobs");
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/run_analysis.js"))
        .arg(&spec)
        .env("NODE_PATH", script("tfjs-env").join("node_modules"))
        .output()
        .expect("running node (Node.js is needed for the tfjs reference)");
    assert!(
        out.status.success(),
        "tfjs reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("tfjs JSON");
    v["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["first"].as_f64().unwrap_or(f64::NAN) as f32,
                j["ms_per_run"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (images, runs, repeat) = if full {
        (&IMAGES[..], 5, 20)
    } else {
        (&IMAGES[..1], 1, 1)
    };
    let fixtures = script("fixtures");
    let store = models::ModelStore::from_env().expect("model store");
    let engine = Engine::load(&store, EngineConfig::default()).expect("engine");
    let t = Instant::now();
    let analyzer = Analyzer::load(&store).expect("analyzer");
    println!("analyzer load (ONNX conversion included): {:.0} ms", ms(t));
    // One thread, as one request is served.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    println!(
        "\nper face, one thread (ours best of {runs}; tfjs, pure-JavaScript CPU backend, mean of {repeat} runs on the same tensors):"
    );
    println!(
        "{:<14} {:<32} {:>10} {:>12} {:>10} {:>8} {:>10}",
        "image", "pipeline", "ours", "ours models", "tfjs", "tfjs/ours", "max |diff|"
    );
    for name in images {
        let img = engine
            .decode(&std::fs::read(fixtures.join(name)).expect("read"))
            .expect("decode");
        let face = engine
            .detect(&img)
            .expect("detect")
            .into_iter()
            .max_by_key(|f| f.rect.area())
            .expect("a face in every fixture");
        let (rows, jobs) = pool.install(|| {
            let (row, jobs) = liveness(&analyzer, &store, &img, &face, runs);
            (vec![row], jobs)
        });
        let theirs = tfjs(&jobs, repeat);
        for (i, row) in rows.iter().enumerate() {
            let mine: Vec<(&Job, &(f32, f64))> = jobs
                .iter()
                .zip(&theirs)
                .filter(|(j, _)| j.row == i)
                .collect();
            let tfjs_ms: f64 = mine.iter().map(|(_, t)| t.1).sum();
            let diff = mine
                .iter()
                .map(|(j, t)| (j.ours_first - t.0).abs())
                .fold(0.0f32, f32::max);
            println!(
                "{:<14} {:<32} {:>8.2}ms {:>10.2}ms {:>8.1}ms {:>7.1}x {:>10.2e}",
                name,
                row.name,
                row.ours_ms,
                row.ours_models_ms,
                tfjs_ms,
                tfjs_ms / row.ours_models_ms,
                diff
            );
            // The converted graphs agree with tfjs on the same tensors (parity.rs shows it
            // per model; here on the benchmark's own crops).
            assert!(
                diff < 1e-3,
                "{name} {}: ours and tfjs differ by {diff}",
                row.name
            );
        }
    }
}
