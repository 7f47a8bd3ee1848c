//! Reads the real dlib files from the model cache (fetching the pack on first use).

use models::dlib::{self, DatError, Entry, Layer, Loss};
use models::{DlibModel, ModelStore, NoProgress, Pack};

fn store() -> ModelStore {
    let store = ModelStore::from_env().unwrap();
    store.ensure(Pack::Dlib, &NoProgress).unwrap();
    store
}

fn read(m: DlibModel) -> Vec<u8> {
    std::fs::read(store().dlib_path(m).unwrap()).unwrap()
}

fn check_predictor(m: DlibModel, points: usize, features: usize) {
    let sp = store().shape_predictor(m).unwrap();
    assert_eq!(sp.num_points(), points);
    assert_eq!(sp.cascades.len(), 15);
    for c in &sp.cascades {
        assert_eq!(c.trees.len(), 500);
        assert_eq!(c.anchor_idx.len(), features);
        assert_eq!(c.deltas.len(), features);
        for t in &c.trees {
            assert_eq!(t.splits.len(), 15);
            assert_eq!(t.leaf_values.len(), 16);
            assert!(t.leaf_values.iter().all(|l| l.len() == 2 * points));
        }
    }
    // The mean shape is normalised to the face box.
    assert!(sp
        .initial_shape
        .iter()
        .all(|[x, y]| (-0.5..1.5).contains(x) && (-0.5..1.5).contains(y)));
}

#[test]
fn shape_predictor_5_parses_to_the_end() {
    check_predictor(DlibModel::ShapePredictor5, 5, 800);
}

#[test]
fn shape_predictor_68_parses_to_the_end() {
    check_predictor(DlibModel::ShapePredictor68, 68, 500);
}

fn count(net: &dlib::Network, kind: &str) -> usize {
    net.layers().filter(|l| l.kind() == kind).count()
}

#[test]
fn resnet_descriptor_structure() {
    let net = dlib::Network::parse(&read(DlibModel::ResnetDescriptor)).unwrap();
    assert!(
        matches!(net.loss, Loss::Metric { margin, distance_threshold }
        if (margin - 0.04).abs() < 1e-6 && (distance_threshold - 0.6).abs() < 1e-6)
    );
    assert_eq!(
        net.input,
        dlib::Input::RgbSized {
            means: [122.782, 117.001, 104.298],
            rows: 150,
            cols: 150
        }
    );
    assert_eq!(count(&net, "con"), 29);
    assert_eq!(count(&net, "affine"), 29);
    assert_eq!(count(&net, "relu"), 29);
    assert_eq!(count(&net, "max_pool"), 1);
    assert_eq!(count(&net, "avg_pool"), 5);
    assert_eq!(count(&net, "add_prev"), 14);
    assert_eq!(count(&net, "fc"), 1);
    // 14 residual blocks: one tag each, plus tag2 and skip1 in the 4 down-sampling ones.
    let markers = net
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::Marker))
        .count();
    assert_eq!(markers, 14 + 2 * 4);
    let params: usize = net
        .layers()
        .map(|l| match l {
            Layer::Con { weights, bias, .. } => weights.len() + bias.as_ref().map_or(0, Vec::len),
            Layer::Affine { scale, shift, .. } => scale.len() + shift.len(),
            Layer::Fc { weights, bias, .. } => weights.len() + bias.as_ref().map_or(0, Vec::len),
            _ => 0,
        })
        .sum();
    assert_eq!(params, 5_614_592);
}

#[test]
fn mmod_detector_options() {
    let opts = store().mmod_options().unwrap();
    assert_eq!(opts.detector_windows.len(), 1);
    assert_eq!(
        (
            opts.detector_windows[0].width,
            opts.detector_windows[0].height
        ),
        (80, 80)
    );
    assert_eq!(opts.means, [122.782, 117.001, 104.298]);
    assert_eq!((opts.pyramid_padding, opts.pyramid_outer_padding), (10, 11));
    assert_eq!(opts.output_stride, 8.0);
    assert_eq!(opts.output_offset, 14.0);
    assert!(
        (opts.overlaps_nms.0 - 0.338).abs() < 1e-3,
        "{:?}",
        opts.overlaps_nms
    );
    assert_eq!(opts.cell_window(0, 0, 0), Some((-25.5, -25.5, 53.5, 53.5)));

    let net = dlib::Network::parse(&read(DlibModel::MmodDetector)).unwrap();
    assert_eq!(count(&net, "con"), 7);
    assert_eq!(count(&net, "bn_con"), 6);
    assert_eq!(count(&net, "relu"), 6);
}

/// Every prefix of a real file is an error, never a panic: checked at many cut points.
#[test]
fn truncated_files_are_errors() {
    for (m, cuts) in [
        (DlibModel::ShapePredictor5, 97),
        (DlibModel::MmodDetector, 97),
        (DlibModel::ResnetDescriptor, 13),
    ] {
        let bytes = read(m);
        let step = (bytes.len() / cuts).max(1);
        for cut in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
            let head = &bytes[..cut];
            let err = match m {
                DlibModel::ShapePredictor5 => dlib::ShapePredictor::parse(head).err(),
                _ => dlib::Network::parse(head).err(),
            };
            assert!(err.is_some(), "{m}: a {cut}-byte prefix parsed");
        }
    }
}

#[test]
fn trailing_bytes_are_errors() {
    let mut bytes = read(DlibModel::MmodDetector);
    bytes.push(0);
    assert!(matches!(
        dlib::Network::parse(&bytes),
        Err(DatError::TrailingBytes { count: 1, .. })
    ));
}

/// Corrupting single bytes of a real file never panics.
#[test]
fn corrupted_bytes_never_panic() {
    let original = read(DlibModel::MmodDetector);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..4 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            // Bias towards the structured head of the file, where lengths live.
            let pos = (rng as usize) % if rng & 1 == 0 { 4096 } else { bytes.len() };
            bytes[pos] = (rng >> 32) as u8;
        }
        let _ = dlib::Network::parse(&bytes);
        let _ = dlib::ShapePredictor::parse(&bytes);
    }
}
