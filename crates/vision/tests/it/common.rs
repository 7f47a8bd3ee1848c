//! Shared set-up of the vision integration tests: models, fixtures, dlib's reference.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use vision::{Engine, EngineConfig};

#[derive(Debug, Deserialize)]
pub struct Reference {
    pub images: Vec<RefImage>,
}

#[derive(Debug, Deserialize)]
pub struct RefImage {
    pub image: String,
    pub detect_seconds: f64,
    pub faces: Vec<RefFace>,
}

#[derive(Debug, Deserialize)]
pub struct RefFace {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
    pub confidence: f32,
    pub landmarks: Vec<[i64; 2]>,
    pub landmarks68: Vec<[i64; 2]>,
    pub chip: String,
    pub descriptor: Vec<f64>,
}

pub struct Env {
    pub fixtures: PathBuf,
    /// The fixtures as Pillow decoded them for dlib, as PNG.
    pub pixels: PathBuf,
    pub reference: Reference,
    pub chips_dir: PathBuf,
    pub engine: Engine,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a script that prints a path (of something it fetched or installed).
pub fn run_script(script: &Path, args: &[&Path]) -> PathBuf {
    let out = Command::new(script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The fixture photos (fetched into the cache by scripts/fixtures).
pub fn fixtures() -> PathBuf {
    run_script(&repo_root().join("scripts/fixtures"), &[])
}

/// A fixture photo scaled to 480 px wide: faces of 80-200 px (MMOD's default range), quick
/// to detect.
pub fn fixture_480(name: &str) -> vision::RgbImage {
    image::open(fixtures().join(name))
        .unwrap()
        .resize(480, 10_000, image::imageops::FilterType::Triangle)
        .to_rgb8()
}

/// The fast detector's engine as the tests load it: faces down to 34 px.
pub fn fast_config() -> EngineConfig {
    EngineConfig {
        detector: vision::DetectorKind::Fast,
        detect: vision::DetectOptions {
            min_face_size: 34,
            ..Default::default()
        },
        ..EngineConfig::default()
    }
}

/// The model store with dlib's pack present.
pub fn store() -> models::ModelStore {
    let store = models::ModelStore::from_env().unwrap();
    store
        .ensure(models::Pack::Dlib, &models::NoProgress)
        .unwrap();
    store
}

pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let store = store();
        let models_dir = store
            .dlib_path(models::DlibModel::ShapePredictor5)
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        let fixtures = fixtures();
        let json = run_script(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/run-reference"),
            &[&models_dir],
        );
        let reference: Reference = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let chips_dir = PathBuf::from(format!("{}.chips", json.display()));
        let config = EngineConfig {
            landmarks_68: true,
            ..EngineConfig::default()
        };
        let engine = Engine::load(&store, config).unwrap();
        // Keep to the parity images the reference script ran on.
        let wanted = [
            "obama.jpg",
            "obama2.jpg",
            "biden.jpg",
            "astronaut.png",
            "obama_partial_face.jpg",
        ];
        let reference = Reference {
            images: reference
                .images
                .into_iter()
                .filter(|i| wanted.contains(&i.image.as_str()))
                .collect(),
        };
        Env {
            pixels: PathBuf::from(format!("{}.pixels", json.display())),
            fixtures,
            reference,
            chips_dir,
            engine,
        }
    })
}

impl Env {
    /// A fixture exactly as dlib saw it.
    pub fn dlib_pixels(&self, name: &str) -> vision::RgbImage {
        load_rgb(&self.pixels.join(format!("{name}.png")))
    }
}

/// Decodes a fixture with the engine's own decoder.
pub fn load_rgb(path: &Path) -> vision::RgbImage {
    vision::decode(
        &std::fs::read(path).unwrap(),
        &vision::DecodeLimits::default(),
    )
    .unwrap()
}
