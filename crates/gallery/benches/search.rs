//! Search latency (p50/p99) and inverted-file (IVF) recall against exact search, for one group of
//! 10^4, 10^5 and (on request) 10^6 faces.
//!
//! The descriptors are SYNTHETIC (see `gallery::synthetic`): identity centres plus
//! per-photo noise with the spread of 128-d dlib descriptors. They exercise the index,
//! not recognition accuracy.
//!
//! Sizes: `GALLERY_BENCH_SIZES=10000,100000,1000000 cargo bench -p gallery --bench search`
//! (default 10000,100000; 10^6 takes minutes to build on two cores).
//! Probes: `GALLERY_BENCH_PROBES` (default 300), half new photos of enrolled
//! identities, half strangers. `GALLERY_BENCH_GALLERY_PERSONS` (default 2000, 0 to
//! skip): persons enrolled through a `Gallery` on SQLite to measure what a search costs
//! on top of the index.

use std::time::{Duration, Instant};

use gallery::search::{FaceIndex, IndexConfig, Strategy};
use gallery::synthetic::Synthetic;
use gallery::{FaceId, PersonId};

const DIM: usize = 128;
/// Faces asked of a group for the API's default MaxPersonNum of 5 (five faces each).
const K_DEFAULT: usize = 25;

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect()
}

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

struct Latency {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn measure<F: FnMut(&[f32]) -> Option<String>>(
    probes: &[Vec<f32>],
    mut f: F,
) -> (Latency, Vec<Option<String>>) {
    let mut times = Vec::with_capacity(probes.len());
    let mut answers = Vec::with_capacity(probes.len());
    for p in probes {
        let t = Instant::now();
        let a = f(p);
        times.push(t.elapsed());
        answers.push(a);
    }
    let total: Duration = times.iter().sum();
    times.sort();
    (
        Latency {
            p50: percentile(&times, 0.5),
            p99: percentile(&times, 0.99),
            mean: total / times.len().max(1) as u32,
        },
        answers,
    )
}

/// dlib's usual same-person bound: what a FaceMatchThreshold typically turns into.
const MATCH_DISTANCE: f32 = 0.6;

fn top1(index: &FaceIndex, probe: &[f32], strategy: Strategy) -> Option<String> {
    top1_within(index, probe, strategy, f32::INFINITY)
}

fn top1_within(index: &FaceIndex, probe: &[f32], strategy: Strategy, bound: f32) -> Option<String> {
    index
        .nearest(probe, 1, bound, strategy)
        .first()
        .map(|h| h.face_id.to_string())
}

fn recall(got: &[Option<String>], want: &[Option<String>]) -> f64 {
    let agree = got.iter().zip(want).filter(|(g, w)| g == w).count();
    agree as f64 / want.len().max(1) as f64
}

/// The cost a search pays on top of the index: the revision check in the database,
/// result assembly and the hop to a blocking thread. Measured through a `Gallery` on a
/// temporary SQLite file with `n` persons (the check does not depend on group size).
fn gallery_overhead(n: usize, n_probes: usize) {
    use gallery::*;
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
        let pool = sqlx::AnyPool::connect(&url).await.expect("SQLite pool");
        let g = Gallery::open(pool, GalleryConfig::default())
            .await
            .expect("gallery");
        let a = AccountId::new("bench").expect("account id");
        let group = GroupId::new("g").expect("group id");
        g.create_group(
            &a,
            &NewGroup {
                group_id: group.clone(),
                name: "bench".into(),
                tag: String::new(),
                ex_descriptions: Vec::new(),
                face_model_version: FaceModelVersion::V3,
                descriptor_version: 2,
            },
        )
        .await
        .expect("create group");
        let mut synth = Synthetic::new(DIM, 7);
        let mut ids = Vec::new();
        let t = Instant::now();
        for i in 0..n {
            let id = synth.identity();
            let face = NewFace {
                descriptor: Descriptor::new(synth.photo(&id)).expect("finite"),
                descriptor_version: 2,
                rect: FaceRect::default(),
                thumbnail: None,
            };
            g.create_person(
                &a,
                &NewPerson {
                    group_id: group.clone(),
                    person_id: PersonId::new(format!("p{i}")).expect("person id"),
                    name: format!("p{i}"),
                    gender: Gender::Unset,
                    ex_descriptions: Vec::new(),
                    face: Some(face),
                },
            )
            .await
            .expect("create person");
            ids.push(id);
        }
        let enrol = t.elapsed();
        let probes: Vec<Vec<f32>> = (0..n_probes).map(|i| synth.photo(&ids[i % n])).collect();
        let request = |p: &[f32]| SearchRequest {
            group_ids: vec![group.clone()],
            probes: vec![Descriptor::new(p.to_vec()).expect("finite")],
            max_person_num: 5,
            by_group: false,
            max_distance: None,
            need_person_info: false,
            strategy: Strategy::Auto,
        };
        // The first search loads the index.
        g.search(&a, &request(&probes[0])).await.expect("search");
        let mut times = Vec::new();
        let mut correct = 0;
        for (i, p) in probes.iter().enumerate() {
            let t = Instant::now();
            let res = g.search(&a, &request(p)).await.expect("search");
            times.push(t.elapsed());
            if res.results[0].persons[0].person_id.as_str() == format!("p{}", i % n) {
                correct += 1;
            }
        }
        times.sort();
        println!(
            "== through Gallery on SQLite, {n} persons (enrolled in {:.1} s, {:.1} ms each)",
            enrol.as_secs_f64(),
            ms(enrol) / n as f64
        );
        println!(
            "search MaxPersonNum=5: p50 {:8.3} ms  p99 {:8.3} ms  (top-1 right {correct}/{})",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            probes.len()
        );
        println!();
    });
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary
    // without it, unoptimised: then it is a smoke run on small sizes.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (default_sizes, default_probes, default_persons) = if smoke {
        ("2000", "20", "20")
    } else {
        ("10000,100000", "300", "2000")
    };
    // Sizes may also come as plain arguments.
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let sizes = if args.is_empty() {
        env_list("GALLERY_BENCH_SIZES", default_sizes)
    } else {
        args
    };
    let n_probes = env_list("GALLERY_BENCH_PROBES", default_probes)
        .first()
        .copied()
        .unwrap_or(300);
    if smoke {
        println!("smoke run (not `cargo bench`): small sizes, unoptimised build");
    }
    let config = IndexConfig::default();
    println!("gallery search benchmark — SYNTHETIC 128-d descriptors (identity + photo noise)");
    println!(
        "threads: {}, IVF-SQ8 lists {}×√n, {} of them probed (at least {}, at most {}), k + {} re-ranked, k-means on {} samples per list × {} iterations; k={} (MaxPersonNum 5) and k=1",
        rayon::current_num_threads(),
        config.ann.lists_per_sqrt,
        config.ann.probe_fraction,
        config.ann.min_probes,
        config.ann.max_probes,
        config.ann.rerank,
        config.ann.train_per_list,
        config.ann.iterations,
        K_DEFAULT
    );
    println!("sizes: {sizes:?}, probes per size: {n_probes}");
    println!();
    let through = env_list("GALLERY_BENCH_GALLERY_PERSONS", default_persons);
    if let Some(&n) = through.first() {
        if n > 0 {
            gallery_overhead(n, n_probes);
        }
    }

    for &n in &sizes {
        let mut synth = Synthetic::new(DIM, 42);
        let mut index = FaceIndex::new(DIM, config);
        let mut members = Vec::new();
        let t = Instant::now();
        for i in 0..n {
            let id = synth.identity();
            index.insert(
                FaceId::from_request(format!("{i}")),
                PersonId::new(format!("p{i}")).expect("synthetic person ids are valid"),
                &synth.photo(&id),
            );
            if members.len() < n_probes / 2 && i % (n / (n_probes / 2).max(1)).max(1) == 0 {
                members.push(synth.photo(&id));
            }
        }
        let mut probes = members;
        while probes.len() < n_probes {
            let stranger = synth.identity();
            probes.push(synth.photo(&stranger));
        }
        let n_members = n_probes / 2;
        println!(
            "== {n} faces (one per person), loaded in {:.1} s",
            t.elapsed().as_secs_f64()
        );

        let (exact_lat, exact_ans) = measure(&probes, |p| top1(&index, p, Strategy::Exact));
        let (exact_k, _) = measure(&probes, |p| {
            index
                .nearest(p, K_DEFAULT, f32::INFINITY, Strategy::Exact)
                .first()
                .map(|h| h.face_id.to_string())
        });
        println!(
            "exact  k=1 : p50 {:8.3} ms  p99 {:8.3} ms  mean {:8.3} ms",
            ms(exact_lat.p50),
            ms(exact_lat.p99),
            ms(exact_lat.mean)
        );
        println!(
            "exact  k=25: p50 {:8.3} ms  p99 {:8.3} ms  mean {:8.3} ms",
            ms(exact_k.p50),
            ms(exact_k.p99),
            ms(exact_k.mean)
        );

        let t = Instant::now();
        index.build_ann();
        let build = t.elapsed();
        println!(
            "IVF build: {:.1} s ({:.0} faces/s), {} lists",
            build.as_secs_f64(),
            n as f64 / build.as_secs_f64(),
            index.ann_lists().unwrap_or(0)
        );
        let (ann_lat, ann_ans) = measure(&probes, |p| top1(&index, p, Strategy::Auto));
        let (ann_k, _) = measure(&probes, |p| {
            index
                .nearest(p, K_DEFAULT, f32::INFINITY, Strategy::Auto)
                .first()
                .map(|h| h.face_id.to_string())
        });
        println!(
            "IVF    k=1 : p50 {:8.3} ms  p99 {:8.3} ms  mean {:8.3} ms",
            ms(ann_lat.p50),
            ms(ann_lat.p99),
            ms(ann_lat.mean)
        );
        println!(
            "IVF    k=25: p50 {:8.3} ms  p99 {:8.3} ms  mean {:8.3} ms",
            ms(ann_k.p50),
            ms(ann_k.p99),
            ms(ann_k.mean)
        );
        println!(
            "top-1 recall vs exact: all {:.4}, enrolled-identity probes {:.4}, stranger probes {:.4}",
            recall(&ann_ans, &exact_ans),
            recall(&ann_ans[..n_members], &exact_ans[..n_members]),
            recall(&ann_ans[n_members..], &exact_ans[n_members..]),
        );
        let exact_within: Vec<_> = probes
            .iter()
            .map(|p| top1_within(&index, p, Strategy::Exact, MATCH_DISTANCE))
            .collect();
        let (ivf_within_lat, ivf_within) = measure(&probes, |p| {
            top1_within(&index, p, Strategy::Auto, MATCH_DISTANCE)
        });
        println!(
            "with a distance bound of {MATCH_DISTANCE}: IVF k=1 p50 {:8.3} ms  p99 {:8.3} ms, top-1 recall vs exact {:.4} (matches found by exact: {})",
            ms(ivf_within_lat.p50),
            ms(ivf_within_lat.p99),
            recall(&ivf_within, &exact_within),
            exact_within.iter().filter(|a| a.is_some()).count()
        );
        println!(
            "speed-up of IVF over exact (p50, k=25): {:.1}x",
            exact_k.p50.as_secs_f64() / ann_k.p50.as_secs_f64().max(1e-9)
        );
        println!();
    }
}
