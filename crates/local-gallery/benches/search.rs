//! The on-device gallery at 10^4 and 10^5 faces: 1:N search latency (p50/p99), the
//! time to enrol, to reopen (decrypt and replay the log) and to get the inverted file
//! back, and the size on disk.
//!
//! The descriptors are SYNTHETIC (`face_index::synthetic`, the same generator as the
//! server gallery's benchmark): identity centres plus per-photo noise with the spread
//! of 128-d dlib descriptors, one face per person. They exercise the index and the
//! storage, not recognition accuracy.
//!
//! `cargo bench --workspace --bench search -- [SIZES…]` (default 10000 100000).
//! Under `cargo test` it is a smoke run on 2,000 faces.

use std::path::Path;
use std::time::{Duration, Instant};

use face_index::synthetic::Synthetic;
use face_index::IndexConfig;
use local_gallery::*;

const KEY: [u8; 32] = [0x5c; 32];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Waits for the background inverted file; returns how long it took.
fn wait_for_ivf(g: &LocalGallery) -> Duration {
    let t = Instant::now();
    while !g.stats().inverted_file {
        std::thread::sleep(Duration::from_millis(5));
    }
    t.elapsed()
}

/// Searches every probe; prints p50/p99/mean and returns how many enrolled-identity
/// probes found their person first.
fn measure(g: &LocalGallery, label: &str, probes: &[(Vec<f32>, Option<usize>)], k: usize) -> usize {
    let mut times = Vec::with_capacity(probes.len());
    let mut right = 0;
    for (p, person) in probes {
        let t = Instant::now();
        let hits = g.search(p, k).expect("search");
        times.push(t.elapsed());
        if let (Some(i), Some(h)) = (person, hits.first()) {
            if h.person.as_str() == format!("p{i}") {
                right += 1;
            }
        }
    }
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    times.sort();
    println!(
        "{label:<24} k={k:<2}: p50 {:8.3} ms  p99 {:8.3} ms  mean {:8.3} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(mean)
    );
    right
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("gallery directory")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn run(n: usize, n_probes: usize) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut synth = Synthetic::new(DESCRIPTOR_DIM, 42);
    let mut probes = Vec::new();
    let config = IndexConfig::default();
    println!("== {n} faces (one per person)");
    {
        let g = LocalGallery::open(dir.path(), &KEY).expect("open");
        let t = Instant::now();
        let mut batch = Vec::with_capacity(1000);
        for i in 0..n {
            let id = synth.identity();
            batch.push(NewFace {
                person: PersonId::new(format!("p{i}")).expect("person id"),
                descriptor: synth.photo(&id),
                meta: FaceMeta::default(),
            });
            if probes.len() < n_probes / 2 && i % (n / (n_probes / 2).max(1)).max(1) == 0 {
                probes.push((synth.photo(&id), Some(i)));
            }
            if batch.len() == 1000 || i + 1 == n {
                g.add_faces(&batch).expect("add faces");
                batch.clear();
            }
        }
        let enrol = t.elapsed();
        println!(
            "enrolled in batches of 1000: {:.2} s ({:.0} faces/s, one fsync per batch)",
            enrol.as_secs_f64(),
            n as f64 / enrol.as_secs_f64()
        );
    }
    let n_members = probes.len();
    while probes.len() < n_probes {
        let stranger = synth.identity();
        probes.push((synth.photo(&stranger), None));
    }
    let on_disk = dir_bytes(dir.path());
    println!(
        "on disk: {:.2} MB ({:.0} bytes per face, sealed)",
        on_disk as f64 / 1e6,
        on_disk as f64 / n as f64
    );

    // Reopened with the default options: exact below 50,000 faces, IVF above.
    let t = Instant::now();
    let g = LocalGallery::open(dir.path(), &KEY).expect("reopen");
    let open = t.elapsed();
    println!(
        "open (decrypt and replay {} records): {:.3} s",
        g.stats().log_records,
        open.as_secs_f64()
    );
    let uses_ivf = n >= config.ann_min_faces;
    if uses_ivf {
        let build = wait_for_ivf(&g);
        println!(
            "inverted file ready {:.2} s after open",
            build.as_secs_f64()
        );
    }
    let label = if uses_ivf {
        "search (IVF)"
    } else {
        "search (exact)"
    };
    let right = measure(&g, label, &probes, 1);
    measure(&g, label, &probes, 25);
    println!("top-1 person right for {right}/{n_members} photos of enrolled persons");
    drop(g);
    if uses_ivf {
        // The same gallery scanned exactly, for comparison.
        let exact = Options {
            index: IndexConfig {
                ann_min_faces: usize::MAX,
                ..config
            },
            ..Options::default()
        };
        let g = LocalGallery::open_with(dir.path(), &KEY, exact).expect("reopen exact");
        measure(&g, "search (exact scan)", &probes, 1);
        measure(&g, "search (exact scan)", &probes, 25);
    }
    println!();
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary
    // without it, unoptimised: then it is a smoke run on a small size.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let (sizes, n_probes) = if smoke {
        println!("smoke run (not `cargo bench`): 2,000 faces, unoptimised build");
        (vec![2000], 20)
    } else if args.is_empty() {
        (vec![10_000, 100_000], 300)
    } else {
        (args, 300)
    };
    println!(
        "local gallery benchmark: SYNTHETIC 128-d descriptors, threads: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    for n in sizes {
        run(n, n_probes);
    }
}
