//! What the MMOD face detector's file says about running it.

use super::dnn::{DetectorWindow, Entry, Input, Layer, Loss, Network};

/// Detector parameters read from `mmod_human_face_detector.dat`, plus the geometry of
/// its score map derived from its layers.
///
/// Mapping a score-map cell back to pixels (dlib's `loss_mmod_::tensor_to_dets`): cell
/// `(row, col)` of the ONNX output is centred on canvas point
/// `(output_stride * col + output_offset, output_stride * row + output_offset)` of the
/// network's input tensor; the detection is the `width × height` window centred there
/// (dlib's `centered_drect`: half-extent `(w − 1) / 2`), then mapped from the pyramid
/// canvas to the original image by subtracting the level's top-left in the canvas
/// and dividing by the level's scale. A cell is a detection when its score is
/// `> 0` (dlib's default `adjust_threshold`); detections are sorted by score and
/// suppressed greedily with [`MmodOptions::overlaps_nms`].
///
/// dlib builds the canvas with `pyramid_down<pyramid_downsample.1>` (each level 5/6 of
/// the previous), levels stacked with `pyramid_padding` pixels between them and
/// `pyramid_outer_padding` around them; canvas pixels outside every level are 0 after
/// normalisation, so a caller building the raw-RGB canvas for the ONNX graph fills
/// them with [`MmodOptions::means`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MmodOptions {
    pub detector_windows: Vec<DetectorWindow>,
    /// Non-max suppression: (IoU threshold, fraction-covered threshold); two boxes
    /// overlap when IoU > the first or either covers more than the second of the other.
    pub overlaps_nms: (f64, f64),
    pub overlaps_ignore: (f64, f64),
    pub use_bounding_box_regression: bool,
    /// Per-channel means (R, G, B) subtracted before dividing by 256.
    pub means: [f32; 3],
    pub pyramid_padding: u32,
    pub pyramid_outer_padding: u32,
    /// The pyramid's downsampling ratio (numerator, denominator): (5, 6). Not stored in
    /// the file (a template parameter of dlib's network type), fixed by the model.
    pub pyramid_downsample: (u32, u32),
    /// Score-map cell spacing in canvas pixels (8 for this network).
    pub output_stride: f64,
    /// Canvas coordinate of cell 0's centre (14 for this network).
    pub output_offset: f64,
}

impl MmodOptions {
    /// Reads the options from a parsed MMOD network.
    pub fn from_network(net: &Network) -> Result<Self, String> {
        let Loss::Mmod(loss) = &net.loss else {
            return Err("not an MMOD network (loss is not loss_mmod)".into());
        };
        let Input::RgbPyramid {
            means,
            padding,
            outer_padding,
        } = &net.input
        else {
            return Err("MMOD network without an image-pyramid input".into());
        };
        // Compose each layer's output→input point map (dlib's map_output_to_input),
        // top-down: x_in = x_out * stride - pad + kernel / 2.
        let (mut stride, mut offset) = (1.0f64, 0.0f64);
        for entry in net.entries.iter().rev() {
            match entry {
                Entry::Layer(Layer::Con {
                    kernel,
                    stride: s,
                    pad,
                    ..
                })
                | Entry::Layer(Layer::MaxPool {
                    kernel,
                    stride: s,
                    pad,
                    ..
                })
                | Entry::Layer(Layer::AvgPool {
                    kernel,
                    stride: s,
                    pad,
                    ..
                }) => {
                    if s[0] != s[1] || pad[0] != pad[1] || kernel[0] != kernel[1] {
                        return Err("non-square layers are not supported".into());
                    }
                    let (s, p, k) = (s[1] as f64, pad[1] as f64, (kernel[1] / 2) as f64);
                    offset = offset * s - p + k;
                    stride *= s;
                }
                Entry::Layer(_) => {}
                Entry::Marker => return Err("unexpected tag/skip in the MMOD network".into()),
            }
        }
        Ok(MmodOptions {
            detector_windows: loss.detector_windows.clone(),
            overlaps_nms: loss.overlaps_nms,
            overlaps_ignore: loss.overlaps_ignore,
            use_bounding_box_regression: loss.use_bounding_box_regression,
            means: *means,
            pyramid_padding: *padding,
            pyramid_outer_padding: *outer_padding,
            pyramid_downsample: (5, 6),
            output_stride: stride,
            output_offset: offset,
        })
    }

    /// Centre, in input-canvas pixels, of score-map cell `(row, col)`: `(x, y)`.
    pub fn cell_center(&self, row: usize, col: usize) -> (f64, f64) {
        (
            self.output_stride * col as f64 + self.output_offset,
            self.output_stride * row as f64 + self.output_offset,
        )
    }

    /// The detection window of cell `(row, col)` for window `k`, in canvas pixels, as
    /// dlib's inclusive `drectangle` `(left, top, right, bottom)`.
    pub fn cell_window(&self, row: usize, col: usize, k: usize) -> Option<(f64, f64, f64, f64)> {
        let w = self.detector_windows.get(k)?;
        let (x, y) = self.cell_center(row, col);
        let (hw, hh) = (
            (f64::from(w.width) - 1.0) / 2.0,
            (f64::from(w.height) - 1.0) / 2.0,
        );
        Some((x - hw, y - hh, x + hw, y + hh))
    }
}
