//! dlib DNN files (`dlib/dnn/core.h`, `layers.h`, `input.h`, `loss.h`).
//!
//! A dlib network is a nest of C++ templates serialized outermost first: the loss
//! wrapper, then for every layer its wrapper's version integer, down to the innermost
//! layer which carries the input layer; the layer records then follow bottom-up as the
//! recursion unwinds. Tag and skip wrappers (version 1) carry nothing else, and which
//! tag or skip they are is a template parameter that is *not* in the file: the
//! topology around them must be known to the importer ([`Entry::Marker`]).

use super::reader::{DatError, Reader};

/// A parsed network: loss, input and the layers bottom-up (input side first).
#[derive(Clone, Debug)]
pub struct Network {
    pub loss: Loss,
    pub input: Input,
    pub entries: Vec<Entry>,
}

/// One wrapper of the nest, bottom-up.
#[derive(Clone, Debug)]
pub enum Entry {
    Layer(Layer),
    /// A `tagN` or `skipN` wrapper; which one is not recorded in the file.
    Marker,
}

#[derive(Clone, Debug)]
pub enum Loss {
    /// `loss_metric`: the descriptor's metric-learning loss.
    Metric {
        margin: f32,
        distance_threshold: f32,
    },
    /// `loss_mmod`: max-margin object detection.
    Mmod(MmodLoss),
}

/// `mmod_options` as stored (`dlib/dnn/loss.h`).
#[derive(Clone, Debug, PartialEq)]
pub struct MmodLoss {
    pub detector_windows: Vec<DetectorWindow>,
    pub loss_per_false_alarm: f64,
    pub loss_per_missed_target: f64,
    pub truth_match_iou_threshold: f64,
    /// Non-max suppression: (IoU threshold, percent-covered threshold).
    pub overlaps_nms: (f64, f64),
    pub overlaps_ignore: (f64, f64),
    pub assume_image_pyramid: bool,
    pub use_bounding_box_regression: bool,
    pub bbr_lambda: f64,
}

/// A sliding window the detector scores, in pixels of the pyramid level.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DetectorWindow {
    pub width: u32,
    pub height: u32,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// `input_rgb_image_sized<R,C>`: value = (pixel − mean) / 256, RGB planes.
    RgbSized {
        means: [f32; 3],
        rows: usize,
        cols: usize,
    },
    /// `input_rgb_image_pyramid`: same normalisation, image tiled into a pyramid canvas.
    RgbPyramid {
        means: [f32; 3],
        padding: u32,
        outer_padding: u32,
    },
}

/// Layer records, with weights in inference form.
#[derive(Clone, Debug)]
pub enum Layer {
    /// `con_`: OIHW filters.
    Con {
        filters: usize,
        in_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
        relu: bool,
    },
    /// `bn_` in conv mode, as the per-channel affine it is at inference.
    BatchNorm {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    /// `affine_` per channel (`disabled` makes it the identity).
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
        disabled: bool,
    },
    Relu {
        disabled: bool,
    },
    /// `add_prev_`: adds the output of the nearest matching tag below.
    AddPrev,
    /// `max_pool_`; a zero kernel means global pooling.
    MaxPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
    },
    /// `avg_pool_`; a zero kernel means global pooling.
    AvgPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
    },
    /// `fc_`: weights row-major `inputs × outputs`.
    Fc {
        inputs: usize,
        outputs: usize,
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
    },
}

impl Layer {
    /// The layer's kind, as the importers' topologies name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Con { .. } => "con",
            Layer::BatchNorm { .. } => "bn_con",
            Layer::Affine { .. } => "affine",
            Layer::Relu { .. } => "relu",
            Layer::AddPrev => "add_prev",
            Layer::MaxPool { .. } => "max_pool",
            Layer::AvgPool { .. } => "avg_pool",
            Layer::Fc { .. } => "fc",
        }
    }
}

impl Network {
    /// Parses a whole DNN `.dat` file; trailing bytes are an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, DatError> {
        let mut r = Reader::new(bytes);
        r.expect_int(1, "loss layer version")?;
        let loss = read_loss(&mut r)?;
        // Versions of the wrappers, top-down, until the innermost layer (the one whose
        // record starts with the input layer's tag).
        let mut run = Vec::new();
        let innermost_version = loop {
            let at = r.offset();
            match r.int("layer version")? {
                1 => run.push(false),
                v @ (2 | 3) if next_is_input(&r) => break v,
                2 => run.push(true),
                v => {
                    return Err(DatError::Unexpected {
                        offset: at,
                        what: "layer version",
                        found: v.to_string(),
                        expected: "1, 2 or 3".into(),
                    })
                }
            }
        };
        let input = read_input(&mut r)?;
        let mut entries = vec![Entry::Layer(read_layer(&mut r)?)];
        read_layer_state(&mut r)?;
        if innermost_version == 3 {
            r.uint("sample expansion factor")?;
        }
        for is_layer in run.into_iter().rev() {
            if is_layer {
                entries.push(Entry::Layer(read_layer(&mut r)?));
                read_layer_state(&mut r)?;
            } else {
                entries.push(Entry::Marker);
            }
        }
        r.finish()?;
        Ok(Network {
            loss,
            input,
            entries,
        })
    }

    /// The layers bottom-up, markers left out.
    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Layer(l) => Some(l),
            Entry::Marker => None,
        })
    }
}

fn next_is_input(r: &Reader<'_>) -> bool {
    let mut peek = r.clone();
    peek.string("peek").is_ok_and(|s| s.starts_with("input"))
}

/// Training state saved after every layer record; unused at inference.
fn read_layer_state(r: &mut Reader<'_>) -> Result<(), DatError> {
    r.bool("this_layer_setup_called")?;
    r.bool("gradient_input_is_stale")?;
    r.bool("get_output_and_gradient_input_disabled")?;
    r.tensor("x_grad")?;
    r.tensor("cached_output")?;
    r.tensor("params_grad")?;
    Ok(())
}

fn read_loss(r: &mut Reader<'_>) -> Result<Loss, DatError> {
    match r.tag(
        &["loss_metric_", "loss_metric_2", "loss_mmod_"],
        "loss layer",
    )? {
        // The first version hard-coded these values.
        "loss_metric_" => Ok(Loss::Metric {
            margin: 0.1,
            distance_threshold: 0.75,
        }),
        "loss_metric_2" => Ok(Loss::Metric {
            margin: r.f32("margin")?,
            distance_threshold: r.f32("distance threshold")?,
        }),
        _ => Ok(Loss::Mmod(read_mmod_options(r)?)),
    }
}

fn read_mmod_options(r: &mut Reader<'_>) -> Result<MmodLoss, DatError> {
    let at = r.offset();
    let version = r.int("mmod_options version")?;
    if !(1..=4).contains(&version) {
        return Err(DatError::Unexpected {
            offset: at,
            what: "mmod_options version",
            found: version.to_string(),
            expected: "1 to 4".into(),
        });
    }
    let detector_windows = if version == 1 {
        vec![DetectorWindow {
            width: window_dim(r)?,
            height: window_dim(r)?,
            label: String::new(),
        }]
    } else {
        let n = r.count(4, "detector windows")?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.offset();
            let dv = r.int("detector window version")?;
            if dv != 1 && dv != 2 {
                return Err(DatError::Unexpected {
                    offset: at,
                    what: "detector window version",
                    found: dv.to_string(),
                    expected: "1 or 2".into(),
                });
            }
            let width = window_dim(r)?;
            let height = window_dim(r)?;
            let label = if dv == 2 {
                r.string("window label")?
            } else {
                String::new()
            };
            v.push(DetectorWindow {
                width,
                height,
                label,
            });
        }
        v
    };
    let loss_per_false_alarm = r.f64("loss_per_false_alarm")?;
    let loss_per_missed_target = r.f64("loss_per_missed_target")?;
    let truth_match_iou_threshold = r.f64("truth_match_iou_threshold")?;
    let overlaps_nms = (r.f64("overlaps_nms")?, r.f64("overlaps_nms")?);
    let overlaps_ignore = (r.f64("overlaps_ignore")?, r.f64("overlaps_ignore")?);
    let assume_image_pyramid = if version >= 3 {
        r.u8("assume_image_pyramid")? != 0
    } else {
        true
    };
    let (use_bounding_box_regression, bbr_lambda) = if version >= 4 {
        (r.bool("use_bounding_box_regression")?, r.f64("bbr_lambda")?)
    } else {
        (false, 100.0)
    };
    Ok(MmodLoss {
        detector_windows,
        loss_per_false_alarm,
        loss_per_missed_target,
        truth_match_iou_threshold,
        overlaps_nms,
        overlaps_ignore,
        assume_image_pyramid,
        use_bounding_box_regression,
        bbr_lambda,
    })
}

fn window_dim(r: &mut Reader<'_>) -> Result<u32, DatError> {
    let at = r.offset();
    u32::try_from(r.uint("detector window size")?).map_err(|_| DatError::OutOfRange {
        offset: at,
        what: "detector window size",
    })
}

fn read_input(r: &mut Reader<'_>) -> Result<Input, DatError> {
    let tag = r.tag(
        &[
            "input_rgb_image_sized",
            "input_rgb_image_pyramid",
            "input_rgb_image_pyramid2",
        ],
        "input layer",
    )?;
    let means = [r.f32("avg_red")?, r.f32("avg_green")?, r.f32("avg_blue")?];
    Ok(match tag {
        "input_rgb_image_sized" => Input::RgbSized {
            means,
            rows: r.dim("input rows")?,
            cols: r.dim("input cols")?,
        },
        "input_rgb_image_pyramid2" => {
            let at = r.offset();
            let padding = u32::try_from(r.uint("pyramid_padding")?);
            let outer = u32::try_from(r.uint("pyramid_outer_padding")?);
            match (padding, outer) {
                (Ok(padding), Ok(outer_padding)) => Input::RgbPyramid {
                    means,
                    padding,
                    outer_padding,
                },
                _ => {
                    return Err(DatError::OutOfRange {
                        offset: at,
                        what: "pyramid padding",
                    })
                }
            }
        }
        // The first version had these paddings hard-coded.
        _ => Input::RgbPyramid {
            means,
            padding: 10,
            outer_padding: 11,
        },
    })
}

const LAYER_TAGS: &[&str] = &[
    "con_4",
    "con_5",
    "con_6",
    "bn_con2",
    "affine_",
    "affine_2",
    "relu_",
    "relu_2",
    "add_prev_",
    "max_pool_2",
    "avg_pool_2",
    "fc_2",
    "fc_3",
];

fn read_layer(r: &mut Reader<'_>) -> Result<Layer, DatError> {
    let at = r.offset();
    let tag = r.tag(LAYER_TAGS, "layer record")?;
    match tag {
        "con_4" | "con_5" | "con_6" => {
            let params = r.tensor("con params")?;
            let filters = r.dim("num_filters")?;
            let kernel = [r.dim("con nr")?, r.dim("con nc")?];
            let stride = [r.dim("stride_y")?, r.dim("stride_x")?];
            let pad = [r.dim("padding_y")?, r.dim("padding_x")?];
            let wshape = r.alias("filters alias")?;
            let _bshape = r.alias("biases alias")?;
            for _ in 0..4 {
                r.f64("learning-rate multiplier")?;
            }
            let use_bias = if tag != "con_4" {
                r.bool("use_bias")?
            } else {
                true
            };
            let relu = if tag == "con_6" {
                r.bool("use_relu")?
            } else {
                false
            };
            let in_channels = wshape[1];
            let n_weights = filters * in_channels * kernel[0] * kernel[1];
            if wshape != [filters, in_channels, kernel[0], kernel[1]] || params.len() < n_weights {
                return Err(inconsistent(
                    at,
                    "con",
                    format!("filters {wshape:?}, params {}", params.len()),
                ));
            }
            let bias = if use_bias {
                let b = params
                    .data
                    .get(n_weights..n_weights + filters)
                    .ok_or_else(|| {
                        inconsistent(at, "con", format!("no room for {filters} biases in params"))
                    })?;
                Some(b.to_vec())
            } else {
                None
            };
            let mut weights = params.data;
            weights.truncate(n_weights);
            Ok(Layer::Con {
                filters,
                in_channels,
                kernel,
                stride,
                pad,
                weights,
                bias,
                relu,
            })
        }
        "bn_con2" => {
            let params = r.tensor("bn params")?;
            r.alias("gamma alias")?;
            r.alias("beta alias")?;
            r.tensor("means")?;
            r.tensor("invstds")?;
            let running_means = r.tensor("running_means")?;
            let running_vars = r.tensor("running_variances")?;
            r.uint("num_updates")?;
            r.uint("running_stats_window_size")?;
            for _ in 0..4 {
                r.f64("learning-rate multiplier")?;
            }
            let eps = r.f64("eps")?;
            let k = running_means.len();
            if params.len() != 2 * k || running_vars.len() != k {
                return Err(inconsistent(
                    at,
                    "bn_con",
                    format!("params {}, channels {k}", params.len()),
                ));
            }
            let (gamma, beta) = params.data.split_at(k);
            let scale: Vec<f32> = gamma
                .iter()
                .zip(&running_vars.data)
                .map(|(g, v)| (f64::from(*g) / (f64::from(*v) + eps).sqrt()) as f32)
                .collect();
            let shift = beta
                .iter()
                .zip(&scale)
                .zip(&running_means.data)
                .map(|((b, s), m)| b - s * m)
                .collect();
            Ok(Layer::BatchNorm { scale, shift })
        }
        "affine_" | "affine_2" => {
            let params = r.tensor("affine params")?;
            let g = r.alias("gamma alias")?;
            r.alias("beta alias")?;
            let mode_at = r.offset();
            let mode = r.int("affine mode")?;
            let disabled = if tag == "affine_2" {
                r.bool("disabled")?
            } else {
                false
            };
            // Mode 0 is per channel (FC mode would be per element).
            if mode != 0 {
                return Err(DatError::Unexpected {
                    offset: mode_at,
                    what: "affine mode",
                    found: mode.to_string(),
                    expected: "0 (per channel)".into(),
                });
            }
            let k = g[1];
            if params.len() != 2 * k {
                return Err(inconsistent(
                    at,
                    "affine",
                    format!("params {}, channels {k}", params.len()),
                ));
            }
            let (scale, shift) = params.data.split_at(k);
            Ok(Layer::Affine {
                scale: scale.to_vec(),
                shift: shift.to_vec(),
                disabled,
            })
        }
        "relu_" => Ok(Layer::Relu { disabled: false }),
        "relu_2" => Ok(Layer::Relu {
            disabled: r.bool("disabled")?,
        }),
        "add_prev_" => Ok(Layer::AddPrev),
        "max_pool_2" | "avg_pool_2" => {
            let kernel = [r.dim("pool nr")?, r.dim("pool nc")?];
            let stride = [r.dim("stride_y")?, r.dim("stride_x")?];
            let pad = [r.dim("padding_y")?, r.dim("padding_x")?];
            Ok(if tag == "max_pool_2" {
                Layer::MaxPool {
                    kernel,
                    stride,
                    pad,
                }
            } else {
                Layer::AvgPool {
                    kernel,
                    stride,
                    pad,
                }
            })
        }
        _ => {
            // fc_2 / fc_3
            let outputs = r.dim("num_outputs")?;
            let inputs = r.dim("num_inputs")?;
            let params = r.tensor("fc params")?;
            r.alias("weights alias")?;
            r.alias("biases alias")?;
            let mode = r.int("bias mode")?;
            for _ in 0..4 {
                r.f64("learning-rate multiplier")?;
            }
            let use_bias = if tag == "fc_3" {
                r.bool("use_bias")?
            } else {
                true
            };
            let n = inputs * outputs;
            if params.len() < n {
                return Err(inconsistent(
                    at,
                    "fc",
                    format!("params {} < {inputs}x{outputs}", params.len()),
                ));
            }
            // Bias mode 0 = FC_HAS_BIAS, 1 = FC_NO_BIAS.
            let bias = if mode == 0 && use_bias {
                Some(
                    params
                        .data
                        .get(n..n + outputs)
                        .ok_or_else(|| inconsistent(at, "fc", "no room for biases".into()))?
                        .to_vec(),
                )
            } else {
                None
            };
            let mut weights = params.data;
            weights.truncate(n);
            Ok(Layer::Fc {
                inputs,
                outputs,
                weights,
                bias,
            })
        }
    }
}

fn inconsistent(offset: usize, what: &'static str, found: String) -> DatError {
    DatError::Unexpected {
        offset,
        what,
        found,
        expected: "consistent shapes".into(),
    }
}
