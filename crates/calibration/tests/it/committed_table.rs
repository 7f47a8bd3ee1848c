//! The committed calibration (`calibration/` at the repository root) is reproduced from
//! the committed per-pair distances alone, and the engine's score table is that fit.

use std::path::PathBuf;

use calibration::{read_distances_dir, summarize, summary::table_markdown};
use vision::Calibration;

fn committed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../calibration")
}

fn read(name: &str) -> String {
    let path = committed_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// As the tool writes JSON; compared as text, since parsing floats back is not exact.
fn pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn the_committed_summary_and_score_map_follow_from_the_committed_distances() {
    let engine_table = Calibration::dlib_resnet_v1().unwrap();
    let rows = read_distances_dir(&committed_dir()).unwrap();
    assert!(rows.len() > 100_000, "{} pairs", rows.len());
    let summary = summarize(&engine_table.model, &rows);

    assert_eq!(
        pretty(&summary),
        read("summary.json"),
        "calibration/summary.json is stale: rerun `renlian calibrate --out calibration`"
    );
    assert_eq!(table_markdown(&summary), read("table.md"));

    let fitted = summary.score_map.expect("a score map is fitted");
    assert_eq!(pretty(&fitted), read("score_map.json"));
    assert_eq!(
        fitted.points, engine_table.points,
        "crates/vision/calibration/dlib_resnet_v1.json is not calibration/score_map.json"
    );
    assert_eq!(fitted.match_distance, engine_table.match_distance);
    // The worse population sets the map.
    assert_eq!(fitted.fitted_on, "east-asian");
}

#[test]
fn the_engine_table_is_monotone_and_invertible_and_keeps_the_iai_meaning() {
    let c = Calibration::dlib_resnet_v1().unwrap();
    for w in c.points.windows(2) {
        assert!(w[1].0 > w[0].0 && w[1].1 < w[0].1, "{w:?}");
    }
    for i in 0..=1000 {
        let s = f64::from(i) / 10.0;
        assert!((c.score(c.distance(s)) - s).abs() < 1e-9, "score {s}");
    }
    for i in 0..=1500 {
        let d = f64::from(i) / 1000.0;
        assert!((c.distance(c.score(d)) - d).abs() < 1e-9, "distance {d}");
    }
    assert!((c.far(40.0) - 1e-3).abs() < 1e-15 && (c.far(50.0) - 1e-4).abs() < 1e-16);
}

#[test]
fn the_measured_knots_hold_on_the_fitted_population() {
    // At the knot of score 40 (FAR 1e-3), at most 0.1 % of the East-Asian impostor pairs
    // are accepted (distance strictly below the knot), and at the knot of 30 at most 1 %.
    let c = Calibration::dlib_resnet_v1().unwrap();
    let rows = read_distances_dir(&committed_dir()).unwrap();
    let (_, impostor) = calibration::distances::split(&rows, "east-asian");
    for (score, far) in [(40.0, 1e-3), (30.0, 1e-2), (20.0, 1e-1)] {
        let d = c.distance(score);
        let accepted = impostor.iter().filter(|&&x| x < d).count();
        let rate = accepted as f64 / impostor.len() as f64;
        assert!(
            rate <= far,
            "score {score}: {accepted} of {} accepted",
            impostor.len()
        );
        assert!(
            rate > far / 2.0,
            "score {score} is needlessly strict: {rate}"
        );
    }
}

/// Version 2: the engine's model is the tool's output, and the committed judgement on
/// held-out people says what the docs claim: every population's observed FAR within its
/// score's meaning (up to what the pair counts resolve), and TAR gained at 50.
#[test]
fn the_engine_runs_the_committed_version_2_model_and_its_judgement_holds() {
    let engine_json = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vision/calibration/dlib_resnet_v2.json"),
    )
    .unwrap();
    assert_eq!(
        engine_json,
        read("v2/dlib_resnet_v2.json"),
        "copy calibration/v2/dlib_resnet_v2.json to crates/vision/calibration/"
    );
    let model = vision::ScoreModel::for_version(vision::DescriptorVersion::V2).unwrap();
    assert!(matches!(model, vision::ScoreModel::Regional(_)));

    let eval: serde_json::Value = serde_json::from_str(&read("v2/v2-evaluation.json")).unwrap();
    let judged = eval["judged"].as_array().unwrap();
    let after = judged
        .iter()
        .find(|j| {
            j["name"]
                .as_str()
                .unwrap()
                .starts_with("version 2 (descriptor and regional")
        })
        .unwrap();
    for pop in after["populations"].as_array().unwrap() {
        for at in pop["at"].as_array().unwrap() {
            let score = at[0].as_f64().unwrap();
            let meaning = 10f64.powf(-(score - 10.0) / 10.0);
            let far_low = at[1]["low"].as_f64().unwrap();
            assert!(
                far_low <= meaning,
                "{pop}: FAR at {score} above its meaning"
            );
        }
    }
    for gain in eval["tar_gain_version_1_to_2"].as_array().unwrap() {
        let at50 = &gain["score_gain_low_high"][1];
        assert_eq!(at50[0].as_f64().unwrap(), 50.0);
        assert!(
            at50[2].as_f64().unwrap() > 0.0,
            "{gain}: no TAR gained at 50"
        );
    }
}
