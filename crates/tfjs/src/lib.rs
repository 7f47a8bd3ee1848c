//! `tfjs`: TensorFlow.js graph models, read in Rust and converted to ONNX so that the
//! engine's one runtime (tract) runs them.
//!
//! What it is for: [`GraphModel::load`] reads a `model.json` and its weight shards
//! (decoding quantized weights), [`to_onnx`] turns the graph into an ONNX model
//! (opset 13) for the ops listed in [`SUPPORTED_OPS`]; an op outside that list is a
//! typed [`TfjsError::Unsupported`], never a silent approximation. Where the files come
//! from is the `models` crate's business (the `human-models` pack); running the graph
//! is the `vision` crate's.
//!
//! # The graph-model format, as read here
//!
//! A graph model is one JSON file plus one or more binary shard files beside it. The
//! JSON object has:
//!
//! - `format`: `"graph-model"` (a `"layers-model"` is a Keras topology, refused here);
//!   `generatedBy` (the framework or project that produced the original) and
//!   `convertedBy` (who converted it), both informational.
//! - `modelTopology`: a TensorFlow `GraphDef` written as JSON. Its `node` array holds
//!   every operation: `name` (unique), `op` (the TensorFlow op type, e.g. `Conv2D`,
//!   or a fusion the converter made, e.g. `_FusedConv2D`), `input` (names of the nodes
//!   whose outputs it consumes; `node:k` picks output `k`, a leading `^` marks a
//!   control dependency with no data) and `attr`, a map from attribute name to a
//!   one-key object: `s` (bytes, base64: `padding` is `"SAME"`/`"VALID"`/`"EXPLICIT"`,
//!   `data_format` `"NHWC"`), `i` (a 64-bit integer written as a string), `f` (a
//!   number), `b` (a boolean), `type` (a dtype name such as `DT_FLOAT`), `shape`
//!   (`{"dim": [{"size": "-1"}, …]}`, -1 for a free dimension) or `list` (an object with
//!   arrays under the same keys: `strides` and `ksize` are `[1, h, w, 1]` integer lists,
//!   `fused_ops` a list of base64 strings such as `BiasAdd`, `Relu`, `Prelu`).
//!   Inputs are `Placeholder` nodes (their `shape` attribute gives the input shape);
//!   every constant is a `Const` node whose value lives in the weights, not in the JSON.
//! - `signature` (or `userDefinedMetadata.signature` in some files): `inputs` and
//!   `outputs`, maps from a friendly key (`output_mesh`) to `{name: "Identity_2:0",
//!   dtype, tensorShape}`. Without one, the outputs are the nodes nothing consumes.
//! - `weightsManifest`: an array of groups `{paths: [shard file names], weights:
//!   [entries]}`. Each group's shards are read back to back; its entries are then laid
//!   out in order with no padding, and groups follow each other. An entry is `{name,
//!   shape, dtype}` where `dtype` is the logical type (`float32`, `int32`, `bool`;
//!   `string` is not read here), little-endian, 4 bytes per value for `float32` and
//!   `int32`, 1 for `bool`. With `quantization: {dtype, …}` the stored values are
//!   narrower: `uint8` or `uint16` with `scale` and `min`, meaning
//!   `value = q · scale + min` (rounded for an `int32` entry), or `float16`, IEEE half
//!   floats (decoded exactly). The entry's name is the `Const` node it feeds.
//!
//! The fused ops the TensorFlow.js converter writes: `_FusedConv2D`,
//! `FusedDepthwiseConv2dNative` and `_FusedMatMul` are the base op followed by the ops
//! named in `fused_ops`, in order: `BiasAdd` (input 2 is the bias) and then at most one
//! activation (`Relu`, `Relu6`, `Elu`, `LeakyRelu` with `leakyrelu_alpha`, `Sigmoid`,
//! or `Prelu`, whose slope is input 3, `num_args` being 2). `Prelu(x, α)` is `x` where
//! `x > 0`, else `α·x`. TensorFlow's `SAME` padding puts the odd pixel at the bottom
//! and right, as ONNX's `SAME_UPPER` does.
//!
//! # Reading is safe on hostile files
//!
//! Shard names must be plain file names; every entry's byte size is computed with
//! overflow checks and compared with the bytes present before anything is allocated;
//! the shards must hold exactly what the manifest describes. Graph traversal is
//! iterative and detects cycles. All of these are [`TfjsError`]s, never panics.
//!
//! # Example
//!
//! ```no_run
//! let model = tfjs::GraphModel::load(std::path::Path::new("antispoof.json"))?;
//! assert!(tfjs::unsupported_ops(&model).is_empty());
//! let onnx: Vec<u8> = tfjs::to_onnx(&model)?; // NHWC input, outputs named as in the model
//! # Ok::<(), tfjs::TfjsError>(())
//! ```

mod error;
mod model;
mod onnx;
mod weights;

/// The version of the conversion [`to_onnx`] performs. Cached conversions are keyed by
/// it (see `docs/tfjs.md`, "Cached conversions"), so bump it in the same commit as any
/// change that alters the bytes `to_onnx` writes for some model: a new op, a different
/// lowering, node names, initializer layout, opset. A change that leaves every output
/// byte-identical (refactoring, error messages, new checks) does not need a bump.
pub const CONVERTER_VERSION: u32 = 1;

pub use error::TfjsError;
pub use model::{AttrList, AttrValue, GraphModel, Node, TensorInfo};
pub use onnx::{to_onnx, to_onnx_proto, unsupported_ops, SUPPORTED_OPS};
pub use weights::{DType, Tensor, TensorData};
