//! The face-analysis benchmark: time per face of each analysis pipeline, ours against
//! TensorFlow.js (pure-JavaScript CPU backend in Node.js) on the same input tensors in the
//! same run, and the largest relative difference between the two sides' outputs, so that
//! the two times are of the same work.
//!
//! `cargo test --workspace --bench analysis` is the smoke run (the face of astronaut.png,
//! one run of each, parity asserted, tfjs untimed); `cargo bench --workspace
//! --bench analysis` (or the smoke command's binary with `--bench`, which skips the
//! release build) the full one: every face of every fixture, best of 5 for ours, the mean
//! of 10 tfjs runs after a warm-up.
//!
//! Pipelines, each from the decoded image and dlib's face to the result:
//! - liveness: six crops of the face box, each through antispoof and liveness
//!   (`LivenessNets::assess`);
//! - landmarks: two facemesh passes and one iris batch of both eyes (`MeshNets::run`);
//! - attributes: the face square, faceres and emotion (`AttributeNets::estimate`).
//!
//! "ours models" is the model runs alone (inputs prepared beforehand): what tfjs is
//! timed on.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};
use vision::attributes::{face_square, ModelInputs, DEFAULT_CROP_SCALE};
use vision::liveness::{face_crop, resize_bilinear_unit, ANTISPOOF_SIZE, LIVENESS_SIZE};
use vision::mesh::{IRIS_SIZE, MESH_SIZE};
use vision::{Analyzer, Engine, EngineConfig, Face, RgbImage};

/// One face each (no fixture photo has several); obama3.jpg's is the largest (341 px).
const IMAGES: [&str; 5] = [
    "obama.jpg",
    "obama2.jpg",
    "biden.jpg",
    "astronaut.png",
    "obama3.jpg",
];

/// Largest relative difference (max |ours − tfjs| over max |tfjs|, per output) accepted.
const TOLERANCE: f32 = 1e-3;

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

/// A TensorFlow.js graph model: its file and every output node, in the graph's order.
struct Model {
    path: PathBuf,
    outputs: Vec<String>,
    /// Each output's last dimension, where the model's signature gives it.
    widths: Vec<Option<i64>>,
}

impl Model {
    fn load(store: &models::ModelStore, file: &str) -> Model {
        let path = store.human_model_path(file).expect("model path");
        let graph = tfjs::GraphModel::load(&path).expect("graph");
        Model {
            path,
            outputs: graph.outputs.iter().map(|o| o.node.clone()).collect(),
            widths: graph
                .outputs
                .iter()
                .map(|o| o.shape.as_ref().and_then(|s| s.last().copied()))
                .collect(),
        }
    }

    /// The output `values` are compared with: the one whose last dimension is their
    /// length, else the first (of which they are a prefix: liveness keeps one of two).
    fn output_for(&self, values: &[f32]) -> usize {
        self.widths
            .iter()
            .position(|w| *w == Some(values.len() as i64))
            .unwrap_or(0)
    }

    /// One run for tfjs on `input`, with our outputs for the same tensor.
    fn job(&self, shape: &[usize], input: Vec<f32>, ours: Vec<Vec<f32>>, row: usize) -> Job {
        Job {
            model: self.path.clone(),
            outputs: self.outputs.clone(),
            shape: shape.to_vec(),
            input,
            ours: ours.into_iter().map(|v| (self.output_for(&v), v)).collect(),
            row,
        }
    }
}

/// One model run for tfjs: a graph model on one prepared input tensor, and our outputs
/// for the same tensor.
struct Job {
    model: PathBuf,
    outputs: Vec<String>,
    shape: Vec<usize>,
    input: Vec<f32>,
    /// Our values and the index of the tfjs output they correspond to.
    ours: Vec<(usize, Vec<f32>)>,
    /// Which row's figures this run adds to.
    row: usize,
}

/// One line of the table: a pipeline on one face.
struct Row {
    name: &'static str,
    ours_ms: f64,
    /// The model runs alone, inputs prepared beforehand.
    ours_models_ms: f64,
}

struct Models {
    antispoof: Model,
    liveness: Model,
    facemesh: Model,
    iris: Model,
    faceres: Model,
    emotion: Model,
}

/// The liveness pipeline on one face.
fn liveness(
    analyzer: &Analyzer,
    m: &Models,
    img: &RgbImage,
    face: &Face,
    runs: usize,
    row: usize,
) -> (Row, Vec<Job>) {
    let nets = &analyzer.liveness;
    let whole = best_of(runs, || nets.assess(img, face.rect).expect("assess"));
    let mut jobs = Vec::new();
    let mut models_ms = 0.0;
    for crop in &nets.calibration().crops {
        let c = face_crop(img, face.rect, crop.scale, crop.mirror).expect("crop");
        let small = resize_bilinear_unit(&c, ANTISPOOF_SIZE).expect("resize");
        let tiny = resize_bilinear_unit(&c, LIVENESS_SIZE).expect("resize");
        let s = nets.score(&c).expect("score");
        // The networks take no prepared input, so: the crop's score minus its resizes.
        let score = best_of(runs, || nets.score(&c).expect("score"));
        let resizes = best_of(runs, || {
            (
                resize_bilinear_unit(&c, ANTISPOOF_SIZE),
                resize_bilinear_unit(&c, LIVENESS_SIZE),
            )
        });
        models_ms += score - resizes;
        jobs.push(m.antispoof.job(
            &[1, ANTISPOOF_SIZE, ANTISPOOF_SIZE, 3],
            small,
            vec![vec![s.antispoof]],
            row,
        ));
        jobs.push(m.liveness.job(
            &[1, LIVENESS_SIZE, LIVENESS_SIZE, 3],
            tiny,
            vec![vec![s.liveness]],
            row,
        ));
    }
    let name = "liveness (6 crops × 2 models)";
    debug_assert_eq!(nets.calibration().crops.len(), 6, "{name}");
    (
        Row {
            name,
            ours_ms: whole,
            ours_models_ms: models_ms,
        },
        jobs,
    )
}

/// The landmark pipeline on one face: two facemesh passes, iris on both eyes.
fn landmarks(
    analyzer: &Analyzer,
    m: &Models,
    img: &RgbImage,
    face: &Face,
    runs: usize,
    row: usize,
) -> (Row, Vec<Job>) {
    let nets = &analyzer.mesh;
    let whole = best_of(runs, || nets.run(img, face).expect("mesh"));
    let (_, trace) = nets.run_traced(img, face).expect("mesh");
    let mut jobs = Vec::new();
    let mut models_ms = 0.0;
    for input in [&trace.first_face_input, &trace.face_input] {
        let (mesh, flag) = nets.facemesh(input).expect("facemesh");
        models_ms += best_of(runs, || nets.facemesh(input).expect("facemesh"));
        jobs.push(m.facemesh.job(
            &[1, MESH_SIZE, MESH_SIZE, 3],
            input.clone(),
            vec![mesh, vec![flag]],
            row,
        ));
    }
    let iris = nets.iris(&trace.eye_input).expect("iris");
    models_ms += best_of(runs, || nets.iris(&trace.eye_input).expect("iris"));
    jobs.push(m.iris.job(
        &[2, IRIS_SIZE, IRIS_SIZE, 3],
        trace.eye_input.clone(),
        vec![iris],
        row,
    ));
    (
        Row {
            name: "landmarks (2 facemesh + iris ×2)",
            ours_ms: whole,
            ours_models_ms: models_ms,
        },
        jobs,
    )
}

/// The attribute pipeline on one face: the face square, faceres and emotion.
fn attributes(
    analyzer: &Analyzer,
    m: &Models,
    img: &RgbImage,
    face: &Face,
    runs: usize,
    row: usize,
) -> (Row, Vec<Job>) {
    let nets = &analyzer.attributes;
    let whole = best_of(runs, || nets.estimate(img, face).expect("attributes"));
    // Analyzer::load keeps the default crop scale.
    let square = face_square(img, face, DEFAULT_CROP_SCALE).expect("square");
    let inputs = ModelInputs::new(&square).expect("inputs");
    let raw = nets.raw_square(&square).expect("raw");
    // The networks take no prepared input, so: the square's outputs minus its inputs.
    let models_ms = best_of(runs, || nets.raw_square(&square).expect("raw"))
        - best_of(runs, || ModelInputs::new(&square).expect("inputs"));
    let jobs = vec![
        m.faceres.job(
            &[1, inputs.faceres.height, inputs.faceres.width, 3],
            inputs.faceres.data,
            vec![raw.age_distribution, vec![raw.gender_male]],
            row,
        ),
        m.emotion.job(
            &[1, inputs.emotion.height, inputs.emotion.width, 1],
            inputs.emotion.data,
            vec![raw.emotion.to_vec()],
            row,
        ),
    ];
    (
        Row {
            name: "attributes (faceres + emotion)",
            ours_ms: whole,
            ours_models_ms: models_ms,
        },
        jobs,
    )
}

/// What tfjs returned for one job: every output's values, and ms per run when timed.
struct Theirs {
    outputs: Vec<Vec<f32>>,
    ms: Option<f64>,
}

/// Runs the jobs in one Node process.
fn tfjs(jobs: &[Job], repeat: usize) -> Vec<Theirs> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut list = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let input = dir.path().join(format!("{i}.f32"));
        let bytes: Vec<u8> = job.input.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&input, bytes).expect("write input");
        list.push(json!({
            "model": job.model, "input": input, "shape": job.shape, "outputs": job.outputs,
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
        .map(|j| Theirs {
            outputs: j["outputs"]
                .as_array()
                .expect("outputs")
                .iter()
                .map(|o| {
                    o.as_array()
                        .expect("values")
                        .iter()
                        .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                        .collect()
                })
                .collect(),
            ms: j["ms_per_run"].as_f64(),
        })
        .collect()
}

/// The largest relative difference of one job: per output compared, max |ours − tfjs|
/// over max |tfjs|.
fn relative_difference(job: &Job, theirs: &Theirs) -> f32 {
    job.ours
        .iter()
        .map(|(k, ours)| {
            let t = &theirs.outputs[*k];
            assert!(t.len() >= ours.len(), "tfjs output {k} is too short");
            let scale = t[..ours.len()].iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = ours
                .iter()
                .zip(t)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            // NaN (a NaN anywhere, or an all-zero reference) fails the check below.
            if diff == 0.0 {
                0.0
            } else {
                diff / scale
            }
        })
        .fold(0f32, |m, d| if d.is_nan() { d } else { m.max(d) })
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (runs, repeat) = if full { (5, 10) } else { (1, 0) };
    // The smoke run takes the smallest photo: its detection is the cheapest.
    let images: &[&str] = if full { &IMAGES } else { &["astronaut.png"] };
    let fixtures = script("fixtures");
    let store = models::ModelStore::from_env().expect("model store");
    let engine = Engine::load(&store, EngineConfig::default()).expect("engine");
    let t = Instant::now();
    let analyzer = Analyzer::load(&store).expect("analyzer");
    println!("analyzer load (ONNX conversion included): {:.0} ms", ms(t));
    let m = Models {
        antispoof: Model::load(&store, "antispoof.json"),
        liveness: Model::load(&store, "liveness.json"),
        facemesh: Model::load(&store, "facemesh.json"),
        iris: Model::load(&store, "iris.json"),
        faceres: Model::load(&store, "faceres.json"),
        emotion: Model::load(&store, "emotion.json"),
    };
    // One thread, as one request is served.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let tfjs_note = if repeat > 0 {
        format!("mean of {repeat} runs on the same tensors after a warm-up")
    } else {
        "one run on the same tensors, untimed: the parity check alone".into()
    };
    println!(
        "\nper face, one thread (ours best of {runs}; tfjs, pure-JavaScript CPU backend, {tfjs_note}):"
    );
    println!(
        "{:<20} {:<33} {:>10} {:>12} {:>10} {:>10} {:>9}",
        "image / face", "pipeline", "ours", "ours models", "tfjs", "tfjs/ours", "rel diff"
    );
    for name in images {
        let img = engine
            .decode(&std::fs::read(fixtures.join(name)).expect("read"))
            .expect("decode");
        let mut faces = engine.detect(&img).expect("detect");
        assert!(!faces.is_empty(), "no face in {name}");
        faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
        if !full {
            faces.truncate(1);
        }
        let mut rows = Vec::new();
        let mut jobs = Vec::new();
        let pipelines = [liveness, landmarks, attributes];
        for (f, face) in faces.iter().enumerate() {
            pool.install(|| {
                for pipeline in pipelines {
                    let (row, j) = pipeline(&analyzer, &m, &img, face, runs, rows.len());
                    rows.push((f, row));
                    jobs.extend(j);
                }
            });
        }
        let theirs = tfjs(&jobs, repeat);
        for (i, (f, row)) in rows.iter().enumerate() {
            let mine: Vec<(&Job, &Theirs)> = jobs
                .iter()
                .zip(&theirs)
                .filter(|(j, _)| j.row == i)
                .collect();
            let tfjs_ms: Option<f64> = mine.iter().map(|(_, t)| t.ms).sum();
            let diff = mine
                .iter()
                .map(|(j, t)| relative_difference(j, t))
                .fold(0f32, |m, d| if d.is_nan() { d } else { m.max(d) });
            let (tfjs_col, ratio_col) = match tfjs_ms {
                Some(t) => (
                    format!("{t:.1}ms"),
                    format!("{:.1}x", t / row.ours_models_ms),
                ),
                None => ("-".into(), "-".into()),
            };
            println!(
                "{:<20} {:<33} {:>8.2}ms {:>10.2}ms {:>10} {:>10} {:>9.1e}",
                format!("{name} #{f}"),
                row.name,
                row.ours_ms,
                row.ours_models_ms,
                tfjs_col,
                ratio_col,
                diff
            );
            assert!(
                diff <= TOLERANCE,
                "{name} face {f} {}: ours and tfjs differ by {diff} (relative)",
                row.name
            );
        }
    }
}
