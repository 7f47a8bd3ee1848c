//! Shared set-up: the issuer, the exported model directory, the fixture photos, the JDK,
//! the built library and the compiled Java classes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use licensing::{CertDigest, Claims, IssuerKey, LicenceId, PackageName, PlatformBinding};

/// The issuer of every licence in these tests.
pub fn issuer() -> &'static IssuerKey {
    static KEY: OnceLock<IssuerKey> = OnceLock::new();
    KEY.get_or_init(IssuerKey::generate)
}

pub fn trusted_key() -> String {
    issuer().public().to_hex()
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
        let store = models::ModelStore::from_env().expect("model store");
        for pack in [models::Pack::Dlib, models::Pack::HumanModels] {
            store.ensure(pack, &models::NoProgress).expect("model pack");
        }
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("models");
        store
            .export(&dir, &vision::tfjs_converter(), &models::NoProgress)
            .expect("export models");
        (tmp, dir)
    })
    .1
}

/// Now, Unix seconds: the Java side checks licences against the system clock.
pub fn now() -> i64 {
    sdk::Clock::now(&sdk::SystemClock)
}

/// A platform licence for `sdk`, bound to `package` and the certificate digest `cert`,
/// issued a minute ago.
pub fn platform_licence(product: sdk::Sdk, package: &str, cert: &str) -> String {
    let binding = PlatformBinding {
        package: PackageName::new(package).expect("package name"),
        certificate: Some(cert.parse::<CertDigest>().expect("certificate digest")),
    };
    let id = LicenceId::new(format!("plat-{}-1", product.as_str())).expect("licence id");
    let claims = Claims::platform(id, 1, product, binding, now() - 60);
    issuer().issue(&claims).expect("issue")
}

/// The directory holding javac and java (scripts/jdk-env installs a JDK if none).
pub fn jdk_bin() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(repo_root().join("scripts/jdk-env"))
            .output()
            .expect("run scripts/jdk-env");
        assert!(
            out.status.success(),
            "scripts/jdk-env failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim())
    })
}

/// The directory of the built `librenlian_jni.so`: cargo builds the library's cdylib
/// with its rlib before this test, next to the test binary.
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps directory");
    let name = format!(
        "{}renlian_jni{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let found = [deps, deps.parent().unwrap_or(deps)]
        .into_iter()
        .find(|d| d.join(&name).is_file())
        .map(Path::to_path_buf);
    found.unwrap_or_else(|| panic!("{name} not found next to {}", exe.display()))
}

/// Every `.java` file under `dir`.
fn java_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read java sources") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            java_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "java") {
            out.push(path);
        }
    }
}

/// Compiles the main sources and the test sources (stubs, FlowTest) into `classes` at
/// Android's language level, warnings as errors.
pub fn compile_java(classes: &Path) {
    let mut sources = Vec::new();
    java_sources(&crate_dir().join("java/src/main/java"), &mut sources);
    java_sources(&crate_dir().join("java/src/test/java"), &mut sources);
    let out = Command::new(jdk_bin().join("javac"))
        .args([
            "--release",
            "8",
            "-Xlint:all,-options",
            "-Werror",
            "-encoding",
            "UTF-8",
            "-d",
        ])
        .arg(classes)
        .args(&sources)
        .output()
        .expect("run javac");
    assert!(
        out.status.success(),
        "javac failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
