//! Shared set-up: an issuer, licences for each SDK, the exported model directory, the
//! fixture photos, and the server's engine to compare against.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use licensing::{
    ActivationRequest, CertDigest, Claims, IssuerKey, LicenceId, PackageName, PlatformBinding,
};
use parking_lot::Mutex;
use sdk::{Clock, FaceSdk, Identity, SdkConfig};

/// A fixed moment: 2027-01-01T00:00:00Z.
pub const T0: i64 = 1_798_761_600;

/// The issuer of every licence in these tests.
pub fn issuer() -> &'static IssuerKey {
    static KEY: OnceLock<IssuerKey> = OnceLock::new();
    KEY.get_or_init(IssuerKey::generate)
}

pub fn trusted() -> Vec<String> {
    vec![issuer().public().to_hex()]
}

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(pub Mutex<i64>);

impl TestClock {
    pub fn at(t: i64) -> Arc<TestClock> {
        Arc::new(TestClock(Mutex::new(t)))
    }
    pub fn set(&self, t: i64) {
        *self.0.lock() = t;
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        *self.0.lock()
    }
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

pub fn photo(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).expect("fixture photo")
}

/// The server's model store (fetching the packs on first use).
pub fn server_store() -> &'static models::ModelStore {
    static STORE: OnceLock<models::ModelStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let store = models::ModelStore::from_env().expect("model store");
        for pack in [models::Pack::Dlib, models::Pack::HumanModels] {
            store.ensure(pack, &models::NoProgress).expect("model pack");
        }
        store
    })
}

/// The device model directory, exported once per test run.
pub fn model_dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("models");
        server_store()
            .export(&dir, &vision::tfjs_converter(), &models::NoProgress)
            .expect("export models");
        (tmp, dir)
    })
    .1
}

/// The server's engine, for parity.
pub fn server_engine() -> &'static vision::Engine {
    static ENGINE: OnceLock<vision::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        vision::Engine::load(server_store(), vision::EngineConfig::default()).expect("engine")
    })
}

/// A device licence for `sdk` bound to device id `device`, issued at `issued`.
pub fn device_licence(sdk: sdk::Sdk, device: &str, issued: i64) -> String {
    let request = device_request(sdk, device);
    let claims = Claims::device(LicenceId::new("dev-1-1").unwrap(), 1, &request, issued);
    issuer().issue(&claims).unwrap()
}

/// A 30-day trial for device id `device`.
pub fn trial_licence(sdk: sdk::Sdk, device: &str, issued: i64) -> String {
    let request = device_request(sdk, device);
    let claims = Claims::trial_device(LicenceId::new("trial-1-1").unwrap(), 1, &request, issued);
    issuer().issue(&claims).unwrap()
}

/// A platform licence for an app package (and certificate when given).
pub fn platform_licence(sdk: sdk::Sdk, package: &str, cert: Option<&str>, issued: i64) -> String {
    let binding = PlatformBinding {
        package: PackageName::new(package).unwrap(),
        certificate: cert.map(|c| c.parse::<CertDigest>().unwrap()),
    };
    let claims = Claims::platform(LicenceId::new("plat-1-1").unwrap(), 1, sdk, binding, issued);
    issuer().issue(&claims).unwrap()
}

fn device_request(sdk: sdk::Sdk, device: &str) -> ActivationRequest {
    let tmp = tempfile::tempdir().unwrap();
    let text =
        sdk::activation_request(tmp.path(), &Identity::DeviceId(device.into()), sdk, None).unwrap();
    ActivationRequest::parse(&text).unwrap()
}

/// Opens an SDK with `licence` for `identity` in a fresh data directory at `clock`.
pub fn open(
    licence: String,
    identity: Identity,
    clock: Arc<TestClock>,
) -> (tempfile::TempDir, sdk::Result<FaceSdk>) {
    let data = tempfile::tempdir().unwrap();
    let config = SdkConfig::new(
        licence,
        trusted(),
        model_dir().to_path_buf(),
        data.path().to_path_buf(),
        identity,
    );
    let opened = FaceSdk::open_with_clock(config, clock);
    (data, opened)
}

/// An SDK licensed for `sdk` on device "dev-A", at T0.
pub fn open_device(sdk: sdk::Sdk) -> (tempfile::TempDir, FaceSdk, Arc<TestClock>) {
    let clock = TestClock::at(T0);
    let (dir, opened) = open(
        device_licence(sdk, "dev-A", T0 - 3600),
        Identity::DeviceId("dev-A".into()),
        clock.clone(),
    );
    (dir, opened.expect("open the SDK"), clock)
}
