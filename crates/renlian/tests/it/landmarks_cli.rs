//! `renlian landmarks` on a fixture photo (models fetched by the command on first use).

use serde_json::Value;

use crate::face_support;

use face_support::{fixtures, json_of, renlian};

#[test]
fn landmarks_give_ninety_points_a_frontal_pose_and_open_eyes() {
    let path = fixtures().join("obama.jpg").display().to_string();
    let v: Value = json_of(&renlian(&["landmarks", &path, "--json"]));
    let faces = v["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1, "{v}");
    let f = &faces[0];
    let shape = f["shape"].as_object().unwrap();
    let count = |k: &str| shape[k].as_array().map_or(1, |a| a.len());
    let total: usize = [
        "face_profile",
        "left_eye",
        "right_eye",
        "left_eye_brow",
        "right_eye_brow",
        "mouth",
        "nose",
        "left_pupil",
        "right_pupil",
    ]
    .iter()
    .map(|k| count(k))
    .sum();
    assert_eq!(total, 90, "{f}");
    // Every point lies within the face box grown by half its size.
    let (x, y) = (f["x"].as_f64().unwrap(), f["y"].as_f64().unwrap());
    let (w, h) = (f["width"].as_f64().unwrap(), f["height"].as_f64().unwrap());
    for region in shape.values() {
        let pts = region
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![region.clone()]);
        for p in pts {
            let (px, py) = (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
            assert!(px > x - w / 2.0 && px < x + 1.5 * w, "{p}");
            assert!(py > y - h / 2.0 && py < y + 1.5 * h, "{p}");
        }
    }
    for k in ["pitch", "yaw", "roll"] {
        assert!(f["head_pose"][k].as_f64().unwrap().abs() < 20.0, "{f}");
    }
    assert_eq!(f["eyes_open"], Value::Bool(true), "{f}");

    let v: Value = json_of(&renlian(&["landmarks", &path, "--json", "--dense"]));
    let dense = &v["faces"][0]["dense_shape"];
    assert_eq!(dense["left_pupil"].as_array().unwrap().len(), 5, "{v}");
    assert_eq!(dense["mouth_outside"].as_array().unwrap().len(), 20, "{v}");
}
