//! `model.json`: the topology's nodes with their attributes, the signature, and the
//! decoded weights.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::weights::{self, ManifestGroup, Tensor};
use crate::TfjsError;

#[derive(Deserialize)]
struct RawModel {
    #[serde(default)]
    format: Option<String>,
    #[serde(default, rename = "generatedBy")]
    generated_by: Option<String>,
    #[serde(default, rename = "convertedBy")]
    converted_by: Option<String>,
    #[serde(rename = "modelTopology")]
    topology: RawTopology,
    #[serde(default, rename = "weightsManifest")]
    manifest: Vec<ManifestGroup>,
    #[serde(default)]
    signature: Option<RawSignature>,
    #[serde(default, rename = "userDefinedMetadata")]
    user_metadata: Option<RawUserMetadata>,
}

#[derive(Deserialize)]
struct RawTopology {
    #[serde(default)]
    node: Vec<RawNode>,
}

#[derive(Deserialize)]
struct RawNode {
    name: String,
    op: String,
    #[serde(default)]
    input: Vec<String>,
    #[serde(default)]
    attr: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct RawUserMetadata {
    #[serde(default)]
    signature: Option<RawSignature>,
}

#[derive(Deserialize)]
struct RawSignature {
    #[serde(default)]
    inputs: BTreeMap<String, RawTensorInfo>,
    #[serde(default)]
    outputs: BTreeMap<String, RawTensorInfo>,
}

#[derive(Deserialize)]
struct RawTensorInfo {
    name: String,
    #[serde(default, rename = "tensorShape")]
    shape: Option<Value>,
}

/// A node attribute (TensorFlow's `AttrValue`, as the converter writes it in JSON).
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// Bytes (base64 in the JSON): padding, data format, …
    S(Vec<u8>),
    I(i64),
    F(f64),
    B(bool),
    /// A dtype name such as `DT_FLOAT`.
    Type(String),
    /// A shape; `None` for unknown rank, -1 for an unknown dimension.
    Shape(Option<Vec<i64>>),
    List(AttrList),
    /// Anything else (tensors, functions), kept as JSON.
    Other(Value),
}

/// The lists an `AttrValue` may carry (usually only one is non-empty).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttrList {
    pub s: Vec<Vec<u8>>,
    pub i: Vec<i64>,
    pub f: Vec<f64>,
    pub b: Vec<bool>,
    pub types: Vec<String>,
}

/// One node of the topology.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub op: String,
    /// Data inputs as `node` or `node:k` (control inputs, `^node`, are dropped).
    pub inputs: Vec<String>,
    pub attrs: BTreeMap<String, AttrValue>,
}

/// A graph input or output: the node it names and, when the model says, its shape
/// (-1 for a free dimension).
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// The signature's key (`output_mesh`, …), when there is a signature.
    pub key: Option<String>,
    /// The node's name (the `:0` suffix removed).
    pub node: String,
    pub shape: Option<Vec<i64>>,
}

/// A TensorFlow.js graph model, read and with its weights decoded.
#[derive(Clone, Debug)]
pub struct GraphModel {
    /// `generatedBy` (the original framework or project) and `convertedBy`.
    pub generated_by: Option<String>,
    pub converted_by: Option<String>,
    pub nodes: Vec<Node>,
    pub weights: BTreeMap<String, Tensor>,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
}

fn parse_int(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn parse_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            s => s.parse().ok(),
        },
        _ => None,
    }
}

fn parse_bytes(v: &Value) -> Option<Vec<u8>> {
    v.as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
}

/// A `TensorShapeProto` in JSON: `{"dim": [{"size": "-1"}, …]}` or `{"unknownRank": true}`.
fn parse_shape(v: &Value) -> Option<Option<Vec<i64>>> {
    if v.get("unknownRank").and_then(Value::as_bool) == Some(true) {
        return Some(None);
    }
    let dims = match v.get("dim") {
        None => return Some(Some(Vec::new())),
        Some(d) => d.as_array()?,
    };
    dims.iter()
        .map(|d| match d.get("size") {
            None => Some(0),
            Some(s) => parse_int(s),
        })
        .collect::<Option<Vec<_>>>()
        .map(Some)
}

fn parse_attr(v: &Value) -> Option<AttrValue> {
    let obj = v.as_object()?;
    let (k, inner) = obj.iter().next()?;
    Some(match k.as_str() {
        "s" => AttrValue::S(parse_bytes(inner)?),
        "i" => AttrValue::I(parse_int(inner)?),
        "f" => AttrValue::F(parse_float(inner)?),
        "b" => AttrValue::B(inner.as_bool()?),
        "type" => AttrValue::Type(inner.as_str()?.to_string()),
        "shape" => AttrValue::Shape(parse_shape(inner)?),
        "list" => {
            let get = |key: &str| inner.get(key).and_then(Value::as_array);
            let mut list = AttrList::default();
            if let Some(a) = get("s") {
                list.s = a.iter().map(parse_bytes).collect::<Option<_>>()?;
            }
            if let Some(a) = get("i") {
                list.i = a.iter().map(parse_int).collect::<Option<_>>()?;
            }
            if let Some(a) = get("f") {
                list.f = a.iter().map(parse_float).collect::<Option<_>>()?;
            }
            if let Some(a) = get("b") {
                list.b = a.iter().map(Value::as_bool).collect::<Option<_>>()?;
            }
            if let Some(a) = get("type") {
                list.types = a
                    .iter()
                    .map(|t| t.as_str().map(str::to_string))
                    .collect::<Option<_>>()?;
            }
            AttrValue::List(list)
        }
        _ => AttrValue::Other(v.clone()),
    })
}

fn strip_output_index(name: &str) -> &str {
    name.strip_suffix(":0").unwrap_or(name)
}

fn tensor_info(key: Option<&str>, raw: &RawTensorInfo) -> TensorInfo {
    TensorInfo {
        key: key.map(str::to_string),
        node: strip_output_index(&raw.name).to_string(),
        shape: raw.shape.as_ref().and_then(parse_shape).flatten(),
    }
}

impl Node {
    /// An attribute, or a typed error naming the node.
    pub fn attr(&self, name: &str) -> Result<&AttrValue, TfjsError> {
        self.attrs
            .get(name)
            .ok_or_else(|| TfjsError::attr(&self.name, name, "is missing"))
    }

    /// A string attribute (`padding`, `data_format`), decoded as UTF-8.
    pub fn attr_str(&self, name: &str) -> Result<String, TfjsError> {
        match self.attr(name)? {
            AttrValue::S(b) => String::from_utf8(b.clone())
                .map_err(|_| TfjsError::attr(&self.name, name, "is not UTF-8")),
            other => Err(TfjsError::attr(
                &self.name,
                name,
                format!("should be a string, is {other:?}"),
            )),
        }
    }

    /// An integer list attribute (`strides`, `ksize`); an empty list when absent.
    pub fn attr_ints(&self, name: &str) -> Result<Vec<i64>, TfjsError> {
        match self.attrs.get(name) {
            None => Ok(Vec::new()),
            Some(AttrValue::List(l)) => Ok(l.i.clone()),
            Some(other) => Err(TfjsError::attr(
                &self.name,
                name,
                format!("should be a list of integers, is {other:?}"),
            )),
        }
    }

    /// A string list attribute (`fused_ops`); an empty list when absent.
    pub fn attr_strs(&self, name: &str) -> Result<Vec<String>, TfjsError> {
        match self.attrs.get(name) {
            None => Ok(Vec::new()),
            Some(AttrValue::List(l)) => {
                l.s.iter()
                    .map(|b| {
                        String::from_utf8(b.clone())
                            .map_err(|_| TfjsError::attr(&self.name, name, "is not UTF-8"))
                    })
                    .collect()
            }
            Some(other) => Err(TfjsError::attr(
                &self.name,
                name,
                format!("should be a list of strings, is {other:?}"),
            )),
        }
    }

    /// An integer attribute, or `default` when absent.
    pub fn attr_int_or(&self, name: &str, default: i64) -> Result<i64, TfjsError> {
        match self.attrs.get(name) {
            None => Ok(default),
            Some(AttrValue::I(i)) => Ok(*i),
            Some(other) => Err(TfjsError::attr(
                &self.name,
                name,
                format!("should be an integer, is {other:?}"),
            )),
        }
    }

    /// A float attribute, or `default` when absent.
    pub fn attr_float_or(&self, name: &str, default: f64) -> Result<f64, TfjsError> {
        match self.attrs.get(name) {
            None => Ok(default),
            Some(AttrValue::F(f)) => Ok(*f),
            Some(other) => Err(TfjsError::attr(
                &self.name,
                name,
                format!("should be a number, is {other:?}"),
            )),
        }
    }

    /// A boolean attribute, or `default` when absent.
    pub fn attr_bool_or(&self, name: &str, default: bool) -> Result<bool, TfjsError> {
        match self.attrs.get(name) {
            None => Ok(default),
            Some(AttrValue::B(b)) => Ok(*b),
            Some(other) => Err(TfjsError::attr(
                &self.name,
                name,
                format!("should be a boolean, is {other:?}"),
            )),
        }
    }
}

/// Shards must be plain file names beside `model.json`: nothing that leaves its directory.
fn check_shard_path(path: &str) -> Result<(), TfjsError> {
    let plain = !path.is_empty() && !path.contains(['/', '\\']) && path != "." && path != "..";
    if plain {
        Ok(())
    } else {
        Err(TfjsError::BadShardPath(path.to_string()))
    }
}

impl GraphModel {
    /// Reads `model.json` at `path` and its weight shards from the same directory.
    pub fn load(path: &Path) -> Result<GraphModel, TfjsError> {
        let io = |p: &Path, source| TfjsError::Io {
            path: p.to_path_buf(),
            source,
        };
        let json = std::fs::read(path).map_err(|e| io(path, e))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::from_json(&json, &mut |shard| {
            let p = dir.join(shard);
            std::fs::read(&p).map_err(|e| io(&p, e))
        })
    }

    /// The files [`GraphModel::load`] reads for the model at `path`: `path` itself, then
    /// its weight shards in manifest order. Only the manifest is looked at, so this is
    /// cheap; a cache of conversions keys on these files' contents.
    pub fn source_files(path: &Path) -> Result<Vec<PathBuf>, TfjsError> {
        #[derive(Deserialize)]
        struct ShardsOnly {
            #[serde(default, rename = "weightsManifest")]
            manifest: Vec<PathsOnly>,
        }
        #[derive(Deserialize)]
        struct PathsOnly {
            paths: Vec<String>,
        }
        let json = std::fs::read(path).map_err(|source| TfjsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let raw: ShardsOnly = serde_json::from_slice(&json)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut files = vec![path.to_path_buf()];
        for shard in raw.manifest.iter().flat_map(|g| &g.paths) {
            check_shard_path(shard)?;
            files.push(dir.join(shard));
        }
        Ok(files)
    }

    /// Reads a model from the bytes of `model.json`, asking `read_shard` for each weight
    /// shard by its file name (only plain file names are accepted from the manifest).
    pub fn from_json(
        json: &[u8],
        read_shard: &mut dyn FnMut(&str) -> Result<Vec<u8>, TfjsError>,
    ) -> Result<GraphModel, TfjsError> {
        let raw: RawModel = serde_json::from_slice(json)?;
        match raw.format.as_deref() {
            Some("graph-model") | None => {}
            Some(other) => return Err(TfjsError::NotGraphModel(other.to_string())),
        }
        let mut bytes = Vec::new();
        for path in raw.manifest.iter().flat_map(|g| &g.paths) {
            check_shard_path(path)?;
            bytes.extend(read_shard(path)?);
        }
        let mut weights = BTreeMap::new();
        for (name, t) in weights::decode(&raw.manifest, &bytes)? {
            if weights.insert(name.clone(), t).is_some() {
                return Err(TfjsError::Weight {
                    name,
                    why: "listed twice in the manifest".into(),
                });
            }
        }
        let mut nodes = Vec::with_capacity(raw.topology.node.len());
        for n in raw.topology.node {
            let mut attrs = BTreeMap::new();
            for (k, v) in n.attr {
                let parsed = parse_attr(&v)
                    .ok_or_else(|| TfjsError::attr(&n.name, &k, format!("is malformed: {v}")))?;
                attrs.insert(k, parsed);
            }
            nodes.push(Node {
                name: n.name,
                op: n.op,
                inputs: n
                    .input
                    .into_iter()
                    .filter(|i| !i.starts_with('^'))
                    .collect(),
                attrs,
            });
        }
        let signature = raw
            .signature
            .or_else(|| raw.user_metadata.and_then(|m| m.signature));
        let (inputs, outputs) = match &signature {
            Some(sig) if !sig.outputs.is_empty() => (
                sig.inputs
                    .iter()
                    .map(|(k, v)| tensor_info(Some(k), v))
                    .collect(),
                sig.outputs
                    .iter()
                    .map(|(k, v)| tensor_info(Some(k), v))
                    .collect(),
            ),
            _ => (Vec::new(), Vec::new()),
        };
        let mut model = GraphModel {
            generated_by: raw.generated_by,
            converted_by: raw.converted_by,
            nodes,
            weights,
            inputs,
            outputs,
        };
        model.complete_io()?;
        Ok(model)
    }

    /// Without a signature: inputs are the placeholders, outputs the nodes nobody
    /// consumes. Placeholder shapes fill in missing input shapes.
    fn complete_io(&mut self) -> Result<(), TfjsError> {
        if self.inputs.is_empty() {
            self.inputs = self
                .nodes
                .iter()
                .filter(|n| n.op == "Placeholder")
                .map(|n| TensorInfo {
                    key: None,
                    node: n.name.clone(),
                    shape: None,
                })
                .collect();
        }
        for input in &mut self.inputs {
            if input.shape.is_none() {
                let node = self.nodes.iter().find(|n| n.name == input.node);
                if let Some(AttrValue::Shape(s)) = node.and_then(|n| n.attrs.get("shape")) {
                    input.shape = s.clone();
                }
            }
        }
        if self.outputs.is_empty() {
            let consumed: std::collections::HashSet<&str> = self
                .nodes
                .iter()
                .flat_map(|n| n.inputs.iter().map(|i| node_of(i)))
                .collect();
            self.outputs = self
                .nodes
                .iter()
                .filter(|n| !consumed.contains(n.name.as_str()))
                .filter(|n| !matches!(n.op.as_str(), "Const" | "Placeholder" | "NoOp"))
                .map(|n| TensorInfo {
                    key: None,
                    node: n.name.clone(),
                    shape: None,
                })
                .collect();
        }
        if self.outputs.is_empty() {
            return Err(TfjsError::Graph("the model has no outputs".into()));
        }
        Ok(())
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// How many nodes use each op, sorted by op name (Const and Placeholder included).
    pub fn op_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for n in &self.nodes {
            *counts.entry(n.op.clone()).or_default() += 1;
        }
        counts
    }
}

/// The node an input reference names (`node:1` → `node`).
pub(crate) fn node_of(input: &str) -> &str {
    match input.rsplit_once(':') {
        Some((node, idx)) if idx.chars().all(|c| c.is_ascii_digit()) => node,
        _ => input,
    }
}
