//! A small ONNX graph builder: just what the dlib importers need.
//!
//! Hand-written on `prost` because the ONNX crates either pull a whole runtime or
//! generate code at build time (needing `protoc`); the handful of messages we write
//! are declared in [`proto`].

pub mod proto;

use prost::Message;

use proto::*;

/// A dimension of a graph input or output.
pub(crate) enum Dim {
    Fixed(i64),
    Named(&'static str),
}

/// Accumulates nodes and initializers, then encodes a `ModelProto`.
#[derive(Default)]
pub(crate) struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    next: usize,
}

impl GraphBuilder {
    fn fresh(&mut self, hint: &str) -> String {
        self.next += 1;
        format!("{hint}_{}", self.next)
    }

    /// An f32 initializer.
    pub fn constant(&mut self, hint: &str, dims: &[i64], data: &[f32]) -> String {
        let name = self.fresh(hint);
        self.initializers.push(TensorProto {
            dims: dims.to_vec(),
            data_type: DT_FLOAT,
            name: name.clone(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    /// An i64 initializer (shapes, pads).
    pub fn constant_i64(&mut self, hint: &str, data: &[i64]) -> String {
        let name = self.fresh(hint);
        self.initializers.push(TensorProto {
            dims: vec![data.len() as i64],
            data_type: DT_INT64,
            name: name.clone(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    /// Adds a node with one output and returns the output's name.
    pub fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.node_named(op, inputs, attrs, &out);
        out
    }

    /// Adds a node whose single output has the given name (graph outputs).
    pub fn node_named(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>, out: &str) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.to_string()],
            name: out.to_string(),
            op_type: op.to_string(),
            attribute: attrs,
        });
    }

    /// Encodes the model with one f32 input and one f32 output.
    pub fn finish(self, doc: &str, input: (&str, &[Dim]), output: (&str, &[Dim])) -> Vec<u8> {
        let graph = GraphProto {
            node: self.nodes,
            name: "renlian-import".to_string(),
            initializer: self.initializers,
            doc_string: doc.to_string(),
            input: vec![value_info(input.0, input.1)],
            output: vec![value_info(output.0, output.1)],
        };
        ModelProto {
            ir_version: 7,
            producer_name: "renlian-models".to_string(),
            producer_version: env!("CARGO_PKG_VERSION").to_string(),
            doc_string: doc.to_string(),
            graph: Some(graph),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
        }
        .encode_to_vec()
    }
}

fn value_info(name: &str, dims: &[Dim]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: DT_FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Dim::Fixed(v) => DimensionValue::DimValue(*v),
                                Dim::Named(p) => DimensionValue::DimParam(p.to_string()),
                            }),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

pub(crate) fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        ints: v.to_vec(),
        r#type: ATTR_INTS,
        ..Default::default()
    }
}

pub(crate) fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        i: v,
        r#type: ATTR_INT,
        ..Default::default()
    }
}
