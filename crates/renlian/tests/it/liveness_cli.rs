//! `renlian liveness` on the fixture photos (models fetched by the command on first use).

use serde_json::Value;

use crate::face_support;

use face_support::{fixtures, json_of, renlian};

#[test]
fn liveness_scores_every_detected_face() {
    for (photo, faces) in [("obama.jpg", 1), ("biden.jpg", 1)] {
        let path = fixtures().join(photo).display().to_string();
        let v: Value = json_of(&renlian(&["liveness", &path, "--json"]));
        let list = v["faces"].as_array().unwrap();
        assert_eq!(list.len(), faces, "{photo}: {v}");
        for f in list {
            assert!(f["width"].as_i64().unwrap() > 100, "{photo}: {f}");
            for key in ["antispoof", "liveness"] {
                let s = f[key].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&s), "{photo}: {key} = {s}");
            }
            // The API's score and its verdict at the recommended threshold (40).
            let score = f["Score"].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&score), "{photo}: {f}");
            assert_eq!(
                f["IsLiveness"].as_bool().unwrap(),
                score >= 40.0,
                "{photo}: {f}"
            );
        }
    }
}
