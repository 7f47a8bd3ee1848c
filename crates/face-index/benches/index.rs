//! Search speed of `FaceIndex` (exact scan and inverted file) on SYNTHETIC 128-d
//! descriptors, and the files FAISS is run on for comparison.
//!
//! Run through `bench/search`, which builds this in release, runs it, runs FAISS on the
//! files it writes, and prints and records both. By hand:
//! `cargo bench --workspace --bench index -- --size 1000000 --queries 1000 --out DIR`
//! writes `DIR/base.f32` (the descriptors, row after row, little-endian f32),
//! `DIR/queries.f32` and `DIR/ours.json` (our figures and the exact answers).
//!
//! What is measured: one query at a time on one thread (a server request searches a
//! group on the thread that serves it), p50/p99 over all queries; top-1 recall against
//! the exact scan, for new photos of enrolled identities and for strangers (half each);
//! build time (on all cores, as the galleries build in the background); insert and
//! delete cost on the built index; memory (resident-set growth and the structures'
//! own byte counts).
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it makes a smoke run on a
//! few thousand faces into a temporary folder: seconds, and nothing is timed against a
//! bound.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use face_index::synthetic::Synthetic;
use face_index::{AnnParams, FaceIndex, IndexConfig, Strategy};

const DIM: usize = 128;
/// Faces asked of a group for the API's default MaxPersonNum of 5 (five faces each).
const K_DEFAULT: usize = 25;
/// dlib's usual same-person bound.
const MATCH_DISTANCE: f32 = 0.6;
/// New faces inserted into, and persons deleted from, the built index.
const UPDATES: usize = 1000;

struct Args {
    smoke: bool,
    size: usize,
    queries: usize,
    out: PathBuf,
    seed: u64,
    /// Probe fractions to report besides the default (recall/latency trade-off).
    sweep: Vec<f32>,
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !argv.iter().any(|a| a == "--bench");
    let value = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let number = |name: &str, default: usize| {
        value(name)
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or(default)
    };
    let out = value("--out").map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("face-index-bench-{}", std::process::id()))
    });
    Args {
        smoke,
        size: number("--size", if smoke { 3000 } else { 1_000_000 }),
        queries: number("--queries", if smoke { 40 } else { 1000 }),
        out,
        seed: number("--seed", 42) as u64,
        sweep: value("--sweep")
            .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_default(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Latency {
    p50: f64,
    p99: f64,
    mean: f64,
}

fn latency(mut times: Vec<Duration>) -> Latency {
    times.sort();
    let at = |p: f64| {
        let i = ((times.len() as f64 - 1.0) * p).round() as usize;
        times.get(i).map_or(0.0, |d| ms(*d))
    };
    let total: Duration = times.iter().sum();
    Latency {
        p50: at(0.5),
        p99: at(0.99),
        mean: ms(total) / times.len().max(1) as f64,
    }
}

fn latency_json(l: &Latency) -> String {
    format!(
        "{{\"p50_ms\": {:.4}, \"p99_ms\": {:.4}, \"mean_ms\": {:.4}}}",
        l.p50, l.p99, l.mean
    )
}

/// Resident set size of this process, from /proc (0 where there is none).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn write_f32(w: &mut impl Write, row: &[f32]) -> std::io::Result<()> {
    for x in row {
        w.write_all(&x.to_le_bytes())?;
    }
    Ok(())
}

type Index = FaceIndex<u32, u32>;

/// Top-1 face per query, and the time of each search.
fn run(
    index: &Index,
    queries: &[Vec<f32>],
    k: usize,
    bound: f32,
    strategy: Strategy,
) -> (Vec<Option<u32>>, Vec<Duration>) {
    let mut answers = Vec::with_capacity(queries.len());
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let t = Instant::now();
        let hits = index.nearest(q, k, bound, strategy);
        times.push(t.elapsed());
        answers.push(hits.first().map(|h| h.face_id));
    }
    (answers, times)
}

fn agreement(got: &[Option<u32>], want: &[Option<u32>]) -> f64 {
    let same = got.iter().zip(want).filter(|(g, w)| g == w).count();
    same as f64 / want.len().max(1) as f64
}

fn main() {
    let args = parse_args();
    if args.smoke {
        println!("smoke run (not `cargo bench`): small sizes, unoptimised build");
    }
    // Searches are timed on one thread; building uses the global pool (all cores).
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let n = args.size;
    let nq = args.queries.max(2);
    let members = nq / 2;
    std::fs::create_dir_all(&args.out).expect("output folder");

    // One face per person (as the gallery benchmark), written to base.f32 and
    // enrolled as it is made; queries: new photos of evenly spread enrolled identities,
    // then photos of strangers.
    let config = IndexConfig::default();
    let rss0 = rss_bytes();
    let t = Instant::now();
    let mut synth = Synthetic::new(DIM, args.seed);
    let mut index: Index = FaceIndex::new(DIM, config);
    index.reserve(n + UPDATES);
    let mut base =
        BufWriter::new(File::create(args.out.join("base.f32")).expect("create base.f32"));
    let mut queries = Vec::with_capacity(nq);
    let every = (n / members.max(1)).max(1);
    for i in 0..n {
        let id = synth.identity();
        let v = synth.photo(&id);
        write_f32(&mut base, &v).expect("write base.f32");
        index.insert(i as u32, i as u32, &v);
        if i % every == 0 && queries.len() < members {
            queries.push(synth.photo(&id));
        }
    }
    base.flush().expect("write base.f32");
    drop(base);
    let load_s = t.elapsed().as_secs_f64();
    let rss_exact = rss_bytes().saturating_sub(rss0);
    let members = queries.len();
    while queries.len() < nq {
        let stranger = synth.identity();
        queries.push(synth.photo(&stranger));
    }
    let mut w =
        BufWriter::new(File::create(args.out.join("queries.f32")).expect("create queries.f32"));
    for q in &queries {
        write_f32(&mut w, q).expect("write queries.f32");
    }
    w.flush().expect("write queries.f32");

    let (truth, exact_times) =
        one.install(|| run(&index, &queries, 1, f32::INFINITY, Strategy::Exact));
    let exact = latency(exact_times);
    let (truth_within, _) =
        one.install(|| run(&index, &queries, 1, MATCH_DISTANCE, Strategy::Exact));

    let rss1 = rss_bytes();
    let t = Instant::now();
    index.build_ann();
    let build_s = t.elapsed().as_secs_f64();
    let rss_ann = rss_bytes().saturating_sub(rss1);
    let lists = index.ann_lists().unwrap_or(0);
    let ann_bytes = index.ann_bytes().unwrap_or(0);

    let (ivf_ans, ivf_times) =
        one.install(|| run(&index, &queries, 1, f32::INFINITY, Strategy::Auto));
    let ivf = latency(ivf_times);
    let (ivf_k_ans, ivf_k_times) =
        one.install(|| run(&index, &queries, K_DEFAULT, f32::INFINITY, Strategy::Auto));
    let ivf_k = latency(ivf_k_times);
    let (ivf_within, _) = one.install(|| run(&index, &queries, 1, MATCH_DISTANCE, Strategy::Auto));
    let recall = agreement(&ivf_ans, &truth);
    let recall_members = agreement(&ivf_ans[..members], &truth[..members]);
    let recall_strangers = agreement(&ivf_ans[members..], &truth[members..]);
    let recall_k = agreement(&ivf_k_ans, &truth);
    let recall_within = agreement(&ivf_within, &truth_within);
    let matches_within = truth_within.iter().filter(|a| a.is_some()).count();

    // Other operating points of the same index.
    let defaults = config.ann;
    let mut sweep = Vec::new();
    for &fraction in &args.sweep {
        let params = AnnParams {
            probe_fraction: fraction,
            min_probes: 1,
            max_probes: usize::MAX,
            ..defaults
        };
        index.set_ann_params(params);
        let (ans, times) = one.install(|| run(&index, &queries, 1, f32::INFINITY, Strategy::Auto));
        let l = latency(times);
        sweep.push(format!(
            "{{\"probe_fraction\": {fraction}, \"probes\": {}, \"recall\": {:.4}, \"latency\": {}}}",
            params.probes_for(lists),
            agreement(&ans, &truth),
            latency_json(&l)
        ));
    }
    index.set_ann_params(defaults);

    // Updates on the built index: enrolments join their list at once, deletions are
    // tombstones.
    let mut synth = Synthetic::new(DIM, args.seed ^ 0x5eed);
    let mut fresh = Vec::with_capacity(UPDATES);
    let mut insert_times = Vec::with_capacity(UPDATES);
    for j in 0..UPDATES {
        let id = synth.identity();
        let v = synth.photo(&id);
        let face = (n + j) as u32;
        let t = Instant::now();
        index.insert(face, face, &v);
        insert_times.push(t.elapsed());
        fresh.push((face, synth.photo(&id)));
    }
    let insert = latency(insert_times);
    // How many of the new faces a search finds as its nearest, on one thread.
    let found = |index: &Index| {
        one.install(|| {
            fresh
                .iter()
                .filter(|(face, probe)| {
                    index
                        .nearest(probe, 1, f32::INFINITY, Strategy::Auto)
                        .first()
                        .is_some_and(|h| h.face_id == *face)
                })
                .count()
        })
    };
    let found_fresh = found(&index);
    let mut delete_times = Vec::with_capacity(UPDATES);
    for (face, _) in &fresh {
        let t = Instant::now();
        index.remove_person(face);
        delete_times.push(t.elapsed());
    }
    let delete = latency(delete_times);
    let deleted_found = found(&index);

    let p = config.ann;
    println!(
        "== ours: {n} faces, {nq} queries ({members} enrolled identities, {} strangers)",
        nq - members
    );
    println!(
        "generated, written and loaded in {load_s:.1} s; IVF-SQ8: {lists} lists, {} probed ({}×lists, at least {}, at most {}), k + {} re-ranked",
        p.probes_for(lists),
        p.probe_fraction,
        p.min_probes,
        p.max_probes,
        p.rerank
    );
    println!(
        "exact  k=1 : p50 {:8.3} ms  p99 {:8.3} ms  mean {:8.3} ms",
        exact.p50, exact.p99, exact.mean
    );
    println!(
        "IVF build: {build_s:.1} s on {} threads",
        rayon::current_num_threads()
    );
    println!(
        "IVF    k=1 : p50 {:8.3} ms  p99 {:8.3} ms  mean {:8.3} ms; top-1 recall {recall:.4} (enrolled {recall_members:.4}, strangers {recall_strangers:.4})",
        ivf.p50, ivf.p99, ivf.mean
    );
    println!(
        "IVF    k=25: p50 {:8.3} ms  p99 {:8.3} ms  mean {:8.3} ms; top-1 recall {recall_k:.4}",
        ivf_k.p50, ivf_k.p99, ivf_k.mean
    );
    println!(
        "within {MATCH_DISTANCE}: top-1 recall {recall_within:.4} ({matches_within} exact matches)"
    );
    println!(
        "memory: descriptors {:.0} B/face, inverted file {:.0} B/face (RSS growth: load {:.0} B/face, build {:.0} B/face)",
        index.descriptor_bytes() as f64 / (n + UPDATES) as f64,
        ann_bytes as f64 / n as f64,
        rss_exact as f64 / n as f64,
        rss_ann as f64 / n as f64
    );
    println!(
        "updates: insert p50 {:.3} ms p99 {:.3} ms ({found_fresh}/{UPDATES} found at once), delete p50 {:.4} ms ({deleted_found} found after deletion)",
        insert.p50, insert.p99, delete.p50
    );
    for s in &sweep {
        println!("sweep: {s}");
    }

    let truth_json: Vec<String> = truth
        .iter()
        .map(|t| t.map_or("null".to_string(), |v| v.to_string()))
        .collect();
    let json = format!(
        concat!(
            "{{\"n\": {n}, \"dim\": {dim}, \"queries\": {nq}, \"members\": {members}, \"seed\": {seed},\n",
            " \"threads_build\": {threads}, \"load_s\": {load_s:.2},\n",
            " \"exact\": {exact},\n",
            " \"ivf\": {{\"lists\": {lists}, \"probes\": {probes}, \"rerank\": {rerank}, \"build_s\": {build_s:.2},\n",
            "   \"k1\": {ivf}, \"k25\": {ivf_k},\n",
            "   \"recall\": {recall:.4}, \"recall_members\": {recall_members:.4}, \"recall_strangers\": {recall_strangers:.4},\n",
            "   \"recall_k25\": {recall_k:.4}, \"recall_within\": {recall_within:.4}, \"matches_within\": {matches_within},\n",
            "   \"sweep\": [{sweep}]}},\n",
            " \"memory\": {{\"descriptor_bytes_per_face\": {desc:.1}, \"ivf_bytes_per_face\": {annb:.1},\n",
            "   \"rss_load_bytes_per_face\": {rss_exact:.1}, \"rss_build_bytes_per_face\": {rss_ann:.1}}},\n",
            " \"updates\": {{\"count\": {updates}, \"insert\": {insert}, \"delete\": {delete}, \"found_at_once\": {found_fresh}, \"found_after_delete\": {deleted_found}}},\n",
            " \"truth\": [{truth}]}}\n"
        ),
        n = n,
        dim = DIM,
        nq = nq,
        members = members,
        seed = args.seed,
        threads = rayon::current_num_threads(),
        load_s = load_s,
        exact = latency_json(&exact),
        lists = lists,
        probes = p.probes_for(lists),
        rerank = p.rerank,
        build_s = build_s,
        ivf = latency_json(&ivf),
        ivf_k = latency_json(&ivf_k),
        recall = recall,
        recall_members = recall_members,
        recall_strangers = recall_strangers,
        recall_k = recall_k,
        recall_within = recall_within,
        matches_within = matches_within,
        sweep = sweep.join(", "),
        desc = index.descriptor_bytes() as f64 / (n + UPDATES) as f64,
        annb = ann_bytes as f64 / n as f64,
        rss_exact = rss_exact as f64 / n as f64,
        rss_ann = rss_ann as f64 / n as f64,
        updates = UPDATES,
        insert = latency_json(&insert),
        delete = latency_json(&delete),
        found_fresh = found_fresh,
        deleted_found = deleted_found,
        truth = truth_json.join(","),
    );
    std::fs::write(args.out.join("ours.json"), json).expect("write ours.json");
    println!("wrote {}", args.out.display());
    if args.smoke {
        // Checks that hold at any speed: the index finds what was just enrolled and
        // forgets what was deleted.
        assert!(found_fresh * 10 >= UPDATES * 9, "{found_fresh}/{UPDATES}");
        assert_eq!(deleted_found, 0);
        std::fs::remove_dir_all(&args.out).expect("remove the smoke run's files");
    }
}
