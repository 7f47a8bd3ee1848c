//! The face pipeline benchmark: printed figures, not a timed test.
//!
//! `cargo bench -p vision --bench pipeline` prints, per image on one thread, detection +
//! 5 landmarks + descriptor for this crate and for Python dlib on the same images in the
//! same run (with the ratio); milliseconds per 640×480 photo for detection and per face
//! for the descriptor (single, and in a batch of 8); images per second on all cores; peak memory;
//! and where the time goes. Set RENLIAN_BENCH_QUICK=1 to skip Python dlib.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rayon::prelude::*;
use vision::descriptor::DescriptorNet;
use vision::pyramid::TiledPyramid;
use vision::{Engine, EngineConfig, RgbImage};

const IMAGES: [&str; 4] = ["obama.jpg", "obama2.jpg", "biden.jpg", "astronaut.png"];

fn script(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn run(cmd: &Path, args: &[String]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .expect("run a helper script");
    assert!(
        out.status.success(),
        "{}: {}",
        cmd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .trim()
        .to_string()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Best of `n` runs, in milliseconds.
fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            ms(t)
        })
        .fold(f64::INFINITY, f64::min)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let fixtures = PathBuf::from(run(&script("../../scripts/fixtures"), &[]));
    let store = models::ModelStore::from_env().expect("model store");
    store
        .ensure(models::Pack::Dlib, &models::NoProgress)
        .expect("dlib pack");
    let t = Instant::now();
    let engine = Engine::load(&store, EngineConfig::default()).expect("engine");
    println!("engine load (models cached): {:.0} ms", ms(t));

    // One thread for the per-image figures.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let paths: Vec<PathBuf> = IMAGES.iter().map(|n| fixtures.join(n)).collect();
    let images: Vec<RgbImage> = paths
        .iter()
        .map(|p| {
            engine
                .decode(&std::fs::read(p).expect("read"))
                .expect("decode")
        })
        .collect();

    println!("\nper image, one thread (best of 3):");
    println!(
        "{:<14} {:>10} {:>6} {:>10} {:>10} {:>10} {:>10}",
        "image", "size", "faces", "decode", "detect", "landmarks", "descriptor"
    );
    let mut ours_total = Vec::new();
    pool.install(|| {
        for (path, img) in paths.iter().zip(&images) {
            let bytes = std::fs::read(path).expect("read");
            let decode = best_of(3, || engine.decode(&bytes));
            let mut dets = Vec::new();
            let detect = best_of(3, || {
                dets = engine.detect_boxes(img).expect("detect");
            });
            let landmarks = best_of(3, || {
                dets.iter()
                    .map(|d| engine.face_at(img, d.rect, d.confidence))
                    .collect::<Vec<_>>()
            });
            let faces: Vec<_> = dets
                .iter()
                .map(|d| engine.face_at(img, d.rect, d.confidence))
                .collect();
            let descriptor = best_of(3, || engine.describe(img, &faces).expect("describe"));
            println!(
                "{:<14} {:>10} {:>6} {:>8.1}ms {:>8.1}ms {:>8.2}ms {:>8.1}ms",
                path.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                format!("{}x{}", img.width(), img.height()),
                faces.len(),
                decode,
                detect,
                landmarks,
                descriptor
            );
            ours_total.push(detect + landmarks + descriptor);
        }
    });

    // Python dlib on the same images, in the same run.
    if std::env::var_os("RENLIAN_BENCH_QUICK").is_none() {
        let python = run(&script("../../scripts/reference-env"), &[]);
        let models_dir = store
            .dlib_path(models::DlibModel::ShapePredictor5)
            .expect("dlib path")
            .parent()
            .expect("models dir")
            .display()
            .to_string();
        let mut args = vec![
            script("benches/dlib_bench.py").display().to_string(),
            models_dir,
        ];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let json = run(Path::new(&python), &args);
        let dlib: serde_json::Value = serde_json::from_str(&json).expect("dlib bench JSON");
        println!("\ndetect + 5 landmarks + descriptor, one image, ours vs Python dlib 19.24:");
        for (entry, ours) in dlib.as_array().into_iter().flatten().zip(&ours_total) {
            let theirs = entry["detect_ms"].as_f64().unwrap_or(f64::NAN)
                + entry["landmarks_ms"].as_f64().unwrap_or(f64::NAN)
                + entry["descriptor_ms"].as_f64().unwrap_or(f64::NAN);
            println!(
                "  {:<14} ours {:>8.1} ms   dlib {:>8.1} ms (detect {:.0}, descriptor {:.1})   dlib/ours = {:.1}x",
                entry["image"].as_str().unwrap_or("?"),
                ours,
                theirs,
                entry["detect_ms"].as_f64().unwrap_or(f64::NAN),
                entry["descriptor_ms"].as_f64().unwrap_or(f64::NAN),
                theirs / ours
            );
        }
    }

    // Detection on one 640×480 photo, and where its time goes. The first call meets a
    // canvas size no plan exists for yet, so it also optimises the detector for it.
    let vga = image::imageops::resize(&images[0], 640, 480, image::imageops::FilterType::Triangle);
    pool.install(|| {
        let layout = TiledPyramid::layout(640, 480);
        let t = Instant::now();
        std::hint::black_box(engine.detect_boxes(&vga).expect("detect"));
        let first = ms(t);
        let canvas = best_of(5, || layout.canvas(&vga, [122.782, 117.001, 104.298]));
        let detect = best_of(5, || engine.detect_boxes(&vga).expect("detect"));
        println!(
            "\n640x480 photo, one thread: detection {:.1} ms (pyramid canvas {}x{}: {:.1} ms to build; network + NMS {:.1} ms); first photo of a new size {:.0} ms (optimising the detector for its canvas)",
            detect,
            layout.width,
            layout.height,
            canvas,
            detect - canvas,
            first
        );
        let faces = engine.detect(&images[0]).expect("detect");
        let chip = engine.face_chip(&images[0], &faces[0]).expect("chip");
        let align = best_of(5, || engine.face_chip(&images[0], &faces[0]));
        let single = best_of(5, || engine.describe_chips(std::slice::from_ref(&chip)).expect("describe"));
        println!("descriptor per face, one thread: {single:.1} ms; alignment (chip) {align:.2} ms");
    });

    // Throughput on every core: whole pipeline, one image per task.
    let threads = rayon::current_num_threads();
    let work: Vec<&RgbImage> = images.iter().cycle().take(images.len() * 2).collect();
    let t = Instant::now();
    let n: usize = work
        .par_iter()
        .map(|img| engine.embed(img).expect("embed").len())
        .sum();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "\nthroughput on {threads} threads: {:.2} images/s ({} images, {n} faces, {:.1} s)",
        work.len() as f64 / secs,
        work.len(),
        secs
    );
    println!("peak memory (VmHWM): {:.0} MB", peak_rss_mb());

    // Why the engine describes one face per pass: a batch of 8 through the same network
    // (its own plan, loaded after the peak-memory figure above).
    let onnx = store
        .onnx(models::DlibModel::ResnetDescriptor)
        .expect("descriptor onnx");
    let net = DescriptorNet::load(&onnx, 1).expect("descriptor");
    let faces = engine.detect(&images[0]).expect("detect");
    let chip = engine.face_chip(&images[0], &faces[0]).expect("chip");
    let batch: Vec<RgbImage> = (0..8).map(|_| chip.clone()).collect();
    pool.install(|| {
        let batched = best_of(3, || net.describe(&batch).expect("describe")) / 8.0;
        println!("descriptor per face in a batch of 8, one thread: {batched:.1} ms");
    });
}
