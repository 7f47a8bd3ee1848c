//! The one inference runtime: tract, running the ONNX graphs the `models` crate imports.
//!
//! A [`Network`] is optimised once and shared by reference between threads; every call
//! spawns its own light execution state, so concurrent calls need no lock.

use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::{Result, VisionError};

/// An optimised, runnable network.
#[derive(Clone)]
pub struct Network {
    name: &'static str,
    plan: Arc<TypedRunnableModel>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("name", &self.name).finish()
    }
}

/// One input dimension: fixed, or a named symbol resolved at every call.
#[derive(Clone, Copy, Debug)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A size given at run time.
    Symbol(&'static str),
}

impl Network {
    /// Loads an ONNX graph whose single input is f32 with the given shape.
    pub fn load(name: &'static str, onnx: &[u8], input: &[Dim]) -> Result<Network> {
        let err = |e: TractError| VisionError::model(name, format!("{e:#}"));
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .map_err(err)?;
        let shape: TVec<TDim> = input
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => TDim::from(*n as i64),
                Dim::Symbol(s) => model.symbols.sym(s).into(),
            })
            .collect();
        model = model
            .with_input_fact(0, f32::fact(shape).into())
            .map_err(err)?;
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(err)?;
        Ok(Network { name, plan })
    }

    /// Runs the network on one input tensor and returns its first output as f32.
    pub fn run(&self, shape: &[usize], data: Vec<f32>) -> Result<(Vec<usize>, Vec<f32>)> {
        let input =
            Tensor::from_shape(shape, &data).map_err(|e| VisionError::inference(self.name, e))?;
        let outputs = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| VisionError::inference(self.name, format!("{e:#}")))?;
        let out = outputs
            .into_iter()
            .next()
            .ok_or_else(|| VisionError::inference(self.name, "no output"))?;
        let shape = out.shape().to_vec();
        let plain = out
            .try_as_plain_ram()
            .map_err(|e| VisionError::inference(self.name, e))?;
        let values = plain
            .as_slice::<f32>()
            .map_err(|e| VisionError::inference(self.name, e))?
            .to_vec();
        Ok((shape, values))
    }
}
