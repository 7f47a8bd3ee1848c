//! The Android flow on the host JVM (`java/src/test/java/com/renlian/sdk/FlowTest.java`):
//! the Java side's results must equal what the Rust SDK computes here.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use sdk::{AppIdentity, FaceSdk, Identity, Sdk, SdkConfig};
use sha2::{Digest, Sha256};

use crate::support::*;

const PACKAGE: &str = "com.acme.gate";
const ANDROID_ID: &str = "9774d56d682e549c";
const PHOTOS: [&str; 3] = ["obama.jpg", "biden.jpg", "obama2.jpg"];
const PAIRS: [(&str, &str); 2] = [("obama.jpg", "obama2.jpg"), ("obama.jpg", "biden.jpg")];

/// Stand-in bytes for the app's signing certificate: the binding hashes whatever bytes
/// the package manager reports, so any fixed bytes exercise it.
fn certificate() -> Vec<u8> {
    (0u32..700)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn join<T: std::fmt::Display>(values: impl IntoIterator<Item = T>) -> String {
    values
        .into_iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens the Rust SDK as the stub app and writes what each call returns, in the lines
/// FlowTest reads. Numbers are printed in Rust's shortest round-trip form, so the Java
/// side compares them exactly.
fn expected(live: &str, quality: &str, depth: &str, cert: &str, work: &Path) -> String {
    let identity = Identity::App(AppIdentity {
        package: PACKAGE.into(),
        certificate_sha256: Some(cert.into()),
    });
    let open = |licence: &str, dir: &str| {
        FaceSdk::open(SdkConfig::new(
            licence.into(),
            vec![trusted_key()],
            model_dir().to_path_buf(),
            work.join(dir),
            identity.clone(),
        ))
        .expect("open the Rust SDK")
    };
    let (live, quality) = (open(live, "rust-live"), open(quality, "rust-quality"));
    let mut out = String::new();
    let mut descriptors = std::collections::HashMap::new();
    for name in PHOTOS {
        let bytes = std::fs::read(fixtures().join(name)).expect("fixture photo");
        let img = live.decode(&bytes).unwrap();
        let faces = live.detect(&img).unwrap();
        let face = &faces[0];
        let values = face_values(face);
        writeln!(out, "count {name} {}", faces.len()).unwrap();
        writeln!(out, "face {name} {}", join(values)).unwrap();
        let d = live.descriptor(&img, face).unwrap();
        writeln!(out, "descriptor {name} {}", join(&d.0)).unwrap();
        let l = live.liveness(&img, face).unwrap();
        let raw = [l.raw.antispoof, l.raw.liveness].map(f64::from);
        writeln!(
            out,
            "liveness {name} {} {} {}",
            l.score,
            l.combined,
            join(raw)
        )
        .unwrap();
        let q = quality.quality(&img, face).unwrap();
        let qv = quality_values(&q);
        writeln!(out, "quality {name} {}", join(qv)).unwrap();
        descriptors.insert(name, d);
    }
    let gallery = live.gallery(&[7; 32]).unwrap();
    gallery
        .add(
            "obama",
            &descriptors["obama.jpg"].0,
            Some("Barack".into()),
            None,
        )
        .unwrap();
    gallery
        .add(
            "biden",
            &descriptors["biden.jpg"].0,
            None,
            Some("staff".into()),
        )
        .unwrap();
    let hits = gallery.search(&descriptors["obama2.jpg"].0, 2).unwrap();
    let hits = hits
        .iter()
        .map(|h| format!("{} {} {} {}", h.person_id, h.face_id, h.distance, h.score));
    writeln!(
        out,
        "search obama2.jpg {}",
        hits.collect::<Vec<_>>().join(" ")
    )
    .unwrap();
    drop(gallery);
    track_stream(&quality, &mut out);
    sensor_liveness(&live, &open(depth, "rust-depth"), work, &mut out);
    for (a, b) in PAIRS {
        let c = live.compare(&descriptors[a].0, &descriptors[b].0).unwrap();
        writeln!(out, "compare {a} {b} {} {}", c.distance, c.score).unwrap();
    }
    out
}

fn face_values(face: &sdk::Face) -> Vec<f64> {
    let r = face.rect;
    let landmarks = face
        .landmarks
        .iter()
        .flat_map(|(x, y)| [*x as f64, *y as f64]);
    [r.left, r.top, r.right, r.bottom]
        .map(|v| v as f64)
        .into_iter()
        .chain([f64::from(face.confidence)])
        .chain(landmarks)
        .collect()
}

fn quality_values(q: &sdk::Quality) -> [u32; 9] {
    let c = q.completeness;
    [
        q.score,
        q.sharpness,
        q.brightness,
        c.eyebrow,
        c.eye,
        c.nose,
        c.cheek,
        c.mouth,
        c.chin,
    ]
}

fn shot_values(b: &sdk::BestShot) -> String {
    let mut v = vec![b.track as f64, b.at_ms as f64];
    v.extend(face_values(&b.face));
    v.extend(quality_values(&b.quality).map(f64::from));
    v.extend(face_values(&b.face_in_crop));
    v.extend([b.crop.width(), b.crop.height()].map(f64::from));
    join(v)
}

/// The first photo as 3 frames 200 ms apart, then the end of the stream.
fn track_stream(sdk: &FaceSdk, out: &mut String) {
    let img = sdk
        .decode(&std::fs::read(fixtures().join(PHOTOS[0])).unwrap())
        .unwrap();
    let tracker = sdk.tracker(sdk::TrackerConfig::default()).unwrap();
    let mut track = 0;
    for i in 0..3u64 {
        let frame = tracker.feed(&img, 200 * i).unwrap();
        let mut v = Vec::new();
        for t in &frame.faces {
            v.extend([t.track as f64, if t.confirmed { 1.0 } else { 0.0 }]);
            v.extend(face_values(&t.face));
            v.extend(quality_values(&t.quality).map(f64::from));
            track = t.track;
        }
        writeln!(out, "frame {i} {}", join(v)).unwrap();
    }
    let shot = tracker.best_shot(track).expect("a live track");
    writeln!(out, "bestshot stream {}", shot_values(&shot)).unwrap();
    let ended = tracker.finish();
    assert_eq!(ended.len(), 1, "one track");
    let e = &ended[0];
    assert_eq!(e.reason, sdk::EndReason::Finished);
    let head = [2.0, e.first_ms as f64, e.last_ms as f64, f64::from(e.hits)];
    writeln!(out, "ended stream {} {}", join(head), shot_values(&e.best)).unwrap();
    writeln!(
        out,
        "cropsha stream {}",
        hex(&Sha256::digest(e.best.crop.as_raw()))
    )
    .unwrap();
}

/// IR liveness on the first photo's grey levels as the IR frame, and depth liveness on
/// a flat depth map (a photo held 60 cm away): the frames go to files for FlowTest.
fn sensor_liveness(live: &FaceSdk, depth_sdk: &FaceSdk, work: &Path, out: &mut String) {
    let name = PHOTOS[0];
    let img = live
        .decode(&std::fs::read(fixtures().join(name)).unwrap())
        .unwrap();
    let face = live.detect(&img).unwrap().remove(0);
    let ir = image::imageops::grayscale(&img);
    std::fs::write(work.join("ir.raw"), ir.as_raw()).unwrap();
    let v = live.ir_liveness(&img, &face, &ir).unwrap();
    let reasons: Vec<String> = v.reasons.iter().map(|r| r.to_string()).collect();
    writeln!(out, "ir {name} {} {}", v.score, v.is_live).unwrap();
    writeln!(out, "irreasons {name} {}", reasons.join(" | ")).unwrap();

    let flat = sdk::DepthMap::from_pixel(img.width(), img.height(), image::Luma([600u16]));
    let bytes: Vec<u8> = flat.as_raw().iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(work.join("depth.raw"), bytes).unwrap();
    let v = depth_sdk.depth_liveness(&img, &face, &flat).unwrap();
    assert!(!v.is_live, "a flat depth map passed: {v:?}");
    let reasons: Vec<String> = v.reasons.iter().map(|r| r.to_string()).collect();
    writeln!(out, "depth {name} {} {}", v.score, v.is_live).unwrap();
    writeln!(out, "depthreasons {name} {}", reasons.join(" | ")).unwrap();
}

#[test]
fn the_android_flow_on_the_host_jvm_equals_the_rust_sdk() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let cert = certificate();
    let cert_sha = hex(&Sha256::digest(&cert));
    let live = platform_licence(Sdk::IrLivenessSearch, PACKAGE, &cert_sha);
    let quality = platform_licence(Sdk::Detect, PACKAGE, &cert_sha);
    let depth = platform_licence(Sdk::Liveness3d, PACKAGE, &cert_sha);
    std::fs::write(w.join("depth.lic"), &depth).unwrap();
    std::fs::write(w.join("certificate.der"), &cert).unwrap();
    std::fs::write(w.join("live.lic"), &live).unwrap();
    std::fs::write(w.join("quality.lic"), &quality).unwrap();
    std::fs::write(
        w.join("expected.txt"),
        expected(&live, &quality, &depth, &cert_sha, w),
    )
    .unwrap();
    let properties = [
        ("package", PACKAGE.to_owned()),
        ("androidId", ANDROID_ID.to_owned()),
        (
            "certificate",
            w.join("certificate.der").display().to_string(),
        ),
        ("certificateSha256", cert_sha.clone()),
        ("trustedKey", trusted_key()),
        ("licenceLive", w.join("live.lic").display().to_string()),
        (
            "licenceQuality",
            w.join("quality.lic").display().to_string(),
        ),
        ("licenceDepth", w.join("depth.lic").display().to_string()),
        ("irFrame", w.join("ir.raw").display().to_string()),
        ("depthMap", w.join("depth.raw").display().to_string()),
        ("expected", w.join("expected.txt").display().to_string()),
        ("modelDir", model_dir().display().to_string()),
        ("photoDir", fixtures().display().to_string()),
        ("photos", PHOTOS.join(",")),
        ("workDir", w.join("java").display().to_string()),
    ];
    let text: String = properties
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    assert!(!text.contains('\\'), "properties are written unescaped");
    std::fs::write(w.join("flow.properties"), text).unwrap();

    let classes = w.join("classes");
    compile_java(&classes);
    let out = Command::new(jdk_bin().join("java"))
        .arg(format!("-Djava.library.path={}", library_dir().display()))
        .arg("-cp")
        .arg(&classes)
        .arg("com.renlian.sdk.FlowTest")
        .arg(w.join("flow.properties"))
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "FlowTest failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("FlowTest: {}", stdout.trim());

    // The device licence's first step, made in Java from the stub's ANDROID_ID: the same
    // request the Rust SDK makes for that device and data directory.
    let request = std::fs::read_to_string(w.join("java/activation.txt")).unwrap();
    let request = licensing::ActivationRequest::parse(&request).expect("a valid request");
    let rust = sdk::activation_request(
        &w.join("java/device"),
        &Identity::Android {
            android_id: Some(ANDROID_ID.into()),
            serial: None,
            app: None,
        },
        Sdk::Search,
        Some("gate 1".into()),
    )
    .unwrap();
    assert_eq!(request, licensing::ActivationRequest::parse(&rust).unwrap());
    assert_eq!(request.sdk, Sdk::Search);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
