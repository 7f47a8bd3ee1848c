//! Set-up shared with pytest: an issuer and licences, the exported model directory, the
//! fixture photos, the Rust SDK's answers, the tool venv and the wheel.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use licensing::{ActivationRequest, CertDigest, Claims, IssuerKey, LicenceId, PackageName};
use sdk::{FaceSdk, Identity, SdkConfig};
use serde_json::{json, Value};

/// The device id every device licence here is bound to.
pub const DEVICE: &str = "py-device-A";
/// The photos pytest uses: two of one man (scored 74.3 by descriptor version 2, 54.8 by
/// version 1: above the API's line 50), and one where the largest face is another man's.
pub const PHOTOS: [&str; 3] = ["obama.jpg", "obama3.jpg", "biden.jpg"];

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a project script and returns the path it prints.
pub fn script_path(name: &str) -> PathBuf {
    let out = Command::new(repo_root().join("scripts").join(name))
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{name}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim())
}

pub fn now() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit i64")
}

/// Licences from a test issuer. The Python SDK runs on the system clock, so they are
/// issued relative to now.
pub struct Licences {
    issuer: IssuerKey,
}

impl Licences {
    pub fn new() -> Licences {
        Licences {
            issuer: IssuerKey::generate(),
        }
    }

    pub fn trusted(&self) -> Vec<String> {
        vec![self.issuer.public().to_hex()]
    }

    fn request(sdk: sdk::Sdk, device: &str) -> ActivationRequest {
        let tmp = tempfile::tempdir().expect("temp dir");
        let text =
            sdk::activation_request(tmp.path(), &Identity::DeviceId(device.into()), sdk, None)
                .expect("activation request");
        ActivationRequest::parse(&text).expect("parse the request")
    }

    /// A permanent device licence for `sdk` on `device`, issued an hour ago.
    pub fn device(&self, sdk: sdk::Sdk, device: &str) -> String {
        let id = LicenceId::new(format!("dev-{}-1", sdk.as_str())).expect("licence id");
        let claims = Claims::device(id, 1, &Self::request(sdk, device), now() - 3600);
        self.issuer.issue(&claims).expect("issue")
    }

    /// A 30-day trial issued 31 days ago: expired.
    pub fn expired_trial(&self, sdk: sdk::Sdk, device: &str) -> String {
        let id = LicenceId::new("trial-1-1").expect("licence id");
        let request = Self::request(sdk, device);
        let claims = Claims::trial_device(id, 1, &request, now() - 31 * 86_400);
        self.issuer.issue(&claims).expect("issue")
    }

    /// A platform licence for `package` signed with the certificate `cert`.
    pub fn platform(&self, sdk: sdk::Sdk, package: &str, cert: &str) -> String {
        let binding = licensing::PlatformBinding {
            package: PackageName::new(package).expect("package"),
            certificate: Some(cert.parse::<CertDigest>().expect("certificate digest")),
        };
        let id = LicenceId::new("plat-1-1").expect("licence id");
        let claims = Claims::platform(id, 1, sdk, binding, now() - 3600);
        self.issuer.issue(&claims).expect("issue")
    }
}

/// The device model directory, exported from the model cache (fetching the packs on
/// first use).
pub fn export_models(dir: &Path) {
    let store = models::ModelStore::from_env().expect("model store");
    for pack in [models::Pack::Dlib, models::Pack::HumanModels] {
        store.ensure(pack, &models::NoProgress).expect("model pack");
    }
    store
        .export(dir, &vision::tfjs_converter(), &models::NoProgress)
        .expect("export models");
}

/// Opens the Rust SDK the way pytest opens the Python one.
pub fn open(licence: String, trusted: Vec<String>, model_dir: &Path) -> FaceSdk {
    let data = tempfile::tempdir().expect("temp dir");
    let config = SdkConfig::new(
        licence,
        trusted,
        model_dir.to_path_buf(),
        data.path().to_path_buf(),
        Identity::DeviceId(DEVICE.into()),
    );
    FaceSdk::open(config).expect("open the Rust SDK")
}

/// f32 values as JSON numbers that read back into Python as exactly the same value
/// (widened to f64 first, as PyO3 does).
fn exact(values: &[f32]) -> Value {
    values.iter().map(|v| f64::from(*v)).collect()
}

fn face_json(face: &sdk::Face) -> Value {
    let r = face.rect;
    json!({
        "box": [r.left, r.top, r.right, r.bottom],
        "confidence": f64::from(face.confidence),
        "landmarks": face.landmarks,
    })
}

/// What the Rust SDK answers on the photos: per photo the largest face and its
/// descriptor; the quality score (detect SDK) and liveness (ir-liveness SDK) of the
/// first photo's face; the comparisons of the same man and of different people.
pub fn rust_answers(
    photos: &Path,
    search: &FaceSdk,
    detect: &FaceSdk,
    live: &FaceSdk,
    depth: &FaceSdk,
    ir_file: &Path,
) -> Value {
    let mut per_photo = serde_json::Map::new();
    let mut descriptors = Vec::new();
    let mut first = None;
    for name in PHOTOS {
        let bytes = std::fs::read(photos.join(name)).expect("fixture photo");
        let img = search.decode(&bytes).expect("decode");
        let (face, d) = search.extract(&img).expect("extract");
        let mut entry = face_json(&face);
        entry["descriptor"] = exact(&d.0);
        per_photo.insert(name.to_owned(), entry);
        descriptors.push(d);
        first.get_or_insert((img, face));
    }
    let (img, face) = first.expect("photos");
    let q = detect.quality(&img, &face).expect("quality");
    let l = live.liveness(&img, &face).expect("liveness");
    // A second sensor's frames: the photo's grey levels as the IR frame, and a flat
    // depth map (a photo held up 50 cm from the camera).
    let ir = image::imageops::grayscale(&img);
    std::fs::write(ir_file, ir.as_raw()).expect("write the IR frame");
    let ir_verdict = live.ir_liveness(&img, &face, &ir).expect("IR liveness");
    let flat = sdk::DepthMap::from_pixel(img.width(), img.height(), image::Luma([500u16]));
    let depth_verdict = depth
        .depth_liveness(&img, &face, &flat)
        .expect("depth liveness");
    let cmp = |a: &sdk::Descriptor, b: &sdk::Descriptor| {
        let c = search.compare(&a.0, &b.0).expect("compare");
        json!({"distance": c.distance, "score": c.score})
    };
    json!({
        "photos": per_photo,
        "quality": {
            "score": q.score,
            "sharpness": q.sharpness,
            "brightness": q.brightness,
            "completeness": q.completeness,
        },
        "liveness": {
            "score": l.score,
            "antispoof": f64::from(l.raw.antispoof),
            "liveness": f64::from(l.raw.liveness),
        },
        "ir": {
            "score": ir_verdict.score,
            "is_live": ir_verdict.is_live,
            "reasons": ir_verdict.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        },
        "depth": {
            "score": depth_verdict.score,
            "is_live": depth_verdict.is_live,
            "reasons": depth_verdict.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        },
        "same": cmp(&descriptors[0], &descriptors[1]),
        "other": cmp(&descriptors[0], &descriptors[2]),
    })
}

/// Builds the wheel with maturin into `out`; returns its path and the seconds it took.
///
/// Fails when maturin compiled any crate but this one and PyO3's (whose build scripts
/// read the variables maturin sets): anything else means the feature pins in
/// Cargo.toml no longer match what `cargo test --workspace` built, and every wheel
/// build would recompile tract.
pub fn build_wheel(venv: &Path, out: &Path) -> (PathBuf, f64) {
    let started = Instant::now();
    let built = Command::new(venv.join("bin/maturin"))
        .arg("build")
        .arg("--manifest-path")
        .arg(repo_root().join("crates/sdk-python/Cargo.toml"))
        .arg("--interpreter")
        .arg(venv.join("bin/python"))
        .arg("--out")
        .arg(out)
        // Only installed here: no debug symbols to pack, no time spent compressing.
        .arg("--strip")
        .args(["--compression-method", "stored"])
        .output()
        .expect("run maturin");
    let seconds = started.elapsed().as_secs_f64();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(built.status.success(), "maturin build failed:\n{log}");
    let rebuilt: Vec<&str> = log
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("Compiling "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| !name.starts_with("pyo3") && *name != "sdk-python")
        .collect();
    assert!(
        rebuilt.is_empty(),
        "maturin recompiled {rebuilt:?}: its build of crates/sdk-python resolved other \
         features than `cargo test --workspace`; pin them in crates/sdk-python/Cargo.toml \
         (compare `cargo tree --workspace -e features` with `cargo tree -p sdk-python -e \
         features`)\n{log}"
    );
    let wheel = std::fs::read_dir(out)
        .expect("wheel directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("maturin wrote a wheel");
    (wheel, seconds)
}

/// Installs `wheel` into `site` (a directory of its own, so test runs in several
/// worktrees sharing the cached venv do not replace each other's package).
pub fn install(venv: &Path, wheel: &Path, site: &Path) {
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--no-index", "--target"])
        .arg(site)
        .arg(wheel)
        .output()
        .expect("run pip");
    assert!(
        out.status.success(),
        "pip install {} failed:\n{}",
        wheel.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
