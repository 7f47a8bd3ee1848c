//! `renlian calibrate` on the package-shipped fixture photos (fetched into the cache by
//! scripts/fixtures): two people of face_recognition's test images, a manifest built
//! here, every figure and output file checked.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::face_support;

use face_support::{fixtures, json_of, renlian};

const OBAMA: [&str; 3] = ["obama.jpg", "obama2.jpg", "obama3.jpg"];

fn manifest(dir: &Path) -> PathBuf {
    let mut csv = String::from("file,identity\n");
    for f in OBAMA {
        csv += &format!("{f},obama\n");
    }
    csv += "biden.jpg,biden\n";
    let path = dir.join("manifest.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn calibrate_measures_two_people_and_writes_every_output() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let (m, o, f) = (
        manifest(dir.path()),
        out_dir.display().to_string(),
        fx.display().to_string(),
    );
    let v = json_of(&renlian(&[
        "calibrate",
        "--manifest",
        m.to_str().unwrap(),
        "--images",
        &f,
        "--population",
        "fixtures",
        "--out",
        &o,
        "--json",
    ]));
    let set = &v["set"];
    assert_eq!(set["images"], 4);
    assert_eq!(set["identities"], 2);
    assert_eq!(set["described"], 4, "{set}");
    assert_eq!(set["no_face"].as_array().unwrap().len(), 0);
    // 3 Obama pairs, 3 Obama–Biden pairs.
    assert_eq!(set["measured_pairs"], 6);

    let pops = v["summary"]["populations"].as_array().unwrap();
    assert_eq!(pops.len(), 1);
    let p = &pops[0];
    assert_eq!(p["population"], "fixtures");
    assert_eq!(p["genuine_pairs"], 3);
    assert_eq!(p["impostor_pairs"], 3);
    // The same man's photos are closer than dlib's 0.6, the two men farther apart.
    let farthest_genuine = p["farthest_genuine"].as_f64().unwrap();
    let closest_impostor = p["closest_impostor"].as_f64().unwrap();
    assert!(farthest_genuine < 0.6 && closest_impostor > 0.6, "{p}");
    assert_eq!(p["eer"]["eer"].as_f64().unwrap(), 0.0, "{p}");
    let at06 = &p["at_distances"][0];
    assert_eq!(at06["tar"]["count"], 3);
    assert_eq!(at06["far"]["count"], 0);
    // Wilson's interval on 0 of 3 false accepts still reaches past 50 %.
    assert!(at06["far"]["high"].as_f64().unwrap() > 0.5, "{at06}");
    // Three impostor pairs resolve no FAR, and no score map can rest on them.
    for op in p["operating_points"].as_array().unwrap() {
        assert_eq!(op["resolved"], false, "{op}");
    }
    assert!(v["summary"]["score_map"].is_null());
    assert!(v["summary"]["score_map_missing"]
        .as_str()
        .unwrap()
        .contains("FAR 1e-3"));

    let csv = std::fs::read_to_string(out_dir.join("fixtures.pairs.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "population,file_a,file_b,same,distance");
    assert_eq!(lines.len(), 7);
    assert!(lines
        .iter()
        .any(|l| l.starts_with("fixtures,obama.jpg,biden.jpg,0,")));
    let svg = std::fs::read_to_string(out_dir.join("roc.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("fixtures (3 genuine, 3 impostor pairs)"));
    let table = std::fs::read_to_string(out_dir.join("table.md")).unwrap();
    assert!(
        table.contains("| fixtures |") && table.contains("not resolved"),
        "{table}"
    );

    // Without photos the summary is recomputed from the distances alone, identically.
    let again = json_of(&renlian(&["calibrate", "--out", &o, "--json"]));
    assert_eq!(again["summary"], v["summary"]);
    assert!(again["set"].is_null());
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(on_disk, v["summary"]);
}

#[test]
fn a_pairs_file_that_contradicts_the_manifest_is_refused() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path());
    let pairs = dir.path().join("pairs.csv");
    std::fs::write(&pairs, "file_a,file_b,same\nobama.jpg,biden.jpg,1\n").unwrap();
    let out = renlian(&[
        "calibrate",
        "--manifest",
        m.to_str().unwrap(),
        "--images",
        fx.to_str().unwrap(),
        "--pairs",
        pairs.to_str().unwrap(),
        "--json",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("disagrees with the manifest"), "{err}");
}

#[test]
fn an_across_cache_without_across_detectors_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = renlian(&[
        "calibrate",
        "--descriptor-version",
        "2",
        "--region",
        "east-asian",
        "--out",
        dir.path().to_str().unwrap(),
        "--across-cache",
        dir.path().join("other.json").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--across-cache goes with --across-detectors"),
        "{err}"
    );
}
