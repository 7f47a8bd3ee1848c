//! The fast detector path (`vision::fast`, BlazeFace) against dlib's MMOD detector, on
//! the same photos in the same run. Run by `bench/fastdet`, which builds it in release,
//! pins it to one core and writes the table of docs/performance.md from its output.
//!
//! What it measures, each line printed as `fastdet KEY: …` for the script to parse:
//! 1. `fit`: the box mapping (`vision::BoxMapping::fit`) from raw BlazeFace boxes to MMOD
//!    boxes, matched by centre (within a third of the MMOD side) on every photo of the
//!    set and the fixture photos; the compiled constants (`BoxMapping::FITTED`) come
//!    from this line, and their median IoU with MMOD is printed beside.
//! 2. `recall`: the share of MMOD's faces (default 80-pixel mode) that the fast path
//!    finds with IoU ≥ 0.5 after the compiled mapping, and the fast faces MMOD lacks.
//! 3. `small`: faces down to 34 pixels: each photo scaled so that its MMOD face is F
//!    pixels, pasted into a 640×480 grey frame; recall of that scaled box (IoU ≥ 0.5).
//!    Beside the default (one window at 640×480), the whole image plus a 2×2 grid of
//!    tiles, which shows the faces 1.75 times larger to the network.
//! 4. `time`: per-frame time on 640×480 frames (every photo scaled into a frame, its
//!    face 34-160 pixels), fast (34-pixel mode; and tiled) and MMOD (80-pixel default)
//!    alternating on the same frames, medians and means, and the ratio.
//! 5. `verify`: TAR at FAR 1e-3 and EER on the set's genuine and cross-identity pairs,
//!    with each detector, on the pairs both could describe (the same pairs).
//!
//! Environment: BENCH_SET (the manifest, default ../shared/calibration/ea/manifest.csv
//! from the repository root), BENCH_FIXTURES (a directory of extra photos for the fit
//! and recall, optional), BENCH_FRAMES (frames timed, default 60), RENLIAN_CACHE (models).

use std::path::{Path, PathBuf};
use std::time::Instant;

use calibration::metrics;
use calibration::{describe_all, distances, Manifest, Outcome};
use image::{imageops, Rgb, RgbImage};
use vision::fast::{BoxMapping, FastDetector, FastOptions};
use vision::geometry::{DRect, Rect};
use vision::{DetectorKind, Engine, EngineConfig};

type Error = Box<dyn std::error::Error>;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn load_photos(
    manifest: &Manifest,
    extra: Option<&Path>,
) -> Result<Vec<(String, RgbImage)>, Error> {
    let mut out = Vec::new();
    for i in 0..manifest.entries.len() {
        let path = manifest.path(i);
        out.push((
            manifest.entries[i].file.clone(),
            image::open(&path)?.to_rgb8(),
        ));
    }
    if let Some(dir) = extra {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "jpg" || e == "png" || e == "jpeg")
            })
            .collect();
        files.sort();
        for p in files {
            if let Ok(img) = image::open(&p) {
                out.push((p.display().to_string(), img.to_rgb8()));
            }
        }
    }
    Ok(out)
}

fn drect(r: &Rect) -> DRect {
    DRect::from_rect(r)
}

fn side(r: &DRect) -> f64 {
    (r.width() * r.height()).sqrt()
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Best IoU of `r` among `others`.
fn best_iou(r: &Rect, others: &[Rect]) -> f64 {
    others.iter().map(|o| r.iou(o)).fold(0.0, f64::max)
}

fn fast_opts(map: bool) -> FastOptions {
    FastOptions {
        map_to_mmod: map,
        ..FastOptions::default()
    }
}

/// The photo scaled so that `face` becomes `target` pixels, pasted into a 640×480 grey
/// frame at `(x, y)` (clamped so the face stays inside); returns the frame and the
/// face's box in it.
fn frame_with(img: &RgbImage, face: &Rect, target: f64, seed: usize) -> (RgbImage, Rect) {
    let s = target / face.width().max(1) as f64;
    let (w, h) = (
        ((f64::from(img.width()) * s).round() as u32).max(1),
        ((f64::from(img.height()) * s).round() as u32).max(1),
    );
    let small = imageops::resize(img, w, h, imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(640, 480, Rgb([128, 128, 128]));
    // Spread the positions over the frame (a simple deterministic walk).
    let room_x = 640i64 - i64::from(w.min(640));
    let room_y = 480i64 - i64::from(h.min(480));
    let x = if room_x > 0 {
        (seed as i64 * 97) % room_x
    } else {
        0
    };
    let y = if room_y > 0 {
        (seed as i64 * 53) % room_y
    } else {
        0
    };
    imageops::overlay(&mut frame, &small, x, y);
    let map = |v: i64, o: i64| ((v as f64 + 0.5) * s - 0.5).round() as i64 + o;
    let rect = Rect::new(
        map(face.left, x),
        map(face.top, y),
        map(face.right, x),
        map(face.bottom, y),
    );
    (frame, rect)
}

fn main() -> Result<(), Error> {
    if std::env::args().all(|a| a != "--bench") {
        // `cargo test --all-targets` builds benches; running needs the set and models.
        println!("fastdet: run with --bench (bench/fastdet)");
        return Ok(());
    }
    // bench/fastdet --onnxruntime: every network on ONNX Runtime instead of tract.
    match std::env::var_os("RENLIAN_ONNXRUNTIME").filter(|v| !v.is_empty()) {
        Some(lib) => {
            let lib = PathBuf::from(lib);
            vision::runtime::use_onnxruntime(&lib)?;
            let name = lib.file_name().map(|n| n.to_string_lossy().into_owned());
            let version = name
                .as_deref()
                .and_then(|n| n.rsplit_once(".so."))
                .map_or("(version unknown)", |(_, v)| v)
                .to_owned();
            println!("fastdet runtime: onnxruntime {version}");
        }
        None => println!("fastdet runtime: tract"),
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let set = PathBuf::from(env_or(
        "BENCH_SET",
        &root
            .join("../shared/calibration/ea/manifest.csv")
            .display()
            .to_string(),
    ));
    let fixtures = std::env::var_os("BENCH_FIXTURES").map(PathBuf::from);
    let frames: usize = env_or("BENCH_FRAMES", "60").parse()?;
    let load_avg = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("fastdet load: {}", load_avg().trim());

    let store = models::ModelStore::from_env()?;
    let mmod = Engine::load(&store, EngineConfig::default())?;
    let fast_config = EngineConfig {
        detector: DetectorKind::Fast,
        detect: vision::DetectOptions {
            min_face_size: 34,
            ..Default::default()
        },
        ..EngineConfig::default()
    };
    let fast_engine = Engine::load(&store, fast_config)?;
    let fast = FastDetector::load(&store)?;

    let manifest = Manifest::read(&set, None)?;
    let mut photos = load_photos(&manifest, fixtures.as_deref())?;
    // BENCH_LIMIT: a quicker run on the first photos of the set (no verification).
    let limit: Option<usize> = std::env::var("BENCH_LIMIT")
        .ok()
        .map(|v| v.parse())
        .transpose()?;
    if let Some(n) = limit {
        photos.truncate(n);
    }
    println!(
        "fastdet photos: {} ({} in the set)",
        photos.len(),
        manifest.entries.len()
    );

    // 1 and 2: the fit and the recall at the photos' own size.
    let mut pairs = Vec::new();
    let (mut mmod_faces, mut found, mut extra_fast) = (0usize, 0usize, 0usize);
    let mut ious = Vec::new();
    let mut mmod_boxes = Vec::with_capacity(photos.len());
    for (_, img) in &photos {
        let m: Vec<Rect> = mmod.detect_boxes(img)?.iter().map(|d| d.rect).collect();
        let raw: Vec<DRect> = fast
            .detect(img, 34, 120, &fast_opts(false))?
            .iter()
            .map(|d| drect(&d.rect))
            .collect();
        let mapped: Vec<Rect> = fast
            .detect(img, 34, 120, &fast_opts(true))?
            .iter()
            .map(|d| d.rect)
            .collect();
        for mr in &m {
            let md = drect(mr);
            if let Some(f) = raw.iter().find(|f| {
                let (a, b) = (f.center(), md.center());
                (a.x - b.x).hypot(a.y - b.y) < side(&md) / 3.0
            }) {
                pairs.push((*f, md));
            }
            mmod_faces += 1;
            let iou = best_iou(mr, &mapped);
            ious.push(iou);
            if iou >= 0.5 {
                found += 1;
            }
        }
        extra_fast += mapped
            .iter()
            .filter(|f| best_iou(f, &m) < 0.5 && f.width() >= 80)
            .count();
        mmod_boxes.push(m);
    }
    let fit = BoxMapping::fit(&pairs).ok_or("no face found by both detectors")?;
    let refit_ious: Vec<f64> = pairs
        .iter()
        .map(|(f, m)| fit.apply(f).to_rect().iou(&m.to_rect()))
        .collect();
    println!(
        "fastdet fit: dx {:.4} dy {:.4} scale {:.4} from {} pairs; median IoU with MMOD {:.3} (fitted here), {:.3} (compiled {:?})",
        fit.dx,
        fit.dy,
        fit.scale,
        pairs.len(),
        median(refit_ious),
        median(ious.clone()),
        BoxMapping::FITTED
    );
    println!(
        "fastdet recall: {found}/{mmod_faces} = {:.4} of MMOD faces at IoU >= 0.5; {extra_fast} fast faces of 80 px and up without an MMOD face",
        found as f64 / mmod_faces.max(1) as f64
    );

    // 3: small faces in 640×480 frames.
    let set_photos = &photos[..manifest.entries.len().min(photos.len())];
    // The whole image and a 2×2 grid of tiles (faces 1.75 times larger in the input).
    let tiled = FastOptions {
        tiles: 2,
        ..FastOptions::default()
    };
    for target in [34.0, 40.0, 48.0, 64.0, 96.0] {
        let (mut n, mut hit, mut hit1) = (0usize, 0usize, 0usize);
        for (i, ((_, img), m)) in set_photos.iter().zip(&mmod_boxes).enumerate() {
            let Some(face) = m.iter().max_by_key(|r| r.area()) else {
                continue;
            };
            let (frame, truth) = frame_with(img, face, target, i);
            let got: Vec<Rect> = fast
                .detect(&frame, 34, 120, &fast_opts(true))?
                .iter()
                .map(|d| d.rect)
                .collect();
            let got1: Vec<Rect> = fast
                .detect(&frame, 34, 120, &tiled)?
                .iter()
                .map(|d| d.rect)
                .collect();
            n += 1;
            if best_iou(&truth, &got) >= 0.5 {
                hit += 1;
            }
            if best_iou(&truth, &got1) >= 0.5 {
                hit1 += 1;
            }
        }
        println!(
            "fastdet small: face {target} px: {hit}/{n} = {:.4}; tiled {hit1}/{n} = {:.4}",
            hit as f64 / n.max(1) as f64,
            hit1 as f64 / n.max(1) as f64
        );
    }

    // 4: time per 640×480 frame, one face of 34-160 px per frame.
    let mut timed = Vec::new();
    for (i, ((_, img), m)) in set_photos.iter().zip(&mmod_boxes).enumerate() {
        if timed.len() == frames {
            break;
        }
        if let Some(face) = m.iter().max_by_key(|r| r.area()) {
            let target = 34.0 + ((i * 37) % 127) as f64;
            timed.push(frame_with(img, face, target, i).0);
        }
    }
    // Warm-up: plans for the frame size.
    fast_engine.detect_boxes(&timed[0])?;
    mmod.detect_boxes(&timed[0])?;
    fast.detect(&timed[0], 34, 120, &tiled)?;
    let (mut tf, mut tm, mut t1) = (Vec::new(), Vec::new(), Vec::new());
    for f in &timed {
        let t = Instant::now();
        std::hint::black_box(fast_engine.detect_boxes(f)?);
        tf.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(fast.detect(f, 34, 120, &tiled)?);
        t1.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(mmod.detect_boxes(f)?);
        tm.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let windows = FastDetector::windows(640, 480, 34, 0).len();
    println!(
        "fastdet time: {} frames 640x480; fast (34 px, {windows} window(s)) median {:.2} ms mean {:.2} ms; fast tiled median {:.2} ms mean {:.2} ms; mmod (80 px) median {:.2} ms mean {:.2} ms; mmod/fast {:.1}",
        timed.len(),
        median(tf.clone()),
        mean(&tf),
        median(t1.clone()),
        mean(&t1),
        median(tm.clone()),
        mean(&tm),
        median(tm.clone()) / median(tf.clone())
    );
    println!("fastdet load: {}", load_avg().trim());

    // 5: verification with each detector, on the pairs both describe.
    if limit.is_some() {
        return Ok(());
    }
    let pairs = manifest.all_pairs();
    let out_m = describe_all(&mmod, &manifest, None)?;
    let out_f = describe_all(&fast_engine, &manifest, None)?;
    let described = |o: &[Outcome]| o.iter().filter(|o| o.descriptor().is_some()).count();
    let both: Vec<_> = pairs
        .iter()
        .copied()
        .filter(|p| {
            [p.a, p.b]
                .iter()
                .all(|&i| out_m[i].descriptor().is_some() && out_f[i].descriptor().is_some())
        })
        .collect();
    for (name, outcomes) in [("mmod", &out_m), ("fast", &out_f)] {
        let rows = distances::measure("ea", &manifest, outcomes, &both);
        let (genuine, impostor) = distances::split(&rows, "ea");
        let m = metrics::metrics("ea", &genuine, &impostor);
        let tar3 = m
            .operating_points
            .iter()
            .find(|p| (p.far_target - 1e-3).abs() < 1e-12)
            .ok_or("no FAR 1e-3 point")?;
        let eer = m.eer.as_ref().ok_or("no EER")?;
        println!(
            "fastdet verify {name}: described {}/{}; {} genuine, {} impostor pairs (described by both); TAR@FAR1e-3 {:.4} [{:.4}, {:.4}] at distance {:.4}; EER {:.4} at distance {:.4}",
            described(outcomes),
            outcomes.len(),
            m.genuine_pairs,
            m.impostor_pairs,
            tar3.tar.value,
            tar3.tar.low,
            tar3.tar.high,
            tar3.threshold,
            eer.eer,
            eer.threshold
        );
    }
    println!("fastdet load: {}", load_avg().trim());
    Ok(())
}
