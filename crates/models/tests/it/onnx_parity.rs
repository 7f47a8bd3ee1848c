//! The imported ONNX graphs, run in tract, against Python dlib on the same inputs.
//!
//! The reference (Python dlib 19.24.6 in a venv made by `scripts/reference-env`) is
//! computed by `tests/reference/dlib_reference.py` on the face_recognition 1.3.0 test
//! photos, fetched into the cache by that script.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use models::{DlibModel, ModelStore, NoProgress, Pack};
use serde_json::Value;
use tract_onnx::prelude::*;

struct Reference {
    dir: tempfile::TempDir,
    json: Value,
}

fn cache_dir() -> PathBuf {
    std::env::var_os("RENLIAN_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/renlian"))
}

fn store() -> ModelStore {
    let store = ModelStore::from_env().unwrap();
    store.ensure(Pack::Dlib, &NoProgress).unwrap();
    store
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = Command::new(root.join("scripts/reference-env"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let python = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let models = store().dlib_path(DlibModel::ShapePredictor5).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/dlib_reference.py"))
            .arg(models.parent().unwrap())
            .arg(cache_dir().join("models-fixtures"))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let json =
            serde_json::from_slice(&std::fs::read(dir.path().join("reference.json")).unwrap())
                .unwrap();
        Reference { dir, json }
    })
}

/// HWC RGB bytes → [1, 3, H, W] f32 0-255, placed at (left, top) of a canvas filled with `fill`.
fn canvas(
    rgb: &[u8],
    w: usize,
    h: usize,
    cw: usize,
    ch: usize,
    at: usize,
    fill: [f32; 3],
) -> tract_ndarray::Array4<f32> {
    let mut t = tract_ndarray::Array4::<f32>::zeros((1, 3, ch, cw));
    for c in 0..3 {
        t.slice_mut(tract_ndarray::s![0, c, .., ..]).fill(fill[c]);
        for y in 0..h {
            for x in 0..w {
                t[[0, c, y + at, x + at]] = f32::from(rgb[(y * w + x) * 3 + c]);
            }
        }
    }
    t
}

#[test]
fn descriptor_matches_dlib() {
    let r = reference();
    let onnx = store().onnx(DlibModel::ResnetDescriptor).unwrap();
    let chips = r.json["chips"].as_array().unwrap();
    assert!(chips.len() >= 4, "reference has {} chips", chips.len());
    let n = chips.len();
    let model = tract_onnx::onnx()
        .model_for_read(&mut onnx.as_slice())
        .unwrap()
        .with_input_fact(0, f32::fact([n, 3, 150, 150]).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    // All chips in one batch: also checks that the batch dimension is free.
    let mut batch = tract_ndarray::Array4::<f32>::zeros((n, 3, 150, 150));
    for (i, chip) in chips.iter().enumerate() {
        let rgb = std::fs::read(r.dir.path().join(chip["chip"].as_str().unwrap())).unwrap();
        let one = canvas(&rgb, 150, 150, 150, 150, 0, [0.0; 3]);
        batch
            .slice_mut(tract_ndarray::s![i, .., .., ..])
            .assign(&one.slice(tract_ndarray::s![0, .., .., ..]));
    }
    let out = model.run(tvec!(Tensor::from(batch).into())).unwrap();
    let out = out[0].to_plain_array_view::<f32>().unwrap();
    assert_eq!(out.shape(), &[n, 128]);
    let mut worst = 0f32;
    for (i, chip) in chips.iter().enumerate() {
        let want: Vec<f32> = chip["descriptor"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let dist = (0..128)
            .map(|k| (out[[i, k]] - want[k]).powi(2))
            .sum::<f32>()
            .sqrt();
        worst = worst.max(dist);
    }
    eprintln!("descriptor: worst L2 distance to dlib over {n} chips = {worst:e}");
    assert!(worst < 1e-4, "worst L2 distance {worst}");
}

#[test]
fn mmod_scores_match_dlib_detections() {
    let r = reference();
    let store = store();
    let opts = store.mmod_options().unwrap();
    let onnx = store.onnx(DlibModel::MmodDetector).unwrap();
    let pad = opts.pyramid_outer_padding as usize;
    let mut checked = 0;
    for img in r.json["mmod"].as_array().unwrap() {
        let (w, h) = (
            img["width"].as_u64().unwrap() as usize,
            img["height"].as_u64().unwrap() as usize,
        );
        let rgb = std::fs::read(r.dir.path().join(img["file"].as_str().unwrap())).unwrap();
        // Level 0 of dlib's pyramid canvas: the image `pad` px in from the top-left, the
        // same canvas width; below it dlib puts the next level, which we leave out (and
        // so only compare cells whose receptive field, 189 px, does not reach it).
        let (cw, ch) = (w + 2 * pad, h + 2 * pad + 100);
        let input = canvas(&rgb, w, h, cw, ch, pad, opts.means);
        let model = tract_onnx::onnx()
            .model_for_read(&mut onnx.as_slice())
            .unwrap()
            .with_input_fact(0, f32::fact([1, 3, ch, cw]).into())
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let out = model.run(tvec!(Tensor::from(input).into())).unwrap();
        let scores = out[0].to_plain_array_view::<f32>().unwrap();
        let conv = |n: usize| ((((n - 5) / 2 + 1 - 5) / 2 + 1) - 5) / 2 + 1;
        assert_eq!(scores.shape(), &[1, 1, conv(ch), conv(cw)]);
        for d in img["detections"].as_array().unwrap() {
            let d: Vec<f64> = d
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let (left, top, right, bottom, confidence) = (d[0], d[1], d[2], d[3], d[4]);
            // Only level-0 detections (80 px windows) away from the omitted levels.
            if right - left + 1.0 != 80.0 || (top + bottom) / 2.0 + 95.0 > h as f64 {
                continue;
            }
            let col = (((left + right) / 2.0 + pad as f64 - opts.output_offset)
                / opts.output_stride)
                .round() as usize;
            let row = (((top + bottom) / 2.0 + pad as f64 - opts.output_offset)
                / opts.output_stride)
                .round() as usize;
            let (wl, wt, wr, wb) = opts.cell_window(row, col, 0).unwrap();
            assert!((wl - pad as f64 - left).abs() <= 1.0 && (wt - pad as f64 - top).abs() <= 1.0);
            assert!(
                (wr - pad as f64 - right).abs() <= 1.0 && (wb - pad as f64 - bottom).abs() <= 1.0
            );
            let ours = f64::from(scores[[0, 0, row, col]]);
            eprintln!(
                "{}: cell ({row}, {col}) ours {ours:.7} dlib {confidence:.7} diff {:.1e}",
                img["image"],
                (ours - confidence).abs()
            );
            assert!(
                (ours - confidence).abs() < 1e-4,
                "ours {ours}, dlib {confidence}"
            );
            // dlib reports the local maximum after non-max suppression.
            for dr in -1i64..=1 {
                for dc in -1i64..=1 {
                    let (rr, cc) = ((row as i64 + dr) as usize, (col as i64 + dc) as usize);
                    assert!(f64::from(scores[[0, 0, rr, cc]]) <= ours + 1e-6);
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "only {checked} detections could be compared");
}
