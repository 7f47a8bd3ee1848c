//! Verification cost per licence: parse + signature + checks (`Verifier::verify`), the
//! Ed25519 signature check alone for comparison, and the device's whole check
//! (`DeviceStore::check`: state file read and MAC'd, verify, nothing to write).
//!
//! `cargo test -p licensing --bench verify` is the smoke run (a few hundred
//! verifications, figures printed but not meaningful unoptimised); `cargo bench -p
//! licensing --bench verify` the full one (20,000 per measurement, best of 5).

use std::hint::black_box;
use std::time::Instant;

use ed25519_dalek::{Signature, VerifyingKey};
use licensing::{
    ActivationRequest, App, CertDigest, Claims, Context, DeviceState, DeviceStore, Feature,
    Fingerprint, IssuerKey, LicenceId, PackageName, PlatformBinding, Sdk, Subject, Verifier,
};

const T0: i64 = 1_795_593_600;

fn time<F: FnMut()>(label: &str, iterations: u32, rounds: u32, mut f: F) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..iterations {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() / f64::from(iterations));
    }
    println!(
        "{label:<46} {:>8.1} µs   {:>9.0} /s",
        best * 1e6,
        1.0 / best
    );
    best
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (iterations, rounds) = if full { (20_000, 5) } else { (200, 1) };
    let key = IssuerKey::from_secret_bytes(&[0x5a; 32]);
    let verifier = Verifier::new([key.public()]);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DeviceStore::open(dir.path()).expect("store");
    let fp = Fingerprint::linux(
        Some("4f5e0c3bd1a54b1c"),
        Some("PF2XK0Q1"),
        None,
        store.device_key(),
    );
    let request = ActivationRequest::new(Sdk::IrLivenessSearch, fp.clone(), None).expect("request");
    let id = |s: &str| LicenceId::new(s).expect("id");
    let device = key
        .issue(&Claims::device(id("seat-1"), 42, &request, T0))
        .expect("issue");
    let package = PackageName::new("com.example.gate").expect("package");
    let binding = PlatformBinding {
        package: package.clone(),
        certificate: Some(CertDigest([3; 32])),
    };
    let platform = key
        .issue(&Claims::platform(
            id("plat-1"),
            42,
            Sdk::Search,
            binding,
            T0,
        ))
        .expect("issue");
    let subject = Subject {
        device: Some(fp),
        app: Some(App {
            package,
            certificate: Some(CertDigest([3; 32])),
        }),
    };
    let state = DeviceState::default();
    let features = [Feature::Detect, Feature::Search];
    let now = T0 + 86_400;
    let cx = Context {
        now,
        subject: &subject,
        features: &features,
        state: &state,
    };
    // The signature check alone, on the same message the verifier checks.
    let public = VerifyingKey::from_bytes(&key.public().to_bytes()).expect("key");
    let body: String = device.lines().filter(|l| !l.starts_with("-----")).collect();
    let parts: Vec<&str> = body.split('.').collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.decode(parts[2]).expect("payload");
    let sig = Signature::from_bytes(&b64.decode(parts[3]).expect("sig").try_into().expect("64"));
    let mut message = b"renlian licence v1\n".to_vec();
    message.extend_from_slice(parts[1].as_bytes());
    message.push(b'\n');
    message.extend_from_slice(&payload);

    assert!(verifier.verify(&device, &cx).is_ok());
    assert!(verifier.verify(&platform, &cx).is_ok());
    assert!(public.verify_strict(&message, &sig).is_ok());
    store
        .check(&verifier, &device, now, &subject, &features)
        .expect("valid");

    println!(
        "licence verification ({} mode; device licence {} bytes, platform {} bytes)",
        if full { "full" } else { "smoke" },
        device.len(),
        platform.len()
    );
    let sig_only = time("Ed25519 verify_strict alone", iterations, rounds, || {
        black_box(public.verify_strict(black_box(&message), &sig).is_ok());
    });
    let dev = time(
        "verify: device licence (parse+sig+checks)",
        iterations,
        rounds,
        || {
            black_box(verifier.verify(black_box(&device), &cx).is_ok());
        },
    );
    time("verify: platform licence", iterations, rounds, || {
        black_box(verifier.verify(black_box(&platform), &cx).is_ok());
    });
    time(
        "DeviceStore::check (state read+MAC, verify)",
        iterations / 10,
        rounds,
        || {
            black_box(
                store
                    .check(&verifier, &device, now, &subject, &features)
                    .is_ok(),
            );
        },
    );
    println!(
        "parsing and checks besides the signature: {:.1} µs ({:.0}% of verify)",
        (dev - sig_only) * 1e6,
        (dev - sig_only) / dev * 100.0
    );
}
