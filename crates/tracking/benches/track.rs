//! Tracker cost per frame with 1, 10 and 50 faces in view: `Tracker::update` alone, the
//! detections built beforehand.
//!
//! `cargo test --workspace --bench track` is the smoke run (50 frames, figures printed
//! but not meaningful unoptimised); `cargo bench --workspace --bench track` the full one
//! (2,000 frames at 25 frames a second per measurement, best of 5).
//!
//! The faces are 80×80 boxes on a grid, each swaying in its cell with a few pixels of
//! jitter, so every frame matches every track; the run checks that each face kept one
//! id.

use std::hint::black_box;
use std::time::Instant;

use tracking::{Detection, Event, FaceBox, Tracker};

const FRAME_MS: u64 = 40;

/// Frame `k` of a scene with `n` faces.
fn frame(n: usize, k: usize) -> Vec<Detection<u64>> {
    (0..n)
        .map(|i| {
            let (col, row) = ((i % 10) as f32, (i / 10) as f32);
            let t = k as f32;
            // Jitter from a fixed sequence, so every run sees the same boxes.
            let jitter = ((i * 7 + k * 13) % 5) as f32 - 2.0;
            // Each face sways ±25 px around its grid cell at its own pace: never
            // into its neighbour's box, which is 150 px away.
            let phase = t / (40.0 + i as f32);
            let x = col * 150.0 + 25.0 * phase.sin() + jitter;
            let y = row * 150.0 + 25.0 * (0.7 * phase).cos() - jitter;
            Detection {
                bbox: FaceBox::new(x, y, 80.0 + jitter, 80.0 + jitter),
                confidence: 1.0,
                quality: ((i + k) % 100) as f32,
                payload: k as u64,
            }
        })
        .collect()
}

/// Best per-frame time in microseconds over `rounds` runs of `frames` frames.
fn measure(n: usize, frames: usize, rounds: usize) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let input: Vec<_> = (0..frames).map(|k| frame(n, k)).collect();
        let mut tracker = Tracker::default();
        let mut started = 0;
        let start = Instant::now();
        for (k, dets) in input.into_iter().enumerate() {
            let events = tracker
                .update(k as u64 * FRAME_MS, dets)
                .expect("frames go forward");
            started += events
                .iter()
                .filter(|e| matches!(e, Event::Started { .. }))
                .count();
            black_box(events);
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(started, n, "{n} faces should make {n} tracks");
        best = best.min(elapsed / frames as f64);
    }
    best * 1e6
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (frames, rounds) = if full { (2000, 5) } else { (50, 1) };
    println!(
        "tracker per frame ({} mode, {frames} frames, best of {rounds})",
        if full { "full" } else { "smoke" }
    );
    for n in [1, 10, 50] {
        let us = measure(n, frames, rounds);
        println!(
            "{n:>3} faces {:>10.2} µs/frame {:>8.3} µs/face",
            us,
            us / n as f64
        );
    }
}
