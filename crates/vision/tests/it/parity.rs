//! Parity with dlib (Python dlib 19.24, run by `reference/run-reference` on the
//! fixture photos and cached): boxes IoU ≥ 0.95 with close confidences, landmarks
//! within 1 px given dlib's box, descriptors within 0.01 (L2) of dlib's.
//!
//! The first run fetches the model pack, the fixtures and the reference venv into
//! ~/.cache/renlian and runs dlib (minutes on a small machine); later runs read the cache.

use crate::common;

use common::{env, load_rgb, RefFace};
use vision::geometry::Rect;

/// Descriptor distance allowed when each side decodes the JPEG itself: a sixth of the
/// match threshold (0.6), so that the same-person decision cannot change.
const END_TO_END_TOLERANCE: f64 = 0.1;

fn dlib_rect(f: &RefFace) -> Rect {
    Rect::new(f.left, f.top, f.right, f.bottom)
}

#[test]
fn landmarks_match_dlib_given_the_same_box() {
    let env = env();
    let mut checked = 0;
    for image in &env.reference.images {
        let img = env.dlib_pixels(&image.image);
        for f in &image.faces {
            let face = env.engine.face_at(&img, dlib_rect(f), f.confidence);
            for (ours, theirs) in [
                (&face.landmarks, &f.landmarks),
                (face.landmarks_68.as_ref().unwrap(), &f.landmarks68),
            ] {
                assert_eq!(ours.len(), theirs.len());
                for (a, b) in ours.iter().zip(theirs) {
                    assert!(
                        (a.0 - b[0]).abs() <= 1 && (a.1 - b[1]).abs() <= 1,
                        "{}: landmark {a:?} vs dlib {b:?}",
                        image.image
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} reference faces");
}

#[test]
fn face_chips_match_dlib() {
    let env = env();
    for image in &env.reference.images {
        let img = env.dlib_pixels(&image.image);
        for f in &image.faces {
            let face = vision::Face {
                rect: dlib_rect(f),
                confidence: f.confidence,
                landmarks: f.landmarks.iter().map(|p| (p[0], p[1])).collect(),
                landmarks_68: None,
            };
            let ours = env.engine.face_chip(&img, &face).unwrap();
            let theirs = load_rgb(&env.chips_dir.join(&f.chip));
            let diffs: Vec<i32> = ours
                .as_raw()
                .iter()
                .zip(theirs.as_raw())
                .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
                .collect();
            let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
            assert!(
                mean < 1.0,
                "{}: chip differs from dlib's by {mean} on average",
                image.image
            );
        }
    }
}

#[test]
fn descriptors_match_dlib() {
    let env = env();
    for image in &env.reference.images {
        let img = env.dlib_pixels(&image.image);
        for f in &image.faces {
            let face = vision::Face {
                rect: dlib_rect(f),
                confidence: f.confidence,
                landmarks: f.landmarks.iter().map(|p| (p[0], p[1])).collect(),
                landmarks_68: None,
            };
            let ours = env.engine.describe(&img, &[face]).unwrap().remove(0);
            let theirs =
                vision::Descriptor::from_vec(f.descriptor.iter().map(|&v| v as f32).collect())
                    .unwrap();
            let d = ours.distance(&theirs);
            assert!(d < 0.01, "{}: descriptor {d} from dlib's", image.image);
        }
    }
}

#[test]
fn detections_match_dlib() {
    let env = env();
    for image in &env.reference.images {
        let img = env.dlib_pixels(&image.image);
        let ours = env.engine.detect(&img).unwrap();
        assert_eq!(ours.len(), image.faces.len(), "{}: {ours:?}", image.image);
        for (o, t) in ours.iter().zip(&image.faces) {
            let iou = o.rect.iou(&dlib_rect(t));
            assert!(
                iou >= 0.95,
                "{}: IoU {iou} ({:?} vs dlib {t:?})",
                image.image,
                o.rect
            );
            let dc = (f64::from(o.confidence) - f64::from(t.confidence)).abs();
            assert!(
                dc < 0.02,
                "{}: confidence {} vs dlib {}",
                image.image,
                o.confidence,
                t.confidence
            );
        }
    }
}

#[test]
fn embeddings_end_to_end_match_dlib() {
    let env = env();
    for image in &env.reference.images {
        // The whole pipeline, our own JPEG decoder included.
        let img = load_rgb(&env.fixtures.join(&image.image));
        let ours = env.engine.embed(&img).unwrap();
        for (face, desc) in &ours {
            let t = image
                .faces
                .iter()
                .max_by(|a, b| {
                    face.rect
                        .iou(&dlib_rect(a))
                        .total_cmp(&face.rect.iou(&dlib_rect(b)))
                })
                .unwrap();
            let theirs =
                vision::Descriptor::from_vec(t.descriptor.iter().map(|&v| v as f32).collect())
                    .unwrap();
            let d = desc.distance(&theirs);
            // Our JPEG decoder (zune-jpeg) and dlib's (libjpeg, through Pillow) differ by up
            // to 3 levels on ~1% of pixels, which can move a landmark by a pixel or two.
            assert!(
                d < END_TO_END_TOLERANCE,
                "{}: end-to-end descriptor {d} from dlib's",
                image.image
            );
        }
    }
}
