//! Face attributes and quality on the fixture photos: dlib's detections, the converted
//! TensorFlow.js attribute models (their parity with tfjs is tested in the `tfjs`
//! crate), and quality measured with a 90-point shape made here from dlib's 68 points.
//!
//! The figures of docs/attributes.md and docs/quality.md from the East-Asian calibration
//! set, which is not in the repository, come from `cargo run --example explore --
//! attribute-figures`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use vision::attributes::{age_human, face_square, square_box, AttributeNets, ModelInputs, Planar};
use vision::quality::{assess, meets};
use vision::{Engine, EngineConfig, Face, FaceShape90, Point, RgbImage};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    let out = Command::new(root().join("scripts/fixtures"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

struct Env {
    engine: Engine,
    nets: AttributeNets,
    fixtures: PathBuf,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let store = models::ModelStore::from_env().unwrap();
        let config = EngineConfig {
            landmarks_68: true,
            ..EngineConfig::default()
        };
        Env {
            engine: Engine::load(&store, config).unwrap(),
            nets: AttributeNets::load(&store).unwrap(),
            fixtures: fixtures(),
        }
    })
}

fn photo(name: &str) -> RgbImage {
    let bytes = std::fs::read(env().fixtures.join(name)).unwrap();
    env().engine.decode(&bytes).unwrap()
}

/// The largest face of the photo.
fn largest(engine: &Engine, img: &RgbImage) -> Option<Face> {
    engine
        .detect(img)
        .unwrap()
        .into_iter()
        .max_by_key(|f| f.rect.area())
}

/// `n` points evenly spaced along the polyline through `pts` (closed: back to the start).
fn resample(pts: &[Point], n: usize, closed: bool) -> Vec<Point> {
    let mut path = pts.to_vec();
    if closed {
        path.push(pts[0]);
    }
    let seg: Vec<f32> = path
        .windows(2)
        .map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y))
        .collect();
    let total: f32 = seg.iter().sum();
    let steps = if closed { n } else { n - 1 };
    (0..n)
        .map(|i| {
            let mut d = total * i as f32 / steps as f32;
            for (k, &len) in seg.iter().enumerate() {
                if d <= len || k == seg.len() - 1 {
                    let t = if len > 0.0 { (d / len).min(1.0) } else { 0.0 };
                    let (a, b) = (path[k], path[k + 1]);
                    return Point::new(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t);
                }
                d -= len;
            }
            path[0]
        })
        .collect()
}

fn centroid(pts: &[Point]) -> Point {
    let n = pts.len() as f32;
    Point::new(
        pts.iter().map(|p| p.x).sum::<f32>() / n,
        pts.iter().map(|p| p.y).sum::<f32>() / n,
    )
}

/// A 90-point shape from dlib's 68 points (the iBUG layout), resampled to IAI's
/// counts: good enough to say which regions lie inside the image, which is all
/// quality reads. The real mapping comes from the face mesh.
fn shape_from_68(face: &Face) -> FaceShape90 {
    let p: Vec<Point> = face
        .landmarks_68
        .as_ref()
        .expect("the engine places 68 landmarks")
        .iter()
        .map(|&(x, y)| Point::new(x as f32, y as f32))
        .collect();
    // iBUG: jaw 0-16, brows 17-21 / 22-26, nose 27-35, eyes 36-41 / 42-47, mouth
    // 48-59 outer, 60-67 inner. Image-left first.
    let mut mouth = resample(&p[48..60], 12, true);
    mouth.extend(resample(&p[60..68], 10, true));
    FaceShape90 {
        face_profile: resample(&p[0..17], 21, false),
        left_eye: resample(&p[36..42], 8, true),
        right_eye: resample(&p[42..48], 8, true),
        left_eye_brow: resample(&p[17..22], 8, false),
        right_eye_brow: resample(&p[22..27], 8, false),
        mouth,
        nose: resample(&p[27..36], 13, false),
        left_pupil: centroid(&p[36..42]),
        right_pupil: centroid(&p[42..48]),
    }
}

#[test]
fn fixture_attributes_are_in_range_and_men_read_male() {
    let e = env();
    for (name, male) in [
        ("obama.jpg", Some(true)),
        ("biden.jpg", Some(true)),
        ("astronaut.png", None),
    ] {
        let img = photo(name);
        let face = largest(&e.engine, &img).unwrap();
        let a = e.nets.estimate(&img, &face).unwrap();
        let raw = e.nets.raw(&img, &face).unwrap();
        println!(
            "{name}: {a:?}; age as Human decodes it {}",
            age_human(&raw.age_distribution)
        );
        assert!((0.0..100.0).contains(&a.age), "{name}: {a:?}");
        assert!((0.0..=1.0).contains(&a.gender_male), "{name}: {a:?}");
        let sum: f32 = a.emotion.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "{name}: emotions sum to {sum}");
        assert!(a.emotion.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!((0.0..=100.0).contains(&a.smile));
        assert_eq!(a.smile, 100.0 * a.emotion[1]);
        if let Some(male) = male {
            assert_eq!(a.gender_male > 0.5, male, "{name}: {a:?}");
        }
        // No state between calls.
        assert_eq!(e.nets.estimate(&img, &face).unwrap(), a);
    }
}

fn tfjs_dir() -> PathBuf {
    let out = Command::new(root().join("scripts/tfjs-env"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The largest |a − b| over the largest |b|; the shapes must agree.
fn relative_difference(name: &str, ours: &Planar, theirs: &[f32]) -> f32 {
    assert_eq!(ours.data.len(), theirs.len(), "{name}: sizes differ");
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = ours
        .data
        .iter()
        .zip(theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(scale > 0.0, "{name}: the reference is all zero");
    diff / scale
}

/// Our face square and model inputs against Human's own preprocessing run in
/// TensorFlow.js (tests/reference/human_attribute_inputs.js) on the same photo and
/// square, including a square that reaches outside the photo.
#[test]
fn model_inputs_match_humans_preprocessing_in_tfjs() {
    let e = env();
    let tfjs = tfjs_dir();
    for (name, scale) in [
        ("obama.jpg", 1.4),
        ("astronaut.png", 1.4),
        ("biden.jpg", 3.0),
    ] {
        let img = photo(name);
        let face = largest(&e.engine, &img).unwrap();
        let [x1, y1, x2, y2] = square_box(face.rect, scale);
        let dir = tempfile::tempdir().unwrap();
        let rgb = dir.path().join("image.rgb");
        std::fs::write(&rgb, img.as_raw()).unwrap();
        let out = Command::new("node")
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/reference/human_attribute_inputs.js"),
            )
            .arg(&rgb)
            .arg(img.width().to_string())
            .arg(img.height().to_string())
            .arg(format!("{x1},{y1},{x2},{y2}"))
            .arg(dir.path())
            .env("NODE_PATH", tfjs.join("node_modules"))
            .output()
            .expect("running node (Node.js is needed for the tfjs reference)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read = |file: &str| -> Vec<f32> {
            std::fs::read(dir.path().join(file))
                .unwrap()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        let square = face_square(&img, &face, scale).unwrap();
        let inputs = ModelInputs::new(&square).unwrap();
        let gear = ModelInputs::gear(&square).unwrap();
        let outside = x1 < 0.0 || y1 < 0.0 || x2 > img.width() as f32 || y2 > img.height() as f32;
        for (what, ours, file) in [
            ("square", &square, "square.f32"),
            ("faceres", &inputs.faceres, "faceres.f32"),
            ("emotion", &inputs.emotion, "emotion.f32"),
            ("gear", &gear, "gear.f32"),
        ] {
            let rel = relative_difference(what, ours, &read(file));
            println!("{name} ×{scale} (square {x1},{y1}-{x2},{y2}, outside the photo: {outside}): {what} relative difference {rel:.2e}");
            assert!(rel <= 1e-4, "{name} {what}: {rel:.2e}");
        }
    }
}

#[test]
fn attribute_models_time_per_face() {
    let e = env();
    let img = photo("obama.jpg");
    let face = largest(&e.engine, &img).unwrap();
    e.nets.estimate(&img, &face).unwrap();
    let runs = 5;
    let start = Instant::now();
    for _ in 0..runs {
        e.nets.estimate(&img, &face).unwrap();
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    println!("faceres + emotion: {ms:.1} ms per face");
    let square = face_square(&img, &face, 1.4).unwrap();
    assert_eq!(square.data.len(), 192 * 192 * 3);
}

fn gaussian(img: &RgbImage, sigma: f32) -> RgbImage {
    image::imageops::blur(img, sigma)
}

fn darken(img: &RgbImage, factor: f32) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        p.0 = p.0.map(|v| (f32::from(v) * factor).round() as u8);
    }
    out
}

#[test]
fn quality_drops_with_blur_darkness_and_a_cut_face() {
    let e = env();
    for name in ["obama.jpg", "biden.jpg", "astronaut.png"] {
        let img = photo(name);
        let face = largest(&e.engine, &img).unwrap();
        let shape = shape_from_68(&face);
        let q = assess(&img, face.rect, &shape);
        println!("{name}: {q:?}");
        let c = q.completeness;
        assert_eq!(
            [c.eyebrow, c.eye, c.nose, c.cheek, c.mouth, c.chin],
            [100; 6],
            "{name}: the whole face is in the photo"
        );
        // Blur measured on the 128-pixel crop sharpness reads: σ = 1 and 2 there.
        for k in [1.0, 2.0] {
            let sigma = k * face.rect.width() as f32 / 128.0;
            let b = assess(&gaussian(&img, sigma), face.rect, &shape);
            println!("{name} blurred σ={sigma:.1} px (σ={k} at 128 px): {b:?}");
            assert!(
                b.sharpness < q.sharpness,
                "{name} σ={sigma}: {b:?} vs {q:?}"
            );
            assert!(b.score < q.score);
        }
        let dark = assess(&darken(&img, 0.3), face.rect, &shape);
        println!("{name} darkened ×0.3: {dark:?}");
        assert!(
            dark.brightness < q.brightness && dark.brightness < 30,
            "{dark:?}"
        );

        // Cut the photo through the middle of the face: its left half is gone.
        let cx = ((face.rect.left + face.rect.right) / 2).max(1) as u32;
        let right =
            image::imageops::crop_imm(&img, cx, 0, img.width() - cx, img.height()).to_image();
        let dx = cx as f32;
        let moved = |pts: &[Point]| -> Vec<Point> {
            pts.iter().map(|p| Point::new(p.x - dx, p.y)).collect()
        };
        let cut_shape = FaceShape90 {
            face_profile: moved(&shape.face_profile),
            left_eye: moved(&shape.left_eye),
            right_eye: moved(&shape.right_eye),
            left_eye_brow: moved(&shape.left_eye_brow),
            right_eye_brow: moved(&shape.right_eye_brow),
            mouth: moved(&shape.mouth),
            nose: moved(&shape.nose),
            left_pupil: Point::new(shape.left_pupil.x - dx, shape.left_pupil.y),
            right_pupil: Point::new(shape.right_pupil.x - dx, shape.right_pupil.y),
        };
        let cut = assess(&right, face.rect.translate(-i64::from(cx), 0), &cut_shape);
        println!("{name} cut in half: {cut:?}");
        assert!(cut.completeness.eye <= 60, "{cut:?}");
        assert!(cut.completeness.eyebrow <= 60, "{cut:?}");
        assert!(cut.completeness.cheek < 100 && cut.completeness.chin < 100);
        assert!(cut.score < q.score);
        assert!(!meets(2, &cut), "a half face fails QualityControl 2");
    }
}
