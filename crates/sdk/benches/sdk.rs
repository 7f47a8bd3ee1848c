//! The offline SDK beside the server's engine, on the same inputs in one run:
//! per-frame detection + tracking, feature extraction, 1:N search in the local gallery
//! at 10^4 and 10^5 faces, and the memory of an instance.
//!
//! - Frames: 640×480, one face (from the fixture photo biden.jpg) moving across a grey
//!   background. The server's cost per frame is `Engine::detect`; the SDK's tracker
//!   also scores each face's quality (the face mesh), which is what picks best shots.
//! - Extraction: `FaceSdk::extract` against `Engine::embed` on obama.jpg.
//! - Search: SYNTHETIC 128-d descriptors (`face_index::synthetic`), one face per
//!   person; the SDK's `Gallery::search` (decrypted in memory, licence checked, scores)
//!   against the index the server's search runs once its cache is warm
//!   (`gallery::FaceIndex`, same descriptors, same probes).
//! - Memory: resident set before and after opening a search and a detect instance.
//!
//! `cargo bench --workspace --bench sdk` (release); under `cargo test` a smoke run
//! (a few frames, 2,000 faces).

#[path = "../tests/it/support.rs"]
mod support;

use std::time::{Duration, Instant};

use face_index::synthetic::Synthetic;
use sdk::{Sdk, TrackerConfig};

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * 0.99).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn row(what: &str, server: Duration, sdk: Duration) {
    println!(
        "{what:<44} server {:>9.3} ms   sdk {:>9.3} ms   sdk/server {:>5.2}",
        ms(server),
        ms(sdk),
        sdk.as_secs_f64() / server.as_secs_f64().max(1e-12)
    );
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (frames, rounds, sizes) = if full {
        (30u64, 2, vec![10_000usize, 100_000])
    } else {
        println!("smoke run (not `cargo bench`): unoptimised build, small sizes");
        (4, 1, vec![2_000])
    };
    println!(
        "offline SDK beside the server engine; threads available: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Memory of an instance: the model directory is exported first and the server's
    // engine loaded later, so the growth is the instance's.
    support::model_dir();
    let base = rss_kib("VmRSS:");
    let (_d1, search_sdk, _c1) = support::open_device(Sdk::Search);
    let after_search = rss_kib("VmRSS:");
    let (_d2, detect_sdk, _c2) = support::open_device(Sdk::Detect);
    let after_detect = rss_kib("VmRSS:");
    println!(
        "resident memory: search instance +{:.1} MiB (detector, 5 points, descriptor), \
         detect instance +{:.1} MiB (detector, 5 points, descriptor, face mesh)",
        (after_search - base) as f64 / 1024.0,
        (after_detect - after_search) as f64 / 1024.0
    );
    let engine = support::server_engine();

    // Frames.
    let biden = search_sdk
        .decode(&support::photo("biden.jpg"))
        .expect("photo");
    let face = search_sdk.detect(&biden).expect("detect").remove(0);
    let r = face.rect;
    let pad = r.width() / 2;
    let crop = image::imageops::crop_imm(
        &biden,
        (r.left - pad).max(0) as u32,
        (r.top - pad).max(0) as u32,
        (r.width() + 2 * pad) as u32,
        (r.height() + 2 * pad) as u32,
    )
    .to_image();
    let crop = image::imageops::resize(&crop, 200, 200, image::imageops::FilterType::Triangle);
    let frame = |i: u64| {
        let mut canvas = image::RgbImage::from_pixel(640, 480, image::Rgb([118, 118, 118]));
        let x = 20 + (i * 7 % 400) as i64;
        image::imageops::overlay(&mut canvas, &crop, x, 140);
        canvas
    };
    let video: Vec<_> = (0..frames).map(frame).collect();
    let mut server_t = Vec::new();
    let mut sdk_detect_t = Vec::new();
    let mut sdk_track_t = Vec::new();
    for _ in 0..rounds {
        let tracker = detect_sdk
            .tracker(TrackerConfig::default())
            .expect("tracker");
        for (i, img) in video.iter().enumerate() {
            server_t.push(timed(|| engine.detect(img).expect("detect")).1);
            sdk_detect_t.push(timed(|| detect_sdk.detect(img).expect("detect")).1);
            let (result, t) = timed(|| tracker.feed(img, i as u64 * 100).expect("feed"));
            assert_eq!(result.faces.len(), 1);
            sdk_track_t.push(t);
        }
        assert_eq!(tracker.finish().len(), 1, "one track per pass");
    }
    println!("per 640×480 frame, one face, median of {}:", server_t.len());
    row("  detect", median(server_t.clone()), median(sdk_detect_t));
    row(
        "  detect + quality + track (sdk) vs detect",
        median(server_t),
        median(sdk_track_t),
    );

    // Extraction.
    let obama = search_sdk
        .decode(&support::photo("obama.jpg"))
        .expect("photo");
    let mut server_t = Vec::new();
    let mut sdk_t = Vec::new();
    for _ in 0..rounds * 4 {
        server_t.push(timed(|| engine.embed(&obama).expect("embed")).1);
        sdk_t.push(timed(|| search_sdk.extract(&obama).expect("extract")).1);
    }
    row(
        "detect + describe the largest face, obama.jpg",
        median(server_t),
        median(sdk_t),
    );

    // Search.
    for n in sizes {
        search_at(n, if full { 300 } else { 20 });
    }
    println!(
        "peak resident memory of this process (both instances, server engine, galleries): {:.1} MiB",
        rss_kib("VmHWM:") as f64 / 1024.0
    );
}

fn search_at(n: usize, n_probes: usize) {
    // A fresh data directory per size: its own gallery, the same kind of licence.
    let (_g, fresh, _c) = support::open_device(Sdk::Search);
    let gallery = fresh.gallery(&[0x42; 32]).expect("gallery");
    let mut server = gallery::search::FaceIndex::new(128, gallery::search::IndexConfig::default());
    let mut synth = Synthetic::new(128, 7);
    let mut probes = Vec::new();
    let mut batch = Vec::new();
    for i in 0..n {
        let id = synth.identity();
        let d = synth.photo(&id);
        server.insert(
            gallery::FaceId::from_request((i + 1).to_string()),
            gallery::PersonId::new(format!("p{i}")).expect("id"),
            &d,
        );
        batch.push((format!("p{i}"), d));
        if probes.len() < n_probes && i % (n / n_probes).max(1) == 0 {
            probes.push(synth.photo(&id));
        }
        if batch.len() == 1000 || i + 1 == n {
            gallery.add_batch(&batch).expect("add");
            batch.clear();
        }
    }
    if server.wants_ann() {
        server.build_ann();
    }
    // The SDK's gallery builds its inverted file in the background once large enough.
    let t = Instant::now();
    while server.has_ann() && !gallery.stats().inverted_file {
        std::thread::sleep(Duration::from_millis(5));
    }
    let wait = t.elapsed();
    let (mut server_t, mut sdk_t) = (Vec::new(), Vec::new());
    let mut agree = 0;
    for p in &probes {
        let (s, ts) = timed(|| server.nearest(p, 1, f32::INFINITY, gallery::Strategy::Auto));
        let (d, td) = timed(|| gallery.search(p, 1).expect("search"));
        server_t.push(ts);
        sdk_t.push(td);
        if s.first().map(|h| h.person_id.as_str()) == d.first().map(|h| h.person_id.as_str()) {
            agree += 1;
        }
    }
    let strategy = if server.has_ann() {
        "inverted file"
    } else {
        "exact"
    };
    println!(
        "1:N search, {n} faces ({strategy}; sdk index ready {:.1} s after enrolment), top-1 agrees {agree}/{}:",
        wait.as_secs_f64(),
        probes.len()
    );
    row("  median", median(server_t.clone()), median(sdk_t.clone()));
    row("  p99", p99(server_t), p99(sdk_t));
}
