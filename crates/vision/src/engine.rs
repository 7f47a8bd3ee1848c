//! The face engine: models loaded once, shared by every thread that calls it.

use image::RgbImage;

use crate::chip::{extract_chip, face_chip_details, CHIP_PADDING, CHIP_SIZE};
use crate::decode::{decode, DecodeLimits};
use crate::descriptor::{Descriptor, DescriptorNet, DescriptorVersion};
use crate::detector::{DetectOptions, Detection, Detector, MmodGeometry};
use crate::error::{Result, VisionError};
use crate::fast::{FastDetector, FastOptions};
use crate::geometry::Rect;
use crate::landmarks::ShapePredictor;
use crate::runtime::Threads;
use crate::score::{Calibration, ScoreModel};

/// How the engine runs.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// Detection options (minimum face size, maximum number of faces, threshold).
    pub detect: DetectOptions,
    /// Limits on input images.
    pub limits: DecodeLimits,
    /// Also place dlib's 68 landmarks. Off by default: that model was trained on the
    /// iBUG 300-W data set, whose creators ask that it not be used commercially.
    pub landmarks_68: bool,
    /// Faces described in one network pass. 1 by default: in tract a batch of 8 took
    /// longer per face than single faces (docs/vision.md); each batch size in use keeps
    /// its own optimised plan of the descriptor.
    pub descriptor_batch: usize,
    /// Detector plans kept, one per canvas size (the canvas size follows from the image
    /// size, so photos of one size share one plan). Making a plan for a new size costs
    /// one optimisation of the detector graph; see docs/vision.md for the figures.
    pub detector_plans: usize,
    /// Threads one detector or descriptor pass may use (one pool per engine). 1 by
    /// default, and the only value a build without vision's `multithread` feature
    /// (tract's `multithread-mm`) accepts: concurrent requests already fill the cores,
    /// and on the shared 2-core machine more gave no measured gain (docs/performance.md,
    /// "Runtime"). The outputs are the same at any count.
    pub inference_threads: usize,
    /// Which detector finds the faces: MMOD (the accurate mode, the default) or the fast
    /// BlazeFace path (docs/vision.md, "The fast detector"), whose boxes are mapped to
    /// MMOD's convention before the landmarks.
    pub detector: DetectorKind,
    /// Options of the fast detector (used when `detector` is [`DetectorKind::Fast`]).
    pub fast: FastOptions,
}

/// Which face detector the engine runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DetectorKind {
    /// dlib's MMOD CNN, run as dlib runs it: the accurate mode.
    #[default]
    Mmod,
    /// BlazeFace with boxes mapped to MMOD's convention (`crate::fast`).
    Fast,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            detect: DetectOptions::default(),
            limits: DecodeLimits::default(),
            landmarks_68: false,
            descriptor_batch: 1,
            detector_plans: 8,
            inference_threads: 1,
            detector: DetectorKind::Mmod,
            fast: FastOptions::default(),
        }
    }
}

/// One detected face.
#[derive(Clone, Debug, PartialEq)]
pub struct Face {
    /// The face box (dlib's convention: inclusive edges, may reach outside the image).
    pub rect: Rect,
    /// The detector's score (above 0 for every reported face).
    pub confidence: f32,
    /// dlib's 5 landmarks: outer and inner corner of the right eye, then of the left
    /// eye (image left to right: 2, 3, 1, 0), then the base of the nose.
    pub landmarks: Vec<(i64, i64)>,
    /// dlib's 68 landmarks when [`EngineConfig::landmarks_68`] is set.
    pub landmarks_68: Option<Vec<(i64, i64)>>,
}

impl Face {
    /// Left edge.
    pub fn x(&self) -> i64 {
        self.rect.left
    }
    /// Top edge.
    pub fn y(&self) -> i64 {
        self.rect.top
    }
    /// Width in pixels.
    pub fn width(&self) -> i64 {
        self.rect.width()
    }
    /// Height in pixels.
    pub fn height(&self) -> i64 {
        self.rect.height()
    }
}

/// Both versions of one face's descriptor.
#[derive(Clone, Debug, PartialEq)]
pub struct Described {
    /// Version 1: the chip's.
    pub v1: Descriptor,
    /// Version 2: the mean of the chip's and its mirror image's.
    pub v2: Descriptor,
}

impl Described {
    /// The descriptor of one version.
    pub fn of(&self, version: DescriptorVersion) -> &Descriptor {
        match version {
            DescriptorVersion::V1 => &self.v1,
            DescriptorVersion::V2 => &self.v2,
        }
    }
}

/// The result of comparing two descriptors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// Euclidean distance between the descriptors.
    pub distance: f64,
    /// 0-100; 50 and above means the same person.
    pub score: f64,
}

/// The face engine. `Send + Sync`: load it once and share it (e.g. in an `Arc`).
#[derive(Debug)]
pub struct Engine {
    detector: Detector,
    fast: Option<FastDetector>,
    landmarks_5: ShapePredictor,
    landmarks_68: Option<ShapePredictor>,
    descriptor: DescriptorNet,
    calibration: Calibration,
    /// Version 1's model: `calibration` as a [`ScoreModel`], made once at load.
    score_v1: ScoreModel,
    score_v2: ScoreModel,
    config: EngineConfig,
}

/// The weights the engine runs, as the `models` crate provides them.
pub struct EngineModels<'a> {
    /// The MMOD detector imported to ONNX.
    pub detector_onnx: &'a [u8],
    /// The detector's options from its file.
    pub detector_options: &'a models::dlib::MmodOptions,
    /// dlib's 5-point shape predictor.
    pub landmarks_5: &'a models::dlib::ShapePredictor,
    /// dlib's 68-point shape predictor, when wanted.
    pub landmarks_68: Option<&'a models::dlib::ShapePredictor>,
    /// The ResNet descriptor imported to ONNX.
    pub descriptor_onnx: &'a [u8],
}

impl Engine {
    /// Loads every model from the store (fetching and importing on first use).
    pub fn load(store: &models::ModelStore, config: EngineConfig) -> Result<Engine> {
        use models::DlibModel;
        let m = |name: &'static str| move |e: models::ModelError| VisionError::model(name, e);
        let detector_onnx = store
            .onnx(DlibModel::MmodDetector)
            .map_err(m("mmod detector"))?;
        let detector_options = store.mmod_options().map_err(m("mmod detector"))?;
        let landmarks_5 = store
            .shape_predictor(DlibModel::ShapePredictor5)
            .map_err(m("5-point shape predictor"))?;
        let landmarks_68 = if config.landmarks_68 {
            Some(
                store
                    .shape_predictor(DlibModel::ShapePredictor68)
                    .map_err(m("68-point shape predictor"))?,
            )
        } else {
            None
        };
        let descriptor_onnx = store
            .onnx(DlibModel::ResnetDescriptor)
            .map_err(m("resnet descriptor"))?;
        let fast = match config.detector {
            DetectorKind::Fast => Some(FastDetector::load(store)?),
            DetectorKind::Mmod => None,
        };
        let mut engine = Engine::from_models(
            EngineModels {
                detector_onnx: &detector_onnx,
                detector_options: &detector_options,
                landmarks_5: &landmarks_5,
                landmarks_68: landmarks_68.as_ref(),
                descriptor_onnx: &descriptor_onnx,
            },
            config,
        )?;
        engine.fast = fast;
        Ok(engine)
    }

    /// Builds the engine from weights already in memory. With
    /// [`DetectorKind::Fast`], give the fast detector with [`Engine::with_fast_detector`].
    pub fn from_models(models: EngineModels<'_>, config: EngineConfig) -> Result<Engine> {
        if config.descriptor_batch == 0 || config.detector_plans == 0 {
            return Err(VisionError::InvalidArgument(
                "descriptor_batch and detector_plans must be positive".into(),
            ));
        }
        let geometry = MmodGeometry::from_options(models.detector_options)?;
        let threads = Threads::new(config.inference_threads)?;
        Ok(Engine {
            detector: Detector::load(models.detector_onnx, geometry, config.detector_plans)?
                .with_threads(&threads),
            fast: None,
            landmarks_5: ShapePredictor::from_model(models.landmarks_5)?,
            landmarks_68: match models.landmarks_68 {
                Some(sp) if config.landmarks_68 => Some(ShapePredictor::from_model(sp)?),
                _ => None,
            },
            descriptor: DescriptorNet::load(models.descriptor_onnx, config.descriptor_batch)?
                .with_threads(&threads),
            calibration: Calibration::dlib_resnet_v1()?,
            score_v1: ScoreModel::for_version(DescriptorVersion::V1)?,
            score_v2: ScoreModel::for_version(DescriptorVersion::V2)?,
            config,
        })
    }

    /// The engine with this fast detector (used when the configuration asks for
    /// [`DetectorKind::Fast`]).
    pub fn with_fast_detector(mut self, fast: FastDetector) -> Engine {
        self.fast = Some(fast);
        self
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Decodes image bytes within the configured limits.
    pub fn decode(&self, bytes: &[u8]) -> Result<RgbImage> {
        decode(bytes, &self.config.limits)
    }

    /// Detects faces in image bytes, with landmarks; the most confident first.
    pub fn detect_bytes(&self, bytes: &[u8]) -> Result<Vec<Face>> {
        self.detect(&self.decode(bytes)?)
    }

    /// Face boxes only (no landmarks); the most confident first.
    pub fn detect_boxes(&self, img: &RgbImage) -> Result<Vec<Detection>> {
        self.detect_boxes_sized(img, self.config.detect.min_face_size)
    }

    /// Face boxes of at least `min_face_size` pixels (a request's own minimum, in place
    /// of the configured one); the most confident first.
    pub fn detect_boxes_sized(&self, img: &RgbImage, min_face_size: u32) -> Result<Vec<Detection>> {
        let options = DetectOptions {
            min_face_size,
            ..self.config.detect
        };
        match self.config.detector {
            DetectorKind::Mmod => self.detector.detect(img, &options),
            DetectorKind::Fast => {
                let fast = self.fast.as_ref().ok_or_else(|| {
                    VisionError::model("blazeface", "the fast detector was not loaded")
                })?;
                fast.detect(img, min_face_size, options.max_faces, &self.config.fast)
            }
        }
    }

    /// MMOD's boxes whatever detector the configuration picks (the accurate mode).
    pub fn detect_boxes_mmod(&self, img: &RgbImage) -> Result<Vec<Detection>> {
        self.detector.detect(img, &self.config.detect)
    }

    /// Detects faces with landmarks; the most confident first.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Face>> {
        self.detect_sized(img, self.config.detect.min_face_size)
    }

    /// Detects faces of at least `min_face_size` pixels with landmarks; the most
    /// confident first.
    pub fn detect_sized(&self, img: &RgbImage, min_face_size: u32) -> Result<Vec<Face>> {
        let dets = self.detect_boxes_sized(img, min_face_size)?;
        Ok(dets
            .into_iter()
            .map(|d| self.face_at(img, d.rect, d.confidence))
            .collect())
    }

    /// Places the landmarks for a face box found elsewhere.
    pub fn face_at(&self, img: &RgbImage, rect: Rect, confidence: f32) -> Face {
        Face {
            rect,
            confidence,
            landmarks: self.landmarks_5.predict(img, &rect),
            landmarks_68: self.landmarks_68.as_ref().map(|sp| sp.predict(img, &rect)),
        }
    }

    /// The aligned 150×150 chip the descriptor sees for a face.
    pub fn face_chip(&self, img: &RgbImage, face: &Face) -> Result<RgbImage> {
        let details =
            face_chip_details(&face.landmarks, CHIP_SIZE, CHIP_PADDING).ok_or_else(|| {
                VisionError::InvalidArgument(format!(
                    "{} landmarks, expected 5 or 68",
                    face.landmarks.len()
                ))
            })?;
        Ok(extract_chip(img, &details))
    }

    /// Descriptors for faces of one image, in the order given.
    pub fn describe(&self, img: &RgbImage, faces: &[Face]) -> Result<Vec<Descriptor>> {
        let chips = faces
            .iter()
            .map(|f| self.face_chip(img, f))
            .collect::<Result<Vec<_>>>()?;
        self.describe_chips(&chips)
    }

    /// Descriptors of one version for faces of one image, in the order given.
    pub fn describe_as(
        &self,
        img: &RgbImage,
        faces: &[Face],
        version: DescriptorVersion,
    ) -> Result<Vec<Descriptor>> {
        match version {
            DescriptorVersion::V1 => self.describe(img, faces),
            DescriptorVersion::V2 => Ok(self
                .describe_versions(img, faces)?
                .into_iter()
                .map(|d| d.v2)
                .collect()),
        }
    }

    /// Both versions of each face's descriptor, for the price of version 2 (version 1 is
    /// its unmirrored half), in the order given.
    pub fn describe_versions(&self, img: &RgbImage, faces: &[Face]) -> Result<Vec<Described>> {
        let mut chips = Vec::with_capacity(2 * faces.len());
        for f in faces {
            let chip = self.face_chip(img, f)?;
            chips.push(image::imageops::flip_horizontal(&chip));
            chips.push(chip);
        }
        let described = self.describe_chips(&chips)?;
        Ok(described
            .chunks_exact(2)
            .map(|pair| Described {
                v1: pair[1].clone(),
                v2: pair[1].mean(&pair[0]),
            })
            .collect())
    }

    /// Descriptors for aligned chips, batched.
    pub fn describe_chips(&self, chips: &[RgbImage]) -> Result<Vec<Descriptor>> {
        let mut out = Vec::with_capacity(chips.len());
        for batch in chips.chunks(self.config.descriptor_batch) {
            out.extend(self.descriptor.describe(batch)?);
        }
        Ok(out)
    }

    /// Every face of an image with its descriptor, the largest face first.
    pub fn embed(&self, img: &RgbImage) -> Result<Vec<(Face, Descriptor)>> {
        let mut faces = self.detect(img)?;
        faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
        let descriptors = self.describe(img, &faces)?;
        Ok(faces.into_iter().zip(descriptors).collect())
    }

    /// Distance and 0-100 score between two descriptors.
    pub fn compare(&self, a: &Descriptor, b: &Descriptor) -> Result<Comparison> {
        for d in [a, b] {
            if d.0.len() != crate::DESCRIPTOR_LEN {
                return Err(VisionError::DescriptorLength {
                    expected: crate::DESCRIPTOR_LEN,
                    actual: d.0.len(),
                });
            }
        }
        let distance = a.distance(b);
        Ok(Comparison {
            distance,
            score: self.calibration.score(distance),
        })
    }

    /// Distance and 0-100 score between two descriptors of one version, by that
    /// version's score model.
    pub fn compare_as(
        &self,
        a: &Descriptor,
        b: &Descriptor,
        version: DescriptorVersion,
    ) -> Result<Comparison> {
        match version {
            DescriptorVersion::V1 => self.compare(a, b),
            DescriptorVersion::V2 => self.compare(a, b).map(|c| Comparison {
                score: self.score_v2.score_at(a, b, c.distance),
                ..c
            }),
        }
    }

    /// The distance-to-score table of version 1.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The score model of a descriptor version.
    pub fn score_model(&self, version: DescriptorVersion) -> &ScoreModel {
        match version {
            DescriptorVersion::V1 => &self.score_v1,
            DescriptorVersion::V2 => &self.score_v2,
        }
    }
}
