//! Shared set-up: a licence signed by a test issuer for the machine's clock, the exported
//! model directory, the fixture photos, and the built library.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use licensing::{ActivationRequest, Claims, IssuerKey, LicenceId};
use sdk::{FaceSdk, Identity, SdkConfig};

/// The device id every licence here is bound to.
pub const DEVICE: &str = "door-7";

pub fn issuer() -> &'static IssuerKey {
    static KEY: OnceLock<IssuerKey> = OnceLock::new();
    KEY.get_or_init(IssuerKey::generate)
}

pub fn trusted_key() -> String {
    issuer().public().to_hex()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}

/// A permanent device licence for `product` on [`DEVICE`], issued an hour ago: the C
/// program runs on the system clock.
pub fn device_licence(product: sdk::Sdk) -> String {
    let tmp = tempfile::tempdir().expect("temp dir");
    let text = sdk::activation_request(
        tmp.path(),
        &Identity::DeviceId(DEVICE.into()),
        product,
        None,
    )
    .expect("activation request");
    let request = ActivationRequest::parse(&text).expect("parse the request");
    let claims = Claims::device(
        LicenceId::new("c-abi-1").expect("id"),
        1,
        &request,
        now() - 3600,
    );
    issuer().issue(&claims).expect("issue")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture photos (fetched into the cache by scripts/fixtures).
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(repo_root().join("scripts/fixtures"))
            .output()
            .expect("run scripts/fixtures");
        assert!(out.status.success(), "scripts/fixtures failed");
        PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim())
    })
}

/// The device model directory, exported once per test run from the server's store.
pub fn model_dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        // The export fetches the packs it needs on first use.
        let store = models::ModelStore::from_env().expect("model store");
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("models");
        store
            .export(&dir, &vision::tfjs_converter(), &models::NoProgress)
            .expect("export models");
        (tmp, dir)
    })
    .1
}

/// The Rust SDK opened with the same licence, to compare the C program's output with.
pub fn rust_sdk(licence: &str) -> (tempfile::TempDir, FaceSdk) {
    let data = tempfile::tempdir().expect("temp dir");
    let config = SdkConfig::new(
        licence.to_owned(),
        vec![trusted_key()],
        model_dir().to_path_buf(),
        data.path().to_path_buf(),
        Identity::DeviceId(DEVICE.into()),
    );
    (data, FaceSdk::open(config).expect("open the Rust SDK"))
}

/// The directory holding `librenlian_sdk.so`, built by cargo with this test (the test
/// depends on the crate, so its cdylib is built too): beside this test binary in
/// `<profile>/deps`, or in `<profile>` after a `cargo build`.
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let deps = exe.parent().expect("the test binary's directory");
    let found = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .find(|dir| dir.join("librenlian_sdk.so").is_file())
        .unwrap_or_else(|| {
            panic!(
                "librenlian_sdk.so is not in {} or its parent: build it with \
                 `cargo test --workspace --all-targets --no-run`",
                deps.display()
            )
        })
        .to_path_buf();
    found
}

pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/c")
        .join(name)
}

/// Compiles a C program against the header and the shared library with the system `cc`,
/// warnings as errors, plus `extra` flags; returns the executable.
pub fn compile_c(source: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let lib = library_dir();
    let output = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g"])
        .args(extra)
        .arg("-I")
        .arg(include_dir())
        .arg(source)
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lrenlian_sdk")
        .output()
        .expect("run the system cc");
    assert!(
        output.status.success(),
        "cc {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_path_buf()
}
