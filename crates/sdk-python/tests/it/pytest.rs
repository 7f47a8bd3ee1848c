//! Builds and installs the wheel, writes what pytest needs (licences, paths, the Rust
//! SDK's answers) to a JSON file, and runs `tests/test_sdk.py`.

use std::process::Command;

use sdk::Sdk;
use serde_json::json;

use crate::support::*;

#[test]
fn the_python_package_passes_its_pytest_suite() {
    let venv = script_path("sdk-python-env");
    let photos = script_path("fixtures");
    let tmp = tempfile::tempdir().expect("temp dir");

    let (wheel, build_seconds) = build_wheel(&venv, &tmp.path().join("wheel"));
    eprintln!(
        "maturin built {} in {build_seconds:.1} s",
        wheel.file_name().unwrap_or_default().to_string_lossy()
    );
    let site = tmp.path().join("site");
    install(&venv, &wheel, &site);

    let model_dir = tmp.path().join("models");
    export_models(&model_dir);
    let licences = Licences::new();
    let trusted = licences.trusted();
    let search = licences.device(Sdk::Search, DEVICE);
    let detect = licences.device(Sdk::Detect, DEVICE);
    let live = licences.device(Sdk::IrLiveness, DEVICE);
    let depth = licences.device(Sdk::Liveness3d, DEVICE);
    let ir_file = tmp.path().join("obama.ir");
    let answers = rust_answers(
        &photos,
        &open(search.clone(), trusted.clone(), &model_dir),
        &open(detect.clone(), trusted.clone(), &model_dir),
        &open(live.clone(), trusted.clone(), &model_dir),
        &open(depth.clone(), trusted.clone(), &model_dir),
        &ir_file,
    );
    let cert = "ab".repeat(32);
    let fixture = json!({
        "trusted_keys": trusted,
        "model_dir": model_dir,
        "device_id": DEVICE,
        "ir_frame": ir_file,
        "photos": PHOTOS.iter().map(|p| (p.to_string(), json!(photos.join(p)))).collect::<serde_json::Map<_, _>>(),
        "licences": {
            "search": search,
            "detect": detect,
            "ir-liveness": live,
            "3d-liveness": depth,
            "expired": licences.expired_trial(Sdk::Search, DEVICE),
            "other-device": licences.device(Sdk::Search, "py-device-B"),
            "platform": licences.platform(Sdk::Detect, "com.acme.gate", &cert),
        },
        "platform": {"package": "com.acme.gate", "certificate": cert},
        "error_codes": sdk::ErrorCode::ALL.iter().map(|c| json!([*c as i32, c.name()])).collect::<Vec<_>>(),
        "rust": answers,
    });
    let fixture_path = tmp.path().join("fixture.json");
    std::fs::write(&fixture_path, fixture.to_string()).expect("write the fixture");

    let test_file = repo_root().join("crates/sdk-python/tests/test_sdk.py");
    let out = Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"])
        .arg(&test_file)
        .env("PYTHONPATH", &site)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("RENLIAN_SDK_PYTHON_FIXTURE", &fixture_path)
        .current_dir(tmp.path())
        .output()
        .expect("run pytest");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "pytest failed:\n{report}");
    eprintln!("{report}");
    assert!(report.contains(" passed"), "pytest ran nothing:\n{report}");
}
