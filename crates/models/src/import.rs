//! dlib networks → ONNX.
//!
//! dlib files do not record where tag/skip wrappers point (template parameters), so
//! each importer states its network's topology, copied from the C++ type in dlib's
//! examples, and checks it step by step against the parsed file before converting.

use std::collections::HashMap;

use crate::dlib::{Entry, Input, Layer, Loss, Network};
use crate::onnx::{int, ints, Dim, GraphBuilder};

/// One step of a topology, bottom-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A layer record of this kind (see [`Layer::kind`]).
    L(&'static str),
    /// `tagN`: remember the current output under N.
    Tag(u8),
    /// `skipN`: continue from the output remembered under N.
    Skip(u8),
    /// `add_prevN`: add the output remembered under N (zero-filling the smaller).
    AddPrev(u8),
}

use Step::*;

/// dlib's `block<N, affine, stride>`: con(stride) affine relu con affine.
fn block(t: &mut Vec<Step>) {
    t.extend([L("con"), L("affine"), L("relu"), L("con"), L("affine")]);
}

/// `ares<N>` = relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>.
fn ares(t: &mut Vec<Step>) {
    t.push(Tag(1));
    block(t);
    t.extend([AddPrev(1), L("relu")]);
}

/// `ares_down<N>` = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>.
fn ares_down(t: &mut Vec<Step>) {
    t.push(Tag(1));
    block(t);
    t.extend([Tag(2), Skip(1), L("avg_pool"), AddPrev(2), L("relu")]);
}

/// The face descriptor's `anet_type` (dlib's `dnn_face_recognition_ex.cpp`), bottom-up.
fn resnet_topology() -> Vec<Step> {
    let mut t = vec![L("con"), L("affine"), L("relu"), L("max_pool")];
    // alevel4: 3 × ares<32>
    (0..3).for_each(|_| ares(&mut t));
    // alevel3: ares_down<64>, 3 × ares<64>
    ares_down(&mut t);
    (0..3).for_each(|_| ares(&mut t));
    // alevel2, alevel1: ares_down, 2 × ares
    for _ in 0..2 {
        ares_down(&mut t);
        (0..2).for_each(|_| ares(&mut t));
    }
    // alevel0: ares_down<256>
    ares_down(&mut t);
    t.extend([L("avg_pool"), L("fc")]);
    t
}

/// The MMOD detector's `net_type` (dlib's `dnn_mmod_face_detection_ex.cpp`), bottom-up:
/// downsampler (3 × con5d, bn_con, relu), 3 × rcon5, con 9×9.
fn mmod_topology() -> Vec<Step> {
    let mut t = Vec::new();
    for _ in 0..6 {
        t.extend([L("con"), L("bn_con"), L("relu")]);
    }
    t.push(L("con"));
    t
}

/// An ONNX value and its shape: channels, and spatial size when static.
#[derive(Clone, Debug)]
struct Value {
    name: String,
    c: usize,
    hw: Option<[usize; 2]>,
}

/// Checks the file against the topology, then emits the graph.
fn convert(
    b: &mut GraphBuilder,
    net: &Network,
    topo: &[Step],
    input: Value,
) -> Result<Value, String> {
    if topo.len() != net.entries.len() {
        return Err(format!(
            "the file has {} layers and wrappers, the known network {}",
            net.entries.len(),
            topo.len()
        ));
    }
    for (i, (step, entry)) in topo.iter().zip(&net.entries).enumerate() {
        let ok = match (step, entry) {
            (Tag(_) | Skip(_), Entry::Marker) => true,
            (L(kind), Entry::Layer(l)) => l.kind() == *kind,
            (AddPrev(_), Entry::Layer(l)) => l.kind() == "add_prev",
            _ => false,
        };
        if !ok {
            let found = match entry {
                Entry::Layer(l) => l.kind(),
                Entry::Marker => "tag/skip",
            };
            return Err(format!(
                "step {i} (from the input): file has {found}, expected {step:?}"
            ));
        }
    }

    let mut tags: HashMap<u8, Value> = HashMap::new();
    let mut cur = input;
    let mut i = 0;
    while i < topo.len() {
        let entry = &net.entries[i];
        match (topo[i], entry) {
            (Tag(n), _) => {
                tags.insert(n, cur.clone());
            }
            (Skip(n), _) => {
                cur = tags
                    .get(&n)
                    .cloned()
                    .ok_or(format!("skip{n} without tag{n}"))?;
            }
            (AddPrev(n), _) => {
                let other = tags
                    .get(&n)
                    .cloned()
                    .ok_or(format!("add_prev{n} without tag{n}"))?;
                cur = add_zero_filled(b, &cur, &other)?;
            }
            (L(_), Entry::Layer(layer)) => {
                // A following per-channel affine (batch norm at inference) folds into
                // the convolution's weights.
                let fold = match (layer, net.entries.get(i + 1)) {
                    (Layer::Con { .. }, Some(Entry::Layer(Layer::BatchNorm { scale, shift }))) => {
                        Some((scale.as_slice(), shift.as_slice()))
                    }
                    (
                        Layer::Con { .. },
                        Some(Entry::Layer(Layer::Affine {
                            scale,
                            shift,
                            disabled: false,
                        })),
                    ) => Some((scale.as_slice(), shift.as_slice())),
                    _ => None,
                };
                cur = emit_layer(b, layer, &cur, fold)?;
                if fold.is_some() {
                    i += 1;
                }
            }
            (L(_), Entry::Marker) => {
                return Err("internal: marker where a layer was checked".into())
            }
        }
        i += 1;
    }
    Ok(cur)
}

fn out_size(input: usize, k: usize, s: usize, p: usize) -> Result<usize, String> {
    (input + 2 * p)
        .checked_sub(k)
        .filter(|_| s > 0)
        .map(|d| d / s + 1)
        .ok_or_else(|| format!("window {k} larger than input {input} (+2×{p})"))
}

fn spatial(
    hw: Option<[usize; 2]>,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
) -> Result<Option<[usize; 2]>, String> {
    hw.map(|[h, w]| {
        Ok([
            out_size(h, k[0], s[0], p[0])?,
            out_size(w, k[1], s[1], p[1])?,
        ])
    })
    .transpose()
}

fn per_channel(b: &mut GraphBuilder, hint: &str, v: &[f32]) -> String {
    b.constant(hint, &[1, v.len() as i64, 1, 1], v)
}

fn emit_layer(
    b: &mut GraphBuilder,
    layer: &Layer,
    x: &Value,
    fold: Option<(&[f32], &[f32])>,
) -> Result<Value, String> {
    let v = |name: String, c: usize, hw: Option<[usize; 2]>| Value { name, c, hw };
    Ok(match layer {
        Layer::Con {
            filters,
            in_channels,
            kernel,
            stride,
            pad,
            weights,
            bias,
            relu,
        } => {
            if *in_channels != x.c {
                return Err(format!("con expects {in_channels} channels, gets {}", x.c));
            }
            let per_filter = in_channels * kernel[0] * kernel[1];
            let mut w = weights.clone();
            let mut bias = bias.clone().unwrap_or_else(|| vec![0.0; *filters]);
            if let Some((scale, shift)) = fold {
                if scale.len() != *filters {
                    return Err(format!(
                        "affine of {} channels after con of {filters}",
                        scale.len()
                    ));
                }
                for (o, (s, t)) in scale.iter().zip(shift).enumerate() {
                    w[o * per_filter..(o + 1) * per_filter]
                        .iter_mut()
                        .for_each(|x| *x *= s);
                    bias[o] = bias[o] * s + t;
                }
            }
            let dims = [
                *filters as i64,
                *in_channels as i64,
                kernel[0] as i64,
                kernel[1] as i64,
            ];
            let wn = b.constant("w", &dims, &w);
            let bn = b.constant("b", &[*filters as i64], &bias);
            let attrs = vec![
                ints("kernel_shape", &[kernel[0] as i64, kernel[1] as i64]),
                ints("strides", &[stride[0] as i64, stride[1] as i64]),
                ints(
                    "pads",
                    &[pad[0] as i64, pad[1] as i64, pad[0] as i64, pad[1] as i64],
                ),
            ];
            let mut out = b.node("Conv", &[&x.name, &wn, &bn], attrs);
            if *relu {
                out = b.node("Relu", &[&out], vec![]);
            }
            v(out, *filters, spatial(x.hw, *kernel, *stride, *pad)?)
        }
        Layer::BatchNorm { scale, shift }
        | Layer::Affine {
            scale,
            shift,
            disabled: false,
        } => {
            if scale.len() != x.c {
                return Err(format!("affine of {} channels on {}", scale.len(), x.c));
            }
            let s = per_channel(b, "scale", scale);
            let t = per_channel(b, "shift", shift);
            let m = b.node("Mul", &[&x.name, &s], vec![]);
            v(b.node("Add", &[&m, &t], vec![]), x.c, x.hw)
        }
        Layer::Affine { disabled: true, .. } | Layer::Relu { disabled: true } => x.clone(),
        Layer::Relu { disabled: false } => v(b.node("Relu", &[&x.name], vec![]), x.c, x.hw),
        Layer::AddPrev => return Err("internal: add_prev outside the topology".into()),
        Layer::MaxPool {
            kernel,
            stride,
            pad,
        }
        | Layer::AvgPool {
            kernel,
            stride,
            pad,
        } => {
            let max = matches!(layer, Layer::MaxPool { .. });
            if *kernel == [0, 0] {
                let op = if max {
                    "GlobalMaxPool"
                } else {
                    "GlobalAveragePool"
                };
                v(b.node(op, &[&x.name], vec![]), x.c, Some([1, 1]))
            } else {
                let op = if max { "MaxPool" } else { "AveragePool" };
                let attrs = vec![
                    ints("kernel_shape", &[kernel[0] as i64, kernel[1] as i64]),
                    ints("strides", &[stride[0] as i64, stride[1] as i64]),
                    ints(
                        "pads",
                        &[pad[0] as i64, pad[1] as i64, pad[0] as i64, pad[1] as i64],
                    ),
                ];
                v(
                    b.node(op, &[&x.name], attrs),
                    x.c,
                    spatial(x.hw, *kernel, *stride, *pad)?,
                )
            }
        }
        Layer::Fc {
            inputs,
            outputs,
            weights,
            bias,
        } => {
            let n_in = x.hw.map(|[h, w]| x.c * h * w);
            if n_in != Some(*inputs) {
                return Err(format!("fc expects {inputs} inputs, gets {n_in:?}"));
            }
            let flat = b.node("Flatten", &[&x.name], vec![int("axis", 1)]);
            let w = b.constant("fc_w", &[*inputs as i64, *outputs as i64], weights);
            let mut out = b.node("MatMul", &[&flat, &w], vec![]);
            if let Some(bias) = bias {
                let bn = b.constant("fc_b", &[*outputs as i64], bias);
                out = b.node("Add", &[&out, &bn], vec![]);
            }
            v(out, *outputs, None)
        }
    })
}

/// dlib's `add_prev`: the output takes the larger of each dimension; the part of the
/// smaller input that does not exist counts as zero (aligned at index 0).
fn add_zero_filled(b: &mut GraphBuilder, x: &Value, y: &Value) -> Result<Value, String> {
    let (Some(hx), Some(hy)) = (x.hw, y.hw) else {
        return Err("add_prev needs static spatial sizes".into());
    };
    let (c, h, w) = (x.c.max(y.c), hx[0].max(hy[0]), hx[1].max(hy[1]));
    let mut pad_to = |v: &Value, hw: [usize; 2]| -> String {
        if (v.c, hw[0], hw[1]) == (c, h, w) {
            return v.name.clone();
        }
        let pads = [
            0,
            0,
            0,
            0,
            0,
            (c - v.c) as i64,
            (h - hw[0]) as i64,
            (w - hw[1]) as i64,
        ];
        let p = b.constant_i64("pads", &pads);
        b.node("Pad", &[&v.name, &p], vec![])
    };
    let a = pad_to(x, hx);
    let bb = pad_to(y, hy);
    let name = b.node("Add", &[&a, &bb], vec![]);
    Ok(Value {
        name,
        c,
        hw: Some([h, w]),
    })
}

/// `(raw − mean) / 256` per channel, as dlib's input layers compute it.
fn normalise(b: &mut GraphBuilder, input: &str, means: &[f32; 3]) -> String {
    let m = b.constant("mean", &[1, 3, 1, 1], means);
    let centred = b.node("Sub", &[input, &m], vec![]);
    // 1/256 is exact in f32, so this multiplication equals dlib's division.
    let scale = b.constant("inv256", &[1], &[1.0 / 256.0]);
    b.node("Mul", &[&centred, &scale], vec![])
}

/// The face descriptor: input `image` [N,3,150,150] raw RGB 0-255, output
/// `descriptor` [N,128].
pub(crate) fn resnet_to_onnx(net: &Network) -> Result<Vec<u8>, String> {
    let Loss::Metric { .. } = net.loss else {
        return Err("not a metric-learning network".into());
    };
    let Input::RgbSized { means, rows, cols } = &net.input else {
        return Err("expected a fixed-size RGB input".into());
    };
    let mut b = GraphBuilder::default();
    let x = normalise(&mut b, "image", means);
    let out = convert(
        &mut b,
        net,
        &resnet_topology(),
        Value {
            name: x,
            c: 3,
            hw: Some([*rows, *cols]),
        },
    )?;
    b.node_named("Identity", &[&out.name], vec![], "descriptor");
    let doc = "dlib_face_recognition_resnet_model_v1 imported by renlian-models: \
               input raw RGB 0-255 NCHW, output the 128-d face descriptor";
    let (r, c) = (*rows as i64, *cols as i64);
    Ok(b.finish(
        doc,
        (
            "image",
            &[Dim::Named("N"), Dim::Fixed(3), Dim::Fixed(r), Dim::Fixed(c)],
        ),
        ("descriptor", &[Dim::Named("N"), Dim::Fixed(out.c as i64)]),
    ))
}

/// The MMOD detector: input `image` [1,3,H,W] raw RGB 0-255 (a pyramid canvas), output
/// `scores` [1,1,H',W'], the raw score map.
pub(crate) fn mmod_to_onnx(net: &Network) -> Result<Vec<u8>, String> {
    let Loss::Mmod(_) = net.loss else {
        return Err("not an MMOD network".into());
    };
    let Input::RgbPyramid { means, .. } = &net.input else {
        return Err("expected an image-pyramid input".into());
    };
    let mut b = GraphBuilder::default();
    let x = normalise(&mut b, "image", means);
    let out = convert(
        &mut b,
        net,
        &mmod_topology(),
        Value {
            name: x,
            c: 3,
            hw: None,
        },
    )?;
    b.node_named("Identity", &[&out.name], vec![], "scores");
    let doc = "mmod_human_face_detector imported by renlian-models: input raw RGB 0-255 \
               NCHW canvas, output the raw MMOD score map (stride 8, offset 14)";
    Ok(b.finish(
        doc,
        (
            "image",
            &[
                Dim::Fixed(1),
                Dim::Fixed(3),
                Dim::Named("H"),
                Dim::Named("W"),
            ],
        ),
        (
            "scores",
            &[
                Dim::Fixed(1),
                Dim::Fixed(out.c as i64),
                Dim::Named("OH"),
                Dim::Named("OW"),
            ],
        ),
    ))
}
