//! Prints how long reading and importing the dlib models takes (first use) and how
//! long loading a cached import takes. `cargo bench -p models --bench import`.

use std::time::{Duration, Instant};

use models::dlib::{Network, ShapePredictor};
use models::{DlibModel, ModelStore, NoProgress, Pack};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let store = ModelStore::from_env().unwrap();
    store.ensure(Pack::Dlib, &NoProgress).unwrap();
    let read = |m: DlibModel| std::fs::read(store.dlib_path(m).unwrap()).unwrap();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    for (m, runs) in [
        (DlibModel::ShapePredictor5, 5),
        (DlibModel::ShapePredictor68, 2),
    ] {
        let bytes = read(m);
        let d = best_of(runs, || ShapePredictor::parse(&bytes).unwrap());
        let mbps = bytes.len() as f64 / 1e6 / d.as_secs_f64();
        println!(
            "parse {:<40} {:>9.1} ms  ({mbps:.0} MB/s)",
            m.file_name(),
            ms(d)
        );
    }
    for m in [DlibModel::MmodDetector, DlibModel::ResnetDescriptor] {
        let bytes = read(m);
        let d = best_of(3, || Network::parse(&bytes).unwrap());
        println!("parse {:<40} {:>9.1} ms", m.file_name(), ms(d));
        // Fresh store on the same packs: import from scratch, then from the cache.
        let dir = tempfile::tempdir().unwrap();
        let onnx_root = dir.path().to_path_buf();
        std::os::unix::fs::symlink(store.root().join("dlib"), onnx_root.join("dlib")).unwrap();
        let fresh = ModelStore::at(&onnx_root);
        let t = Instant::now();
        let onnx = fresh.onnx(m).unwrap();
        let first = t.elapsed();
        let cached = best_of(3, || fresh.onnx(m).unwrap());
        println!(
            "import {:<39} {:>9.1} ms first use, {:.1} ms cached ({} bytes of ONNX)",
            m.name(),
            ms(first),
            ms(cached),
            onnx.len()
        );
    }
}
