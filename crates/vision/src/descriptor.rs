//! Face descriptors: dlib's ResNet (`dlib_face_recognition_resnet_model_v1`) on 150×150
//! face chips, 128 values per face, compared by Euclidean distance. dlib publishes 0.6 as
//! its same-person threshold (99.38% on LFW); on East-Asian faces 0.6 accepts about a
//! third of different-person pairs, so scores come from a measured table (`score.rs`).

use image::RgbImage;

use crate::chip::CHIP_SIZE;
use crate::error::{Result, VisionError};
use crate::runtime::{Dim, Network, Threads};

/// Length of a descriptor.
pub const DESCRIPTOR_LEN: usize = 128;

/// Which descriptor a face is given. Both come from the same network on the same aligned
/// chip; descriptors of different versions are not comparable, so whatever stores one
/// stores its version too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DescriptorVersion {
    /// Version 1: the network's output on the chip, as dlib computes it.
    V1,
    /// Version 2: the mean of the network's outputs on the chip and on the chip
    /// mirrored left to right (flip averaging: docs/calibration/dlib-resnet-v2.md
    /// measures what it gains and costs).
    V2,
}

impl DescriptorVersion {
    /// The version new descriptors are made with.
    pub const LATEST: DescriptorVersion = DescriptorVersion::V2;
    /// Every version, oldest first.
    pub const ALL: [DescriptorVersion; 2] = [DescriptorVersion::V1, DescriptorVersion::V2];

    /// The version's number (1, 2), as stored.
    pub fn number(self) -> u32 {
        match self {
            DescriptorVersion::V1 => 1,
            DescriptorVersion::V2 => 2,
        }
    }

    /// The version with this number.
    pub fn from_number(n: i64) -> Result<DescriptorVersion> {
        match n {
            1 => Ok(DescriptorVersion::V1),
            2 => Ok(DescriptorVersion::V2),
            other => Err(VisionError::InvalidArgument(format!(
                "descriptor version {other} is not known (1 or 2)"
            ))),
        }
    }
}

impl std::fmt::Display for DescriptorVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// A face descriptor: a point in the 128-d space where distance means dissimilarity.
#[derive(Clone, Debug, PartialEq)]
pub struct Descriptor(pub Vec<f32>);

impl Descriptor {
    /// Checks the length of a descriptor that came from outside (a database, a request).
    pub fn from_vec(values: Vec<f32>) -> Result<Descriptor> {
        if values.len() != DESCRIPTOR_LEN {
            return Err(VisionError::DescriptorLength {
                expected: DESCRIPTOR_LEN,
                actual: values.len(),
            });
        }
        Ok(Descriptor(values))
    }

    /// The values.
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// The mean of two descriptors (version 2 from the chip's and its mirror's).
    pub fn mean(&self, other: &Descriptor) -> Descriptor {
        Descriptor(
            self.0
                .iter()
                .zip(&other.0)
                .map(|(a, b)| (a + b) / 2.0)
                .collect(),
        )
    }

    /// Dot product with a direction, accumulated in f64.
    pub fn dot(&self, direction: &[f32]) -> f64 {
        self.0
            .iter()
            .zip(direction)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    }

    /// Euclidean distance, accumulated in f64.
    pub fn distance(&self, other: &Descriptor) -> f64 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| {
                let d = f64::from(*a) - f64::from(*b);
                d * d
            })
            .sum::<f64>()
            .sqrt()
    }
}

/// The descriptor network.
#[derive(Clone, Debug)]
pub struct DescriptorNet {
    net: Network,
}

impl DescriptorNet {
    /// Loads the imported ONNX graph (input `[N,3,150,150]` raw RGB, output `[N,128]`),
    /// keeping optimised plans for up to `max_plans` batch sizes.
    pub fn load(onnx: &[u8], max_plans: usize) -> Result<DescriptorNet> {
        let side = CHIP_SIZE as usize;
        let net = Network::load(
            "resnet descriptor",
            onnx,
            &[
                Dim::Symbol("N"),
                Dim::Fixed(3),
                Dim::Fixed(side),
                Dim::Fixed(side),
            ],
            max_plans,
        )?;
        Ok(DescriptorNet { net })
    }

    /// The same network (sharing its plans), its passes run on `threads`.
    pub fn with_threads(self, threads: &Threads) -> DescriptorNet {
        DescriptorNet {
            net: self.net.with_threads(threads),
        }
    }

    /// Describes a batch of 150×150 chips in one pass.
    pub fn describe(&self, chips: &[RgbImage]) -> Result<Vec<Descriptor>> {
        if chips.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(chip) = chips
            .iter()
            .find(|c| c.width() != CHIP_SIZE || c.height() != CHIP_SIZE)
        {
            return Err(VisionError::InvalidArgument(format!(
                "chip is {}x{}, expected {CHIP_SIZE}x{CHIP_SIZE}",
                chip.width(),
                chip.height()
            )));
        }
        let side = CHIP_SIZE as usize;
        let plane = side * side;
        let (shape, values) = self.net.run(&[chips.len(), 3, side, side], |data| {
            for (chip, out) in chips.iter().zip(data.chunks_exact_mut(3 * plane)) {
                for (i, px) in chip.pixels().enumerate() {
                    for k in 0..3 {
                        out[k * plane + i] = f32::from(px.0[k]);
                    }
                }
            }
        })?;
        if shape != [chips.len(), DESCRIPTOR_LEN] {
            return Err(VisionError::inference(
                "resnet descriptor",
                format!("output shape {shape:?}"),
            ));
        }
        Ok(values
            .chunks_exact(DESCRIPTOR_LEN)
            .map(|v| Descriptor(v.to_vec()))
            .collect())
    }
}
