//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong reading a graph model or converting it.
#[derive(Debug, thiserror::Error)]
pub enum TfjsError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `model.json` is not JSON, or not shaped like a TensorFlow.js model.
    #[error("model.json is malformed: {0}")]
    Json(#[from] serde_json::Error),

    /// A layers model (Keras topology) or something else; only graph models are read.
    #[error("model.json has format {0:?}; only \"graph-model\" is supported")]
    NotGraphModel(String),

    /// A shard path that is not a plain file name next to model.json.
    #[error("weight shard path {0:?} is not a plain file name")]
    BadShardPath(String),

    /// A weights-manifest entry that cannot be decoded (dtype, quantization, shape).
    #[error("weight {name:?}: {why}")]
    Weight { name: String, why: String },

    /// The shards hold fewer bytes than the manifest describes.
    #[error(
        "weight {name:?} needs {needed} bytes at offset {offset}, the shards hold {available}"
    )]
    Truncated {
        name: String,
        offset: usize,
        needed: usize,
        available: usize,
    },

    /// The shards hold more bytes than the manifest describes.
    #[error("the weight shards hold {available} bytes, the manifest describes {used}")]
    TrailingBytes { used: usize, available: usize },

    /// A node attribute is missing or has an unexpected form.
    #[error("node {node:?}: attribute {attr:?} {why}")]
    Attr {
        node: String,
        attr: String,
        why: String,
    },

    /// An op (or an op variant) the converter does not implement.
    #[error("node {node:?}: {op} is not supported ({why})")]
    Unsupported {
        node: String,
        op: String,
        why: String,
    },

    /// The graph is inconsistent: an input that names no node, a cycle, no outputs.
    #[error("graph: {0}")]
    Graph(String),
}

impl TfjsError {
    pub(crate) fn attr(node: &str, attr: &str, why: impl Into<String>) -> Self {
        TfjsError::Attr {
            node: node.to_string(),
            attr: attr.to_string(),
            why: why.into(),
        }
    }

    pub(crate) fn unsupported(node: &str, op: &str, why: impl Into<String>) -> Self {
        TfjsError::Unsupported {
            node: node.to_string(),
            op: op.to_string(),
            why: why.into(),
        }
    }
}
