//! The runtime benchmark's driver: printed figures, not a timed test.
//!
//! `bench/runtime` builds and runs it, then runs ONNX Runtime (`bench/runtime.py`) on the
//! files it writes. On the same ONNX graphs the engine runs (the MMOD detector and the
//! ResNet descriptor, as `models` imported them) and the same inputs, it times tract on
//! one thread and on `--threads` threads (`multithread-mm`, the engine's
//! [`vision::Threads`]):
//!
//! - `detector-net`: one pass of the detector on the tiled pyramid canvas of a 640×480
//!   photo (a fixture scaled into a 640×480 frame), input copied in from a ready canvas;
//! - `detect`: the whole `Detector::detect` of that photo (canvas, pass, NMS);
//! - `descriptor-b1`, `descriptor-b8`: one pass of the descriptor on 1 and on 8 chips
//!   of the fixtures' faces.
//!
//! It writes the graphs, the inputs and tract's outputs (raw little-endian f32) into
//! `--out`; with `--ort PYTHON SCRIPT` it then starts `SCRIPT serve` (bench/runtime.py,
//! ONNX Runtime on those files) and asks it for each of ONNX Runtime's runs, so that
//! the runtimes and thread counts take turns run by run and all meet the same load.
//! Every figure is a median, with the median of the 1-minute load averages read before
//! its runs; they go to `tract.json` in `--out`.
//!
//!   runtime --out DIR [--runs N] [--threads T] [--ort PYTHON SCRIPT]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vision::descriptor::DescriptorNet;
use vision::detector::{DetectOptions, Detector, MmodGeometry};
use vision::pyramid::TiledPyramid;
use vision::runtime::{Dim, Network};
use vision::{Engine, EngineConfig, RgbImage, Threads};

/// The photo brought to 640×480 for the detector: scaled to 480 rows, centred on a
/// black 640×480 frame.
const PHOTO: &str = "obama.jpg";
/// The photos whose faces make the descriptor's chips.
const CHIP_PHOTOS: [&str; 5] = [
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "biden.jpg",
    "astronaut.png",
];
const BATCH: usize = 8;

struct Args {
    out: PathBuf,
    runs: usize,
    threads: usize,
    /// The Python with ONNX Runtime and bench/runtime.py, when ONNX Runtime takes part.
    ort: Option<(PathBuf, PathBuf)>,
}

fn args() -> Args {
    let mut out = None;
    let mut runs = 9;
    let mut threads = 2;
    let mut ort = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().map(PathBuf::from),
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--threads" => threads = it.next().and_then(|v| v.parse().ok()).expect("--threads T"),
            "--ort" => {
                let python = it.next().map(PathBuf::from).expect("--ort PYTHON SCRIPT");
                let script = it.next().map(PathBuf::from).expect("--ort PYTHON SCRIPT");
                ort = Some((python, script));
            }
            // `cargo bench` passes --bench.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    Args {
        out: out.expect("--out DIR"),
        runs: runs.max(1),
        threads: threads.max(2),
        ort,
    }
}

fn fixtures() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fixtures");
    let out = Command::new(&script)
        .output()
        .expect("run scripts/fixtures");
    assert!(
        out.status.success(),
        "scripts/fixtures: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim())
}

fn load_1min() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write f32 file");
}

/// One workload timed in each configuration (runtime, threads), the configurations
/// taking turns run by run.
struct Timed {
    name: &'static str,
    /// (runtime, threads, milliseconds per run, 1-minute load before each run)
    figures: Vec<(&'static str, usize, Vec<f64>, Vec<f64>)>,
}

/// Times configuration `k` of `configs` with `f(k)`, which runs it once and returns
/// its time in milliseconds: one warm-up each (it also makes the plan for a new
/// shape), then `runs` rounds, the order reversed every other round.
fn time_turns(
    name: &'static str,
    configs: &[(&'static str, usize)],
    runs: usize,
    mut f: impl FnMut(usize) -> f64,
) -> Timed {
    for k in 0..configs.len() {
        f(k);
    }
    let mut figures: Vec<_> = configs
        .iter()
        .map(|&(r, t)| (r, t, Vec::new(), Vec::new()))
        .collect();
    for round in 0..runs {
        for k in 0..configs.len() {
            let k = if round % 2 == 0 {
                k
            } else {
                configs.len() - 1 - k
            };
            let load = load_1min();
            let ms = f(k);
            figures[k].2.push(ms);
            figures[k].3.push(load);
        }
    }
    Timed { name, figures }
}

fn timed_ms<T>(f: impl FnOnce() -> T) -> f64 {
    let t = Instant::now();
    std::hint::black_box(f());
    t.elapsed().as_secs_f64() * 1e3
}

/// bench/runtime.py's `serve` mode: ONNX Runtime sessions for every workload and thread
/// count, each run asked for on its stdin and its time read back (measured around
/// `session.run` in Python), so ONNX Runtime's runs take turns with tract's.
struct Ort {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Ort {
    fn start(python: &Path, script: &Path, dir: &Path, counts: &[usize]) -> Ort {
        use std::process::Stdio;
        let list: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
        let mut child = Command::new(python)
            .arg(script)
            .arg("serve")
            .arg(dir)
            .arg("--threads")
            .arg(list.join(","))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start bench/runtime.py serve");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut ort = Ort {
            child,
            stdin,
            stdout,
        };
        assert_eq!(ort.line(), "ready", "bench/runtime.py serve did not start");
        ort
    }

    fn line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read from ONNX Runtime");
        line.trim().to_string()
    }

    fn run(&mut self, workload: &str, threads: usize) -> f64 {
        use std::io::Write;
        writeln!(self.stdin, "{workload} {threads}").expect("write to ONNX Runtime");
        self.stdin.flush().expect("flush");
        let line = self.line();
        line.parse()
            .unwrap_or_else(|_| panic!("ONNX Runtime answered {line:?}"))
    }

    fn stop(mut self) {
        drop(self.stdin);
        let status = self.child.wait().expect("wait for ONNX Runtime");
        assert!(status.success(), "bench/runtime.py serve: {status}");
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "outputs of different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
        .fold(0.0, f64::max)
}

fn main() {
    if std::env::args().all(|a| a != "--bench") {
        // `cargo test --all-targets` runs benches without arguments; the measurement
        // needs release code, ONNX Runtime and an output folder (bench/runtime).
        println!("runtime: run with bench/runtime");
        return;
    }
    let args = args();
    std::fs::create_dir_all(&args.out).expect("create --out");
    let fixtures = fixtures();
    let store = models::ModelStore::from_env().expect("model store");
    store
        .ensure(models::Pack::Dlib, &models::NoProgress)
        .expect("dlib pack");
    let detector_onnx = store
        .onnx(models::DlibModel::MmodDetector)
        .expect("detector ONNX");
    let descriptor_onnx = store
        .onnx(models::DlibModel::ResnetDescriptor)
        .expect("descriptor ONNX");
    std::fs::write(args.out.join("detector.onnx"), &detector_onnx).expect("write");
    std::fs::write(args.out.join("descriptor.onnx"), &descriptor_onnx).expect("write");
    let geometry =
        MmodGeometry::from_options(&store.mmod_options().expect("mmod options")).expect("geometry");

    let engine = Engine::load(&store, EngineConfig::default()).expect("engine");
    let decode = |name: &str| -> RgbImage {
        let bytes = std::fs::read(fixtures.join(name)).expect("read fixture");
        engine.decode(&bytes).expect("decode fixture")
    };
    let photo = {
        let img = decode(PHOTO);
        let w = (f64::from(img.width()) * 480.0 / f64::from(img.height())).round() as u32;
        let scaled =
            image::imageops::resize(&img, w.min(640), 480, image::imageops::FilterType::Triangle);
        let mut frame = RgbImage::new(640, 480);
        image::imageops::overlay(
            &mut frame,
            &scaled,
            i64::from((640 - scaled.width()) / 2),
            0,
        );
        frame
    };
    let mut chips = Vec::new();
    for name in CHIP_PHOTOS {
        let img = decode(name);
        for face in engine.detect(&img).expect("detect") {
            chips.push(engine.face_chip(&img, &face).expect("chip"));
        }
    }
    assert!(!chips.is_empty(), "no faces in the fixtures");
    let found = chips.len();
    while chips.len() < BATCH {
        chips.push(chips[chips.len() % found].clone());
    }
    chips.truncate(BATCH);

    let counts = [1, args.threads];
    let pools: Vec<Threads> = counts
        .iter()
        .map(|&n| Threads::new(n).expect("thread pool"))
        .collect();
    let mut notes = Vec::new();
    let flat = |d: &[vision::Descriptor]| -> Vec<f32> {
        d.iter().flat_map(|d| d.0.iter().copied()).collect()
    };

    // The inputs, and tract's outputs at each thread count (these first runs also make
    // the plans), written for ONNX Runtime before it starts.
    let pyramid = TiledPyramid::layout(i64::from(photo.width()), i64::from(photo.height()));
    let canvas = pyramid.canvas(&photo, geometry.means);
    let canvas_shape = [1, 3, pyramid.height as usize, pyramid.width as usize];
    write_f32(&args.out.join("detector-input.f32"), &canvas);
    let dims: Vec<String> = canvas_shape.iter().map(|d| d.to_string()).collect();
    std::fs::write(args.out.join("detector-input.shape"), dims.join(" ")).expect("write");
    let net = Network::load(
        "mmod detector",
        &detector_onnx,
        &[
            Dim::Fixed(1),
            Dim::Fixed(3),
            Dim::Symbol("H"),
            Dim::Symbol("W"),
        ],
        1,
    )
    .expect("detector network");
    let nets: Vec<Network> = pools.iter().map(|p| net.clone().with_threads(p)).collect();
    let pass = |k: usize| {
        nets[k]
            .run(&canvas_shape, |data| data.copy_from_slice(&canvas))
            .expect("detector pass")
    };
    let (out_shape, out) = pass(0);
    write_f32(&args.out.join("detector-net-output.f32"), &out);
    notes.push(format!(
        "\"detector-net\": {{\"input\": {canvas_shape:?}, \"output\": {out_shape:?}, \"threads_max_abs_diff\": {}}}",
        max_abs_diff(&out, &pass(1).1)
    ));

    let detector = Detector::load(&detector_onnx, geometry, 1).expect("detector");
    let detectors: Vec<Detector> = pools
        .iter()
        .map(|p| detector.clone().with_threads(p))
        .collect();
    let options = DetectOptions::default();
    let detect = |k: usize| detectors[k].detect(&photo, &options).expect("detect");
    let found = detect(0);
    notes.push(format!(
        "\"detect\": {{\"faces\": {}, \"threads_equal\": {}}}",
        found.len(),
        found == detect(1)
    ));

    let descriptor = DescriptorNet::load(&descriptor_onnx, 2).expect("descriptor");
    let describers: Vec<DescriptorNet> = pools
        .iter()
        .map(|p| descriptor.clone().with_threads(p))
        .collect();
    let batches = [
        ("descriptor-b1", &chips[..1]),
        ("descriptor-b8", &chips[..BATCH]),
    ];
    for (name, batch) in batches {
        let n = batch.len();
        let input: Vec<f32> = batch
            .iter()
            .flat_map(|chip| {
                (0..3).flat_map(move |k| chip.pixels().map(move |p| f32::from(p.0[k])))
            })
            .collect();
        write_f32(&args.out.join(format!("{name}-input.f32")), &input);
        let out = flat(&describers[0].describe(batch).expect("describe"));
        write_f32(&args.out.join(format!("{name}-output.f32")), &out);
        notes.push(format!(
            "\"{name}\": {{\"input\": [{n}, 3, 150, 150], \"output\": [{n}, 128], \"threads_max_abs_diff\": {}}}",
            max_abs_diff(&out, &flat(&describers[1].describe(batch).expect("describe")))
        ));
    }

    // The timed runs: tract and ONNX Runtime, every configuration taking turns.
    let mut ort = args
        .ort
        .as_ref()
        .map(|(python, script)| Ort::start(python, script, &args.out, &counts));
    let mut configs: Vec<(&'static str, usize)> = counts.iter().map(|&n| ("tract", n)).collect();
    let tract_only = configs.clone();
    if ort.is_some() {
        configs.extend(counts.iter().map(|&n| ("onnxruntime", n)));
    }
    let mut timed = Vec::new();
    let mut turns =
        |name: &'static str, configs: &[(&'static str, usize)], tract: &dyn Fn(usize)| {
            timed.push(time_turns(name, configs, args.runs, |k| match configs[k] {
                ("tract", _) => timed_ms(|| tract(k)),
                (_, n) => ort.as_mut().map_or(f64::NAN, |o| o.run(name, n)),
            }));
        };
    turns("detector-net", &configs, &|k| {
        pass(k);
    });
    turns("detect", &tract_only, &|k| {
        detect(k);
    });
    for (name, batch) in batches {
        turns(name, &configs, &|k| {
            describers[k].describe(batch).expect("describe");
        });
    }
    if let Some(o) = ort.take() {
        o.stop();
    }

    // Printed, then the same figures as JSON for bench/runtime.py.
    let mut json = Vec::new();
    for t in &timed {
        let base = median(&t.figures[0].2);
        for (runtime, threads, ms, load) in &t.figures {
            let m = median(ms);
            println!(
                "{runtime:<11} {:<14} {threads} thread{}: median {m:8.1} ms over {} runs (load {:.2}); tract 1 thread / this: {:.2}",
                t.name,
                if *threads == 1 { " " } else { "s" },
                ms.len(),
                median(load),
                base / m
            );
            json.push(format!(
                "{{\"workload\": \"{}\", \"runtime\": \"{runtime}\", \"threads\": {threads}, \"median_ms\": {m:.3}, \"load\": {:.2}, \"runs_ms\": [{}]}}",
                t.name,
                median(load),
                ms.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for n in &notes {
        println!("tract check {n}");
    }
    let text = format!(
        "{{\"figures\": [\n  {}\n], \"checks\": {{{}}}}}\n",
        json.join(",\n  "),
        notes.join(", ")
    );
    std::fs::write(args.out.join("tract.json"), text).expect("write tract.json");
}
