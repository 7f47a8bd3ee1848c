//! [`FaceSdk`]: one instance of the SDK — a verified licence, the models it switches on,
//! and the data directory. `Send + Sync`: share one instance between threads.

use std::path::PathBuf;
use std::sync::Arc;

use licensing::{Feature, RevocationUpdate, Verifier};
use vision::{
    Comparison, Descriptor, DescriptorVersion, Engine, EngineConfig, Face, Liveness, LivenessNets,
    MeshNets, Quality, RgbImage,
};

use crate::error::{Result, SdkError};
use crate::licence::{Clock, Identity, LicenceGate, LicenceInfo, SystemClock};

/// How to open the SDK.
#[derive(Debug, Clone)]
pub struct SdkConfig {
    /// The licence file's text (`-----BEGIN RENLIAN LICENCE-----` …).
    pub licence: String,
    /// The issuer's public keys this build trusts, 64 hex digits each (the list
    /// `renlian license keys` prints; ship old and new keys across a rotation).
    pub trusted_keys: Vec<String>,
    /// The directory `renlian models export --to DIR` wrote.
    pub model_dir: PathBuf,
    /// The SDK's own directory: licence state, device key, the local gallery. Must be
    /// the directory the activation request was made with.
    pub data_dir: PathBuf,
    /// What the licence is bound to.
    pub identity: Identity,
    /// A newer revocation list to accept before checking (shipped with an app update).
    pub revocation_list: Option<String>,
    /// Detection options and image limits (the server's defaults).
    pub engine: EngineConfig,
}

impl SdkConfig {
    /// A configuration with the server's engine defaults and no revocation list.
    pub fn new(
        licence: String,
        trusted_keys: Vec<String>,
        model_dir: PathBuf,
        data_dir: PathBuf,
        identity: Identity,
    ) -> SdkConfig {
        SdkConfig {
            licence,
            trusted_keys,
            model_dir,
            data_dir,
            identity,
            revocation_list: None,
            engine: EngineConfig::default(),
        }
    }
}

/// One SDK instance. Every inference call checks the licence first (see
/// [`crate::licence`] for when the full check is repeated) and refuses a feature the
/// licence does not grant with [`SdkError::FeatureNotLicensed`] naming it. Cloning is
/// cheap and shares the instance (the gallery and trackers hold a clone).
#[derive(Debug, Clone)]
pub struct FaceSdk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    gate: LicenceGate,
    engine: Engine,
    /// The face mesh: the 90 points the quality score is measured on, and the 3-D shape
    /// prior of depth liveness. Loaded when the licence grants a feature that needs it.
    mesh: Option<MeshNets>,
    /// Static RGB liveness, loaded for the liveness SDKs.
    liveness: Option<LivenessNets>,
    data_dir: PathBuf,
}

/// Features that come with static (single-frame RGB) liveness: the liveness SDKs. The
/// price list sells liveness only with them, so a detect or search licence has none.
pub const RGB_LIVENESS_FEATURES: [Feature; 2] = [Feature::IrLiveness, Feature::Liveness3d];

impl FaceSdk {
    /// Verifies the licence offline and loads the models it switches on from
    /// `model_dir`, with no network.
    pub fn open(config: SdkConfig) -> Result<FaceSdk> {
        FaceSdk::open_with_clock(config, Arc::new(SystemClock))
    }

    /// [`FaceSdk::open`] against another clock (tests, devices with a trusted time
    /// source).
    pub fn open_with_clock(config: SdkConfig, clock: Arc<dyn Clock>) -> Result<FaceSdk> {
        let verifier = Verifier::from_hex(&config.trusted_keys)
            .map_err(|e| SdkError::InvalidArgument(format!("trusted keys: {e}")))?;
        if config.trusted_keys.is_empty() {
            return Err(SdkError::InvalidArgument(
                "no trusted issuer keys: give the keys `renlian license keys` prints".into(),
            ));
        }
        let gate = LicenceGate::open(
            verifier,
            &config.data_dir,
            config.licence,
            &config.identity,
            config.revocation_list.as_deref(),
            clock,
        )?;
        let store = models::ModelStore::offline(&config.model_dir).map_err(SdkError::Model)?;
        let engine = Engine::load(&store, config.engine)?;
        let mesh = [Feature::Quality, Feature::Tracking, Feature::Liveness3d]
            .iter()
            .any(|f| gate.grants(*f))
            .then(|| MeshNets::load(&store))
            .transpose()?;
        let liveness = RGB_LIVENESS_FEATURES
            .iter()
            .any(|f| gate.grants(*f))
            .then(|| LivenessNets::load(&store))
            .transpose()?;
        Ok(FaceSdk {
            inner: Arc::new(Inner {
                gate,
                engine,
                mesh,
                liveness,
                data_dir: config.data_dir,
            }),
        })
    }

    /// The licence in force (re-checked; an expired licence is an error here too).
    pub fn licence(&self) -> Result<LicenceInfo> {
        self.inner.gate.info()
    }

    /// Accepts a newer signed revocation list; the licence is checked against it on the
    /// next call.
    pub fn accept_revocation_list(&self, list: &str) -> Result<RevocationUpdate> {
        self.inner.gate.accept_revocation_list(list)
    }

    /// The SDK's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.inner.data_dir
    }

    /// Decodes JPEG, PNG or BMP bytes within the configured limits (no licence needed).
    pub fn decode(&self, bytes: &[u8]) -> Result<RgbImage> {
        Ok(self.inner.engine.decode(bytes)?)
    }

    /// Faces in the image, largest first: boxes, the detector's confidence and dlib's
    /// 5 points. Needs `detect`.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Face>> {
        self.inner.gate.require(Feature::Detect)?;
        let mut faces = self.inner.engine.detect(img)?;
        faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
        Ok(faces)
    }

    /// The server's quality score of `face` (sharpness, brightness, completeness, overall
    /// score). Needs `quality`.
    pub fn quality(&self, img: &RgbImage, face: &Face) -> Result<Quality> {
        self.inner.gate.require(Feature::Quality)?;
        self.quality_unchecked(img, face)
    }

    /// The quality score for features that include it (tracking's best shot).
    pub(crate) fn quality_unchecked(&self, img: &RgbImage, face: &Face) -> Result<Quality> {
        let mesh = self.mesh_nets()?.run(img, face)?;
        Ok(vision::quality::assess(img, face.rect, &mesh.shape90()))
    }

    /// The face mesh of `face` (468 points with depth).
    pub(crate) fn mesh(&self, img: &RgbImage, face: &Face) -> Result<vision::FaceMesh> {
        Ok(self.mesh_nets()?.run(img, face)?)
    }

    fn mesh_nets(&self) -> Result<&MeshNets> {
        self.inner
            .mesh
            .as_ref()
            .ok_or_else(|| SdkError::Internal("the face mesh was not loaded".into()))
    }

    /// The 128-d descriptor of `face`, the server's for new data
    /// ([`DescriptorVersion::LATEST`]): a descriptor made here compares with one the API
    /// made for a group created since version 2. Needs `features`.
    pub fn descriptor(&self, img: &RgbImage, face: &Face) -> Result<Descriptor> {
        self.descriptor_as(img, face, DescriptorVersion::LATEST)
    }

    /// The descriptor of `face` of one version, e.g. version 1 to search a gallery that
    /// holds version-1 descriptors. Needs `features`.
    pub fn descriptor_as(
        &self,
        img: &RgbImage,
        face: &Face,
        version: DescriptorVersion,
    ) -> Result<Descriptor> {
        self.inner.gate.require(Feature::Features)?;
        self.inner
            .engine
            .describe_as(img, std::slice::from_ref(face), version)?
            .into_iter()
            .next()
            .ok_or_else(|| SdkError::Internal("the engine returned no descriptor".into()))
    }

    /// The largest face of the image and its descriptor. Needs `detect` and `features`.
    pub fn extract(&self, img: &RgbImage) -> Result<(Face, Descriptor)> {
        let face = self
            .detect(img)?
            .into_iter()
            .next()
            .ok_or(SdkError::NoFace)?;
        let descriptor = self.descriptor(img, &face)?;
        Ok((face, descriptor))
    }

    /// Distance and score (0-100, the API's scale: 50 and above is the same person)
    /// between two descriptors of [`FaceSdk::descriptor`] (version 2), by version 2's
    /// score model: the score CompareFace gives for the same two images. Needs
    /// `features`.
    pub fn compare(&self, a: &[f32], b: &[f32]) -> Result<Comparison> {
        self.compare_as(a, b, DescriptorVersion::LATEST)
    }

    /// [`FaceSdk::compare`] for two descriptors of one given version.
    pub fn compare_as(
        &self,
        a: &[f32],
        b: &[f32],
        version: DescriptorVersion,
    ) -> Result<Comparison> {
        self.inner.gate.require(Feature::Features)?;
        let a = Descriptor::from_vec(a.to_vec())?;
        let b = Descriptor::from_vec(b.to_vec())?;
        Ok(self.inner.engine.compare_as(&a, &b, version)?)
    }

    /// The score (0-100) version 1's table gives a distance: the score of a pair of
    /// version-1 descriptors (a gallery made before version 2). Version 2's score depends
    /// on both descriptors of a pair, not on their distance alone, so no distance gives
    /// it: use [`FaceSdk::compare`] (or the scores [`crate::Gallery::search`] reports).
    pub fn score_of_distance(&self, distance: f64) -> f64 {
        self.inner.engine.calibration().score(distance)
    }

    /// The score model of a descriptor version.
    pub(crate) fn score_model(&self, version: DescriptorVersion) -> &vision::ScoreModel {
        self.inner.engine.score_model(version)
    }

    /// Static single-frame RGB liveness of `face`, the server's (`DetectLiveFace`):
    /// score 0-100, live at [`vision::liveness::RECOMMENDED_THRESHOLD`]. Needs
    /// `ir-liveness` or `3d-liveness`.
    pub fn liveness(&self, img: &RgbImage, face: &Face) -> Result<Liveness> {
        self.inner.gate.require_any(&RGB_LIVENESS_FEATURES)?;
        let nets =
            self.inner.liveness.as_ref().ok_or_else(|| {
                SdkError::Internal("the liveness networks were not loaded".into())
            })?;
        Ok(nets.assess(img, face.rect)?)
    }

    /// Infrared liveness of `face` (found in the RGB frame `rgb`) from the IR frame
    /// `ir`, registered pixel-for-pixel to it: a face where the RGB face is, with
    /// skin-like reflectance and texture (docs/sensor-liveness.md). Needs `ir-liveness`.
    pub fn ir_liveness(
        &self,
        rgb: &RgbImage,
        face: &Face,
        ir: &image::GrayImage,
    ) -> Result<sensor_liveness::IrVerdict> {
        self.inner.gate.require(Feature::IrLiveness)?;
        check_registered("IR frame", rgb, ir.dimensions())?;
        Ok(sensor_liveness::ir::assess(&self.inner.engine, ir, face)?)
    }

    /// 3D structured-light liveness of `face` from the depth map `depth` (millimetres, 0
    /// = no reading), registered to the RGB frame: the face's relief against a fitted
    /// plane and its shape against the face mesh's (docs/sensor-liveness.md). Needs
    /// `3d-liveness`.
    pub fn depth_liveness(
        &self,
        rgb: &RgbImage,
        face: &Face,
        depth: &sensor_liveness::DepthMap,
    ) -> Result<sensor_liveness::DepthVerdict> {
        self.inner.gate.require(Feature::Liveness3d)?;
        check_registered("depth map", rgb, depth.dimensions())?;
        let mesh = self.mesh(rgb, face)?;
        Ok(sensor_liveness::depth::assess(depth, face, &mesh)?)
    }

    pub(crate) fn gate(&self) -> &LicenceGate {
        &self.inner.gate
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

/// A second sensor's frame must be registered to the RGB frame: same size.
fn check_registered(what: &str, rgb: &RgbImage, (w, h): (u32, u32)) -> Result<()> {
    if (w, h) != rgb.dimensions() {
        return Err(SdkError::InvalidArgument(format!(
            "the {what} is {w}×{h} and the RGB frame {}×{}: they must be registered \
             pixel-for-pixel",
            rgb.width(),
            rgb.height()
        )));
    }
    Ok(())
}
