//! The reader and converter on small hand-made graphs (exact expected values, hostile
//! files) and on every face model of the `human-models` pack (op coverage).

use models::{ModelStore, NoProgress, Pack};
use serde_json::json;
use tfjs::{GraphModel, TfjsError};
use tract_onnx::prelude::*;

fn b64(s: &str) -> String {
    use std::fmt::Write;
    // Tiny standard base64 encoder for attribute strings in hand-made graphs.
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.write_char(T[(n >> (18 - 6 * k) & 63) as usize] as char)
                    .unwrap();
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn ints(v: &[i64]) -> serde_json::Value {
    json!({"list": {"i": v.iter().map(|i| i.to_string()).collect::<Vec<_>>()}})
}

/// x [1,3,3,1] → _FusedConv2D (2×2 ones, stride 2, SAME, bias −12.5, Prelu α 0.5) → Identity.
fn conv_model() -> (serde_json::Value, Vec<u8>) {
    let model = json!({
        "format": "graph-model",
        "modelTopology": {"node": [
            {"name": "x", "op": "Placeholder", "attr": {
                "dtype": {"type": "DT_FLOAT"},
                "shape": {"shape": {"dim": [{"size": "-1"}, {"size": "3"}, {"size": "3"}, {"size": "1"}]}}}},
            {"name": "w", "op": "Const", "attr": {}},
            {"name": "b", "op": "Const", "attr": {}},
            {"name": "a", "op": "Const", "attr": {}},
            {"name": "conv", "op": "_FusedConv2D", "input": ["x", "w", "b", "a", "^x"], "attr": {
                "strides": ints(&[1, 2, 2, 1]),
                "padding": {"s": b64("SAME")},
                "data_format": {"s": b64("NHWC")},
                "fused_ops": {"list": {"s": [b64("BiasAdd"), b64("Prelu")]}},
                "num_args": {"i": "2"}}},
            {"name": "Identity", "op": "Identity", "input": ["conv"]}
        ]},
        "weightsManifest": [{"paths": ["w.bin"], "weights": [
            {"name": "w", "shape": [2, 2, 1, 1], "dtype": "float32"},
            {"name": "b", "shape": [1], "dtype": "float32"},
            {"name": "a", "shape": [1], "dtype": "float32",
             "quantization": {"dtype": "uint8", "scale": 0.25, "min": 0.0}}
        ]}]
    });
    let mut bin = Vec::new();
    for v in [1f32, 1.0, 1.0, 1.0, -12.5] {
        bin.extend(v.to_le_bytes());
    }
    bin.push(2); // α = 2 · 0.25
    (model, bin)
}

fn load(model: &serde_json::Value, bin: &[u8]) -> Result<GraphModel, TfjsError> {
    let json = serde_json::to_vec(model).unwrap();
    GraphModel::from_json(&json, &mut |name| {
        assert_eq!(name, "w.bin");
        Ok(bin.to_vec())
    })
}

fn run(onnx: &[u8], shape: &[usize], data: &[f32]) -> Vec<f32> {
    let plan = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])
        .unwrap()
        .with_input_fact(0, f32::fact(shape).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let out = plan
        .run(tvec!(Tensor::from_shape(shape, data).unwrap().into()))
        .unwrap();
    out[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

#[test]
fn same_padding_bias_and_prelu_compute_what_tensorflow_defines() {
    let (model, bin) = conv_model();
    let m = load(&model, &bin).unwrap();
    assert_eq!(m.outputs.len(), 1);
    assert_eq!(m.outputs[0].node, "Identity");
    assert_eq!(m.inputs[0].shape, Some(vec![-1, 3, 3, 1]));
    // Filter (reordered), bias and slope: no unused copy of a weight.
    let proto = tfjs::to_onnx_proto(&m).unwrap();
    assert_eq!(proto.graph.unwrap().initializer.len(), 3);
    let onnx = tfjs::to_onnx(&m).unwrap();
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    // SAME with stride 2 on 3 pixels pads one pixel at the bottom and right only:
    // windows sum {1,2,4,5}=12, {3,6}=9, {7,8}=15, {9}=9; then −12.5; Prelu α 0.5.
    let want = [-0.25f32, -1.75, 2.5, -1.75];
    assert_eq!(run(&onnx, &[1, 3, 3, 1], &x), want);
    // The free batch dimension: two images at once.
    let x2: Vec<f32> = x.iter().chain(x.iter()).copied().collect();
    let got = run(&onnx, &[2, 3, 3, 1], &x2);
    assert_eq!(got[..4], want);
    assert_eq!(got[4..], want);
}

#[test]
fn hostile_or_unsupported_files_are_typed_errors() {
    let (model, bin) = conv_model();

    let mut m = model.clone();
    m["weightsManifest"][0]["paths"][0] = json!("../w.bin");
    let err = GraphModel::from_json(&serde_json::to_vec(&m).unwrap(), &mut |_| Ok(bin.clone()))
        .unwrap_err();
    assert!(
        matches!(err, TfjsError::BadShardPath(ref p) if p == "../w.bin"),
        "{err}"
    );

    let mut m = model.clone();
    m["format"] = json!("layers-model");
    assert!(matches!(
        load(&m, &bin).unwrap_err(),
        TfjsError::NotGraphModel(_)
    ));

    assert!(matches!(
        GraphModel::from_json(b"{\"modelTopology\": 3}", &mut |_| Ok(vec![])).unwrap_err(),
        TfjsError::Json(_)
    ));

    let err = load(&model, &bin[..bin.len() - 1]).unwrap_err();
    assert!(
        matches!(err, TfjsError::Truncated { ref name, .. } if name == "a"),
        "{err}"
    );

    // An op without a conversion.
    let mut m = model.clone();
    m["modelTopology"]["node"][4]["op"] = json!("NonMaxSuppressionV5");
    let err = tfjs::to_onnx(&load(&m, &bin).unwrap()).unwrap_err();
    assert!(
        matches!(err, TfjsError::Unsupported { ref op, .. } if op == "NonMaxSuppressionV5"),
        "{err}"
    );
    assert_eq!(
        tfjs::unsupported_ops(&load(&m, &bin).unwrap()),
        vec![("NonMaxSuppressionV5".to_string(), 1)]
    );

    // A fused op the converter does not know.
    let mut m = model.clone();
    m["modelTopology"]["node"][4]["attr"]["fused_ops"] =
        json!({"list": {"s": [b64("BiasAdd"), b64("Gelu")]}});
    let err = tfjs::to_onnx(&load(&m, &bin).unwrap()).unwrap_err();
    assert!(
        matches!(err, TfjsError::Unsupported { ref why, .. } if why.contains("Gelu")),
        "{err}"
    );

    // A cycle, an input naming no node, a constant without weights.
    let mut m = model.clone();
    m["modelTopology"]["node"][4]["input"][0] = json!("Identity");
    // Nothing is left unconsumed, so the outputs must come from a signature.
    m["signature"] = json!({"outputs": {"y": {"name": "Identity:0"}}});
    let err = tfjs::to_onnx(&load(&m, &bin).unwrap()).unwrap_err();
    assert!(
        matches!(err, TfjsError::Graph(ref why) if why.contains("cycle")),
        "{err}"
    );
    let mut m = model.clone();
    m["modelTopology"]["node"][5]["input"][0] = json!("nowhere:0");
    let err = tfjs::to_onnx(&load(&m, &bin).unwrap()).unwrap_err();
    assert!(
        matches!(err, TfjsError::Graph(ref why) if why.contains("nowhere")),
        "{err}"
    );
    let mut m = model.clone();
    m["modelTopology"]["node"][1]["name"] = json!("w2");
    m["modelTopology"]["node"][4]["input"][1] = json!("w2");
    let err = tfjs::to_onnx(&load(&m, &bin).unwrap()).unwrap_err();
    assert!(
        matches!(err, TfjsError::Graph(ref why) if why.contains("w2")),
        "{err}"
    );

    // A malformed attribute and a padding TensorFlow does not define.
    let mut m = model.clone();
    m["modelTopology"]["node"][4]["attr"]["strides"] = json!({"list": {"i": ["x"]}});
    assert!(matches!(
        load(&m, &bin).unwrap_err(),
        TfjsError::Attr { .. }
    ));
    let mut m = model;
    m["modelTopology"]["node"][4]["attr"]["padding"] = json!({"s": b64("FULL")});
    let err = tfjs::to_onnx(&load(&m, &bin).unwrap()).unwrap_err();
    assert!(
        matches!(err, TfjsError::Attr { ref attr, .. } if attr == "padding"),
        "{err}"
    );
}

/// The face models of the pack: all read, every op converts, tract accepts the graph.
#[test]
fn every_face_model_converts() {
    let store = ModelStore::from_env().unwrap();
    store.ensure(Pack::HumanModels, &NoProgress).unwrap();
    for (name, outputs) in [
        ("blazeface", 4),
        ("facemesh", 3),
        ("iris", 1),
        ("antispoof", 1),
        ("liveness", 1),
        ("faceres", 3),
        ("emotion", 1),
        ("gear", 3),
    ] {
        let path = store.human_model_path(&format!("{name}.json")).unwrap();
        let m = GraphModel::load(&path).unwrap();
        let ops: Vec<String> = m
            .op_counts()
            .into_iter()
            .map(|(op, n)| format!("{op}×{n}"))
            .collect();
        println!("{name}: {}", ops.join(", "));
        assert_eq!(tfjs::unsupported_ops(&m), vec![], "{name}");
        assert_eq!(m.outputs.len(), outputs, "{name}");
        let onnx = tfjs::to_onnx(&m).unwrap();
        tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .unwrap()
            .into_optimized()
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
}

#[test]
fn source_files_are_the_json_and_its_shards_in_manifest_order() {
    let (mut model, _bin) = conv_model();
    model["weightsManifest"] = json!([
        {"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"], "weights": []},
        {"paths": ["group2-shard1of1.bin"], "weights": []}
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    std::fs::write(&path, serde_json::to_vec(&model).unwrap()).unwrap();
    let files = GraphModel::source_files(&path).unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "m.json",
            "group1-shard1of2.bin",
            "group1-shard2of2.bin",
            "group2-shard1of1.bin"
        ]
    );
    // A shard outside the model's directory is refused here as in `load`.
    model["weightsManifest"][1]["paths"][0] = json!("../elsewhere.bin");
    std::fs::write(&path, serde_json::to_vec(&model).unwrap()).unwrap();
    let err = GraphModel::source_files(&path).unwrap_err();
    assert!(
        matches!(err, TfjsError::BadShardPath(ref p) if p == "../elsewhere.bin"),
        "{err}"
    );
}
