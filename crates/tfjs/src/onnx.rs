//! Graph model → ONNX (opset 13), for tract.
//!
//! Tensors stay in TensorFlow's NHWC layout throughout, so that reshapes, concatenations
//! and reductions keep their TensorFlow meaning unchanged; only the ops ONNX defines
//! on NCHW (convolutions and pooling) are wrapped in a pair of transposes, which tract's
//! optimiser folds away where it can. Weights become initializers (filters reordered
//! to ONNX's OIHW, depthwise filters to grouped convolutions).

use std::collections::{HashMap, HashSet};

use prost::Message;
use tract_onnx::pb;

use crate::model::{node_of, GraphModel, Node};
use crate::weights::{Tensor, TensorData};
use crate::TfjsError;

/// TensorFlow ops the converter handles (besides `Const` and `Placeholder`).
pub const SUPPORTED_OPS: &[&str] = &[
    "Abs",
    "Add",
    "AddV2",
    "AvgPool",
    "BiasAdd",
    "ConcatV2",
    "Conv2D",
    "DepthwiseConv2dNative",
    "Elu",
    "Exp",
    "ExpandDims",
    "FusedDepthwiseConv2dNative",
    "Identity",
    "LeakyRelu",
    "Log",
    "MatMul",
    "Max",
    "MaxPool",
    "Maximum",
    "Mean",
    "Min",
    "Minimum",
    "Mul",
    "Neg",
    "Pad",
    "PadV2",
    "Prelu",
    "Prod",
    "RealDiv",
    "Relu",
    "Relu6",
    "Reshape",
    "Rsqrt",
    "Sigmoid",
    "Softmax",
    "Sqrt",
    "Square",
    "SquaredDifference",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "_FusedConv2D",
    "_FusedMatMul",
];

const DT_FLOAT: i32 = 1;
const DT_INT32: i32 = 6;
const DT_INT64: i32 = 7;
const DT_BOOL: i32 = 9;

const NHWC_TO_NCHW: [i64; 4] = [0, 3, 1, 2];
const NCHW_TO_NHWC: [i64; 4] = [0, 2, 3, 1];

/// Converts a graph model to an encoded ONNX `ModelProto`.
pub fn to_onnx(model: &GraphModel) -> Result<Vec<u8>, TfjsError> {
    Ok(to_onnx_proto(model)?.encode_to_vec())
}

/// Converts a graph model to an ONNX `ModelProto` (tract's protobuf types).
///
/// Graph inputs are named after the placeholders, graph outputs after the model's
/// output nodes (`Identity`, `Identity_1`, …) in [`GraphModel::outputs`] order. A free
/// first dimension (-1) becomes the symbol `N`.
pub fn to_onnx_proto(model: &GraphModel) -> Result<pb::ModelProto, TfjsError> {
    let mut c = Converter::new(model)?;
    for name in c.order()? {
        let node = c.nodes[name.as_str()];
        if node.op == "Const" {
            // Emitted on first use, in the form the user needs (filters reordered), so
            // that no unused copy of a weight ends up in the graph.
            continue;
        }
        let out = c.convert(node)?;
        c.values.insert(node.name.clone(), out);
    }
    let mut outputs = Vec::new();
    for o in &model.outputs {
        let v = c.value(&o.node)?;
        c.b.node_named("Identity", &[&v], vec![], &o.node);
        outputs.push(value_info(&o.node, None));
    }
    let inputs = c.graph_inputs;
    let graph = pb::GraphProto {
        node: c.b.nodes,
        name: "tfjs-graph-model".into(),
        initializer: c.b.inits,
        input: inputs,
        output: outputs,
        doc_string: model.generated_by.clone().unwrap_or_default(),
        ..Default::default()
    };
    Ok(pb::ModelProto {
        ir_version: 7,
        producer_name: "renlian-tfjs".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph),
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        ..Default::default()
    })
}

fn value_info(
    name: &str,
    shape: Option<&[pb::tensor_shape_proto::Dimension]>,
) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.to_string(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: DT_FLOAT,
                shape: shape.map(|d| pb::TensorShapeProto { dim: d.to_vec() }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Nodes and initializers under construction.
#[derive(Default)]
struct Builder {
    nodes: Vec<pb::NodeProto>,
    inits: Vec<pb::TensorProto>,
    next: usize,
}

impl Builder {
    /// A fresh value name; `#` never occurs in TensorFlow node names, so no clash.
    fn fresh(&mut self, hint: &str) -> String {
        self.next += 1;
        format!("{hint}#{}", self.next)
    }

    fn init(&mut self, hint: &str, dims: &[usize], data_type: i32, raw: Vec<u8>) -> String {
        let name = self.fresh(hint);
        self.inits.push(pb::TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type,
            name: name.clone(),
            raw_data: raw,
            ..Default::default()
        });
        name
    }

    fn f32s(&mut self, hint: &str, dims: &[usize], v: &[f32]) -> String {
        self.init(
            hint,
            dims,
            DT_FLOAT,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        )
    }

    fn i64s(&mut self, hint: &str, v: &[i64]) -> String {
        self.init(
            hint,
            &[v.len()],
            DT_INT64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        )
    }

    fn node(
        &mut self,
        hint: &str,
        op: &str,
        inputs: &[&str],
        attrs: Vec<pb::AttributeProto>,
    ) -> String {
        let out = self.fresh(hint);
        self.node_named(op, inputs, attrs, &out);
        out
    }

    fn node_named(&mut self, op: &str, inputs: &[&str], attrs: Vec<pb::AttributeProto>, out: &str) {
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.to_string()],
            name: out.to_string(),
            op_type: op.to_string(),
            attribute: attrs,
            ..Default::default()
        });
    }
}

fn a_int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

fn a_ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn a_float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Float as i32,
        f: v,
        ..Default::default()
    }
}

fn a_str(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::String as i32,
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// How a convolution or pooling window is padded.
enum Padding {
    /// TensorFlow's SAME: output = ceil(input / stride), the odd pixel at the end.
    Same,
    /// Explicit `[top, left, bottom, right]` (VALID is all zero).
    Pads([i64; 4]),
}

impl Padding {
    fn attrs(&self) -> pb::AttributeProto {
        match self {
            Padding::Same => a_str("auto_pad", "SAME_UPPER"),
            Padding::Pads(p) => a_ints("pads", p),
        }
    }
}

struct Converter<'m> {
    model: &'m GraphModel,
    nodes: HashMap<&'m str, &'m Node>,
    values: HashMap<String, String>,
    consts: HashMap<String, String>,
    graph_inputs: Vec<pb::ValueInfoProto>,
    b: Builder,
}

impl<'m> Converter<'m> {
    fn new(model: &'m GraphModel) -> Result<Self, TfjsError> {
        let mut nodes = HashMap::new();
        for n in &model.nodes {
            if n.name.contains('#') {
                return Err(TfjsError::Graph(format!(
                    "node name {:?} contains '#'",
                    n.name
                )));
            }
            if nodes.insert(n.name.as_str(), n).is_some() {
                return Err(TfjsError::Graph(format!(
                    "two nodes are named {:?}",
                    n.name
                )));
            }
        }
        Ok(Converter {
            model,
            nodes,
            values: HashMap::new(),
            consts: HashMap::new(),
            graph_inputs: Vec::new(),
            b: Builder::default(),
        })
    }

    /// The nodes the outputs depend on, inputs first (iterative depth-first search,
    /// so a deep or cyclic hostile graph cannot overflow the stack).
    fn order(&self) -> Result<Vec<String>, TfjsError> {
        #[derive(PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        let mut marks: HashMap<&str, Mark> = HashMap::new();
        let mut order = Vec::new();
        for out in &self.model.outputs {
            let mut stack: Vec<(&str, bool)> = vec![(out.node.as_str(), false)];
            while let Some((name, expanded)) = stack.pop() {
                if expanded {
                    marks.insert(name, Mark::Done);
                    order.push(name.to_string());
                    continue;
                }
                match marks.get(name) {
                    Some(Mark::Done) => continue,
                    Some(Mark::Open) => {
                        return Err(TfjsError::Graph(format!("cycle through {name:?}")))
                    }
                    None => {}
                }
                let node = self.nodes.get(name).ok_or_else(|| {
                    TfjsError::Graph(format!("{name:?} is used but is not a node"))
                })?;
                marks.insert(name, Mark::Open);
                stack.push((name, true));
                for i in node.inputs.iter().rev() {
                    let dep = node_of(i);
                    match marks.get(dep) {
                        Some(Mark::Done) => {}
                        Some(Mark::Open) => {
                            return Err(TfjsError::Graph(format!("cycle through {dep:?}")))
                        }
                        None => stack.push((dep, false)),
                    }
                }
            }
        }
        Ok(order)
    }

    /// The ONNX value for an input reference; constants become initializers on first use.
    fn value(&mut self, input: &str) -> Result<String, TfjsError> {
        let name = single_output(input)?;
        if let Some(v) = self.values.get(name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.consts.get(name) {
            return Ok(v.clone());
        }
        let t = self.const_tensor(name)?;
        let (dt, raw) = match &t.data {
            TensorData::F32(v) => (DT_FLOAT, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            TensorData::I32(v) => (DT_INT32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            TensorData::Bool(v) => (DT_BOOL, v.iter().map(|&x| u8::from(x)).collect()),
        };
        let shape = t.shape.clone();
        let v = self.b.init(name, &shape, dt, raw);
        self.consts.insert(name.to_string(), v.clone());
        Ok(v)
    }

    /// The decoded weight behind a `Const` input.
    fn const_tensor(&self, input: &str) -> Result<&'m Tensor, TfjsError> {
        let name = single_output(input)?;
        match self.nodes.get(name) {
            Some(n) if n.op == "Const" => self.model.weights.get(name).ok_or_else(|| {
                TfjsError::Graph(format!(
                    "constant {name:?} has no entry in the weights manifest"
                ))
            }),
            Some(n) => Err(TfjsError::Graph(format!(
                "{name:?} ({}) is used where a constant is needed",
                n.op
            ))),
            None => Err(TfjsError::Graph(format!(
                "{name:?} is used but is not a node"
            ))),
        }
    }

    fn const_ints(&self, node: &Node, input: &str) -> Result<Vec<i64>, TfjsError> {
        self.const_tensor(input)?.to_i64().ok_or_else(|| {
            TfjsError::unsupported(
                &node.name,
                &node.op,
                format!("{input:?} is not an int32 constant"),
            )
        })
    }

    fn input<'a>(&self, node: &'a Node, k: usize) -> Result<&'a str, TfjsError> {
        node.inputs.get(k).map(String::as_str).ok_or_else(|| {
            TfjsError::Graph(format!("{:?} ({}) lacks input {k}", node.name, node.op))
        })
    }

    fn convert(&mut self, n: &Node) -> Result<String, TfjsError> {
        let h = n.name.as_str();
        let unary = |c: &mut Self, op: &str| -> Result<String, TfjsError> {
            let x = c.value(c.input(n, 0)?)?;
            Ok(c.b.node(h, op, &[&x], vec![]))
        };
        let binary = |c: &mut Self, op: &str| -> Result<String, TfjsError> {
            let x = c.value(c.input(n, 0)?)?;
            let y = c.value(c.input(n, 1)?)?;
            Ok(c.b.node(h, op, &[&x, &y], vec![]))
        };
        match n.op.as_str() {
            "Placeholder" => self.placeholder(n),
            "Identity" => unary(self, "Identity"),
            "Conv2D" | "_FusedConv2D" => self.conv(n, false),
            "DepthwiseConv2dNative" | "FusedDepthwiseConv2dNative" => self.conv(n, true),
            "MaxPool" | "AvgPool" => self.pool(n),
            "MatMul" | "_FusedMatMul" => self.matmul(n),
            "Add" | "AddV2" | "BiasAdd" => binary(self, "Add"),
            "Sub" => binary(self, "Sub"),
            "Mul" => binary(self, "Mul"),
            "RealDiv" => binary(self, "Div"),
            "Maximum" => binary(self, "Max"),
            "Minimum" => binary(self, "Min"),
            "SquaredDifference" => {
                let d = binary(self, "Sub")?;
                Ok(self.b.node(h, "Mul", &[&d, &d], vec![]))
            }
            "Prelu" => binary(self, "PRelu"),
            "Relu" => unary(self, "Relu"),
            "Sigmoid" => unary(self, "Sigmoid"),
            "Tanh" => unary(self, "Tanh"),
            "Abs" => unary(self, "Abs"),
            "Neg" => unary(self, "Neg"),
            "Exp" => unary(self, "Exp"),
            "Log" => unary(self, "Log"),
            "Sqrt" => unary(self, "Sqrt"),
            "Rsqrt" => {
                let s = unary(self, "Sqrt")?;
                Ok(self.b.node(h, "Reciprocal", &[&s], vec![]))
            }
            "Square" => {
                let x = self.value(self.input(n, 0)?)?;
                Ok(self.b.node(h, "Mul", &[&x, &x], vec![]))
            }
            "Relu6" | "Elu" | "LeakyRelu" => {
                let x = self.value(self.input(n, 0)?)?;
                let alpha = n.attr_float_or("alpha", 0.2)?;
                self.activation(n, &x, &n.op, None, alpha)
            }
            "Softmax" => {
                let x = self.value(self.input(n, 0)?)?;
                Ok(self.b.node(h, "Softmax", &[&x], vec![a_int("axis", -1)]))
            }
            "Reshape" => {
                let x = self.value(self.input(n, 0)?)?;
                let shape = self.const_ints(n, self.input(n, 1)?)?;
                if shape.contains(&0) {
                    // ONNX reads 0 as "copy this dimension", TensorFlow as an empty one.
                    return Err(TfjsError::unsupported(
                        h,
                        &n.op,
                        "a zero-sized target dimension",
                    ));
                }
                let s = self.b.i64s(h, &shape);
                Ok(self.b.node(h, "Reshape", &[&x, &s], vec![]))
            }
            "Pad" | "PadV2" => {
                let x = self.value(self.input(n, 0)?)?;
                let p = self.const_ints(n, self.input(n, 1)?)?;
                if p.len() % 2 != 0 {
                    return Err(TfjsError::unsupported(
                        h,
                        &n.op,
                        "paddings are not [rank, 2]",
                    ));
                }
                let mut pads: Vec<i64> = p.iter().step_by(2).copied().collect();
                pads.extend(p.iter().skip(1).step_by(2));
                let pads = self.b.i64s(h, &pads);
                if n.op == "PadV2" {
                    let v = self.value(self.input(n, 2)?)?;
                    Ok(self.b.node(h, "Pad", &[&x, &pads, &v], vec![]))
                } else {
                    Ok(self.b.node(h, "Pad", &[&x, &pads], vec![]))
                }
            }
            "ConcatV2" => {
                let count = n
                    .inputs
                    .len()
                    .checked_sub(1)
                    .filter(|&c| c > 0)
                    .ok_or_else(|| {
                        TfjsError::Graph(format!("{h:?} (ConcatV2) has no inputs to join"))
                    })?;
                let axis = scalar(n, self.const_ints(n, &n.inputs[count])?)?;
                let xs = n.inputs[..count]
                    .iter()
                    .map(|i| self.value(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let refs: Vec<&str> = xs.iter().map(String::as_str).collect();
                Ok(self.b.node(h, "Concat", &refs, vec![a_int("axis", axis)]))
            }
            "Mean" | "Max" | "Min" | "Prod" | "Sum" => {
                let x = self.value(self.input(n, 0)?)?;
                let axes = self.const_ints(n, self.input(n, 1)?)?;
                let keep = i64::from(n.attr_bool_or("keep_dims", false)?);
                if n.op == "Sum" {
                    // ReduceSum takes its axes as an input from opset 13 on.
                    let a = self.b.i64s(h, &axes);
                    return Ok(self.b.node(
                        h,
                        "ReduceSum",
                        &[&x, &a],
                        vec![a_int("keepdims", keep)],
                    ));
                }
                let op = match n.op.as_str() {
                    "Mean" => "ReduceMean",
                    "Max" => "ReduceMax",
                    "Min" => "ReduceMin",
                    _ => "ReduceProd",
                };
                Ok(self.b.node(
                    h,
                    op,
                    &[&x],
                    vec![a_ints("axes", &axes), a_int("keepdims", keep)],
                ))
            }
            "Squeeze" => {
                let x = self.value(self.input(n, 0)?)?;
                let dims = n.attr_ints("squeeze_dims")?;
                if dims.is_empty() {
                    return Ok(self.b.node(h, "Squeeze", &[&x], vec![]));
                }
                let a = self.b.i64s(h, &dims);
                Ok(self.b.node(h, "Squeeze", &[&x, &a], vec![]))
            }
            "ExpandDims" => {
                let x = self.value(self.input(n, 0)?)?;
                let axis = scalar(n, self.const_ints(n, self.input(n, 1)?)?)?;
                let a = self.b.i64s(h, &[axis]);
                Ok(self.b.node(h, "Unsqueeze", &[&x, &a], vec![]))
            }
            other => Err(TfjsError::unsupported(
                h,
                other,
                "no conversion is implemented",
            )),
        }
    }

    fn placeholder(&mut self, n: &Node) -> Result<String, TfjsError> {
        match n.attrs.get("dtype") {
            None => {}
            Some(crate::AttrValue::Type(t)) if t == "DT_FLOAT" => {}
            Some(other) => {
                return Err(TfjsError::unsupported(
                    &n.name,
                    "Placeholder",
                    format!("input dtype {other:?} (only DT_FLOAT)"),
                ))
            }
        }
        let shape = self
            .model
            .inputs
            .iter()
            .find(|i| i.node == n.name)
            .and_then(|i| i.shape.clone());
        let dims = shape.map(|s| {
            s.iter()
                .enumerate()
                .map(|(k, &d)| pb::tensor_shape_proto::Dimension {
                    value: Some(if d >= 0 {
                        pb::tensor_shape_proto::dimension::Value::DimValue(d)
                    } else if k == 0 {
                        pb::tensor_shape_proto::dimension::Value::DimParam("N".into())
                    } else {
                        pb::tensor_shape_proto::dimension::Value::DimParam(format!("d{k}"))
                    }),
                    ..Default::default()
                })
                .collect::<Vec<_>>()
        });
        self.graph_inputs.push(value_info(&n.name, dims.as_deref()));
        Ok(n.name.clone())
    }

    /// `[1, h, w, 1]` attributes (strides, dilations, ksize) → `[h, w]`.
    fn hw(&self, n: &Node, attr: &str, default: [i64; 2]) -> Result<[i64; 2], TfjsError> {
        let v = n.attr_ints(attr)?;
        match v.as_slice() {
            [] => Ok(default),
            [1, h, w, 1] if *h > 0 && *w > 0 => Ok([*h, *w]),
            _ => Err(TfjsError::attr(
                &n.name,
                attr,
                format!("{v:?} is not [1, h, w, 1]"),
            )),
        }
    }

    fn padding(&self, n: &Node) -> Result<Padding, TfjsError> {
        match n.attr_str("padding")?.as_str() {
            "SAME" => Ok(Padding::Same),
            "VALID" => Ok(Padding::Pads([0; 4])),
            "EXPLICIT" => match n.attr_ints("explicit_paddings")?.as_slice() {
                [0, 0, t, b, l, r, 0, 0] => Ok(Padding::Pads([*t, *l, *b, *r])),
                other => Err(TfjsError::attr(
                    &n.name,
                    "explicit_paddings",
                    format!("{other:?} pads the batch or channels"),
                )),
            },
            other => Err(TfjsError::attr(
                &n.name,
                "padding",
                format!("{other:?} is unknown"),
            )),
        }
    }

    fn check_nhwc(&self, n: &Node) -> Result<(), TfjsError> {
        match n.attrs.get("data_format") {
            None => Ok(()),
            Some(_) => match n.attr_str("data_format")?.as_str() {
                "NHWC" => Ok(()),
                other => Err(TfjsError::unsupported(
                    &n.name,
                    &n.op,
                    format!("data format {other}"),
                )),
            },
        }
    }

    fn conv(&mut self, n: &Node, depthwise: bool) -> Result<String, TfjsError> {
        let h = n.name.as_str();
        self.check_nhwc(n)?;
        let x = self.value(self.input(n, 0)?)?;
        let f = self.const_tensor(self.input(n, 1)?)?;
        let [kh, kw, ci, co] = match f.shape.as_slice() {
            [a, b, c, d] => [*a, *b, *c, *d],
            _ => return Err(TfjsError::unsupported(h, &n.op, "the filter is not 4-D")),
        };
        let fv = f.to_f32();
        // HWIO (depthwise: H, W, C, multiplier) → OIHW (depthwise: C·multiplier, 1, H, W).
        let (o, i) = if depthwise { (ci * co, 1) } else { (co, ci) };
        let mut w = vec![0f32; fv.len()];
        for y in 0..kh {
            for xx in 0..kw {
                for c in 0..ci {
                    for m in 0..co {
                        let src = ((y * kw + xx) * ci + c) * co + m;
                        let (oc, ic) = if depthwise { (c * co + m, 0) } else { (m, c) };
                        w[((oc * i + ic) * kh + y) * kw + xx] = fv[src];
                    }
                }
            }
        }
        let w = self.b.f32s(h, &[o, i, kh, kw], &w);
        let strides = self.hw(n, "strides", [1, 1])?;
        let dilations = self.hw(n, "dilations", [1, 1])?;
        let pad = self.padding(n)?;
        let mut attrs = vec![
            a_ints("strides", &strides),
            a_ints("dilations", &dilations),
            a_ints("kernel_shape", &[kh as i64, kw as i64]),
            pad.attrs(),
        ];
        if depthwise {
            attrs.push(a_int("group", ci as i64));
        }
        let (bias, acts) = self.fused(n)?;
        let mut inputs = vec![String::new(), w];
        let t = self
            .b
            .node(h, "Transpose", &[&x], vec![a_ints("perm", &NHWC_TO_NCHW)]);
        inputs[0] = t;
        if let Some(b) = bias {
            let bt = self.const_tensor(&b)?;
            if bt.shape != [o] {
                return Err(TfjsError::unsupported(
                    h,
                    &n.op,
                    format!("bias shape {:?}", bt.shape),
                ));
            }
            let bv = bt.to_f32();
            inputs.push(self.b.f32s(h, &[o], &bv));
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let y = self.b.node(h, "Conv", &refs, attrs);
        let y = self
            .b
            .node(h, "Transpose", &[&y], vec![a_ints("perm", &NCHW_TO_NHWC)]);
        self.fused_activation(n, y, acts)
    }

    /// The fused ops of `_Fused*`: the bias input (when `BiasAdd` is fused) and the
    /// activation that follows, if any.
    fn fused(&self, n: &Node) -> Result<(Option<String>, Option<String>), TfjsError> {
        let ops = n.attr_strs("fused_ops")?;
        let bias = || self.input(n, 2).map(str::to_string);
        match ops
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [] => Ok((None, None)),
            ["BiasAdd"] => Ok((Some(bias()?), None)),
            ["BiasAdd", act] => Ok((Some(bias()?), Some(act.to_string()))),
            other => Err(TfjsError::unsupported(
                &n.name,
                &n.op,
                format!("fused ops {other:?}"),
            )),
        }
    }

    fn fused_activation(
        &mut self,
        n: &Node,
        y: String,
        act: Option<String>,
    ) -> Result<String, TfjsError> {
        match act {
            None => Ok(y),
            Some(act) => {
                let alpha = n.attr_float_or("leakyrelu_alpha", 0.2)?;
                let alpha_input = match act.as_str() {
                    "Prelu" => Some(self.input(n, 3)?.to_string()),
                    _ => None,
                };
                self.activation(n, &y, &act, alpha_input.as_deref(), alpha)
            }
        }
    }

    fn activation(
        &mut self,
        n: &Node,
        x: &str,
        act: &str,
        prelu_alpha: Option<&str>,
        leaky_alpha: f64,
    ) -> Result<String, TfjsError> {
        let h = n.name.as_str();
        Ok(match (act, prelu_alpha) {
            ("Relu", _) => self.b.node(h, "Relu", &[x], vec![]),
            ("Sigmoid", _) => self.b.node(h, "Sigmoid", &[x], vec![]),
            ("Elu", _) => self.b.node(h, "Elu", &[x], vec![a_float("alpha", 1.0)]),
            ("LeakyRelu", _) => self.b.node(
                h,
                "LeakyRelu",
                &[x],
                vec![a_float("alpha", leaky_alpha as f32)],
            ),
            ("Relu6", _) => {
                let lo = self.b.f32s(h, &[], &[0.0]);
                let hi = self.b.f32s(h, &[], &[6.0]);
                self.b.node(h, "Clip", &[x, &lo, &hi], vec![])
            }
            ("Prelu", Some(a)) => {
                let a = self.value(a)?;
                self.b.node(h, "PRelu", &[x, &a], vec![])
            }
            _ => {
                return Err(TfjsError::unsupported(
                    h,
                    &n.op,
                    format!("fused activation {act}"),
                ))
            }
        })
    }

    fn pool(&mut self, n: &Node) -> Result<String, TfjsError> {
        let h = n.name.as_str();
        self.check_nhwc(n)?;
        let x = self.value(self.input(n, 0)?)?;
        let k = self.hw(n, "ksize", [1, 1])?;
        let s = self.hw(n, "strides", [1, 1])?;
        let pad = self.padding(n)?;
        let op = if n.op == "MaxPool" {
            "MaxPool"
        } else {
            "AveragePool"
        };
        let t = self
            .b
            .node(h, "Transpose", &[&x], vec![a_ints("perm", &NHWC_TO_NCHW)]);
        // AveragePool's default count_include_pad = 0 matches TensorFlow's SAME averaging.
        let y = self.b.node(
            h,
            op,
            &[&t],
            vec![
                a_ints("kernel_shape", &k),
                a_ints("strides", &s),
                pad.attrs(),
            ],
        );
        Ok(self
            .b
            .node(h, "Transpose", &[&y], vec![a_ints("perm", &NCHW_TO_NHWC)]))
    }

    fn matmul(&mut self, n: &Node) -> Result<String, TfjsError> {
        let h = n.name.as_str();
        let mut a = self.value(self.input(n, 0)?)?;
        if n.attr_bool_or("transpose_a", false)? {
            a = self
                .b
                .node(h, "Transpose", &[&a], vec![a_ints("perm", &[1, 0])]);
        }
        let b_in = self.input(n, 1)?;
        let b = if n.attr_bool_or("transpose_b", false)? {
            let b = self.value(b_in)?;
            self.b
                .node(h, "Transpose", &[&b], vec![a_ints("perm", &[1, 0])])
        } else {
            self.value(b_in)?
        };
        let mut y = self.b.node(h, "MatMul", &[&a, &b], vec![]);
        let (bias, act) = self.fused(n)?;
        if let Some(bias) = bias {
            let bias = self.value(&bias)?;
            y = self.b.node(h, "Add", &[&y, &bias], vec![]);
        }
        self.fused_activation(n, y, act)
    }
}

fn single_output(input: &str) -> Result<&str, TfjsError> {
    match input.rsplit_once(':') {
        Some((node, "0")) => Ok(node),
        Some((_, idx)) if idx.chars().all(|c| c.is_ascii_digit()) => Err(TfjsError::Graph(
            format!("{input:?}: only single-output ops are supported"),
        )),
        _ => Ok(input),
    }
}

fn scalar(n: &Node, v: Vec<i64>) -> Result<i64, TfjsError> {
    match v.as_slice() {
        [x] => Ok(*x),
        _ => Err(TfjsError::unsupported(
            &n.name,
            &n.op,
            format!("expected one axis, got {v:?}"),
        )),
    }
}

/// Ops of `model` the converter cannot handle, with how many nodes use each.
pub fn unsupported_ops(model: &GraphModel) -> Vec<(String, usize)> {
    let known: HashSet<&str> = SUPPORTED_OPS
        .iter()
        .copied()
        .chain(["Const", "Placeholder"])
        .collect();
    model
        .op_counts()
        .into_iter()
        .filter(|(op, _)| !known.contains(op.as_str()))
        .collect()
}
