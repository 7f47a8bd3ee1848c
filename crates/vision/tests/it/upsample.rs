//! MMOD's small-face mode at parity with dlib: a minimum face size under 80 pixels
//! doubles the image as `cnn_face_detection_model_v1(img, n)` does, and must agree with
//! dlib's own upsampled detections as closely as the 80-pixel mode agrees with
//! `(img, 0)` (parity.rs): the same faces, IoU ≥ 0.95, confidence within 0.02, then the
//! descriptor from our own box and landmarks within 0.01 of dlib's. The frames (640×480,
//! one fixture scaled so its face is 30-70 px) are made by the reference script and
//! read here as the PNGs dlib saw.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use vision::Rect;

use crate::common::{env, load_rgb, store};

#[derive(Debug, Deserialize)]
struct UpsampleReference {
    frames: Vec<Frame>,
    pyramid_up: PyramidUp,
}

/// A frame and dlib's `pyramid_up` of it.
#[derive(Debug, Deserialize)]
struct PyramidUp {
    frame: String,
    upsampled: String,
}

#[derive(Debug, Deserialize)]
struct Frame {
    image: String,
    upsample: u32,
    faces: Vec<RefFace>,
}

#[derive(Debug, Deserialize)]
struct RefFace {
    left: i64,
    top: i64,
    right: i64,
    bottom: i64,
    confidence: f32,
    descriptor: Vec<f64>,
}

struct Reference {
    frames: Vec<Frame>,
    pyramid_up: PyramidUp,
    dir: PathBuf,
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let models_dir = store()
            .dlib_path(models::DlibModel::ShapePredictor5)
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/run-upsample-reference");
        let out = Command::new(&script).arg(&models_dir).output().unwrap();
        assert!(
            out.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let json = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let parsed: UpsampleReference =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        Reference {
            frames: parsed.frames,
            pyramid_up: parsed.pyramid_up,
            dir: PathBuf::from(format!("{}.frames", json.display())),
        }
    })
}

/// The minimum face size that makes the engine double the image `upsample` times, as
/// dlib's `(img, upsample)`: the 80-px window halved each time.
fn min_face_for(upsample: u32) -> u32 {
    80 >> upsample
}

#[test]
fn upsampling_gives_dlibs_pixels() {
    let reference = reference();
    let frame = load_rgb(&reference.dir.join(&reference.pyramid_up.frame));
    let theirs = load_rgb(&reference.dir.join(&reference.pyramid_up.upsampled));
    let ours = vision::upsample::pyramid_up(&frame);
    assert_eq!(ours.dimensions(), theirs.dimensions());
    let differing = ours
        .as_raw()
        .iter()
        .zip(theirs.as_raw())
        .filter(|(a, b)| a != b)
        .count();
    let worst = ours
        .as_raw()
        .iter()
        .zip(theirs.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0);
    eprintln!(
        "pyramid_up: {differing} of {} values differ from dlib's, by at most {worst}",
        ours.as_raw().len()
    );
    assert_eq!(differing, 0, "by at most {worst}");
}

#[test]
fn small_face_detections_and_descriptors_match_dlib_upsampled() {
    let env = env();
    let reference = reference();
    assert!(reference.frames.len() >= 6);
    assert!(reference.frames.iter().any(|f| f.upsample == 2));
    for frame in &reference.frames {
        let img = load_rgb(&reference.dir.join(&frame.image));
        let min = min_face_for(frame.upsample);
        let ours = env.engine.detect_sized(&img, min).unwrap();
        assert_eq!(
            ours.len(),
            frame.faces.len(),
            "{} at {min} px: {ours:?}",
            frame.image
        );
        for (o, t) in ours.iter().zip(&frame.faces) {
            let theirs = Rect::new(t.left, t.top, t.right, t.bottom);
            let iou = o.rect.iou(&theirs);
            let dc = (f64::from(o.confidence) - f64::from(t.confidence)).abs();
            let desc = env.engine.describe(&img, std::slice::from_ref(o)).unwrap();
            let want =
                vision::Descriptor::from_vec(t.descriptor.iter().map(|&v| v as f32).collect())
                    .unwrap();
            let d = desc[0].distance(&want);
            eprintln!(
                "{} (upsample {}): IoU {iou:.4}, confidence {} vs {}, descriptor distance {d:.5}",
                frame.image, frame.upsample, o.confidence, t.confidence
            );
            assert!(
                iou >= 0.95,
                "{}: IoU {iou} ({:?} vs dlib {theirs:?})",
                frame.image,
                o.rect
            );
            assert!(
                dc < 0.02,
                "{}: confidence {} vs dlib {}",
                frame.image,
                o.confidence,
                t.confidence
            );
            assert!(d < 0.01, "{}: descriptor {d} from dlib's", frame.image);
        }
    }
}

#[test]
fn the_80_pixel_mode_misses_small_faces_and_sizes_between_doublings_filter() {
    let env = env();
    let reference = reference();
    for frame in reference
        .frames
        .iter()
        .filter(|f| f.image.contains(".face"))
    {
        let img = load_rgb(&reference.dir.join(&frame.image));
        // The 80-px mode finds faces down to about 55 px at best (MMOD still scores
        // some of them above 0); the 48- and 35-px ones it misses.
        let smallest = frame
            .faces
            .iter()
            .map(|f| (f.right - f.left + 1).max(f.bottom - f.top + 1))
            .min()
            .unwrap_or(0);
        if smallest < 50 {
            assert!(
                env.engine.detect_sized(&img, 80).unwrap().is_empty(),
                "{}",
                frame.image
            );
        }
        // Asking for 72 px upsamples once, like 40, and then drops the boxes too small
        // for 72 (under 54 px: the 48-px face).
        let at_72 = env.engine.detect_sized(&img, 72).unwrap();
        let want = frame
            .faces
            .iter()
            .filter(|f| {
                vision::detector::large_enough(&Rect::new(f.left, f.top, f.right, f.bottom), 72.0)
            })
            .count();
        if frame.upsample == 1 {
            assert_eq!(at_72.len(), want, "{}: {at_72:?}", frame.image);
        }
        if frame.image.starts_with("obama.jpg") {
            assert_eq!(want, 0, "the 48-px face is under the margin of 72");
        }
    }
}
