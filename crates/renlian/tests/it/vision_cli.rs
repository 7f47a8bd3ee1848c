//! `renlian detect`, `compare` and `embed` on the fixture photos (fetched into the cache
//! by scripts/fixtures; models fetched by the commands themselves on first use).

use serde_json::Value;

use crate::face_support;

use face_support::{fixtures, json_of, renlian};

fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

#[test]
fn detect_reports_one_face_with_five_landmarks() {
    let v = json_of(&renlian(&["detect", &fixture("obama.jpg"), "--json"]));
    let faces = v["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1);
    let f = &faces[0];
    let (x, y, w, h) = (
        f["x"].as_i64().unwrap(),
        f["y"].as_i64().unwrap(),
        f["width"].as_i64().unwrap(),
        f["height"].as_i64().unwrap(),
    );
    assert!(w > 100 && h > 100, "{f}");
    assert!(f["confidence"].as_f64().unwrap() > 0.5);
    let landmarks = f["landmarks"].as_array().unwrap();
    assert_eq!(landmarks.len(), 5);
    for p in landmarks {
        let (px, py) = (p[0].as_i64().unwrap(), p[1].as_i64().unwrap());
        assert!(
            px >= x && px < x + w && py >= y && py < y + h,
            "landmark {p} outside the box {f}"
        );
    }
}

#[test]
fn detect_with_attributes_and_quality() {
    let v = json_of(&renlian(&[
        "detect",
        &fixture("biden.jpg"),
        "--attributes",
        "--quality",
        "--json",
    ]));
    let f = &v["faces"][0];
    let a = &f["attributes"];
    assert!(a["gender_male"].as_f64().unwrap() > 0.5, "{a}");
    assert!((15.0..=85.0).contains(&a["age"].as_f64().unwrap()), "{a}");
    let emotion: f64 = a["emotion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .sum();
    assert!((emotion - 1.0).abs() < 1e-3, "{a}");
    assert_eq!(a["eyes_open"], true, "{a}");
    assert!(a["head_pose"]["yaw"].as_f64().unwrap().abs() < 30.0, "{a}");
    let q = &f["quality"];
    for k in ["score", "sharpness", "brightness"] {
        assert!((0..=100).contains(&q[k].as_i64().unwrap()), "{k}: {q}");
    }
    assert_eq!(q["completeness"]["eye"], 100, "{q}");
    // Without the flags, neither is computed.
    let plain = json_of(&renlian(&["detect", &fixture("biden.jpg"), "--json"]));
    assert!(plain["faces"][0].get("attributes").is_none());
}

/// Scores carry the calibrated false-accept meaning (docs/calibration/): 40 is the line
/// where one different-person pair in 1,000 is accepted, 20 one in 10. Two photos of one
/// man, years apart, clear 40; different people fall below 20.
#[test]
fn compare_scores_carry_their_false_accept_meaning() {
    let same = json_of(&renlian(&[
        "compare",
        &fixture("obama.jpg"),
        &fixture("obama2.jpg"),
        "--json",
    ]));
    assert!(same["score"].as_f64().unwrap() >= 40.0, "{same}");
    assert!(same["distance"].as_f64().unwrap() < 0.4, "{same}");
    for other in ["biden.jpg", "astronaut.png"] {
        let diff = json_of(&renlian(&[
            "compare",
            &fixture("obama.jpg"),
            &fixture(other),
            "--json",
        ]));
        assert!(
            diff["score"].as_f64().unwrap() < 20.0,
            "obama vs {other}: {diff}"
        );
    }
}

#[test]
fn embed_gives_one_entry_per_image_with_128_values_per_face() {
    let images = [
        fixture("obama.jpg"),
        fixture("biden.jpg"),
        fixture("astronaut.png"),
    ];
    let mut args = vec!["embed"];
    args.extend(images.iter().map(String::as_str));
    args.push("--json");
    let v = json_of(&renlian(&args));
    let entries = v.as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for (entry, image) in entries.iter().zip(&images) {
        assert_eq!(entry["image"].as_str().unwrap(), image);
        let faces = entry["faces"].as_array().unwrap();
        assert_eq!(faces.len(), 1, "{image}");
        let d: Vec<f64> = faces[0]["descriptor"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(d.len(), 128);
        let norm = d.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!(norm > 0.1, "{image}: descriptor norm {norm}");
    }
}

#[test]
fn malformed_images_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("a.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
    let out = renlian(&["detect", gif.to_str().unwrap(), "--json"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("GIF"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let truncated = dir.path().join("t.jpg");
    let bytes = std::fs::read(fixture("obama.jpg")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = renlian(&[
        "embed",
        truncated.to_str().unwrap(),
        &fixture("astronaut.png"),
        "--json",
    ]);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v[0]["error"].as_str().unwrap().contains("truncated"), "{v}");
    assert_eq!(v[1]["faces"].as_array().unwrap().len(), 1);
}

/// `RENLIAN_ONNXRUNTIME`: the commands run the engine on ONNX Runtime (the library
/// scripts/onnxruntime-env installs) with the same faces and descriptors as on tract; a
/// path that is not ONNX Runtime stops the command with a message naming the variable.
#[test]
fn onnxruntime_named_by_the_environment_runs_the_engine() {
    let library = face_support::script_path("onnxruntime-env")
        .display()
        .to_string();
    let photo = fixture("obama.jpg");
    let run = |library: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_renlian"));
        cmd.args(["embed", &photo, "--json"]);
        match library {
            Some(l) => cmd.env("RENLIAN_ONNXRUNTIME", l),
            None => cmd.env_remove("RENLIAN_ONNXRUNTIME"),
        };
        cmd.output().unwrap()
    };
    let tract = json_of(&run(None));
    let ort = json_of(&run(Some(&library)));
    let faces = |v: &Value| v[0]["faces"].as_array().unwrap().clone();
    let (a, b) = (faces(&tract), faces(&ort));
    assert_eq!(a.len(), 1, "{tract}");
    assert_eq!(a.len(), b.len(), "{tract} vs {ort}");
    for key in ["x", "y", "width", "height"] {
        assert_eq!(a[0][key], b[0][key], "{key}: {tract} vs {ort}");
    }
    let (da, db) = (
        a[0]["descriptor"].as_array().unwrap(),
        b[0]["descriptor"].as_array().unwrap(),
    );
    let distance: f64 = da
        .iter()
        .zip(db)
        .map(|(x, y)| (x.as_f64().unwrap() - y.as_f64().unwrap()).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(distance < 1e-4, "descriptor distance {distance}");

    let bad = run(Some("/nonexistent/libonnxruntime.so"));
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("RENLIAN_ONNXRUNTIME"), "{stderr}");
}
