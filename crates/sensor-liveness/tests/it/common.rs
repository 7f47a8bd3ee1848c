//! Shared set-up: the face engine, the mesh nets and the fixture photos' faces.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use vision::{Engine, EngineConfig, Face, FaceMesh, MeshNets, RgbImage};

/// The fixture photos the checks are tested on: one face each, frontal to slightly
/// turned, 2 people and 3 photographic styles.
pub const PHOTOS: [&str; 4] = ["obama.jpg", "obama2.jpg", "biden.jpg", "astronaut.png"];

pub struct Env {
    pub engine: Engine,
    pub subjects: Vec<Subject>,
}

/// One photo with its largest face and that face's mesh.
pub struct Subject {
    pub name: &'static str,
    pub image: RgbImage,
    pub face: Face,
    pub mesh: FaceMesh,
}

fn fixtures() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("scripts/fixtures"))
        .output()
        .expect("running scripts/fixtures");
    assert!(
        out.status.success(),
        "scripts/fixtures failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let store = models::ModelStore::from_env().unwrap();
        store
            .ensure(models::Pack::Dlib, &models::NoProgress)
            .unwrap();
        store
            .ensure(models::Pack::HumanModels, &models::NoProgress)
            .unwrap();
        let engine = Engine::load(&store, EngineConfig::default()).unwrap();
        let nets = MeshNets::load(&store).unwrap();
        let dir = fixtures();
        let subjects = PHOTOS
            .iter()
            .map(|&name| {
                let bytes = std::fs::read(dir.join(name)).unwrap();
                let image = vision::decode(&bytes, &vision::DecodeLimits::default()).unwrap();
                let face = engine
                    .detect(&image)
                    .unwrap()
                    .into_iter()
                    .max_by_key(|f| f.rect.area())
                    .unwrap_or_else(|| panic!("{name}: no face"));
                let mesh = nets.run(&image, &face).unwrap();
                Subject {
                    name,
                    image,
                    face,
                    mesh,
                }
            })
            .collect();
        Env { engine, subjects }
    })
}
