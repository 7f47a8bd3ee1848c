//! [`Analyzer`]: the face-analysis networks beyond detection and description (static
//! liveness, the face mesh, attributes), loaded once beside the [`crate::Engine`] and shared by every request.
//!
//! It is a plain struct of loaded networks with public fields: each pipeline is used
//! on its own, on the faces the engine found.

use crate::attributes::AttributeNets;
use crate::error::Result;
use crate::liveness::LivenessNets;
use crate::mesh::MeshNets;

/// The analysis networks, loaded once; `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Analyzer {
    /// Static liveness (antispoof and liveness models).
    pub liveness: LivenessNets,
    /// The 468-point face mesh and iris (landmarks, head pose, eye state).
    pub mesh: MeshNets,
    /// Age, gender and expression (faceres and emotion models).
    pub attributes: AttributeNets,
}

impl Analyzer {
    /// The `human-models` graphs [`Analyzer::load`] converts (gear, loaded only on
    /// request, included), for preparing the conversion cache ahead of time
    /// (`renlian models fetch`; see [`crate::tfjs_onnx`]).
    pub const GRAPHS: [&'static str; 7] = [
        "antispoof.json",
        "liveness.json",
        "facemesh.json",
        "iris.json",
        "faceres.json",
        "emotion.json",
        "gear.json",
    ];

    /// Loads every analysis network from the store. The `human-models` pack must be
    /// present or fetchable (`ModelStore::ensure(Pack::HumanModels, ..)` shows progress).
    pub fn load(store: &models::ModelStore) -> Result<Analyzer> {
        Ok(Analyzer {
            liveness: LivenessNets::load(store)?,
            mesh: MeshNets::load(store)?,
            attributes: AttributeNets::load(store)?,
        })
    }
}
